"""STBP: backprop through time of the simulation with a surrogate spike gradient.

The neurons' own backward (the default). ``surrogate`` picks the slope
(:data:`snnattack.surrogates.SURROGATES`): ``width`` is the half-width of ``triangle`` and
``rectangle``, ``alpha`` the sharpness of ``sigmoid`` and ``atan`` (each surrogate reads its
own and ignores the other); ``None`` keeps the trained triangle's width or the default.
"""

from __future__ import annotations

from torch import nn

from snnattack.gradients.base import neuron_settings
from snnattack.neurons import LIF
from snnattack.surrogates import SURROGATES, Triangle, make_surrogate


def stbp(
    model: nn.Module,
    width: float | None = None,
    surrogate: str = "triangle",
    alpha: float | None = None,
):
    if surrogate not in SURROGATES:
        raise ValueError(f"stbp: unknown surrogate {surrogate!r}; accepted: {list(SURROGATES)}")
    for name, value in (("width", width), ("alpha", alpha)):
        if value is not None and not value > 0:
            raise ValueError(f"stbp: {name} must be > 0, got {value}")

    def slope(lif: LIF):
        if surrogate == "triangle" and width is None and isinstance(lif.surrogate, Triangle):
            return lif.surrogate  # the width the model was trained with
        return make_surrogate(surrogate, width, alpha)

    return neuron_settings(model, surrogate=slope)
