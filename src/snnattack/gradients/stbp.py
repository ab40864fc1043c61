"""STBP: backprop through time of the unrolled simulation with the triangle surrogate."""

from __future__ import annotations

from torch import nn

from snnattack.gradients.base import temporarily
from snnattack.neurons import LIF
from snnattack.temporal import temporal_modules


def stbp(model: nn.Module, width: float | None = None):
    """The neurons' own backward (the default); ``width`` sets the surrogate's half-width."""
    lifs = [m for m in temporal_modules(model) if isinstance(m, LIF)]
    if width is not None and width <= 0:
        raise ValueError(f"stbp: width must be > 0, got {width}")
    return temporarily(lifs, "width", [width or m.width for m in lifs])
