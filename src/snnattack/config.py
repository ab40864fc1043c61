"""Checks of a composed config, before any work: one clear line per wrong value.

Every key a user may set has one rule in :data:`RULES` (a dotted key, ``*`` matching any one
level, e.g. ``method.*.steps``): its test and the accepted values. Rules of keys that a config
does not hold are skipped, so a new key needs one line here and nothing else. Checks that look
at several keys at once (an encoding the dataset cannot give, a model that does not fit the
dataset's input, a memory estimate, ...) are the functions in :data:`COMBINATIONS`. The
parameters of a gradient mode or an attack method are checked against the names its function
in ``GRADIENT_MODES`` / ``attacks.METHODS`` accepts.
"""

from __future__ import annotations

import inspect
import math
import numbers
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from snnattack.analysis.shuffle import SHUFFLE_MODES
from snnattack.attacks import METHODS, takes_eot
from snnattack.data import DATAMODULES
from snnattack.encoding import ENCODINGS
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES
from snnattack.models import MODELS, build
from snnattack.neurons import RESETS
from snnattack.training import STRATEGIES
from snnattack.training.ann import INPUT_ENCODINGS
from snnattack.training.conversion import shared_scales

BOXES = ("white", "black")
MAX_SEED = 2**32 - 1  # numpy's (and Lightning's) largest seed
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")
# kinds whose model is converted from an ANN (they read train.conversion)
CONVERTED = tuple(k for k, strategy in STRATEGIES.items() if "conversion" in strategy.blocks)
PRECISIONS = (
    "64-true",
    "64",
    "32-true",
    "32",
    "16-mixed",
    "16",
    "bf16-mixed",
    "bf16",
    "16-true",
    "bf16-true",
    "transformer-engine",
    "transformer-engine-float16",
)


@dataclass(frozen=True)
class Rule:
    """A value's test and the accepted values as the user reads them (``{key}`` = the key)."""

    test: Callable[[Any], bool]
    accepted: str
    problem: str = "is out of range"

    def check(self, key: str, value: Any) -> None:
        if not self.test(value):
            accepted = self.accepted.format(key=key)
            raise ConfigError(f"{key}={value!r} {self.problem}; accepted: {accepted}")


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def integer(lo: int, hi: int | None = None) -> Rule:
    """An integer in ``[lo, hi]``."""
    text = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
    return Rule(lambda v: _is_int(v) and v >= lo and (hi is None or v <= hi), text)


def real(lo: float, hi: float | None = None, *, lo_open: bool = False) -> Rule:
    """A finite number ``lo <= x`` (``lo < x`` if ``lo_open``) and ``x <= hi``."""
    low = f"{lo:g} {'<' if lo_open else '<='} {{key}}"
    text = low if hi is None else f"{low} <= {hi:g}"

    def test(v: Any) -> bool:
        return _is_real(v) and (v > lo if lo_open else v >= lo) and (hi is None or v <= hi)

    return Rule(test, text)


def one_of(*names: str) -> Rule:
    """One of the given names."""
    return Rule(lambda v: v in names, ", ".join(names), "is unknown")


def optional(rule: Rule) -> Rule:
    """``null`` or a value the rule accepts."""
    return Rule(lambda v: v is None or rule.test(v), f"null or {rule.accepted}", rule.problem)


def either(a: Rule, b: Rule) -> Rule:
    """A value that one of two rules accepts."""
    return Rule(lambda v: a.test(v) or b.test(v), f"{a.accepted}, or {b.accepted}", a.problem)


BOOL = Rule(lambda v: isinstance(v, bool), "true or false")
NAME = Rule(lambda v: isinstance(v, str) and bool(v), "a non-empty name")
SEED = integer(0, MAX_SEED)
BATCHES = optional(either(integer(1), real(0, 1, lo_open=True)))
EPS_255 = real(0, 255)

RULES: dict[str, Rule] = {
    # neuron and simulation
    "T": integer(1),
    "lambda": real(0, 1, lo_open=True),
    "theta": real(0, lo_open=True),
    "reset": one_of(*RESETS),
    "encoding": one_of(*ENCODINGS),
    # attack evaluation
    "eps": Rule(
        lambda v: isinstance(v, list) and bool(v) and all(map(EPS_255.test, v)),
        "a list of numbers in [0, 255] in units of 1/255, e.g. eps=[8,16]",
    ),
    "boxes": Rule(
        lambda v: isinstance(v, list) and bool(v) and set(v) <= set(BOXES),
        "a non-empty subset of [white, black]",
    ),
    "eval_batch_size": integer(1),
    "source_seed_offset": Rule(
        lambda v: _is_int(v) and 1 <= v <= MAX_SEED,
        f"an integer in [1, {MAX_SEED}] (0 makes the black-box source the target itself)",
    ),
    "seed": SEED,
    # training recipe (before attack.*: attack.params.width defaults to train.surrogate_width)
    "train.epochs": integer(1),
    "train.batch_size": integer(1),
    "train.lr": real(0, lo_open=True),
    "train.momentum": real(0, 1),
    "train.weight_decay": real(0),
    "train.nesterov": BOOL,
    "train.surrogate_width": real(0, lo_open=True),
    "train.kind": one_of(*STRATEGIES),
    "train.resets.*": one_of(*RESETS),
    "train.conversion.percentile": real(0, 100, lo_open=True),
    "train.conversion.batches": integer(1),
    "train.hybrid.epochs": integer(1),
    "train.hybrid.lr": real(0, lo_open=True),
    "train.hybrid.threshold_scale": real(0, lo_open=True),
    "source_train": optional(one_of(*STRATEGIES)),
    "source_lambda": optional(real(0, 1, lo_open=True)),
    "source_T": optional(integer(1)),
    "source_model": optional(one_of(*MODELS)),
    "encoding_levels": optional(integer(2)),
    # attack: gradient mode and methods (any method's parameters by pattern)
    "attack.grad_mode": one_of(*GRADIENT_MODES),
    "attack.params.width": optional(real(0, lo_open=True)),
    "attack.params.beta": real(0, lo_open=True),
    "attack.params.gamma": real(0),
    "attack.time_extension": integer(1),
    "attack.eot_samples": integer(1),
    "method.*.name": one_of(*METHODS),
    "method.*.steps": integer(1),
    "method.*.alpha": optional(real(0, 255, lo_open=True)),
    "method.*.eps_per_alpha": real(0, lo_open=True),
    "method.*.random_start": BOOL,
    "method.*.decay": real(0),
    "method.*.n_restarts": integer(1),
    "method.*.loss": one_of("ce", "dlr"),
    "method.*.rho": real(0, 1, lo_open=True),
    "method.*.n_queries": integer(1),
    "method.*.p_init": real(0, 1, lo_open=True),
    "method.*.n_classes": integer(2),
    "method.*.seed": SEED,
    # data
    "dataset.name": one_of(*DATAMODULES),
    "dataset.num_classes": integer(2),
    "dataset.in_channels": integer(1),
    "dataset.image_size": integer(1),
    "dataset.params.num_workers": integer(0),
    "dataset.params.split_seed": SEED,
    "dataset.params.test_fraction": real(0, 1, lo_open=True),
    "dataset.params.val_fraction": real(0, 1, lo_open=True),
    "dataset.params.val_size": integer(1),
    "dataset.params.train_size": integer(1),
    "dataset.params.frames": integer(1),
    "dataset.params.size": integer(1),
    "dataset.params.count_scale": real(0, lo_open=True),
    "dataset.params.download": BOOL,
    "dataset.params.augment": BOOL,
    "model.name": one_of(*MODELS),
    # Lightning Trainer (Lightning reads some values in its own way: max_epochs=-1 = forever)
    "trainer.accelerator": one_of(*ACCELERATORS),
    "trainer.devices": either(integer(1), one_of("auto")),
    "trainer.num_nodes": integer(1),
    "trainer.precision": Rule(lambda v: str(v) in PRECISIONS, ", ".join(PRECISIONS), "is unknown"),
    "trainer.max_epochs": integer(1),
    "trainer.limit_train_batches": BATCHES,
    "trainer.limit_val_batches": BATCHES,
    "trainer.limit_test_batches": BATCHES,
    "trainer.deterministic": BOOL,
    "trainer.enable_progress_bar": BOOL,
    "trainer.log_every_n_steps": integer(1),
    "trainer.accumulate_grad_batches": integer(1),
    "trainer.gradient_clip_val": optional(real(0)),
    # loggers and the store
    "logger.csv": BOOL,
    "logger.wandb.mode": one_of("online", "offline", "disabled"),
    "store.dir": NAME,
    "threads": either(integer(1), one_of("auto")),
    "trainer.strategy": Rule(
        lambda v: v in ("auto", "ddp") or str(v).startswith("ddp_find"),
        "auto or ddp (e.g. trainer=ddp, trainer=ddp_cpu); ddp_spawn is "
        "refused: spawned processes cannot share the checkpoint store",
        "is not supported",
    ),
    "checks.memory": BOOL,
    "analysis.shuffle.mode": one_of(*SHUFFLE_MODES),
    "checks.memory_factor": real(0, lo_open=True),
}


def eps_values(cfg: DictConfig) -> list:
    """The attack radii in 1/255 units; a single value (``eps=8``) counts as a list of one."""
    eps = cfg.eps
    if isinstance(eps, str | bytes) or not hasattr(eps, "__iter__"):
        return [eps]
    return list(eps)


def _flat(node: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted key, value) of a resolved config; lists are values, dicts are walked."""
    for k, v in node.items():
        if isinstance(v, dict):
            yield from _flat(v, f"{prefix}{k}.")
        else:
            yield prefix + k, v


def _resolved(cfg: DictConfig) -> dict[str, Any]:
    try:
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "config"
        first = str(err).strip().splitlines()[0]
        raise ConfigError(
            f"{key} cannot be resolved ({first}); accepted: a value or an "
            "interpolation that resolves, e.g. ${{oc.env:NAME,default}}"
        ) from None


# --- checks of several keys at once ---------------------------------------------------------


def _accepted_params(func: Callable, skip: int) -> list[str]:
    return list(inspect.signature(func).parameters)[skip:]


def _params_known(group: str, params: dict[str, Any], func: Callable, skip: int) -> None:
    accepted = _accepted_params(func, skip)
    for name, value in params.items():
        if name not in accepted:
            raise ConfigError(
                f"{group}.{name}={value!r} is unknown; accepted: "
                f"{', '.join(accepted) or 'no parameters'}"
            )


def _gradient_params(cfg: dict[str, Any]) -> None:
    attack = cfg["attack"]
    _params_known(
        "attack.params", attack.get("params") or {}, GRADIENT_MODES[attack["grad_mode"]], skip=1
    )


def _method_params(cfg: dict[str, Any]) -> None:
    if not cfg.get("method"):
        raise ConfigError(
            "method={} is empty; accepted: one or more of "
            f"{', '.join(METHODS)}, e.g. method=[pgd]"
        )
    for key, method in cfg["method"].items():
        params = {k: v for k, v in method.items() if k != "name"}
        _params_known(f"method.{key}", params, METHODS[method["name"]], skip=2)
        if cfg["attack"].get("eot_samples", 1) > 1 and not takes_eot(method["name"]):
            accepted = ", ".join(m for m in METHODS if takes_eot(m))
            raise ConfigError(
                f"attack.eot_samples={cfg['attack']['eot_samples']} does not "
                f"apply to method={key}; accepted: 1, or the methods {accepted}"
            )


def _surrogate_width_positive(cfg: dict[str, Any]) -> None:
    gamma = cfg["attack"].get("params", {}).get("gamma")
    if cfg["attack"]["grad_mode"] == "hart" and gamma is not None and not gamma > 0:
        raise ConfigError(
            f"attack.params.gamma={gamma!r} is out of range for attack=hart (the "
            "surrogate's half-width); accepted: gamma > 0"
        )


def _kinds_fit_model_and_encoding(cfg: dict[str, Any]) -> None:
    source = cfg.get("source_train")
    used = {cfg["train"]["kind"]} | ({source} if source and "black" in cfg["boxes"] else set())
    if used - {"stbp"} and cfg["encoding"] not in INPUT_ENCODINGS:
        raise ConfigError(
            f"encoding={cfg['encoding']} has no ANN counterpart (train kinds "
            f"{sorted(used)}); accepted: {', '.join(INPUT_ENCODINGS)}"
        )
    converted = {cfg["model"]["name"]} if cfg["train"]["kind"] in CONVERTED else set()
    if source in CONVERTED and "black" in cfg["boxes"]:
        converted.add(cfg.get("source_model") or cfg["model"]["name"])
    for name in sorted(converted if cfg["theta"] != 1 else ()):
        if any(g != i for i, g in enumerate(shared_scales(_meta_model(cfg, name)))):
            raise ConfigError(
                f"theta={cfg['theta']} cannot convert model={name}: its identity "
                "shortcuts add spikes of unit size to the block's output; "
                "accepted: theta=1"
            )


def _source_settings_fit(cfg: dict[str, Any]) -> None:
    if cfg.get("source_T") is not None and cfg["encoding"] == "frames":
        raise ConfigError(
            f"source_T={cfg['source_T']} has no meaning for encoding=frames (the "
            "event frames are binned into the target's T steps); accepted: null"
        )
    name = cfg.get("source_model")
    if (
        name is not None
        and "image_size" in cfg["dataset"]
        and _layer_outputs(_meta_model(cfg, name), _input_shape(cfg)) is None
    ):
        raise ConfigError(
            f"source_model={name} does not fit dataset={cfg['dataset']['name']}; "
            "accepted: a model that fits the dataset's input (see model=)"
        )


def _time_extension_fits_encoding(cfg: dict[str, Any]) -> None:
    if cfg["attack"].get("time_extension", 1) > 1 and cfg["encoding"] == "frames":
        raise ConfigError(
            f"attack.time_extension={cfg['attack']['time_extension']} has no "
            "meaning for encoding=frames (the event frames are binned into T "
            "steps by the data); accepted: 1"
        )


def _encoding_fits_dataset(cfg: dict[str, Any]) -> None:
    accepted = list(cfg["dataset"].get("encodings") or ENCODINGS)
    if cfg["encoding"] not in accepted:
        raise ConfigError(
            f"encoding={cfg['encoding']!r} does not fit "
            f"dataset={cfg['dataset']['name']}; accepted: {', '.join(accepted)}"
        )


def _frames_match_T(cfg: dict[str, Any]) -> None:
    frames = cfg["dataset"].get("params", {}).get("frames")
    if frames is not None and frames != cfg["T"]:
        raise ConfigError(
            f"dataset.params.frames={frames} does not match T={cfg['T']}; "
            "accepted: frames equal to T (the default, frames: ${T})"
        )


def _attack_takes_a_step(cfg: dict[str, Any]) -> None:
    if all(e == 0 for e in cfg["eps"]):
        raise ConfigError(
            f"eps={cfg['eps']} makes every attack a no-op (clean accuracy is "
            "reported with any attack); accepted: at least one eps > 0"
        )


def _source_is_another_model(cfg: dict[str, Any]) -> None:
    if "black" in cfg["boxes"] and cfg["seed"] + cfg["source_seed_offset"] > MAX_SEED:
        raise ConfigError(
            f"seed + source_seed_offset = {cfg['seed'] + cfg['source_seed_offset']}"
            f" is out of range; accepted: a sum <= {MAX_SEED}"
        )


def _datamodule_options(cfg: dict[str, Any]) -> None:
    dataset = cfg["dataset"]
    cls = DATAMODULES[dataset["name"]]
    params = dict(dataset.get("params") or {})
    _params_known("dataset.params", params, cls.__init__, skip=4)
    cls(
        batch_size=cfg["train"]["batch_size"],
        eval_batch_size=cfg["eval_batch_size"],
        seed=cfg["seed"],
        **params,
    )  # its own range checks; no file is read here


def _input_shape(cfg: dict[str, Any]) -> tuple[int, ...]:
    """One sample as the model sees it, T = 1: ``[C, H, W]`` (``[1, C, H, W]`` for frames)."""
    d = cfg["dataset"]
    shape = (d["in_channels"], d["image_size"], d["image_size"])
    return (1, *shape) if cfg["encoding"] == "frames" else shape


def _meta_model(cfg: dict[str, Any], name: str) -> torch.nn.Module:
    """The model without memory (PyTorch's meta device), T = 1: for shapes only."""
    d = cfg["dataset"]
    with torch.device("meta"):
        return build(
            name,
            num_classes=d["num_classes"],
            in_channels=d["in_channels"],
            T=1,
            lam=cfg["lambda"],
            theta=cfg["theta"],
            reset=cfg["reset"],
            encoding=cfg["encoding"],
            mean=d.get("mean"),
            std=d.get("std"),
        ).eval()


def _layer_outputs(model: torch.nn.Module, shape: tuple[int, ...]) -> int | None:
    """Elements of every layer's output for one sample and one time step; None if it fails."""
    total = 0

    def count(_m: torch.nn.Module, _i: Any, out: Any) -> None:
        nonlocal total
        if isinstance(out, torch.Tensor):
            total += out.numel()

    leaves = [m for m in model.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(count) for m in leaves]
    try:
        with torch.no_grad():
            model(torch.zeros(1, *shape, device="meta"))
    except (RuntimeError, ValueError):
        return None
    finally:
        for h in hooks:
            h.remove()
    return total


def _model_fits_dataset(cfg: dict[str, Any]) -> None:
    if "image_size" not in cfg["dataset"]:
        return
    shape = _input_shape(cfg)
    if _layer_outputs(_meta_model(cfg, cfg["model"]["name"]), shape) is None:
        fitting = [n for n in MODELS if _layer_outputs(_meta_model(cfg, n), shape) is not None]
        raise ConfigError(
            f"model={cfg['model']['name']} does not fit dataset={cfg['dataset']['name']} "
            f"(input {'x'.join(map(str, shape[-3:]))}); accepted: {', '.join(fitting)}"
        )


def _free_memory(cfg: dict[str, Any]) -> tuple[int, str]:
    """Bytes free where the job will run: the first GPU if it uses one, else the RAM."""
    accelerator = cfg["trainer"].get("accelerator", "auto")
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available()):
        if torch.cuda.is_available():
            return torch.cuda.mem_get_info()[0], "free GPU memory"
    return _available_ram(), "available RAM"


def _available_ram() -> int:
    """Bytes of RAM available to a new process (Linux's MemAvailable; free pages elsewhere)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _fits_in_memory(cfg: dict[str, Any]) -> None:
    checks = cfg.get("checks")
    if not checks or not checks["memory"] or "image_size" not in cfg["dataset"]:
        return
    per_step = _layer_outputs(_meta_model(cfg, cfg["model"]["name"]), _input_shape(cfg))
    free, where = _free_memory(cfg)
    trains_at_T = STRATEGIES[cfg["train"]["kind"]].trains_at_T  # a converted SNN: T=2000 is fine
    for key in ("train.batch_size", "eval_batch_size")[0 if trains_at_T else 1 :]:
        batch = cfg["train"]["batch_size"] if key == "train.batch_size" else cfg[key]
        need = per_step * cfg["T"] * batch * 4 * checks["memory_factor"]
        if need > free:
            raise ConfigError(
                f"T={cfg['T']} with {key}={batch} needs about {need / 2**30:.1f} GiB for the "
                f"activations of one forward/backward pass, more than the {free / 2**30:.1f} "
                f"GiB of {where}; accepted: a smaller T or {key}"
            )


def _devices_exist(cfg: dict[str, Any]) -> None:
    trainer = cfg["trainer"]
    devices = trainer.get("devices")
    if trainer.get("accelerator") in ("gpu", "cuda"):
        have = torch.cuda.device_count()
        if have == 0:
            raise ConfigError(
                f"trainer.accelerator={trainer['accelerator']} but this machine has "
                "no GPU; accepted: trainer=cpu or trainer=default (auto)"
            )
        if _is_int(devices) and devices > have:
            raise ConfigError(
                f"trainer.devices={devices} is more than this machine's {have} "
                f"GPUs; accepted: an integer in [1, {have}] (or trainer=cpu)"
            )


def _checkpoint_exists(cfg: dict[str, Any]) -> None:
    for key in ("checkpoint", "source_checkpoint"):
        path = cfg.get(key)
        if path is not None and not Path(path).is_file():
            raise ConfigError(
                f"{key}={path!r} is not a file; accepted: null or the path of a "
                "model file (a store model.pt, a Lightning .ckpt or a reference "
                "state dict)"
            )


COMBINATIONS: list[Callable[[dict[str, Any]], None]] = [
    _method_params,
    _time_extension_fits_encoding,
    _surrogate_width_positive,
    _gradient_params,
    _encoding_fits_dataset,
    _frames_match_T,
    _attack_takes_a_step,
    _source_is_another_model,
    _datamodule_options,
    _devices_exist,
    _checkpoint_exists,
    _model_fits_dataset,
    _fits_in_memory,
    _kinds_fit_model_and_encoding,
    _source_settings_fit,
]


def validate(cfg: DictConfig, output_dir: Path | None = None) -> None:
    """Raises :class:`ConfigError` naming the first key whose value is not accepted.

    Each key's own rule first, then the checks of several keys together, then (with
    ``output_dir``) that the output folder and the store can be written.
    """
    resolved = _resolved(cfg)
    if not isinstance(resolved.get("eps"), list):
        resolved["eps"] = [resolved.get("eps")]  # eps=8 counts as a list of one
    values = dict(_flat(resolved))
    for pattern, rule in RULES.items():
        for key, value in values.items():
            if fnmatchcase(key, pattern):
                rule.check(key, value)
    for check in COMBINATIONS:
        check(resolved)
    if output_dir is not None:
        writable(Path(output_dir), "the output folder")
        writable(Path(resolved["store"]["dir"]), "store.dir", must_exist=False)


def writable(path: Path, what: str, must_exist: bool = True) -> None:
    """Refuses a folder that cannot be written or, if absent, created.

    An existing folder with ``must_exist=False`` (the store) passes: a read-only store may
    hold every model a job needs.
    """
    probe = path
    while not must_exist and not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not must_exist and probe == path and path.is_dir():
        return
    if probe.is_dir() and os.access(probe, os.W_OK | os.X_OK):
        return
    raise ConfigError(
        f"{what}={str(path)!r} cannot be written ({probe} is not a folder this "
        "user can write); accepted: a writable folder"
    )
