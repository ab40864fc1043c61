"""Average pooling whose windows tile the input, in one pass of the C kernel.

The spiking models pool with ``nn.AvgPool2d(2)``: kernel = stride, no padding, so each input
lies in at most one window. ATen's CPU kernel walks every window with scalar loops, and its
backward zero-fills the input's gradient before adding each window's share; autograd also
keeps the pooling's input (its shape is all the backward needs). :class:`TiledAvgPool` runs
``snnattack/cpu/native/pool.c``: the same sums and quotients in the same order, one pass each way,
and nothing kept but the shape: the same outputs and gradients bit for bit
(``tests/unit/cpu/test_pooling.py``). It runs where :func:`tiling` finds that computation: where
the CPU paths apply (:func:`snnattack.cpu.guard.applies`: the backend ``c``, a CPU float32/64
tensor, no hooks, the module's own forward, nothing tracing or casting), to an
``nn.AvgPool2d`` with stride = kernel, no padding, no ceil mode, on a contiguous
``[N, C, H, W]`` tensor, the kernel built; everywhere else the module runs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from snnattack.cpu import native
from snnattack.cpu.guard import applies, first_order


class TiledAvgPool(torch.autograd.Function):
    """Average pooling over ``kernel``-sized windows tiling ``x``; each sum over ``divisor``."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kernel: tuple[int, int], divisor: int) -> torch.Tensor:  # type: ignore[override]
        ctx.shape, ctx.kernel, ctx.divisor = x.shape, kernel, divisor
        return native.avg_pool(x, kernel, divisor)

    @staticmethod
    @first_order
    def backward(ctx: Any, grad: torch.Tensor):  # type: ignore[override]
        dx = native.avg_pool_backward(grad.contiguous(), ctx.shape, ctx.kernel, ctx.divisor)
        return dx, None, None


def pooled(layer: nn.Module, x: torch.Tensor, backend: str) -> torch.Tensor | None:
    """``layer(x)`` in one pass of the kernel where ``layer`` is an ``nn.AvgPool2d`` (not a
    subclass: its forward may differ) and :func:`tiling` allows it, else None."""
    return pooled_by(layer, x, backend) if type(layer) is nn.AvgPool2d else None


def pooled_by(pool: nn.AvgPool2d, x: torch.Tensor, backend: str) -> torch.Tensor | None:
    """The pooling of ``x`` by the geometry of ``pool`` (an ``nn.AvgPool2d``, or a subclass
    whose forward pools by it: :class:`~snnattack.snn.temporal.FoldedAvgPool2d`) in one pass
    of the kernel where :func:`tiling` allows it, else None."""
    found = tiling(pool, x, backend)
    return None if found is None else TiledAvgPool.apply(x, *found)


def tiling(pool: nn.AvgPool2d, x: torch.Tensor, backend: str) -> tuple[tuple[int, int], int] | None:
    """``(kernel, divisor)`` where the pooling of ``x`` by the geometry of ``pool`` in a
    ``backend`` network is :class:`TiledAvgPool`'s computation and its kernel can run, else
    None."""
    if not applies(backend, x, pool):
        return None
    kernel, stride, padding = (_pair(v) for v in (pool.kernel_size, pool.stride, pool.padding))
    shape = pool.ceil_mode is False and stride == kernel and padding == (0, 0)
    shape = shape and pool.divisor_override != 0  # the module's error
    fits = x.dim() == 4 and x.shape[2] >= kernel[0] and x.shape[3] >= kernel[1]
    if not (shape and fits and x.is_contiguous()) or native.built() is None:
        return None
    return kernel, pool.divisor_override or kernel[0] * kernel[1]


def _pair(v: int | tuple[int, ...]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)  # type: ignore[return-value]
