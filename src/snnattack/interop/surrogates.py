"""The spike surrogate a foreign neuron was trained with, as its LIF's own
(:mod:`snnattack.snn.surrogates`): ``stbp`` differentiates each neuron by it unless
``attack.params.surrogate`` names another, so a white-box attack takes the gradient the
network was trained on, as the library's own autograd does (docs/interop.md, "Surrogates").

- spikingjelly (``surrogate_function``): ``Sigmoid(alpha)`` and ``ATan(alpha)`` as
  themselves, ``PiecewiseQuadratic(alpha)`` as the triangle of half-width ``1/alpha``,
  ``Rect(alpha)`` as the rectangle of half-width ``0.5/alpha``;
- snnTorch (``spike_grad``): ``surrogate.atan(alpha)`` (a ``Leaky``'s default),
  ``sigmoid(slope)`` and ``fast_sigmoid(slope)`` as atan, sigmoid and fast_sigmoid
  (``surrogate_disable=True``: no surrogate, warned of as one without counterpart);
- SNN-RAT (``LIFSpike.gama``): its ``ZIF`` as the triangle of half-width ``gama``.

Any other surrogate has no counterpart here: its LIF keeps the triangle of half-width 1, and
one warning per such surrogate and adaptation (:func:`warned_once`) names its neurons and how
to choose a surrogate.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from torch import nn

from snnattack.interop.prepared import noted
from snnattack.snn.surrogates import (
    SURROGATES,
    ATan,
    FastSigmoid,
    Rectangle,
    Sigmoid,
    Surrogate,
    Triangle,
)

log = logging.getLogger(__name__)
SHOWN = 4  # neuron paths a warning lists before it counts the rest
# the surrogates without counterpart met within `warned_once`: (attribute, name) -> paths
_UNMAPPED: ContextVar[dict[tuple[str, str], list[str]] | None] = ContextVar(
    "unmapped_surrogates", default=None
)

# spikingjelly's surrogate class: ours, from its alpha
SPIKINGJELLY: dict[str, Callable[[float], Surrogate]] = {
    "Sigmoid": Sigmoid,
    "ATan": ATan,
    "PiecewiseQuadratic": lambda alpha: Triangle(1.0 / alpha),
    "Rect": lambda alpha: Rectangle(0.5 / alpha),
}
# snnTorch's surrogate factory (snntorch.surrogate.<name>(...)): ours, and the argument it reads
SNNTORCH: dict[str, tuple[type[Surrogate], str]] = {
    "atan": (ATan, "alpha"),
    "sigmoid": (Sigmoid, "slope"),
    "fast_sigmoid": (FastSigmoid, "slope"),
}


def spikingjelly(path: str, node: nn.Module) -> Surrogate:
    """The surrogate of the spikingjelly node ``node`` at ``path``."""
    fn = node.surrogate_function
    make = SPIKINGJELLY.get(type(fn).__name__)
    if make is None or not type(fn).__module__.startswith("spikingjelly."):
        return _unknown(path, type(fn).__name__, "surrogate_function")
    return make(float(noted(fn.alpha)))  # a tensor's value compared by a later call


def snntorch(path: str, leaky: nn.Module) -> Surrogate:
    """The surrogate of the snnTorch neuron ``leaky`` at ``path``: the function
    ``spike_grad`` that one of ``snntorch.surrogate``'s factories made, its argument read
    from the function's closure. A neuron built with ``surrogate_disable=True`` has no
    surrogate (snnTorch swaps ``spike_grad`` for a bare threshold, the given one is lost): it
    is warned of by that setting, not by the threshold's internal name."""
    if getattr(leaky, "surrogate_disable", False):
        return _unknown(path, "True", "surrogate_disable")
    fn = leaky.spike_grad
    factory = getattr(fn, "__qualname__", "").split(".<locals>.")[0]
    known = SNNTORCH.get(factory)
    if known is None or getattr(fn, "__module__", None) != "snntorch.surrogate":
        return _unknown(path, getattr(fn, "__qualname__", type(fn).__name__), "spike_grad")
    cls, argument = known
    value = inspect.getclosurevars(fn).nonlocals.get(argument)
    if value is None:
        return _unknown(path, factory, "spike_grad")
    return cls(float(value))


def snn_rat(path: str, spike: nn.Module) -> Surrogate:
    """The surrogate of SNN-RAT's ``LIFSpike`` ``spike`` at ``path``: the triangle of
    half-width ``gama``."""
    gama = getattr(spike, "gama", None)
    if gama is None:
        return _unknown(path, "ZIF without gama", "act")
    return Triangle(float(noted(gama)))


@contextmanager
def warned_once() -> Iterator[None]:
    """Within it, each surrogate without counterpart is warned of once when the block
    succeeds, naming all its neurons: an adaptation converts a network's neurons once per
    form it tries, and a warning per neuron and try buries the one line that matters."""
    found: dict[tuple[str, str], list[str]] = {}
    token = _UNMAPPED.set(found)
    try:
        yield
    finally:
        _UNMAPPED.reset(token)
    for (attribute, name), paths in found.items():
        _warn(attribute, name, paths)


def _unknown(path: str, name: str, attribute: str) -> Surrogate:
    """The triangle, for a neuron at ``path`` whose surrogate ``name`` (its ``attribute``)
    has no counterpart here, with a warning saying so (gathered within :func:`warned_once`)."""
    path = path or "the network itself"
    found = _UNMAPPED.get()
    if found is None:
        _warn(attribute, name, [path])
    elif path not in (paths := found.setdefault((attribute, name), [])):
        paths.append(path)
    return Triangle()


def _warn(attribute: str, name: str, paths: list[str]) -> None:
    """The warning that the neurons at ``paths`` have the surrogate ``name``, without
    counterpart here."""
    more = len(paths) - SHOWN
    where = ", ".join(paths[:SHOWN]) + (f" and {more} more" if more > 0 else "")
    log.warning(
        "interop: %s=%s (the neuron%s %s) has no counterpart among the surrogates; stbp "
        "differentiates %s by the triangle of half-width 1 unless the mode's surrogate names "
        "one (attack.params.surrogate=... in a job, grad_params={'surrogate': ...} in Python, "
        "or gradient_mode(..., surrogate=...): %s)",
        attribute,
        name,
        "s" if len(paths) > 1 else "",
        where,
        "them" if len(paths) > 1 else "it",
        ", ".join(SURROGATES),
    )
