"""Input gradients of a model's convolutions and linear layers without their forward pass.

The backward of a linear layer towards its input (a transposed convolution, a product with
the weight matrix) does not depend on the input's values. A pass whose layer outputs are never
read, only differentiated, can skip computing them: :func:`adjoint_only` makes every
``nn.Conv2d`` and ``nn.Linear`` of a model return zeros of the right shape and, in the
backward, the input gradient their autograd node would give (the same aten kernels). The
rate-domain RGA uses it: its layers' values come from the simulation, so its second pass is
pure backward (about 1/T of a forward's convolutions instead of 2/T).

Within the block the skipped layers' weights get no gradient: it serves passes that ask for
the input's gradient only (attacks). Convolutions with a padding mode other than zeros, and
layers fed an input that needs no gradient, run their real forward.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


class _Adjoint(torch.autograd.Function):
    """Zeros shaped like ``layer(x)``; backward: ``layer``'s gradient w.r.t. ``x``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, layer: nn.Module) -> torch.Tensor:  # type: ignore[override]
        ctx.layer, ctx.shape = layer, x.shape
        return x.new_zeros(()).expand(_output_shape(layer, x.shape))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        layer = ctx.layer
        if isinstance(layer, nn.Linear):
            return grad @ layer.weight, None
        dx = torch.ops.aten.convolution_backward(
            grad.contiguous(),
            grad.new_empty(ctx.shape),
            layer.weight,
            None,
            layer.stride,
            layer.padding,
            layer.dilation,
            False,
            [0, 0],
            layer.groups,
            (True, False, False),
        )[0]
        return dx, None


def _output_shape(layer: nn.Module, shape: torch.Size) -> tuple[int, ...]:
    if isinstance(layer, nn.Linear):
        return (*shape[:-1], layer.out_features)
    size = [
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, p, d, k, s in zip(
            shape[-2:], layer.padding, layer.dilation, layer.kernel_size, layer.stride, strict=True
        )
    ]
    return (*shape[:-3], layer.out_channels, *size)


def _skippable(layer: nn.Module) -> bool:
    """A convolution or linear layer running its torch class's forward (a subclass with a
    forward of its own, such as spikingjelly's multi-step layers, may reshape its input)."""
    if type(layer).forward not in (nn.Conv2d.forward, nn.Linear.forward):
        return False
    if isinstance(layer, nn.Conv2d):
        return layer.padding_mode == "zeros" and not isinstance(layer.padding, str)
    return isinstance(layer, nn.Linear)


@contextmanager
def adjoint_only(model: nn.Module) -> Iterator[None]:
    """Within the block, the ``nn.Conv2d`` and ``nn.Linear`` layers of ``model`` output
    zeros (values never to be read) and differentiate as themselves."""
    layers = [m for m in model.modules() if _skippable(m) and "forward" not in vars(m)]

    def skip(layer: nn.Module):
        def forward(x: torch.Tensor) -> torch.Tensor:
            if not (torch.is_grad_enabled() and x.requires_grad):
                return type(layer).forward(layer, x)
            return _Adjoint.apply(x, layer)

        return forward

    for layer in layers:
        layer.forward = skip(layer)
    try:
        yield
    finally:
        for layer in layers:
            del layer.forward
