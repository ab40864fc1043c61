"""Gradient modes: how the spiking layers of a model are differentiated during an attack.

``with gradient_mode(model, "rga"): loss(model(x)).backward()`` leaves the forward values
unchanged and replaces the backward pass. Each mode is one module of this package that
registers itself (:func:`snnattack.gradients.base.register`: its name, title, place in
listings and parameter ranges) in :data:`GRADIENT_MODES`; this package imports every module,
so a new mode is its module and its ``conf/attack/<mode>.yaml``. Each module's docstring gives
its mode's gradient and paper.

A mode that only changes the spike's surrogate or cuts a gradient path sets the neurons'
settings (:func:`snnattack.gradients.base.neuron_settings`; ``docs/neuron.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from torch import nn

from snnattack.errors import ConfigError, UserError, class_name
from snnattack.gradients.base import GRADIENT_MODES, GradientMode, register
from snnattack.gradients.rga import rate_slope
from snnattack.registry import discover
from snnattack.snn.stepwise import step_neurons
from snnattack.snn.temporal import Temporal
from snnattack.values import (
    accepted_params,
    as_python,
    as_typed,
    member_of,
    near,
    params_known,
)

discover(__name__, __path__)

__all__ = [
    "GRADIENT_MODES",
    "GradientMode",
    "check_params",
    "checked_mode",
    "gradient_mode",
    "per_step_refusal",
    "rate_slope",
    "register",
]


def mode_params(mode: str) -> list[str]:
    """The parameters the gradient mode ``mode`` takes (its maker's, the model aside)."""
    return accepted_params(GRADIENT_MODES[mode].make, skip=1)


def check_mode(mode: str, params: dict[str, Any]) -> None:
    """``mode`` a gradient mode and each of ``params`` one of its parameters, in its declared
    range; a ``ValueError`` otherwise (what :func:`checked_mode` checks before the model)."""
    modes = member_of(GRADIENT_MODES)
    if not modes.test(mode):
        raise ValueError(
            f"gradient mode {mode!r} {modes.problem_of(mode)}; accepted: {modes.describe()}"
        )
    accepted = mode_params(mode)
    for name, value in params.items():
        if name not in accepted:
            # the mode's parameters in a dict (as attack's grad_params): the keywords to give
            given = (
                ", ".join(f"{k}={v!r}" for k, v in value.items())
                if isinstance(value, Mapping)
                else ""
            )
            raise ValueError(
                f"gradient mode {mode!r}: {name}={value!r} is unknown{near(name, accepted)}; "
                f"accepted: {', '.join(accepted) or 'no parameters'}"
                + (f", each its own keyword ({given}), not a dict" if given else "")
            )
    problem = GRADIENT_MODES[mode].complaint(params, spell=as_python)  # the Python API's
    if problem is not None:
        raise ValueError(problem)


def checked_mode(model: nn.Module, mode: str, **params: float) -> AbstractContextManager[Any]:
    """``mode``'s context manager for ``model``, not entered: the mode, the model and each of
    ``params`` checked against its declared range (``GRADIENT_MODES[mode].ranges``) first; a
    wrong one is a ``ValueError``, raised before any of the caller's work."""
    check_mode(mode, params)
    if not any(isinstance(m, Temporal) for m in model.modules()):
        raise ValueError("gradient_mode: the model has no spiking layers (snnattack LIF/encoders)")
    refusal = per_step_refusal(model, mode)
    if refusal is not None:
        raise UserError(refusal)
    spec = GRADIENT_MODES[mode]
    try:
        return spec.make(model, **params)
    except TypeError as err:
        raise ValueError(f"gradient mode {mode!r}: bad parameters {params}: {err}") from None


def per_step_refusal(model: nn.Module, mode: str) -> str | None:
    """Why ``mode`` cannot differentiate ``model``, whose own code calls its neurons one step
    at a time (:class:`~snnattack.snn.stepwise.StepLIF`), as one line; None if it can."""
    if mode not in GRADIENT_MODES or GRADIENT_MODES[mode].per_step or not step_neurons(model):
        return None  # a gradient-free component's "none" included
    accepted = ", ".join(name for name, spec in GRADIENT_MODES.items() if spec.per_step)
    return (
        f"gradient mode {mode!r} needs each neuron's whole T steps in one call, but the model's "
        f"own time loop calls its neurons one step at a time; accepted: {accepted}, or pass "
        "the network's multi-step body instead (spikingjelly: the module mapping [T, B, ...] "
        "in step mode 'm'; snnTorch: the nn.Sequential of one time step, Leaky with "
        "init_hidden=True)"
    )


@contextmanager
def gradient_mode(model: nn.Module, mode: str, **params: float) -> Iterator[nn.Module]:
    """Within the block, ``model``'s forward is unchanged and its backward is ``mode``'s.

    ``params`` are the mode's own settings, each checked against its declared range
    (``GRADIENT_MODES[mode].ranges``); a value out of range is a ``ValueError``. A block on a
    model already inside one is refused (:func:`sole_mode`), as ``snnattack.gradient_mode``
    refuses it: the inner mode's settings over the outer's left a gradient of neither.
    """
    ctx = checked_mode(model, mode, **params)  # a wrong mode or parameter first
    with sole_mode(model, mode), ctx:
        yield model


_in_block: dict[int, str] = {}  # id of a model inside a gradient_mode block -> its mode


@contextmanager
def sole_mode(net: nn.Module, mode: str) -> Iterator[None]:
    """Refuses a ``gradient_mode`` block on a model already inside one: the inner block's
    gradient would be neither mode's. Blocks on different models (a foreign network's two
    adapters are two models) nest freely."""
    if id(net) in _in_block:
        raise UserError(
            f"gradient_mode({class_name(net)}, {mode!r}) inside its gradient_mode "
            f"{_in_block[id(net)]!r} block: the gradient would mix both modes; accepted: one "
            "gradient_mode block per model at a time (close the outer block first)"
        )
    _in_block[id(net)] = mode
    try:
        yield
    finally:
        del _in_block[id(net)]


def in_block(net: nn.Module) -> bool:
    """Whether ``net`` is inside a ``gradient_mode`` block now."""
    return id(net) in _in_block


def refuse_in_block(*models: nn.Module | None) -> None:
    """Refuses to attack a model inside a ``gradient_mode`` block: the attacked copy would
    take the block's gradient (or a mix with its own), whatever ``grad_mode`` the attack
    asks for."""
    for net in filter(None, models):
        if in_block(net):
            raise UserError(
                f"{class_name(net)} is attacked inside its gradient_mode "
                f"{_in_block[id(net)]!r} block: the attack would take the block's gradient, "
                "not its own grad_mode's; accepted: the attack outside the block (its "
                "grad_mode= sets the gradient)"
            )


def check_params(group: str, params: dict[str, Any], mode: str, chosen: str) -> None:
    """``params`` are parameters that the gradient mode ``mode`` (chosen by ``chosen``, e.g.
    ``attack=hart``) takes, each in the range the mode declares."""
    spec = GRADIENT_MODES[mode]
    if not isinstance(params, dict):
        raise ConfigError(
            f"{group}={as_typed(params)} is not a dict; accepted: {{name: value}} of the "
            f"parameters of {chosen} ({', '.join(spec.ranges) or 'none'})"
        )
    params_known(group, params, spec.make, skip=1, typed=False)
    problem = spec.complaint(params, f"{group}.", chosen)
    if problem is not None:
        raise ConfigError(problem)


def check_swept_params(values: Iterable[tuple[str, Any]]) -> None:
    """Refuses a sweep's value of ``attack.params.<name>`` that every gradient mode taking
    ``<name>`` refuses (``-m attack=rga attack.params.beta=2,-1``), before its first job: the
    sweep's gradient mode is a group choice the values do not name, so one value that some
    mode accepts is left to the jobs (each refused job fails alone)."""
    for key, value in values:
        name = key.removeprefix("attack.params.")
        taking = [m for m in GRADIENT_MODES.values() if name != key and name in m.ranges]
        if taking and all(m.complaint({name: value}) for m in taking):
            chosen = "attack=" + ", ".join(m.name for m in taking)
            raise ConfigError(taking[0].complaint({name: value}, "attack.params.", chosen) or "")
