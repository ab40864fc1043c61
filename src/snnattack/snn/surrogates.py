"""Surrogate gradients of the spike: the Heaviside step forward, a smooth slope backward.

A LIF neuron fires ``s = H(v)`` with ``v = u - theta``. The step has no useful derivative, so
STBP backpropagates ``dL/dv = dL/ds * g(v)`` with a surrogate slope ``g`` of unit area. Each
surrogate here is one small object with its width or sharpness (see ``docs/neuron.md``):

- ``triangle`` (half-width ``w``): ``max(0, w - |v|) / w**2`` (the project's default);
- ``rectangle`` (half-width ``w``): ``1[|v| < w] / (2 w)`` (Wu et al., STBP 2018);
- ``sigmoid`` (sharpness ``alpha``): ``alpha * sig(alpha v) * (1 - sig(alpha v))``;
- ``atan`` (sharpness ``alpha``): ``alpha / (2 (1 + (pi/2 alpha v)**2))`` (spikingjelly's ATan);
- ``fast_sigmoid`` (slope ``alpha``): ``1 / (alpha |v| + 1)**2`` (snnTorch's default
  ``surrogate.fast_sigmoid(slope=25)``; area ``2 / alpha``, not 1, as snnTorch defines it).

A surrogate may also look at the membrane while the neuron runs (``observe``, called once per
time step in the forward pass) and use what it saw in the backward pass; the
potential-dependent and adaptive-sharpness surrogates of the gradient modes ``pdsg`` and
``assg`` do.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from snnattack.registry import Registry


class Surrogate:
    """The backward slope of the spike ``H(v)``; subclasses define :meth:`grad`. A registered
    one (:func:`register`) declares its ``name``, its ``order`` in listings and its
    ``parameter``, the keyword that sets it (``width``, a half-width, or ``alpha``, a
    sharpness)."""

    name = ""
    order = 0.0
    parameter = "alpha"

    def start(self, recording: bool) -> None:
        """Called before the first step of every simulation; ``recording``: autograd records
        this pass (a backward may follow). Stateful surrogates reset or advance here."""

    def restart(self) -> None:
        """Called when an attack starts a restart: what the surrogate kept over the attack's
        passes starts afresh (:func:`snnattack.gradients.base.restart_surrogates`)."""

    def observe(self, v: torch.Tensor, t: int) -> Any:
        """What the backward of step ``t`` needs beyond ``v`` (computed in the forward pass)."""
        return None

    def grad(self, grad: torch.Tensor, v: torch.Tensor, seen: Any = None) -> torch.Tensor:
        """``grad * g(v)``: the gradient of ``v`` given the gradient of the spike."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{self.name}({args})"


SURROGATES: Registry[type[Surrogate]] = Registry()  # by name, in their declared order


def register(cls: type[Surrogate]) -> type[Surrogate]:
    """Class decorator: ``cls`` is the surrogate ``cls.name`` that ``stbp``'s ``surrogate``
    parameter accepts, at its place by ``cls.order``."""
    return SURROGATES.register(cls.name, order=cls.order)(cls)


@register
class Triangle(Surrogate):
    """``max(0, w - |v|) / w**2``: unit area, half-width ``width``."""

    name = "triangle"
    order = 10
    parameter = "width"

    def __init__(self, width: float = 1.0) -> None:
        _positive("width", width)
        self.width = width

    def grad(self, grad: torch.Tensor, v: torch.Tensor, seen: Any = None) -> torch.Tensor:
        w = self.width
        out = grad * (w - v.abs()).clamp_(min=0)
        return out if w == 1.0 else out.div_(w * w)  # x / 1 is x: one pass fewer


@register
class Rectangle(Surrogate):
    """``1[|v| < w] / (2 w)``: unit area, half-width ``width`` (Wu et al. 2018's ``a = 2w``)."""

    name = "rectangle"
    order = 20
    parameter = "width"

    def __init__(self, width: float = 0.5) -> None:
        _positive("width", width)
        self.width = width

    def grad(self, grad: torch.Tensor, v: torch.Tensor, seen: Any = None) -> torch.Tensor:
        return grad * (v.abs() < self.width).to(v.dtype) / (2 * self.width)


@register
class Sigmoid(Surrogate):
    """``alpha * sig(alpha v) * (1 - sig(alpha v))``, the slope of ``sig(alpha v)``."""

    name = "sigmoid"
    order = 30

    def __init__(self, alpha: float = 4.0) -> None:
        _positive("alpha", alpha)
        self.alpha = alpha

    def grad(self, grad: torch.Tensor, v: torch.Tensor, seen: Any = None) -> torch.Tensor:
        sig = self.curve(v)
        return grad * self.alpha * sig * (1 - sig)

    def curve(self, v: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """``sig(alpha v)`` (into ``out``), ATen's: the one value of the slope that the C
        kernel does not compute itself (its ``exp`` is ATen's, vectorised)."""
        return torch.sigmoid(self.alpha * v, out=out)


@register
class ATan(Surrogate):
    """``alpha / (2 (1 + (pi/2 alpha v)**2))``, the slope of ``atan(pi/2 alpha v) / pi``."""

    name = "atan"
    order = 40

    def __init__(self, alpha: float = 2.0) -> None:
        _positive("alpha", alpha)
        self.alpha = alpha

    def grad(self, grad: torch.Tensor, v: torch.Tensor, seen: Any = None) -> torch.Tensor:
        return grad * atan_slope(v, self.alpha)


def atan_slope(v: torch.Tensor, alpha: torch.Tensor | float) -> torch.Tensor:
    """``alpha / (2 (1 + (pi/2 alpha v)**2))`` (``alpha`` may be a tensor like ``v``)."""
    return alpha / 2 / (1 + (math.pi / 2 * alpha * v).square())


def finite_entries(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(finite, kept)`` in ``v``'s dtype: 1 where ``v`` is finite and 0 where it is +-inf or
    NaN (``v * 0`` is NaN exactly there), and ``v`` with 0 in those places; what ``pdsg`` and
    ``assg`` weigh and sum to take statistics of the finite membranes only. Products and
    ``nan_to_num``, no boolean mask: on the CPU ``isfinite`` costs about 30 products and
    ``torch.where`` about 10 (a [32, 64, 16, 16] float32 tensor, one thread)."""
    finite = torch.mul(v, 0.0).add_(1.0).nan_to_num_(0.0)
    return finite, v.nan_to_num(0.0, 0.0, 0.0)


@register
class FastSigmoid(Surrogate):
    """``1 / (alpha |v| + 1)**2``, the slope of ``v / (1 + alpha |v|)`` (Zenke & Ganguli 2018's
    SuperSpike): snnTorch's ``surrogate.fast_sigmoid``, whose ``slope`` is ``alpha``."""

    name = "fast_sigmoid"
    order = 50

    def __init__(self, alpha: float = 25.0) -> None:
        _positive("alpha", alpha)
        self.alpha = alpha

    def grad(self, grad: torch.Tensor, v: torch.Tensor, seen: Any = None) -> torch.Tensor:
        return grad / (self.alpha * v.abs() + 1.0).square()


def make_surrogate(name: str, width: float | None = None, alpha: float | None = None) -> Surrogate:
    """The surrogate ``name`` with its half-width (triangle, rectangle) or its sharpness
    (sigmoid, atan, fast_sigmoid); the other family's parameter is not read, ``None`` keeps
    the default."""
    if name not in SURROGATES:
        raise ValueError(f"unknown surrogate {name!r}; accepted: {', '.join(SURROGATES)}")
    cls = SURROGATES[name]
    value = width if cls.parameter == "width" else alpha
    return cls(**({cls.parameter: value} if value is not None else {}))


def heaviside(v: torch.Tensor) -> torch.Tensor:
    """The spike ``1[v >= 0]`` in ``v``'s dtype."""
    return (v >= 0).to(v.dtype)


class Spike(torch.autograd.Function):
    """``H(v) = 1[v >= 0]`` forward; ``surrogate.grad`` backward."""

    @staticmethod
    def forward(ctx, v: torch.Tensor, surrogate: Surrogate, seen: Any) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(v)
        ctx.surrogate, ctx.seen = surrogate, seen
        return heaviside(v)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (v,) = ctx.saved_tensors
        return ctx.surrogate.grad(grad, v, ctx.seen), None, None


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"surrogate {name} must be > 0, got {value}")
