"""The module that :func:`snnattack.gradient_mode` yields for a network whose form its first
samples decide (a spikingjelly class with its own time loop): it adapts the network at its
first forward (:class:`OnFirstForward`). The entrances that run a model
(``snnattack.evaluate``, ``snnattack.attack``, ``snnattack.benchmark.evaluate``) take it for
the network it adapts (:func:`network_of`, :func:`steps_of`): adapted itself, it would have no
neuron.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from snnattack.errors import UserError
from snnattack.interop.common import unwrapped
from snnattack.interop.external import check_foreign
from snnattack.models.base import SpikingNet


class OnFirstForward(nn.Module):
    """The network that ``prepare`` makes of the samples of the first forward, at ``steps`` time
    steps, called on them and on every later one's (:func:`snnattack.gradient_mode`). Until then
    it has no network: it takes the model's training flag, and a ``train()`` / ``eval()``, a
    ``requires_grad_()`` and a conversion (``.to()``, ``.double()``...: every ``_apply``) called
    on it are applied to the network when it is made (else the forward would run in the model's
    flag, not the one the user set); a ``zero_grad()`` has no gradient to clear (an attack loop
    calls it before each forward). Its parameters are refused, since an optimiser made over none
    would train nothing (the adapter's parameters are its own objects, made at that forward),
    and so are its buffers and state dict, empty until then."""

    def __init__(
        self,
        prepare: Callable[[torch.Tensor | None, Callable[[SpikingNet], SpikingNet]], SpikingNet],
        model: str,
        training: bool,
        steps: int | None,
    ) -> None:
        super().__init__()
        self._prepare = prepare
        self.steps = steps  # the time steps of the network it makes (gradient_mode's T)
        self._model = model  # the class name of the model it adapts, for the refusal
        self._mode: bool | None = None  # a train() / eval() called before the network exists
        self._requires_grad: bool | None = None  # a requires_grad_() called before it
        self._conversions: list[Callable[[torch.Tensor], torch.Tensor]] = []  # _apply()s
        self.training = training
        self.net: SpikingNet | None = None

    def train(self, mode: bool = True) -> OnFirstForward:
        if self.net is None:
            self._mode = mode
        return super().train(mode)

    def requires_grad_(self, requires_grad: bool = True) -> OnFirstForward:
        if self.net is None:
            self._requires_grad = requires_grad
            return self
        return super().requires_grad_(requires_grad)

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True) -> Any:
        if self.net is None:
            self._conversions.append(fn)
        return super()._apply(fn, recurse)

    def zero_grad(self, set_to_none: bool = True) -> None:
        if self.net is not None:
            super().zero_grad(set_to_none)

    def named_parameters(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, nn.Parameter]]:
        self._made("parameters", "parameters()", "an optimiser over them would train nothing")
        return super().named_parameters(*args, **kwargs)

    def named_buffers(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, torch.Tensor]]:
        self._made("buffers", "buffers()", "they would read as none")
        return super().named_buffers(*args, **kwargs)

    def state_dict(self, *args: Any, **kwargs: Any) -> Any:
        self._made("tensors", "state_dict()", "it would save an empty state dict")
        return super().state_dict(*args, **kwargs)

    def load_state_dict(self, *args: Any, **kwargs: Any) -> Any:
        self._made("tensors", "load_state_dict()", "a state dict would load into none")
        return super().load_state_dict(*args, **kwargs)

    def _made(self, what: str, call: str, why: str) -> None:
        """Refuses ``call``, which reads its ``what``, before the first forward made the
        network: ``why`` the module's own, none, would mislead."""
        if self.net is None:
            raise UserError(
                f"gradient_mode({self._model}) yields a module that adapts {self._model} at "
                f"its first forward, on its samples, and has no {what} before it ({why}); "
                f"accepted: its {call} after the first forward m(x), or the model adapted "
                "first, snnattack.interop.adapt(model, T=..., example=x), passed to "
                "gradient_mode"
            )

    def network(self, x: torch.Tensor | None) -> SpikingNet:
        """The network, made of the samples ``x`` if this is the first call (a forward's, or
        that of an entrance that runs the network: :func:`network_of`; without samples, the
        adaptation's refusal says what to pass)."""
        if self.net is None:
            self.net = self._prepare(x, self._as_set)
        return self.net

    def _as_set(self, net: SpikingNet) -> SpikingNet:
        """``net`` with what was called on this module before it existed: ``train()`` /
        ``eval()``, ``requires_grad_()``, conversions, in the block's mode only after them."""
        if self._mode is not None:
            net.train(self._mode)
        if self._requires_grad is not None:
            net.requires_grad_(self._requires_grad)
        for convert in self._conversions:
            net._apply(convert)
        return net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x)(x)


def network_of(model: Any, x: torch.Tensor | None) -> Any:
    """The network an entrance runs for ``model`` (module docstring): the one a module
    :func:`snnattack.gradient_mode` yielded adapts (made of the samples ``x``, as its first
    forward would make it, if none ran yet; inside the block, in its mode, which the attacks
    refuse), else ``model`` itself (``nn.DataParallel``: the network in it)."""
    model = unwrapped(model)
    return model.network(x) if isinstance(model, OnFirstForward) else model


def steps_of(model: Any, T: int | None) -> int | None:
    """The time steps of the network that ``model`` (``nn.DataParallel``: the one in it) runs,
    known before it runs: a SpikingNet's own, those a module ``gradient_mode`` yielded makes (or
    made) its network at, else ``T``, checked: :func:`~snnattack.interop.external.check_foreign`."""
    model = unwrapped(model)
    if isinstance(model, OnFirstForward):
        return model.steps if model.net is None else model.net.T
    if isinstance(model, SpikingNet):
        return model.T
    check_foreign(model, T)
    return T
