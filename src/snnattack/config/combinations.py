"""Checks of several keys at once, before any work: one clear line per wrong combination.

An encoding the dataset cannot give, a model that does not fit the dataset's input (checked
by a forward pass on PyTorch's meta device, without memory), parameters that a gradient mode,
an attack method or a datamodule does not take (checked against the names its function
accepts), a gradient mode's parameter out of the range the mode declares, ... Each check is a
function of the resolved config in :data:`COMBINATIONS`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from omegaconf import OmegaConf

from snnattack.analysis.rate_current import spiking_layers
from snnattack.attacks.ensemble import ENSEMBLE, Component
from snnattack.attacks.methods import METHODS, takes_eot
from snnattack.attacks.methods.retime import check_budget
from snnattack.attacks.spec import grid, tunable
from snnattack.config.rules import MAX_SEED, check_as
from snnattack.config.settings import model_settings
from snnattack.config.specs import components, curve_reach
from snnattack.data import DATAMODULES
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES
from snnattack.interop.external import is_external
from snnattack.models import MODELS, build
from snnattack.snn.encoding import ENCODINGS
from snnattack.training import STRATEGIES
from snnattack.training.ann import INPUT_ENCODINGS
from snnattack.training.conversion import shared_scales
from snnattack.training.trained import build_model

# kinds whose model is converted from an ANN (they read train.conversion)
CONVERTED = tuple(k for k, strategy in STRATEGIES.items() if "conversion" in strategy.blocks)


# attack-method arguments that a job sets from another key, never from method.<name>.*
SET_ELSEWHERE = {
    "eot_samples": "attack.eot_samples",
    "recordings": "the evaluation: the test batch's recordings",
    "fitted": "the fitting of a universal attack on validation data",
}


def _accepted_params(func: Callable, skip: int) -> list[str]:
    """The parameters of ``func`` after its first ``skip``; a class whose ``__init__`` passes
    ``**kwargs`` on to its base class's also takes the base's."""
    params = inspect.signature(func).parameters
    named = [n for n, p in params.items() if p.kind is not p.VAR_KEYWORD][skip:]
    passes_on = any(p.kind is p.VAR_KEYWORD for p in params.values())
    if passes_on and isinstance(func, type):
        base = next(b for b in func.__mro__[1:] if "__init__" in vars(b))
        named += [n for n in _accepted_params(base, skip) if n not in named]
    return named


def _params_known(group: str, params: dict[str, Any], func: Callable, skip: int) -> None:
    accepted = [p for p in _accepted_params(func, skip) if p not in SET_ELSEWHERE]
    for name, value in params.items():
        if name not in accepted:
            elsewhere = f" (set by {SET_ELSEWHERE[name]})" if name in SET_ELSEWHERE else ""
            raise ConfigError(
                f"{group}.{name}={value!r} is unknown{elsewhere}; accepted: "
                f"{', '.join(accepted) or 'no parameters'}"
            )


def _mode_params(group: str, params: dict[str, Any], mode: str, chosen: str) -> None:
    """``params`` are parameters that the gradient mode ``mode`` (chosen by ``chosen``, e.g.
    ``attack=hart``) takes, each in the range the mode declares."""
    spec = GRADIENT_MODES[mode]
    if not isinstance(params, dict):
        raise ConfigError(
            f"{group}={params!r} is not a dict; accepted: {{name: value}} of the parameters "
            f"of {chosen} ({', '.join(spec.ranges) or 'none'})"
        )
    _params_known(group, params, spec.make, skip=1)
    problem = spec.complaint(params, f"{group}.", chosen)
    if problem is not None:
        raise ConfigError(problem)


def _gradient_params(resolved: dict[str, Any]) -> None:
    mode = resolved["attack"]["grad_mode"]
    _mode_params("attack.params", resolved["attack"].get("params") or {}, mode, f"attack={mode}")


def _adversary_params(resolved: dict[str, Any]) -> None:
    adversary = resolved["train"].get("adversary") or {}
    mode = adversary["grad_mode"]
    params = adversary.get("params") or {}
    _mode_params("train.adversary.params", params, mode, f"train.adversary.grad_mode={mode}")
    needs_eval = GRADIENT_MODES[mode].time_invariant and adversary.get("method") is not None
    if adversary.get("bn_mode") == "train" and needs_eval:
        raise ConfigError(
            f"train.adversary.bn_mode=train does not apply to train.adversary.grad_mode={mode} "
            "(it needs BatchNorm on running statistics); accepted: eval, or null"
        )


def _method_params(resolved: dict[str, Any]) -> None:
    if not resolved.get("method"):
        raise ConfigError(
            "method={} is empty; accepted: one or more of "
            f"{', '.join(METHODS)}, e.g. method=[pgd]"
        )
    selected = [key for key, method in resolved["method"].items() if "name" in method]
    for key, method in resolved["method"].items():
        if "name" not in method:  # an experiment's settings of a method the override dropped
            raise ConfigError(
                f"method.{key} sets {', '.join(method)} of {key}, which is not in "
                f"method=[{','.join(selected)}]; accepted: add {key} to method=[...], or drop "
                f"its settings with '~method.{key}'"
            )
        if method["name"] == ENSEMBLE:
            _ensemble_params(resolved, key)
            continue
        params = {k: v for k, v in method.items() if k != "name"}
        _params_known(f"method.{key}", params, METHODS[method["name"]].make, skip=2)
        if resolved["attack"].get("eot_samples", 1) > 1 and not takes_eot(method["name"]):
            accepted = ", ".join(m for m in METHODS if takes_eot(m))
            raise ConfigError(
                f"attack.eot_samples={resolved['attack']['eot_samples']} does not "
                f"apply to method={key}; accepted: 1, or the methods {accepted}"
            )


def _ensemble_params(resolved: dict[str, Any], key: str) -> None:
    """Every component of an ensemble names an attack= and a method= that exist, with
    parameters their functions accept, each by the rule of the same top-level key
    (``method.<method>.<name>``), tunes only a gradient mode with parameters, and shares one
    threat model with the others."""
    entries = resolved["method"][key]["components"]
    parts = components(OmegaConf.create(resolved), key)
    for entry, part in zip(entries, parts, strict=True):
        where = f"method.{key}.components.{part.name}"
        _params_known(where, part.params, METHODS[part.algorithm].make, skip=2)
        for name, value in (entry.get("params") or {}).items():
            check_as(f"method.{part.method}.{name}", value, f"{where}.params.{name}")
        if part.tune and (part.attack is None or not tunable(part.grad_mode)):
            what = "is gradient-free" if part.attack is None else "has no parameter to tune"
            raise ConfigError(
                f"{where}.tune=true has nothing to tune: {part.name} {what}; accepted: "
                f"tune: false, or tune: true on an attack with parameters "
                f"({', '.join(m for m in GRADIENT_MODES if tunable(m))})"
            )
        if part.tune:
            _tune_grid(resolved, part.grad_mode)
        if part.attack is not None:
            _mode_params(
                f"method.{key}.components.{part.name}.attack_params",
                part.grad_params,
                part.grad_mode,
                f"attack={part.attack}",
            )
    _one_threat_model(key, parts)


def _one_threat_model(key: str, parts: list[Component]) -> None:
    """The components of an ensemble share one threat model: its per-sample worst case is one
    number only within one budget (an L∞ radius and a count of flipped events are not)."""
    threats: dict[str, list[str]] = {}
    for part in parts:
        threats.setdefault(METHODS[part.algorithm].threat(part.params), []).append(part.name)
    if len(threats) > 1:
        mixed = "; ".join(f"{t}: {', '.join(names)}" for t, names in threats.items())
        raise ConfigError(
            f"method.{key}.components mixes threat models ({mixed}); accepted: components of "
            "one threat model (each other threat model as its own method= row)"
        )


def _tune_grid(resolved: dict[str, Any], mode: str) -> None:
    """The gradient mode ``mode`` has a grid in ``attack.tune.grids`` of parameters it takes,
    every point in their ranges (each point is an attack that tuning runs)."""
    for point in grid(resolved["attack"].get("tune") or {}, mode):
        _mode_params(f"attack.tune.grids.{mode}", point, mode, f"attack={mode}")


def _tuned_grids(resolved: dict[str, Any]) -> None:
    """Every grid of ``attack.tune.grids`` is one, whether this job tunes or not (a sweep over
    ``attack=`` refuses a bad grid in all of its jobs, before any work), and with
    ``attack.tune.enabled`` the job's gradient mode has a grid."""
    tune = resolved["attack"].get("tune") or {}
    modes = [resolved["attack"]["grad_mode"]] if tune.get("enabled") else []
    for mode in dict.fromkeys([*modes, *(tune.get("grids") or {})]):
        _tune_grid(resolved, mode)


def _curve_within_steps(resolved: dict[str, Any]) -> None:
    """Some method with iterations reaches every count of ``attack.steps_curve`` (a method
    that stops short has the counts it reaches, with a note: :mod:`.notes`)."""
    counts = resolved["attack"].get("steps_curve") or []
    reach = curve_reach(resolved) if counts else {}
    if reach and max(counts) > max(reach.values()):
        raise ConfigError(
            f"attack.steps_curve={counts} goes beyond {', '.join(reach)} (the counts are "
            f"iterations of a method); accepted: counts <= {max(reach.values())}, or more steps"
        )


def _kinds_fit_model_and_encoding(resolved: dict[str, Any]) -> None:
    source = resolved.get("source_train")
    used = {resolved["train"]["kind"]} | (
        {source} if source and "black" in resolved["boxes"] else set()
    )
    with_ann = sorted(kind for kind in used if STRATEGIES[kind].trains_ann)
    if with_ann and resolved["encoding"] not in INPUT_ENCODINGS:
        raise ConfigError(
            f"encoding={resolved['encoding']} has no ANN counterpart (train kinds "
            f"{with_ann}); accepted: {', '.join(INPUT_ENCODINGS)}"
        )
    converted = {resolved["model"]["name"]} if resolved["train"]["kind"] in CONVERTED else set()
    if source in CONVERTED and "black" in resolved["boxes"]:
        converted.add(resolved.get("source_model") or resolved["model"]["name"])
    for name in sorted(converted if resolved["theta"] != 1 else ()):
        if any(g != i for i, g in enumerate(shared_scales(meta_model(resolved, name)))):
            raise ConfigError(
                f"theta={resolved['theta']} cannot convert model={name}: its identity "
                "shortcuts add spikes of unit size to the block's output; "
                "accepted: theta=1"
            )


def _source_settings_fit(resolved: dict[str, Any]) -> None:
    if resolved.get("source_T") is not None and resolved["encoding"] == "frames":
        raise ConfigError(
            f"source_T={resolved['source_T']} has no meaning for encoding=frames (the "
            "event frames are binned into the target's T steps); accepted: null"
        )
    name = resolved.get("source_model")
    if (
        name is not None
        and "image_size" in resolved["dataset"]
        and layer_outputs(meta_model(resolved, name), input_shape(resolved)) is None
    ):
        raise ConfigError(
            f"source_model={name} does not fit dataset={resolved['dataset']['name']}; "
            "accepted: a model that fits the dataset's input (see model=)"
        )


def _time_extension_fits_encoding(resolved: dict[str, Any]) -> None:
    if resolved["attack"].get("time_extension", 1) > 1 and resolved["encoding"] == "frames":
        raise ConfigError(
            f"attack.time_extension={resolved['attack']['time_extension']} has no "
            "meaning for encoding=frames (the event frames are binned into T "
            "steps by the data); accepted: 1"
        )


def _encoding_fits_dataset(resolved: dict[str, Any]) -> None:
    accepted = list(resolved["dataset"].get("encodings") or ENCODINGS)
    if resolved["encoding"] not in accepted:
        raise ConfigError(
            f"encoding={resolved['encoding']!r} does not fit "
            f"dataset={resolved['dataset']['name']}; accepted: {', '.join(accepted)}"
        )


def _frames_match_T(resolved: dict[str, Any]) -> None:
    frames = resolved["dataset"].get("params", {}).get("frames")
    if frames is not None and frames != resolved["T"]:
        raise ConfigError(
            f"dataset.params.frames={frames} does not match T={resolved['T']}; "
            "accepted: frames equal to T (the default, frames: ${T})"
        )


def _attack_takes_a_step(resolved: dict[str, Any]) -> None:
    if all(e == 0 for e in resolved["eps"]):
        raise ConfigError(
            f"eps={resolved['eps']} makes every attack a no-op (clean accuracy is "
            "reported with any attack); accepted: at least one eps > 0"
        )


def _source_seed_in_range(resolved: dict[str, Any]) -> None:
    if (
        "black" in resolved["boxes"]
        and resolved["seed"] + resolved["source_seed_offset"] > MAX_SEED
    ):
        raise ConfigError(
            f"seed + source_seed_offset = {resolved['seed'] + resolved['source_seed_offset']}"
            f" is out of range; accepted: a sum <= {MAX_SEED}"
        )


def _datamodule_options(resolved: dict[str, Any]) -> None:
    dataset = resolved["dataset"]
    cls = DATAMODULES[dataset["name"]]
    params = dict(dataset.get("params") or {})
    _params_known("dataset.params", params, cls.__init__, skip=4)
    cls(
        batch_size=resolved["train"]["batch_size"],
        eval_batch_size=resolved["eval_batch_size"],
        seed=resolved["seed"],
        **params,
    )  # its own range checks; no file is read here


def input_shape(resolved: dict[str, Any]) -> tuple[int, ...]:
    """One sample as the model sees it, T = 1: ``[C, H, W]`` (``[1, C, H, W]`` for frames)."""
    d = resolved["dataset"]
    shape = (d["in_channels"], d["image_size"], d["image_size"])
    return (1, *shape) if resolved["encoding"] == "frames" else shape


def meta_model(resolved: dict[str, Any], name: str) -> torch.nn.Module:
    """The model without memory (PyTorch's meta device), T = 1: for shapes only."""
    d = resolved["dataset"]
    with torch.device("meta"):
        return build(
            name,
            num_classes=d["num_classes"],
            in_channels=d["in_channels"],
            T=1,
            lam=resolved["lambda"],
            theta=resolved["theta"],
            reset=resolved["reset"],
            encoding=resolved["encoding"],
            mean=d.get("mean"),
            std=d.get("std"),
        ).eval()


def layer_outputs(model: torch.nn.Module, shape: tuple[int, ...]) -> int | None:
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


def _model_fits_dataset(resolved: dict[str, Any]) -> None:
    if "image_size" not in resolved["dataset"] or is_external(resolved):  # built by check_external
        return
    shape = input_shape(resolved)
    if layer_outputs(meta_model(resolved, resolved["model"]["name"]), shape) is None:
        fitting = [n for n in MODELS if layer_outputs(meta_model(resolved, n), shape) is not None]
        raise ConfigError(
            f"model={resolved['model']['name']} does not fit dataset={resolved['dataset']['name']} "
            f"(input {'x'.join(map(str, shape[-3:]))}); accepted: {', '.join(fitting)}"
        )


def _analysis_layer_exists(resolved: dict[str, Any]) -> None:
    opts = (resolved.get("analysis") or {}).get("rate_current")
    if not opts:
        return
    with torch.device("meta"):
        model = build_model(model_settings(OmegaConf.create(resolved)))
    count = len(spiking_layers(model))
    if not opts["layer"] < count:
        accepted = f"an integer in [0, {count - 1}]" if count else "no analysis=[rate_current]"
        raise ConfigError(
            f"analysis.rate_current.layer={opts['layer']} is out of range: "
            f"model={resolved['model']['name']} (train.kind={resolved['train']['kind']}) has "
            f"{count} spiking layers; accepted: {accepted}"
        )


def _event_attacks_fit_frames(resolved: dict[str, Any]) -> None:
    """An event attack needs an event dataset whose frame values are the ones its threat model
    changes; an L-infinity attack's [0, 1] box does not hold integer counts."""
    values = resolved["dataset"].get("params", {}).get("event_encoding")
    for key, method in resolved["method"].items():
        name = method.get("name")
        if name not in METHODS:  # the ensemble: its own components
            continue
        accepted = METHODS[name].events
        if accepted and values is None:
            events = [
                n for n, d in DATAMODULES.items() if "event_encoding" in _accepted_params(d, 0)
            ]
            raise ConfigError(
                f"method.{key}={name} attacks event frames, but dataset="
                f"{resolved['dataset']['name']} has none; accepted: an event dataset "
                f"({', '.join(events)})"
            )
        if accepted and values not in accepted:
            raise ConfigError(
                f"method.{key}={name} changes {' or '.join(accepted)} frames, but "
                f"dataset.params.event_encoding={values}; accepted: "
                + ", ".join(f"dataset.params.event_encoding={v}" for v in accepted)
            )
        if not accepted and values == "counts":
            raise ConfigError(
                f"method.{key}={name} perturbs within the [0, 1] box, which does not hold the "
                "integer event counts of dataset.params.event_encoding=counts; accepted: "
                "dataset.params.event_encoding=scaled or binary, or an event attack"
            )


def _retime_budget_fits_T(resolved: dict[str, Any]) -> None:
    """Spike-Retiming's B∞ budget moves a spike within the T bins (:func:`check_budget`)."""
    for key, method in resolved["method"].items():
        if method.get("name") == "retime" and "budget" in method:  # else Retime's: 1
            norm = method.get("norm", "linf")  # Retime's default
            check_budget(f"method.{key}.budget", norm, method["budget"], resolved["T"])


def _attack_target_is_a_class(resolved: dict[str, Any]) -> None:
    """A targeted attack's ``target`` is one of the dataset's classes (-1: untargeted), or
    ``random`` where the method draws one per sample."""
    classes = resolved["dataset"]["num_classes"]
    for key, method in resolved["method"].items():
        target = method.get("target")
        name = method.get("name")
        if isinstance(target, str) and not getattr(METHODS[name].make, "random_target", False):
            takers = ", ".join(n for n, m in METHODS.items() if getattr(m.make, "random_target", 0))
            raise ConfigError(
                f"method.{key}.target={target!r} draws a target class per sample, which "
                f"method={name} does not; accepted: -1 (untargeted) or 0 .. {classes - 1} "
                f"(target=random: {takers})"
            )
        if isinstance(target, int) and target >= classes:
            raise ConfigError(
                f"method.{key}.target={target} is not a class of dataset="
                f"{resolved['dataset']['name']}; accepted: -1 (untargeted) or 0 .. {classes - 1}"
            )


COMBINATIONS: list[Callable[[dict[str, Any]], None]] = [
    _method_params,
    _tuned_grids,
    _curve_within_steps,
    _time_extension_fits_encoding,
    _gradient_params,
    _adversary_params,
    _encoding_fits_dataset,
    _frames_match_T,
    _event_attacks_fit_frames,
    _retime_budget_fits_T,
    _attack_target_is_a_class,
    _attack_takes_a_step,
    _source_seed_in_range,
    _datamodule_options,
    _model_fits_dataset,
    _kinds_fit_model_and_encoding,
    _source_settings_fit,
    _analysis_layer_exists,
]
