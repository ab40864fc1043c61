"""A foreign network adapted into this project's :class:`~snnattack.models.base.SpikingNet`
(:func:`adapt`), by the adapter of its library (:mod:`snnattack.interop.adapter`, each
library's one module of this package), or run as its own time loop
(:mod:`snnattack.interop.loops`); the package re-exports both functions.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn

from snnattack.errors import UserError
from snnattack.interop import probe, surrogates
from snnattack.interop.adapter import ADAPTERS
from snnattack.interop.common import (
    AdaptedNet,
    Decode,
    in_mode_of,
    looks_like_neuron,
    refuse,
    unwrapped,
)
from snnattack.interop.loops import OwnLoopNet
from snnattack.models.base import SpikingNet
from snnattack.records.checkpoints import require_finite
from snnattack.values import as_python, integer, keywords_checked


def supported() -> list[str]:
    """Every neuron class the adapters map."""
    return [name for adapter in ADAPTERS.values() for name in adapter.supported]


def _owners(net: nn.Module) -> list:
    """The adapters of the libraries whose neurons ``net`` holds."""
    return [adapter for adapter in ADAPTERS.values() if adapter.owns(net)]


def form_needs_samples(net: object) -> bool:
    """Whether :func:`adapt` decides ``net``'s form by running it on samples (a user's class
    of a library whose networks take either form: one of :mod:`snnattack.interop.probe`), so
    that an entrance without samples yet adapts it once they come (``gradient_mode``: at the
    first forward)."""
    if not isinstance(net, nn.Module) or isinstance(net, SpikingNet):
        return False
    owners = _owners(net)
    return len(owners) == 1 and owners[0].has_own_loop(net) is None


def library_of(net: nn.Module) -> Any:
    """The adapter of the one library whose neurons ``net`` holds; a network of none (an ANN),
    of several, or holding a neuron that no adapter knows is refused in one line, before its
    time steps are asked for."""
    owners = _owners(net)
    if not owners:
        refuse_held_spiking_net(net, "interop: net")
        for path, module in net.named_modules():
            if looks_like_neuron(module):
                raise refuse(path, module, "is not a neuron the adapter knows", supported())
    if len(owners) != 1:
        found = "neurons of several libraries" if owners else "no known neuron"
        raise UserError(
            f"interop: {type(net).__qualname__} has {found}; accepted: a network of "
            f"spikingjelly, snnTorch or the SNN-RAT family, with the neurons "
            f"{', '.join(supported())}, or this project's SpikingNet (snnattack.load); a "
            "network of yours without spiking neurons (an ANN) is not taken: the ANNs this "
            "project attacks are its own models trained by a job with train.kind=ann"
        )
    return owners[0]


@keywords_checked  # a misspelt keyword named with the one it stands for, not a TypeError
def adapt(
    net: nn.Module,
    *,
    T: int,
    decode: Decode | None = None,
    normalize: nn.Module | None = None,
    own_loop: bool | None = None,
    example: torch.Tensor | None = None,
) -> SpikingNet:
    """``net`` as a :class:`SpikingNet` of ``T`` steps, its neurons this project's LIFs.

    ``net``: a spikingjelly network mapping ``[T, B, ...]`` to ``[T, B, K]`` (any step mode;
    its copy runs in ``'m'``), or the ``nn.Sequential`` of one snnTorch time step; or a
    model with its own time loop, called on the images as its user calls it
    (:mod:`snnattack.interop.loops`: a spikingjelly class whose forward repeats the image
    over T, a snnTorch class looping over the steps, an SNN-RAT model). ``decode`` maps
    ``[T, B, K]`` to logits ``[B, K]`` (default: the mean over T; the rate-domain gradient
    modes pass it one step, ``[1, B, K]``, as does a body ending in a spikingjelly read-out
    that decodes over T, :mod:`snnattack.interop.readout`, so it must take any T).
    ``normalize`` runs on the images first (e.g. :class:`~snnattack.models.base.Normalize`).
    ``own_loop`` says which form ``net`` is (True: its forward makes the time steps from the
    samples; False: it maps ``[T, B, ...]``); by default the library's class tells, and a
    class of the user's is run once as each form on ``example`` (samples as the model is
    given them: :mod:`snnattack.interop.probe`), never judged by its source text.
    A network that already is a :class:`SpikingNet` is returned as it is (``T`` its own). An
    unknown neuron, or a setting a LIF cannot reproduce, is a
    :class:`~snnattack.errors.UserError` naming the module's path and class, before any work;
    so is a NaN or infinite weight or buffer.
    """
    net = unwrapped(net)  # a network in nn.DataParallel: the one it wraps
    _check_arguments(net, T, decode, normalize, own_loop, example)
    require_finite(net, f"interop: the network {type(net).__qualname__}")
    if isinstance(net, SpikingNet):
        if T != net.T:  # it is returned as it is: at its own steps, not T's
            raise UserError(
                f"interop: T={T} but the network is a SpikingNet of T={net.T}, which adapt "
                f"returns as it is; accepted: T={net.T}, its own (net.T = {T} to simulate it "
                "longer)"
            )
        return net
    library = library_of(net)
    # True: the library adapts the class in its own loop only (snnTorch's, not an
    # nn.Sequential), so a one-step one is not refused with own_loop=False as the way out
    declared = library.has_own_loop(net)
    if own_loop is None:
        own_loop = declared
    with surrogates.warned_once():  # each form tried converts the neurons
        if own_loop is None:
            name = type(net).__qualname__
            if example is None:
                raise UserError(
                    f"interop: whether {name} makes its time steps itself is decided by running "
                    f"it once on samples, and none were given; accepted: adapt(net, T={T}, "
                    f"example=<samples [B, ...]>), or adapt(net, T={T}, own_loop=...) with "
                    f"{probe.SAY_IT}"
                )
            own_loop = probe.has_own_loop(
                name, partial(library.own_loop, net), partial(library.body, net), int(T), example
            )
        if own_loop:
            adapted: SpikingNet = OwnLoopNet(
                library.own_loop(net), int(T), normalize, decode, declared is not True
            )
        else:
            adapted = AdaptedNet(library.body(net), int(T), normalize, decode)
    adapted.architecture = type(net).__qualname__  # a record names the user's class
    # the modules it made around its copy of net (its encoding) in net's mode
    # (common.in_mode_of); the user's normalize keeps its own
    for module in adapted.children():
        if module is not adapted.body and module is not normalize:
            module.train(net.training)
    return in_mode_of(adapted, net)


def refuse_held_spiking_net(net: nn.Module, argument: str) -> None:
    """Refuses ``net`` (not a SpikingNet) that holds one (``nn.Sequential(normalize, net)``):
    it runs only passed itself (its T, encoder and neurons are what the attacks read), and it
    was refused as a network of "no known neuron" or for its T, neither of which said why."""
    path = next((p for p, m in net.named_modules() if isinstance(m, SpikingNet)), None)
    if path is not None:
        raise UserError(
            f"{argument}={type(net).__qualname__} holds a snnattack SpikingNet ({path}), which "
            f"runs only passed itself; accepted: the SpikingNet itself, with a normalisation in "
            "its own normalize (net.normalize = ..., or snnattack.load(..., mean=, std=))"
        )


STEPS = integer(1)  # time steps (at most MAX_INT: T=10**400 raised an OverflowError)


def steps_problem(T: Any) -> str | None:
    """What is wrong with ``T`` as time steps (an integer >= 1); None where nothing is."""
    return None if STEPS.test(T) else STEPS.problem_of(T)


def _check_arguments(
    net: object, T: Any, decode: object, normalize: object, own_loop: object, example: object
) -> None:
    """:func:`adapt`'s arguments of the kinds it takes; the first that is not, refused in one
    line naming it."""
    if not isinstance(net, nn.Module):
        raise UserError(
            f"interop: net={type(net).__name__} is not a network; accepted: an nn.Module of "
            "spikingjelly, snnTorch or the SNN-RAT family"
        )
    if (problem := "sets no value" if T is None else steps_problem(T)) is not None:
        raise UserError(
            f"interop: T={as_python(T)} {problem}; accepted: T=<time steps>, an integer >= 1"
        )
    for argument, value in (("decode", decode), ("normalize", normalize)):
        if value is not None and not callable(value):
            raise UserError(
                f"interop: {argument}={value!r} is not callable; accepted: None or a function "
                "(or module) of tensors"
            )
    if own_loop is not None and not isinstance(own_loop, bool):
        raise UserError(f"interop: own_loop={own_loop!r}; accepted: None, True or False")
    if example is not None and not isinstance(example, torch.Tensor):
        raise UserError(
            f"interop: example={type(example).__name__} is not a tensor; accepted: None or "
            "samples [B, ...] as the network is given them (torch.as_tensor(...))"
        )
