"""What every gradient mode shares: installing a forward on the spiking layers of a model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from torch import nn

from snnattack.neurons import LIF
from snnattack.temporal import temporal_modules


@contextmanager
def temporarily(modules: list[Any], attr: str, values: list[object]) -> Iterator[None]:
    """Sets ``module.attr`` to ``values[i]`` for each module (or parameter) within the block,
    then restores."""
    saved = [getattr(m, attr) for m in modules]
    for m, value in zip(modules, values, strict=True):
        setattr(m, attr, value)
    try:
        yield
    finally:
        for m, value in zip(modules, saved, strict=True):
            setattr(m, attr, value)


@contextmanager
def neuron_settings(model: nn.Module, **settings: Callable[[LIF], object]) -> Iterator[None]:
    """Within the block, every LIF of ``model`` has ``setting = make(lif)`` for each
    ``setting=make`` (e.g. ``surrogate=lambda lif: Triangle(0.5)``); restored afterwards."""
    lifs = [m for m in temporal_modules(model) if isinstance(m, LIF)]
    with ExitStack() as stack:
        for attr, make in settings.items():
            stack.enter_context(temporarily(lifs, attr, [make(lif) for lif in lifs]))
        yield


def overriding(model: nn.Module, overrides: dict[type, object]):
    """Installs ``overrides[type]`` as the forward of every temporal module of that type."""
    modules = temporal_modules(model)

    def override(m: nn.Module) -> object:
        return next((fn for cls, fn in overrides.items() if isinstance(m, cls)), m.override)

    return temporarily(modules, "override", [override(m) for m in modules])


def require_eval(model: nn.Module, mode: str) -> None:
    """Refuses BN or dropout in training mode: ``mode`` needs time-invariant layers."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm | nn.Dropout) and m.training:
            raise RuntimeError(
                f"gradient mode {mode!r} needs the model in eval mode (call model.eval()): "
                f"{type(m).__name__} in training mode is not time-invariant"
            )
