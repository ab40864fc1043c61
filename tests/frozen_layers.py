"""Helpers of the frozen layers' tests (the CPU's and the GPU's): a layer's output and input
gradient, and how much autograd keeps for its backward."""

from __future__ import annotations

from collections.abc import Callable

import torch

Layer = Callable[[torch.Tensor], torch.Tensor]


def output_and_gradient(fn: Layer, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``fn(x)`` and the gradient towards ``x`` of a fixed weighted sum of it."""
    x = x.detach().clone().requires_grad_(True)
    out = fn(x)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype, device=out.device)
    weights = weights.view_as(out)
    (grad,) = torch.autograd.grad((out * weights).sum(), x)
    return out.detach(), grad


def saved_elements(fn: Layer, x: torch.Tensor) -> int:
    """How many elements autograd keeps for the backward of ``fn(x)``."""
    total = [0]

    def pack(t: torch.Tensor) -> torch.Tensor:
        total[0] += t.numel()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x.detach().clone().requires_grad_(True))
    return total[0]
