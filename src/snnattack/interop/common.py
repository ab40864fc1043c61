"""What the adapters share: the copy that shares the user's tensors, the adapted network
with the user's decode, and the refusals.

The adapted model is a copy of the user's network whose parameters and buffers share the
user's memory (:func:`shared_copy`): the copy's neurons are this project's stateless
:class:`~snnattack.snn.neurons.LIF`, and the copy's modules carry their own training flags and
step modes, so nothing the attack does reaches the user's modules, and two adapted networks
(a target and a black-box source) hold no state at all to share.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import torch
from torch import nn
from torch.utils.weak import WeakIdKeyDictionary

from snnattack.cpu.guard import hook_kinds
from snnattack.errors import UserError, class_name
from snnattack.inputs import first_line
from snnattack.interop.adapter import neuron_libraries
from snnattack.interop.prepared import noted
from snnattack.models.base import SpikingNet
from snnattack.models.copies import model_copy
from snnattack.snn.encoding import DirectEncoder
from snnattack.snn.learned import Learned
from snnattack.snn.neurons import LIF
from snnattack.snn.scaled import InputScale, ScaledNeuron

Decode = Callable[[torch.Tensor], torch.Tensor]
T_out = TypeVar("T_out")  # what a counted forward returns

# a leaf module with one of these in its class name, or one of these attributes, is taken for
# a spiking neuron: refused unless an adapter maps it (the masking checks catch the rest)
NEURON_NAMES = re.compile(r"Node|Neuron|Spik|LIF|Leaky|Heaviside|Fire|IF$")
NEURON_ATTRIBUTES = ("v_threshold", "threshold", "thresh", "v_th", "vth", "membrane", "mem")


# the adapted networks whose first forward counted their neurons' calls (:func:`whole_calls`);
# not a flag of theirs, which a repeated call would take for a change of the model passed
CALLS_CHECKED: weakref.WeakSet[nn.Module] = weakref.WeakSet()


class AdaptedNet(SpikingNet):
    """A :class:`SpikingNet` around a foreign body; ``decode`` (the user's, else the mean over
    T) turns the body's ``[T, B, K]`` into logits ``[B, K]``. Its first forward counts the
    calls of each neuron (:func:`whole_calls`)."""

    foreign_body = True

    def __init__(
        self, body: nn.Module, T: int, normalize: nn.Module | None, decode: Decode | None
    ) -> None:
        super().__init__(DirectEncoder(T), body, normalize)
        self.user_decode = decode

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        restarted(self.body)  # each forward one simulation (PerSimulation)
        if self in CALLS_CHECKED:
            return super()._logits(x)
        try:
            out, repeated = whole_calls(self.body, lambda: super(AdaptedNet, self)._logits(x))
        except Exception as err:
            if x.dim() != 5 or not isinstance(self.encoder, DirectEncoder):
                raise
            # event frames given as images: repeated over T, they reached the body with six
            # axes, which it refused in its own words
            raise UserError(
                f"interop: {self.architecture or 'the network'} on samples {list(x.shape)}, "
                f"repeated over T={self.T} as images are, raised {first_line(err)}; accepted: "
                "images [B, C, H, W], or event frames [B, T, C, H, W] as frames: "
                "snnattack.gradient_mode(..., frames=True)"
            ) from err
        for path, n in repeated[:1]:
            raise UserError(
                f"interop: the network calls its neuron {path} {n} times "
                "in one forward of its multi-step body (a loop over the time steps: "
                "functional.multi_step_forward, or a node called on x_seq[t]; or one node "
                "used twice, which carries its membrane into the next call), but the adapter "
                "runs each neuron as one call on the whole [T, B, ...]; accepted: the node "
                "in step mode 'm' called once on [T, B, ...] (a node of its own for each "
                "use), or a class whose forward takes the images [B, ...] and loops over the "
                "steps itself"
            )
        CALLS_CHECKED.add(self)
        return out

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        return super().decode(out) if self.user_decode is None else self.user_decode(out)


class PerSimulation(nn.Module):
    """A stateful module of the user's that the adapted copy keeps (spikingjelly's dropouts,
    whose mask, drawn at a simulation's first step, holds until their ``reset()``), reset at
    the start of each forward of the adapted network (:func:`restarted`), as the user's loop
    resets it between simulations (``functional.reset_net``): a copy in training mode draws a
    mask per forward, for the forward's batch."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def restart(self) -> None:
        """A new simulation: the module's state dropped."""
        self.module.reset()


def whole_calls(body: nn.Module, run: Callable[[], T_out]) -> tuple[T_out, list[tuple[str, int]]]:
    """What ``run`` (a forward of ``body``) returns, and each neuron of ``body`` that takes the
    whole T in one call (a :class:`~snnattack.snn.neurons.LIF`, or a :class:`ScaledNeuron`
    with its input scale) called more than once in it, by path, with its count: such a
    neuron starts each call from a zero membrane, where its library's node carries the
    membrane into its next call. A one-step neuron (called once per step) is not counted."""
    outer = [m for m in body.modules() if isinstance(m, ScaledNeuron) and isinstance(m[1], LIF)]
    inner = {id(m[1]) for m in outer}
    neurons = outer + [m for m in body.modules() if isinstance(m, LIF) and id(m) not in inner]
    calls: dict[int, int] = {}

    def count(module: nn.Module, _: tuple) -> None:
        calls[id(module)] = calls.get(id(module), 0) + 1

    hooks = [m.register_forward_pre_hook(count) for m in neurons]
    try:
        out = run()
    finally:
        for hook in hooks:
            hook.remove()
    paths = {id(m): path for path, m in body.named_modules()}
    repeated = [(paths[id(m)] or "net", calls[id(m)]) for m in neurons if calls.get(id(m), 0) > 1]
    return out, repeated


def restarted(body: nn.Module) -> nn.Module:
    """``body`` with each of its :class:`PerSimulation` modules restarted."""
    for module in body.modules():
        if isinstance(module, PerSimulation):
            module.restart()
    return body


def in_mode_of(made: nn.Module, given: nn.Module) -> nn.Module:
    """``made``, a module the adapter made in place of (or around) the user's ``given``, in
    ``given``'s mode; its own modules keep theirs (a container's layers are the user's): an
    attack that restores a model's mode (torchattacks) leaves an eval network's BatchNorms in
    eval, not writing into the user's running statistics, the memory they share."""
    made.training = given.training
    return made


def unwrapped(model: Any) -> Any:
    """The network in ``nn.DataParallel`` (or DDP's wrapper) or in ``torch.compile``'s wrapper
    ``model`` (each in turn, nested), else ``model``: the attacks run on one device, eager
    (``compile=true`` compiles the attacked copy), and the wrapper's forward is the network's,
    whose form the adapter judges. A compiled SpikingNet stays wrapped:
    :func:`~snnattack.interop.external.check_foreign` refuses it naming ``_orig_mod``."""
    while True:
        compiled = getattr(model, "_orig_mod", None) if isinstance(model, nn.Module) else None
        if isinstance(model, nn.DataParallel | nn.parallel.DistributedDataParallel):
            model = model.module
        elif isinstance(compiled, nn.Module) and not isinstance(compiled, SpikingNet):
            model = compiled  # torch.compile's wrapper
        else:
            return model


# modules of classes a library ships as its tutorials' code, written as its users write theirs
TUTORIALS = ("spikingjelly.activation_based.examples.",)


def library_class(cls: type, library: str) -> bool:
    """Whether ``cls`` is torch's or of ``library`` (the module prefix of its classes), not of
    its tutorials (:data:`TUTORIALS`), whose classes are read as the user's: a user copies
    them, or imports them as they are."""
    module = cls.__module__
    return module.startswith(("torch.", library)) and not module.startswith(TUTORIALS)


def holds_users_class(net: nn.Module, library: str, neurons: tuple[str, ...]) -> bool:
    """Whether a module inside ``net`` is of a class of the user's (neither torch's nor of
    ``library``, the module prefix of the library's classes, and with a ``forward`` of its
    own) holding neurons (of a module of ``neurons``): a class that may make its time steps
    itself, put in a container (``nn.Sequential(normalize, net)``), which is then no body of
    layers (a layer of the user's around the library's layers, no neuron, is one)."""
    return any(
        not library_class(type(m), library)
        and type(m).forward is not nn.Module.forward
        and any(type(n).__module__.startswith(neurons) for n in m.modules())
        for m in net.modules()
        if m is not net
    )


def shared_copy(net: nn.Module, replacements: dict[nn.Module, nn.Module]) -> nn.Module:
    """A deep copy of ``net`` whose parameters and buffers share ``net``'s memory, with each
    module of ``replacements`` (its neurons) replaced wherever it occurs by its new module.

    Each parameter is a parameter object of the copy's own over the user's memory
    (:func:`shadow`): the user's later in-place updates (an optimiser's step) show in the
    copy, while what is done to the copy's objects (an attack freezing them with
    ``requires_grad_(False)``, ``.to`` another device or dtype, their ``.grad``) does not
    reach the user's. A tied parameter stays tied. A weight that a hook computes from
    parameters before each forward (a pruned layer's ``weight``, ``torch.nn.utils.prune``;
    the legacy ``weight_norm``) is a tensor of the last forward's graph, which no deep copy
    takes: the copy starts from its values, and its own hook computes it again. A replaced
    module with hooks is refused: the module in its place would not call them; the module in
    its place takes its mode and bears its class's name (``shown_as``)."""
    for old, new in replacements.items():
        if kinds := hook_kinds(old):  # a defence's hook: the attack would craft on another net
            path = next(p for p, m in net.named_modules() if m is old) or "the network itself"
            raise UserError(
                f"interop: {path} ({class_name(old)}) has {' and '.join(kinds)} hooks, which the "
                f"{type(new).__name__} that runs in its place would not call; accepted: no hooks "
                "on the modules the adapter replaces, its neurons (handle.remove()), or hooks on "
                "the layers it keeps, which run"
            )
    memo: dict[int, object] = {id(p): shadow(p) for p in net.parameters()}
    memo.update({id(b): b.detach() for b in net.buffers()})
    for old, new in replacements.items():
        new.shown_as = type(old).__name__  # a refusal names the user's layer (SpikingNet.shown)
    memo.update({id(old): new.train(old.training) for old, new in replacements.items()})
    return model_copy(net, memo)


# each user parameter's shadow (:func:`shadow`), while the parameter lives
_SHADOWS = WeakIdKeyDictionary()


def shadow(p: nn.Parameter) -> nn.Parameter:
    """The adapted copies' parameter over the memory of the user's parameter ``p``: one
    object per ``p`` while it still lies over that memory, its ``requires_grad`` taken from
    ``p`` again. So the adapted network a later call prepares afresh (after an optimiser's
    step that moved a number the adaptation read, a learned decay:
    :mod:`snnattack.interop.prepared`) holds the same parameter objects, and an
    optimiser built once over ``m.parameters()`` (``with snnattack.gradient_mode(net, ...) as
    m``, one context per batch) trains on: new objects would take the gradients its steps
    never read."""
    kept = _SHADOWS.get(p)
    same = kept is not None and (kept.device, kept.dtype) == (p.device, p.dtype)
    if same and (kept.data_ptr(), kept.shape, kept.stride()) == (p.data_ptr(), p.shape, p.stride()):
        return kept.requires_grad_(p.requires_grad)
    kept = _SHADOWS[p] = nn.Parameter(p.detach(), requires_grad=p.requires_grad)
    return kept


def refuse(path: str, module: nn.Module, why: str, supported: Iterable[str]) -> UserError:
    """The one-line error for ``module`` at ``path`` in the user's network."""
    where = path or "the network itself"
    return UserError(
        f"interop: {where} ({class_name(module)}) {why}; supported neurons: {', '.join(supported)}"
    )


def looks_like_neuron(module: nn.Module) -> bool:
    """Whether ``module``, not one the adapter maps, may be a spiking neuron: a class of a
    neuron library (:func:`~snnattack.interop.adapter.neuron_libraries`), or a leaf whose class
    name or attributes are a neuron's."""
    if isinstance(module, LIF | InputScale | Learned):
        return False
    if type(module).__module__.startswith(neuron_libraries()):
        return True
    if type(module).__module__.startswith("torch.nn.") or next(module.children(), None):
        return False
    named = NEURON_NAMES.search(type(module).__name__) is not None
    return named or any(hasattr(module, a) for a in NEURON_ATTRIBUTES)


def scalar(value: object, what: str, path: str, module: nn.Module, supported: list[str]) -> float:
    """``value`` (a number or a one-element tensor) as a float; a per-neuron tensor is
    refused (the LIF has one value per layer). A tensor is noted as read
    (:func:`~snnattack.interop.prepared.noted`): a kept adaptation holds the float, which a
    later change through ``.data`` must renew."""
    if isinstance(noted(value), torch.Tensor):
        if value.numel() != 1:
            raise refuse(path, module, f"has a {what} per neuron, not one value", supported)
        return float(value.detach().reshape(()).item())
    return float(value)
