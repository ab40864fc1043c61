"""An eval-mode BatchNorm with frozen parameters keeps nothing for its backward.

In an attack the parameters are frozen and every BN normalises with its running statistics,
so its input gradient is ``grad * invstd * weight``: it does not read the BN's input. Autograd
keeps that input all the same (the convolution's output, a float tensor of the layer's size)
until the backward. :class:`FrozenBatchNorm` runs the BN's own forward kernel and, in the
backward, the kernel autograd calls, with the gradient standing in for the input (whose values
that kernel does not read for the input gradient in eval mode): the same input gradient bit
for bit (``tests/test_frozen.py``), one float tensor per convolution less in an attack step's
memory (``docs/performance.md``).

It runs where it is the same computation as the module: a plain BN (not SyncBatchNorm) in eval
mode with running statistics, no parameter requiring a gradient, no hooks and its own forward
(a gradient mode may replace it), on the CPU (on a GPU the module's forward may be cuDNN's,
whose backward rounds its own way), one dtype, no autocast, and not while ``torch.compile``
traces.
"""

from __future__ import annotations

import torch
from torch import nn

PLAIN_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class FrozenBatchNorm(torch.autograd.Function):
    """``bn(x)`` for an eval-mode ``bn`` whose parameters are frozen; the gradient goes to
    ``x`` only, and nothing of ``x`` is kept."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, bn: nn.Module) -> torch.Tensor:  # type: ignore[override]
        ctx.eps, ctx.layout = bn.eps, (x.shape, x.stride())
        ctx.save_for_backward(bn.weight, bn.running_mean, bn.running_var)
        # the op the module's forward reaches when autograd records (outside autograd, as
        # here, F.batch_norm may take an inference kernel with another layout)
        stats = (bn.running_mean, bn.running_var)
        return torch.ops.aten.native_batch_norm(x, bn.weight, bn.bias, *stats, False, 0.0, bn.eps)[
            0
        ]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        weight, mean, var = ctx.saved_tensors
        # the input's gradient only, for which the kernel reads the input's layout, not its
        # values: the gradient stands in for it, or an unwritten tensor of its layout
        shape, stride = ctx.layout
        same = grad.shape == shape and grad.stride() == stride
        stand_in = grad if same else grad.new_empty_strided(shape, stride)
        mask = [True, False, False]
        dx = torch.ops.aten.native_batch_norm_backward(
            grad, stand_in, weight, mean, var, None, None, False, ctx.eps, mask
        )[0]
        return dx, None


def run_layer(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``layer(x)``, as :class:`FrozenBatchNorm` where that is the same computation."""
    if torch.is_grad_enabled() and x.requires_grad and _frozen_batchnorm(layer, x):
        return FrozenBatchNorm.apply(x, layer)
    return layer(x)


def _frozen_batchnorm(layer: nn.Module, x: torch.Tensor) -> bool:
    if type(layer) not in PLAIN_BN or layer.training or layer.running_mean is None:
        return False
    hooked = layer._forward_hooks or layer._forward_pre_hooks or "forward" in vars(layer)
    frozen = not any(p.requires_grad for p in layer.parameters())
    same = x.dtype == layer.running_mean.dtype and not torch.is_autocast_enabled("cpu")
    plain = x.device.type == "cpu" and not torch.compiler.is_compiling()
    return frozen and same and plain and not hooked
