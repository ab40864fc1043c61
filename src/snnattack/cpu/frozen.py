"""Frozen layers of an attack keep nothing of their inputs for the backward.

In an attack the parameters are frozen and every BatchNorm normalises with its running
statistics, so the input gradient of a convolution (``grad`` through the transposed
weights) or of a BN (``grad * invstd * weight``) does not read the layer's input. Autograd
keeps that input all the same until the backward: a convolution's input (spikes, kept as
bytes, or a pooling's output) and a BN's input (the convolution's output, a float tensor of
the layer's size). :class:`FrozenConvolution` and :class:`FrozenBatchNorm` run the layer's own
forward op and, in the backward, the kernel autograd calls, with a stand-in for the input of
its layout (the kernel reads the input's shape and layout, not its values, for the input
gradient alone): the same outputs and input gradients bit for bit
(``tests/unit/cpu/test_frozen.py``) and less memory in an attack step (``docs/performance.md``).

They run where that is the same computation as the module (:func:`frozen_convolution`,
:func:`run_layer`): where the CPU
paths apply (:func:`snnattack.cpu.guard.applies`: the backend ``c``, on the CPU, as a GPU may
run cuDNN, whose backward rounds its own way; one dtype, no hooks, the module's own forward,
nothing tracing or casting), to a plain ``nn.Conv2d`` with zero padding given as numbers, or
a plain BN (not SyncBatchNorm) in eval mode with running statistics, no parameter requiring
a gradient.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from snnattack.cpu.guard import applies

PLAIN_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)  # not SyncBatchNorm
aten = torch.ops.aten


def _stand_in(grad: torch.Tensor, layout: tuple[torch.Size, tuple[int, ...]]) -> torch.Tensor:
    """A tensor of the input's shape and layout whose values are never read: the gradient
    itself where it has them, else an unwritten one."""
    shape, stride = layout
    same = grad.shape == shape and grad.stride() == stride
    return grad if same else grad.new_empty_strided(shape, stride)


class FrozenBatchNorm(torch.autograd.Function):
    """``bn(x)`` for an eval-mode ``bn`` whose parameters are frozen; the gradient goes to
    ``x`` only, and nothing of ``x`` is kept."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, bn: nn.Module) -> torch.Tensor:  # type: ignore[override]
        ctx.eps, ctx.layout = bn.eps, (x.shape, x.stride())
        stats = (bn.running_mean, bn.running_var)
        ctx.save_for_backward(bn.weight, *stats)
        # the op the module's forward reaches when autograd records (outside autograd, as
        # here, F.batch_norm may take an inference kernel with another layout)
        return aten.native_batch_norm(x, bn.weight, bn.bias, *stats, False, 0.0, bn.eps)[0]

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor):  # type: ignore[override]
        weight, mean, var = ctx.saved_tensors
        x = _stand_in(grad, ctx.layout)
        if not x.numel():
            return x, None  # an empty batch (ATen's kernel divides by its size)
        mask = [True, False, False]  # the input's gradient only
        dx = aten.native_batch_norm_backward(
            grad, x, weight, mean, var, None, None, False, ctx.eps, mask
        )
        return dx[0], None


class FrozenConvolution(torch.autograd.Function):
    """``conv(x)`` for an ``nn.Conv2d`` whose parameters are frozen; the gradient goes to
    ``x`` only, and nothing of ``x`` is kept."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:  # type: ignore[override]
        ctx.layout, ctx.conv = (x.shape, x.stride()), conv
        ctx.save_for_backward(conv.weight)
        return aten.convolution(x, conv.weight, conv.bias, *_geometry(conv))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor):  # type: ignore[override]
        (weight,) = ctx.saved_tensors
        conv, x = ctx.conv, _stand_in(grad, ctx.layout)
        bias = None if conv.bias is None else list(conv.bias.shape)
        mask = [True, False, False]  # the input's gradient only
        dx = aten.convolution_backward(grad, x, weight, bias, *_geometry(conv), mask)
        return dx[0], None


def _geometry(conv: nn.Conv2d) -> tuple:
    """stride, padding, dilation, transposed, output padding and groups, as the module's
    forward passes them to ``aten.convolution``."""
    stride, padding, dilation = (list(v) for v in (conv.stride, conv.padding, conv.dilation))
    return stride, padding, dilation, False, [0, 0], conv.groups


def run_layer(layer: nn.Module, x: torch.Tensor, backend: str) -> torch.Tensor:
    """``layer(x)`` in a ``backend`` network, as a frozen BN where that is the same
    computation (a convolution's own paths: :func:`frozen_convolution`)."""
    out = frozen_batch_norm(layer, x, backend) if type(layer) in PLAIN_BN else None
    return layer(x) if out is None else out


def frozen_batch_norm(bn: nn.Module, x: torch.Tensor, backend: str) -> torch.Tensor | None:
    """``bn(x)`` as :class:`FrozenBatchNorm` where that is the same computation (``bn``
    computing its torch BN class's forward on ``x``, in eval mode with running statistics),
    else None."""
    if bn.training or bn.running_mean is None:
        return None
    if attacked(bn, x) and applies(backend, x, bn):
        return FrozenBatchNorm.apply(x, bn)
    return None


def frozen_convolution(conv: nn.Conv2d, x: torch.Tensor, backend: str) -> torch.Tensor | None:
    """``conv(x)`` as :class:`FrozenConvolution` where that is the same computation (``conv``
    computing ``nn.Conv2d``'s forward on ``x`` ``[N, C, H, W]``), else None."""
    if attacked(conv, x) and _zero_padded(conv) and x.dim() == 4 and applies(backend, x, conv):
        return FrozenConvolution.apply(x, conv)
    return None


def attacked(layer: nn.Module, x: torch.Tensor) -> bool:
    """Whether a gradient is recorded towards ``x`` and none towards ``layer``'s parameters."""
    frozen = not any(p.requires_grad for p in layer.parameters())
    return frozen and torch.is_grad_enabled() and x.requires_grad


def _zero_padded(conv: nn.Conv2d) -> bool:
    return conv.padding_mode == "zeros" and not isinstance(conv.padding, str)
