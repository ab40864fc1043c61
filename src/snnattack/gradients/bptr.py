"""BPTR, backpropagation through rates (Ding et al., NeurIPS 2022; the README's *Gradient modes*).

Forward: the true spikes. Backward: each step's input current gets the gradient of that
step's spike, passed only where the neuron fired at all in the window:
``dL/dI_t = dL/ds_t * 1[r > 0]`` with ``r`` the neuron's firing rate. No gradient flows
along the membrane from one step to the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from snnattack.gradients.base import overriding, register
from snnattack.snn.neurons import LIF


class _RateGate(torch.autograd.Function):
    """True spikes forward; backward passes ``grad`` where the neuron's rate is above zero."""

    @staticmethod
    def forward(ctx, current, lif):  # type: ignore[override]
        with torch.no_grad():
            spikes = lif.simulate(current)
        ctx.save_for_backward(spikes.mean(0, keepdim=True) > 0)
        return spikes

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (fired,) = ctx.saved_tensors
        return grad * fired, None


@register("bptr", title="BPTR", order=30)
@contextmanager
def bptr(model: nn.Module) -> Iterator[None]:
    with overriding(model, {LIF: lambda lif, current: _RateGate.apply(current, lif)}):
        yield
