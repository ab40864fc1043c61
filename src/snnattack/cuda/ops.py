"""The fused LIF's Triton kernels as calls: :func:`lif` (spikes and, with ``membranes``, the
membranes ``h_t``, differentiable) and :func:`lif_input_grad` (its backward kernel), and the
PyTorch custom ops ``snnattack::lif_forward`` and ``snnattack::lif_backward`` that
``torch.compile`` sees.

While ``torch.compile`` traces, the calls are the custom ops: each has a fake implementation
(``register_fake``), so the ``meta`` device and the compiler see their shapes without running
them, and the compiler keeps each as one call; ``lif_forward``'s autograd
(``register_autograd``) saves ``h_t`` alone and runs ``lif_backward``. Run as they are, the
calls launch the same kernels without the custom ops' dispatch, through :class:`_LIF`, an
autograd Function of the same saved tensor and backward: an attack calls the LIF at every
neuron and step, and on the host a forward and backward through the ops cost about 2.5x those
through the Function (``tests/unit/cuda/test_triton_lif.py`` times both).

The arguments are the LIF's settings as :class:`snnattack.snn.multistep.Neuron` holds them,
the surrogate as an index of :data:`~snnattack.cuda.kernels.SURROGATES` with its width or
sharpness, and the input scale of an adapted neuron
(:class:`snnattack.snn.scaled.ScaledNeuron`; 1 for none): the forward kernel feeds the LIF
``x_t * scale``, the backward returns ``dL/dh_t * scale``, each product rounded once, as the
module's product and its autograd round it. The inputs are made contiguous (a time-constant
input, broadcast with time stride 0, is copied); an empty input launches nothing; callers
send float32 alone (:func:`snnattack.cuda.guard.applies`).
"""

import contextlib
import struct
from collections.abc import Callable
from typing import Any

import torch
import triton
from torch import Tensor

from snnattack.cpu.guard import first_order
from snnattack.cuda.guard import interpreted
from snnattack.cuda.kernels import BLOCK, WARPS, compiled, slope_constants

SETTINGS = 9  # lam, theta, drop, hard, detach_reset, detach_membrane, surrogate, parameter, scale


def _launch_forward(
    x: Tensor,
    lam: float,
    theta: float,
    drop: float,
    hard: bool,
    detach_reset: bool,
    detach_membrane: bool,
    surrogate: int,
    parameter: float,
    scale: float,
    membranes: bool,
) -> tuple[Tensor, Tensor]:
    """Spikes of the LIF fed ``x`` ``[T, ...]``, and its membranes ``h_t`` if ``membranes``
    (else an empty tensor); the backward settings serve the op's autograd."""
    x = x.contiguous()
    spikes = torch.empty_like(x)
    h = torch.empty_like(x) if membranes else x.new_empty(0)
    if x.numel():
        T = x.shape[0]
        kernel = compiled(interpreted())[0]
        with _on(x):
            kernel[_grid(x)](
                x,
                spikes,
                h if membranes else spikes,
                x.numel() // T,
                *(_f32(v) for v in (lam, theta, drop, scale)),
                T=T,
                HARD=hard,
                STORE_H=membranes,
                BLOCK=BLOCK,
                num_warps=WARPS,
                enable_fp_fusion=False,
            )
    return spikes, h


lif_forward = torch.library.custom_op("snnattack::lif_forward", _launch_forward, mutates_args=())


@lif_forward.register_fake
def _(x: Tensor, *settings: object) -> tuple[Tensor, Tensor]:
    out = _contiguous_like(x)  # as the kernel writes it, whatever x's strides
    return out, _contiguous_like(x) if settings[-1] else x.new_empty(0)  # membranes


def _launch_backward(
    h: Tensor,
    grad: Tensor,
    lam: float,
    theta: float,
    drop: float,
    hard: bool,
    detach_reset: bool,
    detach_membrane: bool,
    surrogate: int,
    parameter: float,
    scale: float,
) -> Tensor:
    """``dL/dI`` ``[T, ...]`` from the membranes ``h`` and the spikes' gradient ``grad``
    (``dL/dh`` times the input ``scale``)."""
    h, grad = h.contiguous(), grad.contiguous()
    dx = torch.empty_like(h)
    if h.numel():
        T = h.shape[0]
        c1, c2 = slope_constants(surrogate, parameter)
        kernel = compiled(interpreted())[1]
        with _on(h):
            kernel[_grid(h)](
                h[-1],  # the kernel walks back from the last step
                grad[-1],
                dx[-1],
                h.numel() // T,
                *(_f32(v) for v in (lam, theta, drop, c1, c2, scale)),
                T=T,
                SURROGATE=surrogate,
                HARD=hard,
                DETACH_RESET=detach_reset,
                DETACH_MEMBRANE=detach_membrane,
                RECIPROCAL=h.is_cuda,
                BLOCK=BLOCK,
                num_warps=WARPS,
                enable_fp_fusion=False,
            )
    return dx


lif_backward = torch.library.custom_op("snnattack::lif_backward", _launch_backward, mutates_args=())
lif_backward.register_fake(lambda h, grad, *settings: _contiguous_like(h))


def _setup_context(ctx, inputs: tuple, output: tuple[Tensor, Tensor]) -> None:
    ctx.settings, ctx.membranes = inputs[1 : 1 + SETTINGS], inputs[-1]
    ctx.save_for_backward(output[1])
    ctx.mark_non_differentiable(output[1])
    ctx.set_materialize_grads(False)  # no zeros made for the membranes' gradient


def _gradients(ctx, grad: Tensor, backward: Callable[..., Tensor]) -> tuple:
    """The inputs' gradients, the input's by ``backward`` (the op, or :func:`lif_input_grad`)."""
    if not ctx.membranes:
        raise RuntimeError("snnattack::lif_forward without membranes has no backward")
    (h,) = ctx.saved_tensors
    return backward(h, grad, *ctx.settings), *([None] * (SETTINGS + 1))


lif_forward.register_autograd(
    lambda ctx, grad, _grad_h: _gradients(ctx, grad, lif_backward), setup_context=_setup_context
)


class _LIF(torch.autograd.Function):
    """``lif_forward`` and its autograd, launched without the custom ops' dispatch."""

    @staticmethod
    def forward(ctx, x: Tensor, *settings: Any) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        output = _launch_forward(x, *settings)
        _setup_context(ctx, (x, *settings), output)
        return output

    @staticmethod
    @first_order
    def backward(ctx, grad: Tensor, _grad_h: Tensor) -> tuple:  # type: ignore[override]
        return _gradients(ctx, grad, lif_input_grad)


def _routed(op: Callable[..., Any], launch: Callable[..., Any]) -> Callable[..., Any]:
    """The custom op ``op`` while ``torch.compile`` traces, else its kernel's ``launch``."""
    return op if torch.compiler.is_compiling() else launch


def lif(x: Tensor, *settings: Any) -> tuple[Tensor, Tensor]:
    """``lif_forward(x, *settings)``: its spikes and membranes, differentiable
    (:func:`_routed`; :class:`_LIF` where a gradient may follow)."""
    grad = torch.is_grad_enabled() and x.requires_grad
    return _routed(lif_forward, _LIF.apply if grad else _launch_forward)(x, *settings)


def lif_input_grad(h: Tensor, grad: Tensor, *settings: Any) -> Tensor:
    """``lif_backward(h, grad, *settings)`` (:func:`_routed`)."""
    return _routed(lif_backward, _launch_backward)(h, grad, *settings)


def _launch_rate_slope(
    current: Tensor, low: float, high: float, gamma: float, ramp: float
) -> Tensor:
    """RGA's rate slope at ``current`` (:func:`snnattack.gradients.rga.rate_slope`), one
    launch: ``gamma`` on ``[0, low]``, ``ramp`` on ``(low, high]``, 0 elsewhere; the scalars
    rounded to float32 as ATen rounds them for a float32 tensor."""
    current = current.contiguous()
    out = torch.empty_like(current)
    if current.numel():
        kernel = compiled(interpreted())[2]
        with _on(current):
            kernel[(triton.cdiv(current.numel(), BLOCK),)](
                current,
                out,
                current.numel(),
                *(_f32(v) for v in (low, high, gamma, ramp)),
                BLOCK=BLOCK,
                num_warps=WARPS,
                enable_fp_fusion=False,
            )
    return out


rate_slope_op = torch.library.custom_op(
    "snnattack::rate_slope", _launch_rate_slope, mutates_args=()
)
rate_slope_op.register_fake(lambda current, *constants: _contiguous_like(current))


def rate_slope(current: Tensor, low: float, high: float, gamma: float, ramp: float) -> Tensor:
    """RGA's rate slope at ``current`` (``snnattack::rate_slope``, :func:`_routed`)."""
    return _routed(rate_slope_op, _launch_rate_slope)(current, low, high, gamma, ramp)


def _contiguous_like(x: Tensor) -> Tensor:
    """A fake op's output for the input ``x``: contiguous, as the kernels write theirs (the
    compiler trusts the fake's strides; a permuted ``x``'s would not be the real ones)."""
    return torch.empty_like(x, memory_format=torch.contiguous_format)


def _grid(x: Tensor) -> tuple[int]:
    return (triton.cdiv(x.numel() // x.shape[0], BLOCK),)


def _on(x: Tensor) -> contextlib.AbstractContextManager:
    """Launches on ``x``'s GPU (Triton launches on the current one)."""
    return torch.cuda.device(x.device) if x.is_cuda else contextlib.nullcontext()


def _f32(value: float) -> float:
    """``value`` rounded to float32, as ATen rounds a Python scalar for a float32 tensor."""
    return struct.unpack("f", struct.pack("f", value))[0]
