"""The Python API's arguments as a job config (``conf/``): :func:`job_config`, the one compose
of :func:`snnattack.evaluate`, :func:`snnattack.attack` and ``snnattack.benchmark.evaluate``.

The keyword arguments become overrides of the job's config, so every value is checked by the
same rules as on the command line (:func:`snnattack.config.validation.validate`) and a wrong
one is one :class:`~snnattack.errors.UserError` line. A config is composed and validated once
per distinct argument list (:func:`_composed`), which a loop of small calls would otherwise pay
at each. The public name stays :func:`snnattack.api.job_config`, which the refusals name.
A validated config becomes the settings of a job by :func:`job_settings`, which ``run.py``'s
jobs, the Python API and the benchmark share.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from torch import nn

from snnattack import inputs
from snnattack.attacks.checks import fit_components
from snnattack.attacks.crafting import spiking
from snnattack.attacks.ensemble import ENSEMBLE, ENSEMBLE_KEYS
from snnattack.attacks.grids import tunes
from snnattack.attacks.methods.base import METHODS
from snnattack.attacks.parse import attack_specs
from snnattack.config.combinations import fit_network
from snnattack.config.compose import compose_config, hydra_value, scalar
from snnattack.config.kept import read_once
from snnattack.config.keys import CONF_DIR, check_keys, method_algorithm, schema
from snnattack.config.parse import (
    analysis_settings,
    attack_settings,
    data_settings,
    masking_settings,
    store_settings,
    tracking_settings,
)
from snnattack.config.validation import validate
from snnattack.errors import ConfigError, UserError
from snnattack.gradients import GRADIENT_MODES, mode_params
from snnattack.runtime.cli import (
    check_group_choices,
    check_override_keys,
    group_choices,
    hydra_line,
)
from snnattack.settings import BOXES, PASSED, JobSettings
from snnattack.training.parse import model_settings, source_config
from snnattack.values import as_python, in_python_words, near, settable_params

COMPOSED = 64  # compositions kept (_composed): 32 argument lists, unvalidated and validated
SHOWN_BY = "snnattack.api.job_config(...)"  # what shows a call's config, in a refusal's words
LISTING = f"accepted: the keys of the config that {SHOWN_BY} returns"  # unknown keys


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
                f"{argument}={value!r}: {v!r} is unknown{near(str(v), accepted)}; "
                f"accepted: {', '.join(accepted)}"
            )
    if len(set(values)) < len(values):  # a job's config would take it once
        raise UserError(
            f"{argument}={value!r} repeats a name; accepted: distinct names of "
            f"{', '.join(accepted)}"
        )
    return list(values)


def one_name(argument: str, value: Any, accepted: Sequence[str]) -> str:
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
    held: Mapping[str, Any] | None = None,
    network: nn.Module | None = None,
    source: nn.Module | None = None,
    shared: bool = False,
) -> tuple[DictConfig, tuple[str, ...]]:
    """The job config (``conf/``) these arguments stand for, validated like a job's, and the
    notes its validation returned (:func:`snnattack.config.validation.validate`);
    ``validated=False``: composed only, no notes (the benchmark validates it once its model
    took the protocol's images, :mod:`snnattack.benchmark.evaluation`).

    ``grad_params`` set ``attack.params.*``; ``method_params`` set ``method.<m>.*`` of every
    method ``m``; ``progress`` sets ``trainer.enable_progress_bar``; ``overrides`` are further
    ``key=value`` strings, as on the command line. ``held`` are keys that the model passed
    holds itself, by their values (its input encoding: the record's config says what runs).
    ``names`` are the caller's names of the arguments it was given (``attack``'s ``method``;
    ``"{key}"`` for method parameters given as keyword arguments; None for one it fixes
    itself), whose keys ``overrides`` may not set: such an override would silently overrule
    the argument (:func:`_check_owned`); None: not
    checked (the benchmark's overrides are its protocol's, which it filters itself).
    ``network`` and ``source``: the networks passed, whose spiking layers the gradient mode's
    parameters must fit at their own leak and threshold where a white-box (the target's) or
    black-box row (the source's) differentiates them
    (:func:`~snnattack.config.combinations.fit_network`), and whose notes judge them as the
    attacks do (:func:`passed_spiking`: an ANN passed crafts with its own autograd whatever
    ``train.kind`` labels it). The
    config lists every key that ``overrides`` may set, as ``python run.py --cfg job`` does on
    the command line: an unknown key's refusal names it (:data:`LISTING`). ``shared``: the
    kept config itself, read-only, for a caller that only reads it (a preparation, remade
    after every optimiser step of a training loop that evaluates each batch), not a copy of
    its own (about 4 ms)."""
    schema()  # refuses a package whose conf/ folder holds no config (docs/errors.md)
    inputs.check_overrides(overrides)
    methods = _listed("methods", methods, group_choices(CONF_DIR / "method"))
    grad_mode = one_name("grad_mode", grad_mode, group_choices(CONF_DIR / "attack"))
    if grad_params is not None and not isinstance(grad_params, Mapping):
        raise UserError(
            f"grad_params={grad_params!r} is not a dict; accepted: None or {{name: value}} of "
            f"grad_mode={grad_mode}'s parameters (conf/attack/{grad_mode}.yaml, attack.params)"
        )
    for name, value in (grad_params or {}).items():
        if grad_mode in GRADIENT_MODES and name not in (known := mode_params(grad_mode)):
            raise UserError(
                f"grad_params[{name!r}] is unknown for grad_mode={grad_mode}"
                f"{near(str(name), known)}; accepted: "
                f"{', '.join(known) or 'no parameters'}"
            )
        if isinstance(value, Mapping):  # Hydra would merge it as keys below the parameter
            raise UserError(
                f"grad_params[{name!r}]={value!r} is a dict, which no parameter of "
                f"grad_mode={grad_mode} is; accepted: grad_params={{{name!r}: <a number or name>}}"
            )
    boxes = _listed("boxes", boxes, BOXES)
    if isinstance(eps, range) or (getattr(eps, "ndim", None) == 1 and hasattr(eps, "tolist")):
        # range(4, 17, 4), np.arange(...), torch.tensor([8., 16.]): their numbers (a range
        # reached Hydra as the text "range(...)", a sweep it refused for --multirun)
        eps = eps.tolist() if hasattr(eps, "tolist") else list(eps)
    radii = list(eps) if isinstance(eps, list | tuple) else [eps]
    if any(_not_one_radius(r) for r in radii):
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
                name = _param_named(name, param)
            owned[key] = (name, value)

    argument("model", "model.name", PASSED)  # the caller's model: no architecture of the config's
    argument("eps", "eps", hydra_value(eps))
    argument("methods", "method", f"[{','.join(methods)}]")
    argument("grad_mode", "attack", grad_mode)
    if "attack" in owned:  # the same choice, set as a key: attack.grad_mode=rga
        owned["attack.grad_mode"] = owned["attack"]
    argument("boxes", "boxes", hydra_value(boxes))
    argument("tune", "attack.tune.enabled", _switch("tune", tune))
    argument("masking", "checks.masking.enabled", _switch("masking", masking))
    argument("progress", "trainer.enable_progress_bar", _switch("progress", progress))
    argument("seed", "seed", hydra_value(seed))
    if T is not None:
        argument("T", "T", str(T))
    for k, v in (held or {}).items():
        args.append(f"{k}={hydra_value(v)}")
    for k, v in (grad_params or {}).items():
        argument("grad_params", f"attack.params.{k}", hydra_value(v), k)
    for k, v in (method_params or {}).items():
        if isinstance(v, Mapping):  # Hydra would merge it as keys below the parameter
            shown = k if names else f"method_params[{k!r}]"
            raise UserError(
                f"{shown}={v!r} is a dict, which no method's parameter is; accepted: a "
                "method's parameters each its own keyword (steps=20), the gradient mode's in "
                "grad_params={...}"
            )
    _check_method_params(methods, method_params or {}, grad_mode, names)
    for m in methods:
        for k, v in (method_params or {}).items():
            argument("method_params", f"method.{m}.{k}", hydra_value(v), k)
    _check_owned(overrides, owned)
    chooser = (names or {}).get("methods") or "methods"  # the argument naming the methods
    try:
        judged = passed_spiking(network, source) if validated else ()  # notes only
        cfg, notes = _composed(
            tuple([*args, *overrides]), tuple(overrides), validated, chooser, judged
        )
        if network is not None and validated:
            owned |= _defaults_named(grad_mode, names, overrides, owned)
            attack = read_once(  # read only; a kept config's resolved once
                cfg, "attack block", lambda: OmegaConf.to_container(cfg.attack, resolve=True)
            )
            fit_network({"attack": attack, "boxes": list(cfg.boxes)}, network, source)
            if any(m.name == ENSEMBLE for m in cfg.method.values()):  # its components' modes
                tree = read_once(cfg, "tree", lambda: OmegaConf.to_container(cfg, resolve=True))
                fit_components(tree, network, source)
    except ConfigError as err:  # a value an argument set, refused in the caller's words
        raise ConfigError(_in_callers_words(str(err), owned)) from None
    if shared:
        return cfg, notes
    own = copy.deepcopy(cfg)  # the caller's, writable: the kept one is never changed
    OmegaConf.set_readonly(own, None)
    return own, notes


def _check_method_params(
    methods: Sequence[str],
    params: Mapping[str, Any],
    grad_mode: str,
    names: Mapping[str, str | None] | None,
) -> None:
    """Refuses a parameter that a method of ``methods`` does not take by its name, before its
    value is spelt as an override: a tensor's text (``val_data=(x, y)``, evaluate's) ran to
    thousands of characters and failed Hydra's grammar. A gradient mode's parameter is
    named as ``grad_params``'s."""
    caller = (names or {}).get("method_params") or "method_params"
    for m in methods:
        accepted = _method_params(m)
        for k, v in params.items():
            if k in accepted:
                continue
            shown = caller.format(key=k) if "{key}" in caller else f"{caller}[{k!r}]"
            spelt = repr(v) if len(repr(v)) <= 40 else f"<{type(v).__name__}>"
            hint = near(str(k), accepted)
            if grad_mode in GRADIENT_MODES and k in mode_params(grad_mode):
                hint = f" (grad_mode={grad_mode}'s: grad_params={{{k!r}: {spelt}}})"
            elif names is not None and k in names and names[k] is None:
                hint = " (an argument of snnattack.evaluate)"
            raise ConfigError(
                f"{shown}={spelt} is unknown for method={m}{hint}; accepted: "
                f"{', '.join(accepted) or 'no parameters'}"
            )


@functools.cache
def _method_params(method: str) -> tuple[str, ...]:
    """The parameters that the ``conf/method`` choice ``method`` takes: its algorithm's (those
    no other key sets), or an ensemble's own keys."""
    name = method_algorithm(CONF_DIR / "method" / f"{method}.yaml", method)
    if name not in METHODS:
        return tuple(k for k in ENSEMBLE_KEYS if k != "name")
    return tuple(settable_params(METHODS[name].make, 2))


def _param_named(name: str, param: str) -> str:
    """The caller's name of the parameter ``param`` of its dict argument ``name``
    (``grad_params['gamma']``; a ``"{key}"`` name: ``attack``'s keyword parameters)."""
    return name.format(key=param) if "{key}" in name else f"{name}[{param!r}]"


def _defaults_named(
    grad_mode: str,
    names: Mapping[str, str | None] | None,
    overrides: Sequence[str],
    owned: Mapping[str, tuple[str | None, str]],
) -> dict[str, tuple[str | None, str]]:
    """The gradient mode's parameters that neither an argument nor ``overrides`` set, named
    as the caller's ``grad_params`` would set them: a default that does not fit the
    network's neurons is changed there."""
    name = (names or {}).get("grad_params")
    keys = {f"attack.params.{k}": k for k in mode_params(grad_mode)}
    given = {word.lstrip("+~").partition("=")[0] for word in overrides}
    return {
        key: (_param_named(name, k), "")
        for key, k in keys.items()
        if name is not None and key not in owned and key not in given
    }


def _in_callers_words(line: str, owned: Mapping[str, tuple[str | None, str]]) -> str:
    """``line``, a refusal in the config's words, with each key that an argument set named as
    that argument (``method.pgd.steps=-1``: ``steps=-1``; ``for attack=rga``: ``for
    grad_mode=rga``; a one-word key before its ``=`` only, not the prose's "the attack") and,
    where an argument's value is refused, YAML's values as Python spells them
    (``steps=None``, ``accepted: None or ...``, ``True or False``); the keys that
    ``overrides`` set stay the config's, as the caller wrote them."""
    argument_refused = owned.get(line.partition("=")[0], (None, ""))[0] is not None
    for key, (name, _) in sorted(owned.items(), key=lambda item: -len(item[0])):
        end = r"(?![\w.])" if "." in key else "(?==)"
        if name is not None:
            line = re.sub(rf"(?<![\w.\[']){re.escape(key)}{end}", name.replace("\\", r"\\"), line)
    return in_python_words(line) if argument_refused else line


def _switch(name: str, value: Any) -> str:
    """The on/off argument ``name``'s ``value`` (a 0-d array's too) as Hydra's, refused in the
    caller's words unless True or False: the config key it sets bears another name."""
    value = scalar(value)
    if not isinstance(value, bool):
        raise UserError(f"{name}={value!r} is not True or False; accepted: True or False")
    return hydra_value(value)


def _not_one_radius(value: Any) -> bool:
    """Whether ``value``, one of ``eps``'s radii, is no number: text, an array of more than
    one, or any other collection (a set, a generator); a 0-d tensor or array is its number."""
    if isinstance(value, str):
        return True
    ndim = getattr(value, "ndim", None)
    return ndim != 0 if ndim is not None else isinstance(value, Iterable)


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
        sets = f"overrides=[{as_python(item)}] sets {key}, which"
        if name is None:
            raise UserError(
                f"{sets} this call fixes ({key}={value}); accepted: overrides of other keys"
            )
        raise UserError(
            f"{sets} the argument {name} sets ({key}={value}): the override would overrule it; "
            f"accepted: the argument {name}, and overrides of other keys"
        )


def passed_spiking(
    network: nn.Module | None, source: nn.Module | None
) -> tuple[tuple[str, bool], ...]:
    """Whether the networks passed to the Python API spike, by the box each crafts for (the
    target ``network`` the white box's rows, ``source`` the black box's; one not passed left
    out), by the attacks' own rule (:func:`~snnattack.attacks.crafting.spiking`, which
    :func:`~snnattack.attacks.crafting.ann_boxes` reads): what the config's notes of rows
    crafted on an ANN read (:func:`snnattack.config.validation.notes`), so that an ANN under
    the default ``train.kind=stbp`` is noted as the ANN the attacks differentiate (no note
    that ``compile=true`` runs RGA eager where the copy is compiled), and a spiking network
    labelled ``train.kind=ann`` as the spiking one. A tuple: part of :func:`_composed`'s key."""
    crafters = {"white": network, "black": source}
    return tuple((box, spiking(net)) for box, net in crafters.items() if net is not None)


@functools.lru_cache(maxsize=COMPOSED)
def _composed(
    args: tuple[str, ...],
    overrides: tuple[str, ...],
    validated: bool,
    chooser: str,
    judged: tuple[tuple[str, bool], ...],
) -> tuple[DictConfig, tuple[str, ...]]:
    """The config of the command-line arguments ``args`` (``overrides`` among them, checked
    first), composed (:func:`~snnattack.config.compose.compose_config`) and, if ``validated``,
    validated (on a copy of the unvalidated one, composed once for both), its notes judging
    the networks passed as ``judged`` says (:func:`passed_spiking`): ~0.15 s, once per
    distinct ``args``. A refusal raises, and is not kept, in the caller's words (``chooser``:
    its argument that names the methods). Kept read-only (:func:`job_config` hands out copies,
    or the kept one to a caller that only reads it), a config's notes are logged at its first call
    only, and what its validation reads outside the arguments (a model file, an environment
    variable) is read then."""
    if not validated:
        check_group_choices(list(overrides), CONF_DIR)
        for item in overrides:  # each key before Hydra composes, as on the command line
            _as_given(
                f"overrides=[{as_python(item)}]", check_override_keys, [item], CONF_DIR, LISTING
            )
        try:
            composed = compose_config(args)
        except HydraException as err:
            named = {"method": f"{chooser}=[...]"}  # the caller's argument that chooses them
            raise UserError(hydra_line(err, CONF_DIR, named, SHOWN_BY)) from None
        OmegaConf.set_readonly(composed, True)  # kept: shared with its callers
        return composed, ()
    # a copy: validation spells its numbers in the config it checks
    cfg = copy.deepcopy(_composed(args, overrides, False, chooser, ())[0])
    OmegaConf.set_readonly(cfg, None)
    # the keys below a dict an override sets (store={...}), before validate checks them
    tree = OmegaConf.to_container(cfg, resolve=False)
    _as_given(f"overrides={as_python(list(overrides))}", check_keys, tree, CONF_DIR, LISTING)
    notes = validate(cfg, spiking=dict(judged))
    OmegaConf.set_readonly(cfg, True)
    return cfg, notes


def _as_given(given: str, check: Callable[..., None], *args: Any) -> None:
    """``check(*args)``, a check of the keys that ``overrides`` set, whose refusal names
    ``given``, the argument that set them (the arguments' own keys are known: only
    ``overrides`` adds a key)."""
    try:
        check(*args)
    except ConfigError as err:
        raise ConfigError(f"{given}: {err}") from None


def job_settings(cfg: DictConfig, notes: tuple[str, ...] = ()) -> JobSettings:
    """The settings of the validated ``cfg``, each part parsed by its layer; ``notes`` are
    what validation returned. Frozen: a kept config's are parsed once
    (:func:`~snnattack.config.kept.read_once`, about 19 ms of resolving its interpolations)."""

    def parse() -> JobSettings:
        return JobSettings(  # the layers above first: the models', the attack rows', the config's
            model=model_settings(cfg),
            source=model_settings(source_config(cfg)),
            specs=tuple(attack_specs(cfg)),
            tunes=tunes(OmegaConf.to_container(cfg, resolve=True)),
            attack=attack_settings(cfg),
            data=data_settings(cfg),
            masking=masking_settings(cfg),
            analysis=analysis_settings(cfg),
            store=store_settings(cfg),
            tracking=tracking_settings(cfg),
            notes=tuple(notes),
        )

    return read_once(cfg, ("job settings", tuple(notes)), parse)
