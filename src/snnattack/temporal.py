"""Modules that own the time dimension (neurons, encoders) and a wrapper for per-step layers.

A spiking model here is an ordinary ``nn.Module`` whose tensors are ``[T, B, ...]``. Modules
that mix time steps derive from :class:`Temporal`, so that a gradient mode
(:mod:`snnattack.gradients`) can find them and replace how they run, while every other module
acts on each time step independently.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class Temporal(nn.Module):
    """A module that mixes time steps; a gradient mode may install an ``override`` forward."""

    def __init__(self) -> None:
        super().__init__()
        self.override: Callable[[Temporal, torch.Tensor], torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.override is not None:
            return self.override(self, x)
        return self.simulate(x)

    def simulate(self, x: torch.Tensor) -> torch.Tensor:
        """The module's true dynamics, differentiable with its default (STBP) gradient."""
        raise NotImplementedError


class StepWise(nn.Module):
    """Applies a per-sample module (conv, BN, pooling) to every time step of ``[T, B, ...]``."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B = x.shape[:2]
        y = self.module(x.reshape(T * B, *x.shape[2:]))
        return y.reshape(T, B, *y.shape[1:])

    def extra_repr(self) -> str:
        return "per time step"


def temporal_modules(model: nn.Module) -> list[Temporal]:
    """All temporal modules of ``model`` in registration order."""
    return [m for m in model.modules() if isinstance(m, Temporal)]
