"""STBP training (``train.kind=stbp``, the default): the spiking model trained with BPTT and its
surrogate gradient, :class:`~snnattack.training.base.Strategy`'s own recipe."""

from snnattack.training.base import Strategy, register


@register
class STBP(Strategy):
    """The recipe of ``train`` as it is (``training.fit``), at the configured T."""

    name = "stbp"
    title = "STBP SNN"
    order = 10
