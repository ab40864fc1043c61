"""STBP: backprop through time of the simulation with a surrogate spike gradient.

The neurons' own backward (the default). ``surrogate`` picks the slope
(:data:`snnattack.snn.surrogates.SURROGATES`); ``None`` keeps each neuron's own: the trained
triangle of this project's models, a foreign neuron's surrogate as its adapter read it
(:mod:`snnattack.interop.surrogates`). ``width`` is the half-width of ``triangle`` and
``rectangle``, ``alpha`` the sharpness of ``sigmoid``, ``atan`` and ``fast_sigmoid`` (each
surrogate reads its own and ignores the other); ``None`` keeps the neuron's own value where the
surrogate is its own, else the surrogate's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from snnattack.gradients.base import neuron_settings, register
from snnattack.snn.neurons import LIF
from snnattack.snn.surrogates import SURROGATES, Surrogate, make_surrogate
from snnattack.snn.temporal import temporal_modules
from snnattack.values import member_of, optional, real


def reads(model: nn.Module, params: Mapping[str, Any]) -> set[str]:
    """Which of ``params`` change ``model``'s STBP gradient: the surrogate, and the width or
    alpha of the surrogates its neurons take (their own where ``surrogate`` is None)."""
    named = params.get("surrogate")
    lifs = [m for m in temporal_modules(model) if isinstance(m, LIF)]
    kinds = {named} if named is not None else {lif.surrogate.name for lif in lifs}
    read = {"surrogate"} | {SURROGATES[k].parameter for k in kinds if k in SURROGATES}
    return read & set(params)


@register(
    "stbp",
    title="STBP",
    order=10,
    per_step=True,
    reads=reads,
    width=optional(real(0, lo_open=True)),
    surrogate=optional(member_of(SURROGATES)),
    alpha=optional(real(0, lo_open=True)),
)
def stbp(
    model: nn.Module,
    width: float | None = None,
    surrogate: str | None = None,
    alpha: float | None = None,
):
    def slope(lif: LIF) -> Surrogate:
        own = lif.surrogate
        name = own.name if surrogate is None else surrogate
        cls = SURROGATES.get(name)  # None: a model's own unregistered surrogate, kept
        given = None if cls is None else width if cls.parameter == "width" else alpha
        if given is None and name == own.name:
            return own
        return make_surrogate(name, given, given)

    return neuron_settings(model, surrogate=slope)
