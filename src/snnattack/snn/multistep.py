"""The fused multi-step LIF: one autograd node for the whole T loop, with a hand-written BPTT.

Plain autograd through the unrolled loop (:meth:`snnattack.snn.neurons.LIF.unrolled`) keeps every
intermediate of every step (``lam * u``, ``h - theta``, ``1 - s``, ``h * (1 - s)``, ...).
:class:`MultiStepLIF` runs the loop without autograd and saves one tensor per step, the
membrane before firing ``h_t``; the backward recomputes ``v_t = h_t - theta`` and
``s_t = H(v_t)`` from it and walks the steps in reverse:

- ``ds_t = dL/ds_t - g_u * h_t`` (hard reset; the term 0 where it is not a finite number, an
  infinite membrane's limit, :mod:`snnattack.snn.reset`) or ``- g_u * theta`` (soft; the
  LIF's ``reset_by`` where given), the reset's path
  (absent with ``detach_reset``), ``g_u`` being ``dL/du_t`` from step ``t + 1``;
- ``dh_t = surrogate.grad(ds_t, v_t) + g_u * (1 - s_t)`` (hard) or ``+ g_u`` (soft);
- ``dL/dI_t = dh_t`` and ``dL/du_{t-1} = dh_t * lam`` (zero with ``detach_membrane``).

:class:`BatchNormLIF` is the same neuron fed a batch-statistics BatchNorm's output (or a
residual sum of one with another or with a tensor): it saves nothing of its own, only the
BN's input (which the BN keeps anyway), and recomputes the BN's output and ``h_t`` in the
backward. A training step then keeps one float tensor per spiking layer instead of two.

Each product and sum is the one autograd computes for the unrolled loop, in the same order, and
the BN is recomputed and differentiated by the kernels autograd calls, so both Functions give
the unrolled loop's gradients bit for bit (tested in float32 and float64). To make fewer passes
over memory, each step writes into the outputs in place, compares ``h_t >= theta`` (the same
test as ``h_t - theta >= 0``) straight into the float dtype (boolean masks are slow on the
CPU), fuses a sum with a product by ``s_t`` or ``1 - s_t`` (exact, so the sum is rounded
once either way), and selects the hard reset's value with ``threshold`` (no mask, no NaN at
an infinite membrane: :func:`snnattack.snn.reset.negated_reset`). In a LIF of the backend
``c``, on the CPU both loops run in :mod:`snnattack.cpu.native`'s C kernel where the CPU
paths apply (:func:`snnattack.cpu.guard.applies`) and it is built (the triangle, rectangle,
arctan, fast sigmoid and sigmoid surrogates): the same operations, one pass over memory. Where the
Triton kernels run (:func:`snnattack.cuda.guard.applies`: a float32 CUDA tensor, or a CPU
one of a ``triton`` network under Triton's interpreter) and know the surrogate,
:func:`fused` runs :func:`snnattack.cuda.ops.lif` instead of :class:`MultiStepLIF` (one
launch forward, one backward, ``h_t`` saved), and :class:`BatchNormLIF` and :func:`spikes`
run its kernels: the same operations, within float32 rounding.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import nn

from snnattack.cpu import native
from snnattack.cpu.frozen import PLAIN_BN
from snnattack.cpu.guard import applies, first_order
from snnattack.cuda import guard as gpu
from snnattack.snn.reset import negated_reset, reset_path
from snnattack.snn.surrogates import (
    SURROGATES,
    ATan,
    FastSigmoid,
    Rectangle,
    Sigmoid,
    Surrogate,
    Triangle,
)


class MultiStepLIF(torch.autograd.Function):
    """Spikes ``[T, B, ...]`` of ``lif`` (an :class:`~snnattack.snn.neurons.LIF`) fed ``x``
    times ``scale``; the caller has started ``lif.surrogate`` for this pass."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lif: Any, scale: float) -> torch.Tensor:  # type: ignore[override]
        h_all, spikes = torch.empty_like(x), torch.empty_like(x)
        ctx.lif, ctx.scale = Neuron.of(lif), scale
        ctx.seen = _run(x, ctx.lif, h_all, spikes, observe=True, scale=scale)
        ctx.save_for_backward(h_all)
        return spikes

    @staticmethod
    @first_order
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (h_all,) = ctx.saved_tensors
        return _bptt(h_all, grad, ctx.lif, ctx.seen, ctx.scale), None, None


class BatchNormLIF(torch.autograd.Function):
    """Spikes ``[T, B, ...]`` of ``lif`` fed ``x``, the value the caller computed as the sum of
    its terms: each a batch-statistics BN's output, given as the BN's input (``[T * B, C,
    ...]``), weight and bias with its ``eps`` in ``layout``, or a tensor as it is (``None`` in
    ``layout``). The gradient goes to the terms' tensors."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        x: torch.Tensor,
        lif: Any,
        layout: tuple[float | None, ...],
        scale: float,
        *tensors: torch.Tensor,
    ) -> torch.Tensor:
        ctx.lif, ctx.layout, ctx.shape, ctx.scale = Neuron.of(lif), layout, x.shape, scale
        ctx.triton = _triton(x, ctx.lif, scale=scale)
        ctx.save_for_backward(*tensors)
        if ctx.triton is not None:  # the spikes alone
            ctx.seen = [None] * x.shape[0]
            return _ops().lif(x, *ctx.triton, False)[0]
        spikes = torch.empty_like(x)
        ctx.seen = _run(x, ctx.lif, torch.empty_like(x[0]), spikes, observe=True, scale=scale)
        return spikes

    @staticmethod
    @first_order
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        terms, x, stats = _terms(ctx.layout, ctx.saved_tensors), None, []
        for term in terms:  # the forward's sum again: the same kernels on the same inputs
            value, *stat = (term[0],) if len(term) == 1 else _batch_norm(*term)
            stats.append(stat)
            if x is None:
                x = value.view(ctx.shape)
            else:  # into the first BN's output, a tensor of our own; else a new one
                x = x.add_(value.view(ctx.shape)) if stats[0] else x + value.view(ctx.shape)
        if ctx.triton is not None:  # h_t by the forward kernel again, then the backward's
            h = _ops().lif(x, *ctx.triton, True)[1]
            dx = _ops().lif_input_grad(h, grad, *ctx.triton)
        else:  # x is the first BN's output or a sum, our own: h_t is written over x_t
            _run(x, ctx.lif, x, torch.empty_like(x[0]), observe=False, scale=ctx.scale)
            dx = _bptt(x, grad, ctx.lif, ctx.seen, ctx.scale)
        grads, wanted = [], iter(ctx.needs_input_grad[4:])
        for term, stat in zip(terms, stats, strict=True):
            if len(term) == 1:  # a sum's backward: its gradient as it is
                grads.append(dx)
                next(wanted)
                continue
            y, weight, bias, eps = term
            mask = [next(wanted), next(wanted), next(wanted)]
            grads += torch.ops.aten.native_batch_norm_backward(
                dx.view(y.shape), y, weight, None, None, *stat, True, eps, mask
            )
        return None, None, None, None, *grads


def fused(x: torch.Tensor, lif: Any, scale: float = 1.0) -> torch.Tensor:
    """Spikes ``[T, B, ...]`` of ``lif`` fed ``x`` times ``scale`` (an adapted neuron's input
    scale, :class:`~snnattack.snn.scaled.ScaledNeuron`, taken in the T loop: ``x_t * scale``
    forward, ``dL/dI_t * scale`` backward, each rounded once as the product and its autograd
    round it), differentiable: the Triton kernels where they run (:func:`_triton`;
    :func:`snnattack.cuda.ops.lif`), else :class:`MultiStepLIF`; the caller has started
    ``lif.surrogate`` for this pass."""
    settings = _triton(x, Neuron.of(lif), scale=scale)
    if settings is None:
        return MultiStepLIF.apply(x, lif, scale)
    return _ops().lif(x, *settings, True)[0]


def spikes(x: torch.Tensor, lif: Any, scale: float = 1.0) -> torch.Tensor:
    """Spikes ``[T, B, ...]`` of ``lif`` fed ``x`` (times ``scale``, as in :func:`fused`),
    outside autograd (no backward follows)."""
    neuron = Neuron.of(lif)
    settings = _triton(x, neuron, backward=False, scale=scale)
    if settings is not None:
        return _ops().lif(x, *settings, False)[0]
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    _run(x, neuron, torch.empty_like(out[0]), out, observe=False, scale=scale)
    return out


def _triton(
    x: torch.Tensor, lif: Neuron, backward: bool = True, scale: float = 1.0
) -> tuple | None:
    """The settings of ``lif`` as the Triton ops take them (:mod:`snnattack.cuda.ops`), with
    the input ``scale``, if its kernels run on ``x`` (:func:`snnattack.cuda.guard.applies`)
    and, when a ``backward`` follows, the backward kernel knows its surrogate (one of
    :data:`snnattack.cuda.guard.SURROGATES`, as registered, observing nothing)."""
    if not gpu.applies(lif.backend, x):
        return None
    surrogate, flags = lif.surrogate, (lif.hard, lif.detach_reset, lif.detach_membrane)
    slope = (0, 1.0)  # read by no kernel where no backward follows
    if surrogate.name in gpu.SURROGATES and SURROGATES.get(surrogate.name) is type(surrogate):
        slope = gpu.SURROGATES.index(surrogate.name), getattr(surrogate, surrogate.parameter)
    elif backward:
        return None
    return lif.lam, lif.theta, lif.drop, *flags, *slope, scale


def _ops() -> Any:
    """:mod:`snnattack.cuda.ops`, imported where its kernels run (it imports Triton)."""
    from snnattack.cuda import ops

    return ops


def batchnorm_lif(
    x: torch.Tensor, lif: Any, terms: list[tuple], scale: float = 1.0
) -> torch.Tensor:
    """:class:`BatchNormLIF` on ``x`` (times ``scale``, as in :func:`fused`), computed from
    ``terms``: ``(y, bn)`` for a BN's input and the BN, ``(tensor, None)`` for a tensor added
    as it is."""
    layout, tensors = [], []
    for tensor, bn in terms:
        layout.append(None if bn is None else bn.eps)
        tensors += [tensor] if bn is None else [tensor, bn.weight, bn.bias]
    return BatchNormLIF.apply(x.detach(), lif, tuple(layout), scale, *tensors)


def _terms(layout: tuple[float | None, ...], saved: tuple[torch.Tensor, ...]) -> list[tuple]:
    """The saved tensors grouped per term: ``(tensor,)`` or ``(y, weight, bias, eps)``."""
    terms, i = [], 0
    for eps in layout:
        terms.append((saved[i],) if eps is None else (*saved[i : i + 3], eps))
        i += 1 if eps is None else 3
    return terms


def _batch_norm(
    y: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A BN's output on ``y`` with ``y``'s own statistics, and those statistics."""
    return torch.ops.aten.native_batch_norm(y, weight, bias, None, None, True, 0.0, eps)


class Neuron(NamedTuple):
    """The settings of a LIF that its backward reads, as they were in the forward."""

    surrogate: Surrogate
    lam: float
    theta: float
    hard: bool
    detach_reset: bool
    detach_membrane: bool
    drop: float  # what the soft reset subtracts (theta unless the LIF's reset_by says)
    backend: str  # c: C or Triton kernels where they apply | torch: torch ops | triton

    @classmethod
    def of(cls, lif: Any) -> Neuron:
        """The settings of ``lif`` (an :class:`~snnattack.snn.neurons.LIF`) now."""
        hard = lif.reset == "hard"
        flags = (lif.detach_reset, lif.detach_membrane)
        return cls(lif.surrogate, lif.lam, lif.theta, hard, *flags, lif.drop, lif.backend)


def batch_statistics(module: nn.Module) -> bool:
    """Whether ``module`` is a plain BatchNorm normalising with the batch's own statistics (a
    :class:`BatchNormLIF` can recompute it exactly; SyncBatchNorm cannot be)."""
    return type(module) in PLAIN_BN and (module.training or module.running_mean is None)


def _run(
    x: torch.Tensor,
    lif: Neuron,
    h_out: torch.Tensor,
    s_out: torch.Tensor,
    observe: bool,
    scale: float = 1.0,
) -> list[torch.Tensor | None]:
    """The forward T loop on ``x`` times ``scale``: ``h_t`` and ``s_t`` into ``h_out`` and
    ``s_out`` (each ``[T, ...]``, or one step's buffer reused); the surrogate's observations
    when ``observe``. ``h_out`` may be ``x`` itself: step t reads ``x_t`` before writing
    ``h_t`` over it."""
    surrogate, lam, theta, hard, drop = lif.surrogate, lif.lam, lif.theta, lif.hard, lif.drop
    observe = observe and type(surrogate).observe is not Surrogate.observe  # else v_t is unused
    kernel = not observe and (hard or drop == theta)  # the kernel's soft reset drops theta
    if kernel and applies(lif.backend, x) and native.usable(x, h_out, s_out):  # one pass
        kept = [out if out.dim() == x.dim() else None for out in (h_out, s_out)]
        native.forward(x, *kept, lam, theta, hard, scale)
        return [None] * x.shape[0]
    # u_{t-1}, kept negated after a hard reset (negated_reset): times -lam, the same product
    u, leak, seen = torch.zeros_like(x[0]), -lam if hard else lam, []
    for t in range(x.shape[0]):
        h = h_out[t] if h_out.dim() == x.dim() else h_out
        s = s_out[t] if s_out.dim() == x.dim() else s_out
        current = x[t] if scale == 1.0 else x[t] * scale
        torch.add(u * leak, current, out=h)  # lif.charge, written in place
        seen.append(surrogate.observe(h - theta, t) if observe else None)
        torch.ge(h, theta, out=s)  # H(h - theta): the same test, straight to the dtype
        # lif.reset_membrane: hard, a select; soft, theta * s exact (s is 0 or 1): one rounding
        u = negated_reset(h, theta) if hard else torch.add(h, s, alpha=-drop)
    return seen


def _bptt(
    h_all: torch.Tensor,
    grad: torch.Tensor,
    lif: Neuron,
    seen: list[torch.Tensor | None],
    scale: float = 1.0,
) -> torch.Tensor:
    """``dL/dI`` ``[T, ...]`` from the membranes ``h_all`` and the spikes' gradient ``grad``,
    times the forward's input ``scale``."""
    surrogate, lam, theta, hard, drop = lif.surrogate, lif.lam, lif.theta, lif.hard, lif.drop
    kernel_slope = _kernel_slope(surrogate, seen) if hard or drop == theta else None
    fits = kernel_slope is not None and applies(lif.backend, h_all) and native.usable(h_all)
    if fits:  # one pass, the same numbers
        grad = grad if grad[0].is_contiguous() else grad.contiguous()
        flags = (hard, lif.detach_reset, lif.detach_membrane)
        out = _curves(surrogate, h_all, theta)
        return native.backward(h_all, grad, lam, theta, *flags, *kernel_slope, scale, out=out)
    dx, mask = torch.empty_like(h_all), torch.empty_like(h_all[0])
    g_u = None  # dL/du_t from step t + 1 (none after the last step)
    for t in reversed(range(h_all.shape[0])):
        h, dh = h_all[t], dx[t]
        ds = grad[t]
        if g_u is not None and not lif.detach_reset:
            ds = ds - reset_path(g_u, h) if hard else ds - g_u * drop
        slope = surrogate.grad(ds, h - theta, seen[t])
        if g_u is None:
            dh.copy_(slope)
        elif hard:  # + g_u (1 - s_t), the product exact: one rounding, as autograd's
            torch.addcmul(slope, g_u, torch.lt(h, theta, out=mask), out=dh)
        else:
            torch.add(slope, g_u, out=dh)
        g_u = None if lif.detach_membrane else dh * lam
    return dx if scale == 1.0 else dx.mul_(scale)


def _kernel_slope(surrogate: Surrogate, seen: list) -> tuple[int, float, float, float] | None:
    """The surrogate as the C kernel takes it (its index in
    :data:`~snnattack.cpu.native.KERNEL_SURROGATES`, its two constants, the divisor; the kernel
    rounds the constants to its dtype as ATen rounds a Python scalar), if it can: the
    triangle, the rectangle, the arctan, the fast sigmoid (arithmetic alone, so the kernel
    computes their torch ops bit for bit) and the sigmoid (its curve from :func:`_curves`),
    observing nothing in the forward."""
    if any(s is not None for s in seen):
        return None
    kind = type(surrogate)
    if kind is Triangle:
        constants = surrogate.width, 0.0, surrogate.width * surrogate.width
    elif kind is Rectangle:
        constants = surrogate.width, 0.0, 2 * surrogate.width
    elif kind is ATan:  # atan_slope: (pi/2 alpha v)^2 + 1, its reciprocal times alpha / 2
        constants = math.pi / 2 * surrogate.alpha, surrogate.alpha / 2, 1.0
    elif kind is FastSigmoid or kind is Sigmoid:
        constants = surrogate.alpha, 0.0, 1.0
    else:
        return None
    return native.KERNEL_SURROGATES.index(surrogate.name), *constants


def _curves(surrogate: Surrogate, h_all: torch.Tensor, theta: float) -> torch.Tensor | None:
    """For the sigmoid surrogate, ``sig(alpha v_t)`` of every step, which the C kernel reads
    (and overwrites with ``dL/dI``); None for the others. ATen's ``exp`` is vectorised, so a
    value depends on its place in the tensor: each step's are computed as the torch loop
    computes them, one step's tensor at a time, the same bits."""
    if type(surrogate) is not Sigmoid:
        return None
    out = torch.empty_strided(h_all.shape, h_all.stride(), dtype=h_all.dtype)
    for t in range(h_all.shape[0]):
        surrogate.curve(h_all[t] - theta, out=out[t])
    return out
