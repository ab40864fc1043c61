"""STBP: backprop through time of the unrolled simulation with the triangle surrogate."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

from snnattack.neurons import LIF
from snnattack.temporal import temporal_modules


@contextmanager
def stbp(model: nn.Module, width: float | None = None) -> Iterator[None]:
    """The neurons' own backward (the default); ``width`` sets the surrogate's half-width."""
    lifs = [m for m in temporal_modules(model) if isinstance(m, LIF)]
    saved = [m.width for m in lifs]
    if width is not None:
        if width <= 0:
            raise ValueError(f"stbp: width must be > 0, got {width}")
        for m in lifs:
            m.width = width
    try:
        yield
    finally:
        for m, w in zip(lifs, saved, strict=True):
            m.width = w
