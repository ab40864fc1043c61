"""BPTR, backpropagation through rates (Ding et al., NeurIPS 2022; the README's *Gradient modes*).

Forward: the true spikes. Backward: each step's input current gets the gradient of that
step's spike, passed only where the neuron fired at all in the window:
``dL/dI_t = dL/ds_t * 1[r > 0]`` with ``r`` the neuron's firing rate. No gradient flows
along the membrane from one step to the next.

A neuron run one step per call (:class:`~snnattack.snn.stepwise.StepLIF`, a network with its
own time loop) cannot see the later steps' spikes in the forward; it runs BPTR as the
surrogate :class:`FiredGate` with the membrane detached: the gate is read in the backward,
when the window's every spike is known, so the gradient is the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from snnattack.gradients.base import overriding, register
from snnattack.snn.neurons import LIF
from snnattack.snn.surrogates import Surrogate


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


class FiredGate(Surrogate):
    """``grad * 1[the neuron fired at some step of the window]``: each step's ``observe`` adds
    its spikes to one record per simulation, which the backward reads complete."""

    name = "bptr_gate"

    def start(self, recording: bool) -> None:
        self._fired: list[torch.Tensor | None] = [None]

    def observe(self, v: torch.Tensor, t: int) -> list[torch.Tensor | None]:
        fired, record = v >= 0, self._fired
        record[0] = fired if record[0] is None else record[0] | fired
        return record

    def grad(self, grad: torch.Tensor, v: torch.Tensor, seen=None) -> torch.Tensor:
        return grad * seen[0].to(grad.dtype)


def rate_gate(lif: LIF, current: torch.Tensor) -> torch.Tensor:
    """The LIF's BPTR forward on ``[T, B, ...]``."""
    return _RateGate.apply(current, lif)


rate_gate.per_step = lambda lif: (FiredGate(), True)  # one step per call: the same gradient


@register("bptr", title="BPTR", order=30, per_step=True)
@contextmanager
def bptr(model: nn.Module) -> Iterator[None]:
    with overriding(model, {LIF: rate_gate}):
        yield
