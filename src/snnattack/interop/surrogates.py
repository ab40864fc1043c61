"""The spike surrogate a foreign neuron was trained with, as its LIF's own
(:mod:`snnattack.snn.surrogates`): ``stbp`` differentiates each neuron by it unless
``attack.params.surrogate`` names another, so a white-box attack takes the gradient the
network was trained on, as the library's own autograd does (docs/interop.md, "Surrogates").

- spikingjelly (``surrogate_function``): ``Sigmoid(alpha)`` and ``ATan(alpha)`` as
  themselves, ``PiecewiseQuadratic(alpha)`` as the triangle of half-width ``1/alpha``,
  ``Rect(alpha)`` as the rectangle of half-width ``0.5/alpha``;
- snnTorch (``spike_grad``): ``surrogate.atan(alpha)`` (a ``Leaky``'s default),
  ``sigmoid(slope)`` and ``fast_sigmoid(slope)`` as atan, sigmoid and fast_sigmoid;
- SNN-RAT (``LIFSpike.gama``): its ``ZIF`` as the triangle of half-width ``gama``.

Any other surrogate has no counterpart here: its LIF keeps the triangle of half-width 1, and
one warning names the neuron and how to choose a surrogate.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable

from torch import nn

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
    return make(float(fn.alpha))


def snntorch(path: str, leaky: nn.Module) -> Surrogate:
    """The surrogate of the snnTorch neuron ``leaky`` at ``path``: the function
    ``spike_grad`` that one of ``snntorch.surrogate``'s factories made, its argument read
    from the function's closure."""
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
    return Triangle(float(gama))


def _unknown(path: str, name: str, attribute: str) -> Surrogate:
    """The triangle, for a neuron at ``path`` whose surrogate ``name`` (its ``attribute``)
    has no counterpart here, with a warning saying so."""
    log.warning(
        "interop: %s has %s=%s, which has no counterpart among the surrogates; stbp "
        "differentiates it by the triangle of half-width 1 unless attack.params.surrogate "
        "names one (%s)",
        path or "the network itself",
        attribute,
        name,
        ", ".join(SURROGATES),
    )
    return Triangle()
