"""The adapters of foreign network libraries: each module of ``interop/`` that maps one
library's neurons registers an :class:`Adapter` (``@register``), and :func:`snnattack.interop.
adapt` asks every registered adapter whether it owns a network. A new library is one module
(and its test): no central list names it.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from torch import nn

from snnattack.registry import Registry

# neuron libraries no adapter maps: their modules are refused as unknown neurons
UNMAPPED = ("norse",)


class Adapter(Protocol):
    """One foreign library's networks as this project's LIF networks.

    ``neurons``: prefixes of the modules whose classes are the library's spiking neurons (any
    other adapter refuses them as neurons it does not know); ``supported``: the neuron classes
    it maps, as its users name them (the messages list them)."""

    neurons: ClassVar[tuple[str, ...]]
    supported: ClassVar[tuple[str, ...]]

    @staticmethod
    def owns(net: nn.Module) -> bool:
        """Whether ``net`` is a network of this library."""

    @staticmethod
    def has_own_loop(net: nn.Module) -> bool | None:
        """Whether ``net`` makes its time steps itself (called on the images); None where its
        class may take either form, which one forward of each then decides
        (:mod:`snnattack.interop.probe`)."""

    @staticmethod
    def own_loop(net: nn.Module) -> nn.Module:
        """The copy of ``net`` with its own loop, its neurons replaced."""

    @staticmethod
    def body(net: nn.Module) -> nn.Module:
        """The multi-step copy ``[T, B, ...] -> [T, B, K]`` of ``net``, its neurons LIFs (only
        an adapter whose ``has_own_loop`` can be False needs it)."""


ADAPTERS: Registry[type[Adapter]] = Registry()  # filled by the adapter modules of interop/


def register(name: str, /, *, order: float = 0.0):
    """Class decorator: the class (an :class:`Adapter`) adapts the library ``name``, asked in
    the place ``order`` gives it (and listed there in messages)."""
    return ADAPTERS.register(name, order=order)


def neuron_libraries() -> tuple[str, ...]:
    """Prefixes of the modules whose classes are spiking neurons of some library: every
    adapter's, and the libraries no adapter maps."""
    return (*(p for adapter in ADAPTERS.values() for p in adapter.neurons), *UNMAPPED)
