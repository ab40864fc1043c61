"""The hard reset at an infinite membrane: its limit, not NaN.

The hard reset keeps the membrane where the neuron did not fire and sets it to 0 where it
did: ``u_t = h_t (1 - s_t)``. Written as that product, or as ``h_t - h_t s_t`` (the fused
loops' form), an infinite membrane gives NaN: ``inf * 0`` where a membrane at +inf fires,
``-inf + inf`` where one at -inf does not, and the neuron's membrane stays NaN for the rest
of the simulation. Every path takes the limit instead: a membrane at -inf does not fire and
stays -inf, one at +inf fires and is reset to 0, and every finite membrane gives the
product's value bit for bit: :func:`hard_reset` (the unrolled loop's, the spike given),
:func:`negated_reset` (the fused torch loop's) and a select in the C and Triton kernels.

The reset's gradient path to the spike, ``dL/ds_t -= dL/du_t * h_t``, is infinite or NaN
(``0 * inf``) at an infinite membrane, where the surrogate's slope is 0: their product is
NaN again. Every surrogate's slope ``g(v)`` falls faster than ``1 / |v|`` (the triangle and
the rectangle end, the sigmoid falls exponentially, the arctan and the fast sigmoid as
``1 / v**2``), so the path's contribution ``g(v) dL/du_t h_t`` tends to 0 as the membrane
grows: the path's term is taken where it is a finite number and 0 elsewhere
(:func:`reset_path`), which gives the gradient at an infinite membrane its limit at huge
finite ones. No ``torch.where``: a boolean mask costs the CPU about 50 times a product.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def hard_reset(h: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """``h (1 - s)`` for the spike ``s`` (0 or 1) of the membrane ``h``, with ``h`` clamped to
    its dtype's largest finite value first: the product at every finite ``h``, and 0 at +inf
    (which fires) where ``inf * 0`` is NaN."""
    return torch.clamp(h, max=torch.finfo(h.dtype).max) * (1.0 - s)


def negated_reset(h: torch.Tensor, theta: float) -> torch.Tensor:
    """``-``:func:`hard_reset` of ``h`` and its spike ``H(h - theta)``, in two passes over
    memory: ``-h`` where ``h`` is below ``theta``, else -0, as ``threshold(-h, -theta, -0)``
    (``threshold(x, t, v)`` is ``v`` where ``x <= t``, else ``x``; the negation is exact, and
    the caller multiplies the result by ``-lam`` where it would multiply the reset membrane by
    ``lam``: the same product, no third pass)."""
    return F.threshold_(torch.neg(h), -theta, -0.0)


def reset_path(grad_u: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``grad_u * h``, the hard reset's gradient path to the spike (subtracted from
    ``dL/ds``), where it is a finite number; 0 where the membrane ``h`` (or the product) is
    infinite: the limit of the surrogate's slope times it."""
    return (grad_u * h).nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)


class HardReset(torch.autograd.Function):
    """:func:`hard_reset`, differentiated as autograd differentiates ``h (1 - s)`` but for the
    reset's path, taken by :func:`reset_path`; its backward is torch ops, so a second
    derivative differentiates it again."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, s: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(h, s)
        return hard_reset(h, s)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        h, s = ctx.saved_tensors
        dh = grad * (1.0 - s) if ctx.needs_input_grad[0] else None
        ds = -reset_path(grad, h) if ctx.needs_input_grad[1] else None
        return dh, ds
