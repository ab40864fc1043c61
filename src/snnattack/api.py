"""The Python API: evaluate, attack and differentiate a spiking network from a script or a
notebook, with the machinery of a job (docs/interop.md, "Using your own model").

- :func:`evaluate` runs the same evaluation as ``python run.py``: clean accuracy, one row per
  (method, ε, box), the worst-case ensemble, tuning on the validation data passed in, and the
  masking checks. It returns the :class:`~snnattack.records.results.JobRecord` a job writes to
  ``metrics.json``.
- :func:`attack` returns adversarial examples of one batch.
- :func:`gradient_mode` differentiates a model by a gradient mode in the user's own loop.

The keyword arguments become overrides of the job's config (``conf/``), so every value is
checked by the same rules as on the command line
(:func:`snnattack.config.validation.validate`) and a wrong one is one
:class:`~snnattack.errors.UserError` line; ε is in 1/255 units, as ``eps=``.
Data is moved to the device of the model; the user's model is never changed (the attacks run
on a copy in eval mode, which the evaluation core makes: :mod:`snnattack.evaluation.core`).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from torch import nn
from torch.utils.data import DataLoader

from snnattack import inputs
from snnattack.attacks.methods import reads_recordings
from snnattack.attacks.methods.base import unfitted
from snnattack.attacks.parse import attack_specs
from snnattack.attacks.universal import needs_fitting
from snnattack.config.compose import compose_config
from snnattack.config.keys import CONF_DIR, check_keys, schema
from snnattack.config.parse import attack_settings
from snnattack.config.spelling import spelt
from snnattack.config.validation import validate
from snnattack.data import datamodule
from snnattack.data.recordings import Recordings
from snnattack.errors import ConfigError, UserError
from snnattack.evaluation import core
from snnattack.evaluation.core import RunSettings, device_of
from snnattack.gradients import GRADIENT_MODES, check_mode, checked_mode, mode_params, sole_mode
from snnattack.inputs import dataset_of
from snnattack.interop.common import unwrapped
from snnattack.interop.external import as_spiking_net, check_foreign, with_encoding
from snnattack.interop.foreign import form_needs_samples
from snnattack.interop.prepared import PLAIN, PREPARED, passed
from snnattack.interop.streams import STREAMS, framed_recordings, is_streams
from snnattack.job import job_settings
from snnattack.models.base import SpikingNet
from snnattack.process import numerics
from snnattack.process.malloc import set_malloc
from snnattack.records.results import JobRecord
from snnattack.runtime.cli import (
    check_group_choices,
    check_override_keys,
    group_choices,
    hydra_line,
)
from snnattack.runtime.console import libraries_quieted
from snnattack.settings import BOXES, PASSED, AttackSettings, AttackSpec, DataSettings, JobSettings
from snnattack.snn.neurons import lif_settings

COMPOSED = 32  # distinct argument lists whose composed, validated config is kept (_composed)
SHOWN_BY = "snnattack.api.job_config(...)"  # what shows a call's config, in a refusal's words
LISTING = f"accepted: the keys of the config that {SHOWN_BY} returns"  # unknown keys
Data = DataLoader | tuple[torch.Tensor, torch.Tensor] | tuple[list, Any]  # (streams, labels)


def _override(value: Any) -> str:
    """``value`` as a Hydra override's right-hand side (a 0-d tensor or array: its number)."""
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_override(v) for v in value) + "]"
    return str(value)


def _listed(argument: str, value: Any, accepted: Sequence[str]) -> list[str]:
    """``value`` (one name or a list of distinct names) checked against ``accepted``."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple) or not values:
        raise UserError(
            f"{argument}={value!r} is not a name or a list of names; "
            f"accepted: {', '.join(accepted)}"
        )
    for v in values:
        if v not in accepted:
            raise UserError(
                f"{argument}={value!r}: {v!r} is unknown; accepted: {', '.join(accepted)}"
            )
    if len(set(values)) < len(values):  # a job's config would take it once
        raise UserError(
            f"{argument}={value!r} repeats a name; accepted: distinct names of "
            f"{', '.join(accepted)}"
        )
    return list(values)


def _one(argument: str, value: Any, accepted: Sequence[str]) -> str:
    """``value``, one name of ``accepted``."""
    if not isinstance(value, str):
        raise UserError(f"{argument}={value!r} is not one name; accepted: {', '.join(accepted)}")
    return _listed(argument, value, accepted)[0]


def job_config(
    *,
    eps: float | Sequence[float],
    methods: str | Sequence[str],
    grad_mode: str,
    grad_params: dict[str, Any] | None = None,
    method_params: dict[str, Any] | None = None,
    boxes: str | Sequence[str] = ("white",),
    tune: bool = False,
    seed: int = 0,
    T: int | None = None,
    masking: bool = True,
    progress: bool = True,
    overrides: Sequence[str] = (),
    validated: bool = True,
    names: Mapping[str, str | None] | None = None,
) -> tuple[DictConfig, tuple[str, ...]]:
    """The job config (``conf/``) these arguments stand for, validated like a job's, and the
    notes its validation returned (:func:`snnattack.config.validation.validate`);
    ``validated=False``: composed only, no notes (the benchmark validates it once its model
    took the protocol's images, :mod:`snnattack.benchmark.evaluation`).

    ``grad_params`` set ``attack.params.*``; ``method_params`` set ``method.<m>.*`` of every
    method ``m``; ``progress`` sets ``trainer.enable_progress_bar``; ``overrides`` are further
    ``key=value`` strings, as on the command line. ``names`` are the caller's names of the
    arguments it was given (``attack``'s ``method``; ``"{key}"`` for method parameters given
    as keyword arguments; None for one it fixes itself), whose keys ``overrides`` may not set:
    such an override would silently overrule the argument (:func:`_check_owned`); None: not
    checked (the benchmark's overrides are its protocol's, which it filters itself). The
    config lists every key that ``overrides`` may set, as ``python run.py --cfg job`` does on
    the command line: an unknown key's refusal names it (:data:`LISTING`)."""
    schema()  # refuses a package whose conf/ folder holds no config (docs/errors.md)
    inputs.check_overrides(overrides)
    methods = _listed("methods", methods, group_choices(CONF_DIR / "method"))
    grad_mode = _one("grad_mode", grad_mode, group_choices(CONF_DIR / "attack"))
    if grad_params is not None and not isinstance(grad_params, Mapping):
        raise UserError(
            f"grad_params={grad_params!r} is not a dict; accepted: None or {{name: value}} of "
            f"grad_mode={grad_mode}'s parameters (conf/attack/{grad_mode}.yaml, attack.params)"
        )
    for name in grad_params or {}:
        if grad_mode in GRADIENT_MODES and name not in (known := mode_params(grad_mode)):
            raise UserError(
                f"grad_params[{name!r}] is unknown for grad_mode={grad_mode}; accepted: "
                f"{', '.join(known) or 'no parameters'}"
            )
    boxes = _listed("boxes", boxes, BOXES)
    radii = list(eps) if isinstance(eps, list | tuple) else [eps]
    if any(isinstance(r, str) or getattr(r, "ndim", 0) != 0 for r in radii):
        raise UserError(
            f"eps={eps!r} is not a number or a list of numbers; accepted: radii in 1/255 units, "
            "e.g. eps=8 or eps=[8, 16]"
        )
    args: list[str] = []  # the arguments' overrides, then the caller's
    owned: dict[str, tuple[str | None, str]] = {}  # key: (the caller's argument, its value)

    def argument(parameter: str, key: str, value: str, param: str | None = None) -> None:
        args.append(f"{'++' if param else ''}{key}={value}")
        if names is not None and parameter in names:
            name = names[parameter]
            if name is not None and param is not None:  # a parameter of a dict argument
                name = name.format(key=param) if "{key}" in name else f"{name}[{param!r}]"
            owned[key] = (name, value)

    argument("model", "model.name", PASSED)  # the caller's model: no architecture of the config's
    argument("eps", "eps", _override(eps))
    argument("methods", "method", f"[{','.join(methods)}]")
    argument("grad_mode", "attack", grad_mode)
    if "attack" in owned:  # the same choice, set as a key: attack.grad_mode=rga
        owned["attack.grad_mode"] = owned["attack"]
    argument("boxes", "boxes", _override(boxes))
    argument("tune", "attack.tune.enabled", _override(tune))
    argument("masking", "checks.masking.enabled", _override(masking))
    argument("progress", "trainer.enable_progress_bar", _override(progress))
    argument("seed", "seed", _override(seed))
    if T is not None:
        argument("T", "T", str(T))
    for k, v in (grad_params or {}).items():
        argument("grad_params", f"attack.params.{k}", _override(v), k)
    for m in methods:
        for k, v in (method_params or {}).items():
            argument("method_params", f"method.{m}.{k}", _override(v), k)
    _check_owned(overrides, owned)
    chooser = (names or {}).get("methods") or "methods"  # the argument naming the methods
    cfg, notes = _composed(tuple([*args, *overrides]), tuple(overrides), validated, chooser)
    return copy.deepcopy(cfg), notes  # a copy: the cached config is never changed


def _check_owned(overrides: Sequence[str], owned: Mapping[str, tuple[str | None, str]]) -> None:
    """``overrides`` set none of the keys that an argument of the call sets (``owned``: key ->
    that argument, None where the call fixes the key itself, and its value): the override,
    later, would silently overrule the argument, and the call would run and record other
    settings than its arguments say."""
    for item in overrides:
        key, _, given = item.partition("=")
        key = key.lstrip("+~")
        # a node above an argument's key, replaced by a dict or removed, overrules it too
        # (method.pgd={steps:3} beside steps=1); a group's choice (trainer=gpu) does not
        whole = item.startswith("~") or given.lstrip().startswith("{")
        below = [k for k in owned if whole and k.startswith(key + ".")]
        if key not in owned:
            if not below:
                continue
            key = below[0]
        name, value = owned[key]
        if name is None:
            raise UserError(
                f"overrides=[{item!r}] sets {key}, which this call fixes ({key}={value}); "
                "accepted: overrides of other keys"
            )
        raise UserError(
            f"overrides=[{item!r}] sets {key}, which the argument {name} sets ({key}={value}): "
            f"the override would overrule it; accepted: the argument {name}, and overrides of "
            "other keys"
        )


@functools.lru_cache(maxsize=COMPOSED)
def _composed(
    args: tuple[str, ...], overrides: tuple[str, ...], validated: bool, chooser: str
) -> tuple[DictConfig, tuple[str, ...]]:
    """The config of the command-line arguments ``args`` (``overrides`` among them, checked
    first), composed (:func:`~snnattack.config.compose.compose_config`) and, if ``validated``,
    validated once per distinct ``args``: composing and checking take
    ~0.15 s, which a loop of :func:`attack` calls on small batches would pay at every call.
    A refusal raises, and is not kept, in the caller's words (``chooser``: its argument that
    names the methods). Kept, a config's notes are logged at its first call only, and what
    its validation reads outside the arguments (a model file, an environment variable) is
    read then."""
    check_group_choices(list(overrides), CONF_DIR)
    for item in overrides:  # each key before Hydra composes, as on the command line
        _as_given(f"overrides=[{item!r}]", check_override_keys, [item], CONF_DIR, LISTING)
    try:
        cfg = compose_config(args)
    except HydraException as err:
        named = {"method": f"{chooser}=[...]"}  # the caller's argument that chooses them
        raise UserError(hydra_line(err, CONF_DIR, named, SHOWN_BY)) from None
    if not validated:
        return cfg, ()
    # the keys below a dict an override sets (store={...}), before validate checks them
    tree = OmegaConf.to_container(cfg, resolve=False)
    _as_given(f"overrides={list(overrides)!r}", check_keys, tree, CONF_DIR, LISTING)
    return cfg, validate(cfg)


def _as_given(given: str, check: Callable[..., None], *args: Any) -> None:
    """``check(*args)``, a check of the keys that ``overrides`` set, whose refusal names
    ``given``, the argument that set them (the arguments' own keys are known: only
    ``overrides`` adds a key)."""
    try:
        check(*args)
    except ConfigError as err:
        raise ConfigError(f"{given}: {err}") from None


def _loader(data: Any, batch_size: int, argument: str = "data") -> DataLoader:
    """``data`` as a loader of ``(images, labels)`` batches in order."""
    if isinstance(data, DataLoader):
        return data
    return DataLoader(dataset_of(data, argument), batch_size=batch_size, shuffle=False)


def _described(model: nn.Module | None, net: SpikingNet | None, kind: str) -> dict[str, Any] | None:
    """What the record says of a model passed in (it has no training record): its kind of
    training as the config names it (``train.kind``, as a ``model=external`` job's record
    does), its class, its architecture (a zoo model's name, else its class's: the config's
    ``model.name`` is ``passed``), and the neurons of ``net``, the network the attacks run (the
    adapted one for another library): each LIF's λ, θ and reset, which the config's
    ``lambda`` and ``reset`` do not describe."""
    if model is None:
        return None
    described = {
        "kind": kind,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "architecture": getattr(model, "architecture", None) or type(model).__qualname__,
    }
    return described if net is None else {**described, "neurons": lif_settings(net)}


EVALUATE = (
    "eps",
    "methods",
    "grad_mode",
    "grad_params",
    "boxes",
    "tune",
    "T",
    "seed",
    "masking",
    "progress",
)  # evaluate's arguments that job_config takes


# attack's names of job_config's arguments: its eps, method, grad_mode, grad_params, method's
# keyword arguments (steps=), seed and T, and none for what it fixes itself (white box, no
# tuning, no masking checks, the progress setting)
ATTACK_NAMES = {
    **{a: a for a in ("eps", "grad_mode", "grad_params", "seed", "T")},
    "methods": "method",
    "method_params": "{key}",
    **dict.fromkeys(("boxes", "tune", "masking", "progress")),
}


def _key(*arguments: Any) -> str | None:
    """The arguments of a call as the key of what they prepare (:func:`_prepared`), or None
    where one is not a plain value (numbers, strings, None, and lists, tuples and dicts of
    them), whose text may not tell it apart: then nothing is kept."""

    def plain(value: Any) -> bool:
        if isinstance(value, dict):
            return all(plain(k) and plain(v) for k, v in value.items())
        if isinstance(value, list | tuple):
            return all(plain(v) for v in value)
        return isinstance(value, (*PLAIN, torch.dtype, torch.device))

    return repr(arguments) if plain(arguments) else None


def _form(x: Any) -> tuple[Any, ...] | None:
    """The form of the samples ``x`` on which a model is adapted and checked (a sample's
    shape, dtype, device), which the key of its preparation holds; None if not a tensor."""
    if not isinstance(x, torch.Tensor):
        return None
    return (tuple(x.shape[1:]), x.dtype, x.device)


def _prepared(
    model: Any, key: str | None, build: Callable[[], Any], source: Any = None, fresh: bool = False
) -> tuple[Any, list[torch.Tensor]]:
    """What ``build`` prepares of ``model`` (and ``source``) for the call whose arguments
    ``key`` stands for: kept from an earlier call while neither model nor the arguments
    changed (:mod:`snnattack.interop.prepared`), else built (``fresh``: built now, replacing
    a kept one), and the checks of a kept one, unread
    (:meth:`~snnattack.interop.prepared.Preparations.deferred`), which the caller reads
    (:func:`attack`: with its batch's checks, in one host sync) and, where one is false,
    calls again with ``fresh``. The one place where :func:`attack` and :func:`evaluate` reuse a
    preparation. Kept only while the models' weights are finite (``finite``): a first call
    refuses a NaN weight (the adaptation's check, or :func:`~snnattack.inputs.check_model` on
    a model whose classes are not known yet), and so does a repeated one after a NaN written
    through ``.data``."""
    if key is None or not isinstance(model, nn.Module):
        return build(), []
    if source is not None and not isinstance(source, nn.Module):
        return build(), []
    if fresh:
        return PREPARED.rebuilt(model, key, build, source), []
    return PREPARED.deferred(model, key, build, source, finite=True)


@dataclass
class _Attack:
    """What :func:`attack` prepares of a model under its arguments: the adapted network (None:
    the model itself, a SpikingNet), the row and the attack's settings, the samples the model
    reads, the config's ``malloc``, ``tf32`` and ``deterministic``, and the model's classes
    once a batch checked it."""

    net: SpikingNet | None
    spec: AttackSpec
    attack: AttackSettings
    samples: inputs.Samples
    malloc: str
    tf32: bool
    deterministic: bool
    classes: int | None = None

    def network(self, model: nn.Module) -> nn.Module:
        """The network the attack runs: the adapted one, or ``model`` itself."""
        return model if self.net is None else self.net


def _prepare_attack(
    model: nn.Module,
    x: Any,
    method: str,
    eps: float,
    grad_mode: str,
    grad_params: dict[str, Any] | None,
    T: int | None,
    seed: int,
    overrides: Sequence[str],
    params: dict[str, Any],
) -> _Attack:
    """:func:`attack`'s preparation of ``model`` (its samples' form read on ``x``)."""
    if isinstance(eps, Sequence) and not isinstance(eps, str):
        raise UserError(
            f"eps={eps!r} is not one radius; accepted: a number in 1/255 units "
            "(snnattack.evaluate takes several)"
        )
    inputs.check_model_keys(overrides)
    net = as_spiking_net(model, T, example=x if isinstance(x, torch.Tensor) else None)
    cfg, _ = job_config(
        eps=eps,
        methods=[_one("method", method, group_choices(CONF_DIR / "method"))],
        grad_mode=grad_mode,
        grad_params=grad_params,
        method_params=params,
        seed=seed,
        T=net.T,
        masking=False,
        overrides=overrides,
        names=ATTACK_NAMES,
    )
    (spec,) = attack_specs(cfg)
    if reads_recordings(spec.algorithm):
        raise UserError(
            f"method={method!r} changes raw event streams, which attack() does not take; "
            f"accepted: snnattack.evaluate(model, (streams, labels), methods=[{method!r}], "
            f"...), or method={spec.algorithm + '_frames'!r} (on frames)"
        )
    if needs_fitting(spec.algorithm):
        raise UserError(unfitted(f"method={method}"))
    net = with_encoding(net, cfg.encoding, "model", model)
    samples = inputs.samples_of(cfg.encoding, cfg.T, cfg.dataset)
    net = None if net is model else net
    return _Attack(
        net, spec, attack_settings(cfg), samples, cfg.malloc, cfg.tf32, cfg.deterministic
    )


@dataclass
class PreparedEvaluation:
    """What :func:`evaluate` (and the benchmark) prepares of a model (and a source): the
    adapted networks (None: the model passed), the settings and the resolved config, the
    samples they read, the record's description of the models, the config's ``malloc``,
    ``tf32``, ``deterministic``, ``eval_batch_size`` and ``boxes``, and the target's classes
    once the data checked it."""

    target: SpikingNet | None
    crafter: SpikingNet | None
    settings: JobSettings
    config: dict[str, Any]
    samples: inputs.Samples
    described: dict[str, Any]
    malloc: str
    tf32: bool
    deterministic: bool
    batch_size: int
    boxes: list[str]
    classes: int | None = None


def _prepare_evaluation(
    model: nn.Module,
    source: nn.Module | None,
    example: torch.Tensor | None,
    T: int | None,
    arguments: dict[str, Any],
    overrides: Sequence[str],
) -> PreparedEvaluation:
    """:func:`evaluate`'s preparation of ``model`` and ``source`` (their form probed on
    ``example``) under its ``arguments`` (:data:`EVALUATE`) and ``overrides``."""
    inputs.check_model_keys(overrides)
    target = as_spiking_net(model, _steps_of(model, source, T), example=example)
    crafter = None
    if source is not None:
        crafter = as_spiking_net(source, _steps_of(source, model, T), "source", example)
    cfg, notes = job_config(
        **{**arguments, "T": target.T}, overrides=overrides, names={a: a for a in EVALUATE}
    )
    config = spelt(cfg)
    return prepared_evaluation(job_settings(cfg, notes), config, model, target, source, crafter)


def _steps_of(net: nn.Module, other: nn.Module | None, T: int | None) -> int | None:
    """The ``T`` of :func:`evaluate` for ``net``, beside ``other`` (the black box's pair):
    ``T`` is for a network of another library, so a SpikingNet beside one runs at its own
    (None: a transfer between models of different T); else ``T`` as given (a SpikingNet's
    checked against its own by :func:`~snnattack.interop.external.as_spiking_net`)."""
    if isinstance(net, SpikingNet) and other is not None and not isinstance(other, SpikingNet):
        return None
    return T


def prepared_evaluation(
    settings: JobSettings,
    config: dict[str, Any],
    model: nn.Module,
    target: SpikingNet,
    source: nn.Module | None = None,
    crafter: SpikingNet | None = None,
    *,
    about: dict[str, Any] | None = None,
) -> PreparedEvaluation:
    """The evaluation of ``model``, adapted as ``target`` (and of ``source``, adapted as
    ``crafter``), under the ``settings`` of a validated config and the config itself,
    resolved (``config``, which the record keeps): what
    :func:`evaluate` prepares of its arguments, and what the benchmark prepares of a protocol
    (:mod:`snnattack.benchmark.evaluation`) and hands on to :func:`run_evaluation`, composed and
    adapted once. ``about`` adds to the record's description of the target (the benchmark's
    parameter count and weights hash), so that the record is right as the core makes it."""
    encoding = config["encoding"]
    target = with_encoding(target, encoding, "model", model)
    crafter = None if crafter is None else with_encoding(crafter, encoding, "source", source)
    black = settings.store.black_box
    described = {
        "target": {**_described(model, target, settings.model.kind), **(about or {})},
        "source": _described(source, crafter if black else None, settings.source.kind),
    }
    return PreparedEvaluation(
        None if target is model else target,
        None if crafter is source else crafter,
        settings,
        config,
        inputs.samples_of(encoding, config["T"], config["dataset"]),
        described,
        config["malloc"],
        config["tf32"],
        config["deterministic"],
        config["eval_batch_size"],
        list(config["boxes"]),
    )


@torch.inference_mode(False)  # called in a validation loop's block: the attacks differentiate
@numerics.kept_generators()  # the data's loaders draw from torch's generator as they start
def evaluate(
    model: nn.Module,
    data: Data,
    *,
    eps: float | Sequence[float] = (8,),
    methods: str | Sequence[str] = ("pgd",),
    grad_mode: str = "stbp",
    grad_params: dict[str, Any] | None = None,
    boxes: str | Sequence[str] = ("white",),
    source: nn.Module | None = None,
    val_data: Data | None = None,
    tune: bool = False,
    T: int | None = None,
    seed: int = 0,
    masking: bool = True,
    progress: bool = True,
    overrides: Sequence[str] = (),
) -> JobRecord:
    """The evaluation a job runs, on ``model`` and ``data`` (images in [0, 1], labels; event
    frames ``[B, T, C, H, W]`` with an event dataset in ``overrides``; or that dataset's event
    streams, tonic's arrays, with their labels, which the attacks on raw events need:
    docs/interop.md).

    ``eps`` are L∞ radii in 1/255 units; ``methods`` are ``method=`` names (``conf/method``,
    ``ensemble`` for the worst case); ``grad_mode`` an ``attack=`` name (``conf/attack``) and
    ``grad_params`` its parameters; ``boxes`` white and/or black (transfer from ``source``).
    ``val_data`` holds the validation images that ``tune=True`` and tuned ensemble components
    choose parameters on, and that a universal method (``event_patch_universal``,
    ``sparsefool_universal``) is fitted on (never ``data``). ``T`` is needed for a network of
    another library (a SpikingNet beside one, as target or source, runs at its own).
    ``overrides`` are further config keys (``"method.pgd.steps=20"``,
    ``"attack.eot_samples=4"``), not the model's own (:data:`snnattack.inputs.MODEL_KEYS`: it
    runs as it is built; ``tf32`` and ``deterministic`` hold for the call, as in a job's
    process) nor one of these arguments (``eps``, ``method``, ``attack``, ...: the override
    would overrule the argument). Returns the record a job writes to ``metrics.json``, with
    the masking checks unless ``masking=False``. ``progress`` shows the attacks' progress
    (each row, ensemble component and batch) and the masking checks' on the terminal, as a
    job does; ``progress=False`` is quiet.
    """
    example = inputs.first_sample(data)  # a foreign network's form is probed on it
    model, source = _network_of(model, example), _network_of(source, example)
    arguments = (eps, methods, grad_mode, grad_params, boxes, tune, T, seed, masking, progress)
    key = _key(*arguments, overrides, _form(example))

    def build() -> PreparedEvaluation:
        return _prepare_evaluation(
            model, source, example, T, dict(zip(EVALUATE, arguments, strict=True)), overrides
        )

    def afresh() -> PreparedEvaluation:
        return _prepared(model, key, build, source, fresh=True)[0]

    prepared, checks = _prepared(model, key, build, source)
    return run_evaluation(prepared, model, source, data, val_data, progress, kept=(checks, afresh))


def run_evaluation(
    prepared: PreparedEvaluation,
    model: nn.Module,
    source: nn.Module | None,
    data: Data,
    val_data: Data | None = None,
    progress: bool = True,
    *,
    checked: bool = False,
    kept: tuple[list[torch.Tensor], Callable[[], PreparedEvaluation]] | None = None,
) -> JobRecord:
    """The record of the evaluation ``prepared`` (:func:`prepared_evaluation`) of ``model``
    (and ``source``) on ``data`` (and ``val_data``), run by the evaluation core: the data
    checked unless the caller ``checked`` them (the models run only where ``prepared`` does
    not know their classes yet), event streams framed, the black box's source required, and a
    source without the black box refused (it would be recorded but craft nothing). The one
    tail of :func:`evaluate` and ``snnattack.benchmark.evaluate``. ``kept``: a kept
    preparation's unread checks (:func:`_prepared`), read with the first batch's values, and
    what prepares afresh where one is false, before anything is refused (as :func:`attack`)."""
    if source is not None and "black" not in prepared.boxes:  # it would craft nothing
        raise UserError(
            f"source={type(source).__name__} is given but boxes={prepared.boxes} attacks in "
            "the white box only, so no example would be crafted on it; accepted: "
            "boxes=['white', 'black'] (or ['black']) to transfer from it, or source=None"
        )
    target = model if prepared.target is None else prepared.target
    crafter = source if prepared.crafter is None else prepared.crafter
    settings = prepared.settings
    set_malloc(prepared.malloc)  # as a job's process: freed memory kept (malloc=reuse)
    checks, afresh = kept or ([], None)
    classes = prepared.classes
    try:
        framed, val, recordings = _recordings(settings.data, settings.specs, data, val_data)
        if not checked:
            classes = inputs.check_evaluation(
                target, model, framed, crafter, source, val, prepared.samples, classes, checks
            )
    except UserError:
        if passed(checks):
            raise
        classes = None
    if classes is None and afresh is not None:  # the kept preparation's model changed: afresh
        return run_evaluation(afresh(), model, source, data, val_data, progress)
    prepared.classes = classes
    data, val_data = framed, val
    if settings.store.black_box and source is None:
        raise UserError(
            f"boxes={prepared.boxes} attacks in the black box but source=None; accepted: "
            "source=<the model to craft on>, or boxes=['white']"
        )
    val = None if val_data is None else dataset_of(val_data, "val_data")
    run_settings = RunSettings.on(device_of(target), progress)
    # as a job's, for the call: its numerics, no Lightning banners
    with numerics.held(prepared.tf32, prepared.deterministic), libraries_quieted():
        return core.record_attacks(
            settings,
            target,
            crafter,
            _loader(data, prepared.batch_size),
            val,
            run_settings,
            models=copy.deepcopy(prepared.described),  # the record's own: the kept one as is
            config=copy.deepcopy(prepared.config),
            recordings=recordings,
        )


def _recordings(
    dataset: DataSettings, specs: Sequence[AttackSpec], data: Any, val_data: Any
) -> tuple[Any, Any, Recordings | None]:
    """``data`` and ``val_data`` as frames where they are event streams (``(streams,
    labels)``, :mod:`snnattack.interop.streams`), and the recordings an attack on raw events
    reads; such an attack on frames alone, or drawing its insertion candidates from held-out
    streams that are not given, is refused."""
    raw = [s for s in specs if reads_recordings(s.algorithm)]
    if not is_streams(data):
        if raw:
            raise UserError(
                f"methods={raw[0].method} changes the raw events, but data holds no event "
                f"streams; accepted: data=({STREAMS}), or an attack on frames (e.g. "
                f"{raw[0].algorithm}_frames)"
            )
        return data, val_data, None
    events = datamodule(dataset)
    if not hasattr(events, "sensor_size"):
        raise UserError(
            f"data holds event streams but dataset={dataset.name} is not an event "
            "dataset; accepted: overrides=['dataset=<the streams' dataset>'] (digits_events, "
            "nmnist, dvs_gesture, cifar10_dvs)"
        )
    data, val_data, recordings = framed_recordings(
        data, val_data, events.sensor_size, events.framing
    )
    for spec in raw:
        if spec.params.get("candidates") == "target" and not recordings.train_labels:
            raise UserError(
                f"method.{spec.method}.candidates=target inserts events of held-out "
                "recordings of the target class, but val_data holds no event streams; "
                f"accepted: val_data=({STREAMS}, never the test data), or "
                f"overrides=['method.{spec.method}.candidates=events'] (or random)"
            )
    return data, val_data, recordings


@torch.inference_mode(False)  # called in a validation loop's block: the attacks differentiate
def attack(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    method: str = "pgd",
    eps: float = 8,
    grad_mode: str = "stbp",
    grad_params: dict[str, Any] | None = None,
    *,
    T: int | None = None,
    seed: int = 0,
    overrides: Sequence[str] = (),
    **params: Any,
) -> torch.Tensor:
    """Adversarial examples of the batch ``x`` (images in [0, 1]; event frames under an event
    dataset, ``overrides=['dataset=digits_events']``) with labels ``y``, crafted on
    ``model`` by ``method`` (a ``method=`` name, ``ensemble`` included) at the L∞ radius
    ``eps`` (1/255 units) under ``grad_mode`` (an ``attack=`` name) with ``grad_params``.
    ``params`` override the method's settings (``steps=20``; ``alpha`` in 1/255 units),
    ``overrides`` further config keys (an ensemble's ``method.ensemble.components=[...]``; not
    the model's own, :data:`snnattack.inputs.MODEL_KEYS`, nor one these arguments set, which
    the override would overrule: ``eps``, ``method``, ``attack``, ``seed``, ``boxes``). The
    examples are on the model's device, within ``eps`` of ``x`` and in [0, 1] (an event
    attack's: ``x`` with events changed, counted in events, not ``eps``). The evaluation core
    crafts them (:func:`snnattack.evaluation.core.attack_batch`) on the copy it would attack
    in :func:`evaluate` (``attack.fold_bn``, ``compile``, ``attack.random_eot_samples`` as
    there), seeded by ``seed``, under the GPU numerics of ``tf32`` and ``deterministic`` for
    the call (the process's own flags and random generators again after it,
    :func:`snnattack.process.numerics.held`);
    the process's allocator is set by ``malloc``, as a job's (``reuse``: freed memory kept for
    the next call, :mod:`snnattack.process.malloc`). A repeated call on an unchanged model
    reuses what the first prepared (:mod:`snnattack.interop.prepared`; what a change it sees
    is: docs/interop.md, "A repeated call"), its check read with the batch's in one host sync
    before the attack starts (:func:`snnattack.inputs.check_attack`)."""
    model = _network_of(model, x if isinstance(x, torch.Tensor) else None)
    key = _key(method, eps, grad_mode, grad_params, params, T, seed, overrides, _form(x))

    def build() -> _Attack:
        return _prepare_attack(
            model, x, method, eps, grad_mode, grad_params, T, seed, overrides, params
        )

    prepared, checks = _prepared(model, key, build)
    net = prepared.network(model)
    classes = inputs.check_attack(net, model, x, y, prepared.samples, prepared.classes, checks)
    if classes is None:  # the kept preparation's model changed (read with the batch): afresh
        prepared, _ = _prepared(model, key, build, fresh=True)
        net = prepared.network(model)
        classes = inputs.check_attack(net, model, x, y, prepared.samples)
    prepared.classes = classes
    set_malloc(prepared.malloc)  # as a job's process: freed memory kept (malloc=reuse)
    with numerics.held(prepared.tf32, prepared.deterministic):  # as a job's, for the call
        return core.attack_batch(prepared.spec, prepared.attack, net, x, y)


@contextmanager
def gradient_mode(
    model: nn.Module, mode: str = "stbp", *, T: int | None = None, **params: float
) -> Iterator[SpikingNet]:
    """Within the block, the yielded network (``model``, or its adapter for another
    library's network) computes the same forward and differentiates by ``mode`` with
    ``params``; each parameter is checked against the mode's range before the block runs.

    ``with snnattack.gradient_mode(net, "rga", beta=2.0) as m: loss(m(x), y).backward()``

    A network whose form its first samples decide (a spikingjelly class with its own time
    loop: :func:`snnattack.interop.adapt`) is adapted at the first forward of the yielded
    module, on the samples it is given, and differentiated by ``mode`` from then on to the
    block's end (adapted after the block: outside the mode, as every yielded network is
    then); :func:`attack` and :func:`evaluate` on the yielded module run that network, made
    of their samples if no forward made it yet (inside the block refused, as for every
    model: the attack would take the block's gradient). An adapter's parameters are its own
    objects over ``model``'s memory: a backward in the block fills their ``.grad``, not
    ``model``'s; an optimiser over the yielded module's ``parameters()`` trains ``model``
    (docs/interop.md, "What the adapter guarantees").
    """
    model = unwrapped(model)  # nn.DataParallel: the network in it
    if not form_needs_samples(model):
        with _in_mode(as_spiking_net(model, T), mode, params) as net:
            yield net
        return
    check_foreign(model, T)
    try:
        check_mode(mode, params)  # before the block, as for a network adapted now
    except ValueError as err:
        raise UserError(str(err)) from None
    in_block = True  # a network made after the block is not in its mode
    with ExitStack() as block:

        def prepare(x: torch.Tensor | None) -> SpikingNet:
            net = as_spiking_net(model, T, example=x)
            if in_block:
                block.enter_context(_in_mode(net, mode, params))
            return net

        try:
            yield _OnFirstForward(prepare, type(model).__name__, model.training)
        finally:
            in_block = False


@contextmanager
def _in_mode(net: SpikingNet, mode: str, params: dict[str, float]) -> Iterator[SpikingNet]:
    """``net`` differentiated by ``mode`` with ``params`` (checked first), the only
    gradient-mode block on it."""
    try:
        ctx = checked_mode(net, mode, **params)
    except ValueError as err:
        raise UserError(str(err)) from None
    with sole_mode(net, mode), ctx:
        yield net


class _OnFirstForward(nn.Module):
    """The network that ``prepare`` makes of the samples of the first forward, called on
    them and on every later one's (:func:`gradient_mode`). Until then it has no network: it
    takes the model's training flag, and a ``train()`` / ``eval()`` called on it is applied
    to the network when it is made (else the forward would run in the model's flag, not the
    one the user set), as is a ``requires_grad_()``; a ``zero_grad()`` has no gradient to
    clear (an attack loop calls it before each forward). Its parameters are refused, since an
    optimiser made over none would train nothing (the adapter's parameters are its own
    objects, made at that forward)."""

    def __init__(
        self, prepare: Callable[[torch.Tensor | None], SpikingNet], model: str, training: bool
    ) -> None:
        super().__init__()
        self._prepare = prepare
        self._model = model  # the class name of the model it adapts, for the refusal
        self._mode: bool | None = None  # a train() / eval() called before the network exists
        self._requires_grad: bool | None = None  # a requires_grad_() called before it
        self.training = training
        self.net: SpikingNet | None = None

    def train(self, mode: bool = True) -> _OnFirstForward:
        if self.net is None:
            self._mode = mode
        return super().train(mode)

    def requires_grad_(self, requires_grad: bool = True) -> _OnFirstForward:
        if self.net is None:
            self._requires_grad = requires_grad
            return self
        return super().requires_grad_(requires_grad)

    def zero_grad(self, set_to_none: bool = True) -> None:
        if self.net is not None:
            super().zero_grad(set_to_none)

    def named_parameters(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, nn.Parameter]]:
        if self.net is None:
            raise UserError(
                f"gradient_mode({self._model}) yields a module that adapts {self._model} at "
                "its first forward, on its samples, and has no parameters before it (an "
                "optimiser over them would train nothing); accepted: its parameters() after "
                "the first forward m(x), or the model adapted first, "
                "snnattack.interop.adapt(model, T=..., example=x), passed to gradient_mode"
            )
        return super().named_parameters(*args, **kwargs)

    def network(self, x: torch.Tensor | None) -> SpikingNet:
        """The network, made of the samples ``x`` if this is the first call (a forward's, or
        :func:`attack`'s and :func:`evaluate`'s, which run the network: :func:`_network_of`;
        without samples, the adaptation's refusal says what to pass)."""
        if self.net is None:
            self.net = self._prepare(x)
            if self._mode is not None:
                self.net.train(self._mode)
            if self._requires_grad is not None:
                self.net.requires_grad_(self._requires_grad)
        return self.net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)(x)


def _network_of(model: Any, x: torch.Tensor | None) -> Any:
    """The network that :func:`attack` or :func:`evaluate` runs for ``model``: the one that a
    module :func:`gradient_mode` yielded adapts (made of the samples ``x``, as its first
    forward would make it, if none ran yet), else ``model`` itself (``nn.DataParallel``: the
    network in it). The yielded module is no network of its own: adapted, it would have no
    neuron."""
    model = unwrapped(model)
    return model.network(x) if isinstance(model, _OnFirstForward) else model
