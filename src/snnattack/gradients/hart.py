"""HART-style gradient (Hao et al., ICLR 2024, "Threaten SNNs through combining rate and
temporal information"; the README's *Gradient modes*).

Forward values unchanged. Backward: the membrane carried to the next step is detached (the
neuron's ``detach_membrane`` setting: no temporal gradient path), each spike's surrogate is
the triangle of half-width ``gamma`` (unit area), and the gradient of each step's input
current is replaced by its mean over the T steps (the rate part of the information).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from snnattack.gradients.base import neuron_settings, overriding, register
from snnattack.snn.neurons import LIF
from snnattack.snn.surrogates import Triangle
from snnattack.values import real


class _TimeMeanGrad(torch.autograd.Function):
    """Identity forward; backward gives every step the mean gradient over the steps."""

    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        return grad.mean(0, keepdim=True).expand_as(grad).contiguous()


@register("hart", title="HART", order=40, gamma=real(0, lo_open=True))
@contextmanager
def hart(model: nn.Module, gamma: float = 1.0) -> Iterator[None]:
    def lif_forward(lif: LIF, current: torch.Tensor) -> torch.Tensor:
        return lif.simulate(_TimeMeanGrad.apply(current))

    settings = neuron_settings(
        model, surrogate=lambda _: Triangle(gamma), detach_membrane=lambda _: True
    )
    with settings, overriding(model, {LIF: lif_forward}):
        yield
