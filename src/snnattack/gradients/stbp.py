"""STBP: backprop through time of the simulation with a surrogate spike gradient.

The neurons' own backward (the default). ``surrogate`` picks the slope
(:data:`snnattack.snn.surrogates.SURROGATES`): ``width`` is the half-width of ``triangle`` and
``rectangle``, ``alpha`` the sharpness of ``sigmoid`` and ``atan`` (each surrogate reads its
own and ignores the other); ``None`` keeps the trained triangle's width or the default.
"""

from __future__ import annotations

from torch import nn

from snnattack.gradients.base import neuron_settings, register
from snnattack.snn.neurons import LIF
from snnattack.snn.surrogates import SURROGATES, Triangle, make_surrogate
from snnattack.values import member_of, optional, real


@register(
    "stbp",
    title="STBP",
    order=10,
    per_step=True,
    width=optional(real(0, lo_open=True)),
    surrogate=member_of(SURROGATES),
    alpha=optional(real(0, lo_open=True)),
)
def stbp(
    model: nn.Module,
    width: float | None = None,
    surrogate: str = "triangle",
    alpha: float | None = None,
):
    def slope(lif: LIF):
        if surrogate == "triangle" and width is None and isinstance(lif.surrogate, Triangle):
            return lif.surrogate  # the width the model was trained with
        return make_surrogate(surrogate, width, alpha)

    return neuron_settings(model, surrogate=slope)
