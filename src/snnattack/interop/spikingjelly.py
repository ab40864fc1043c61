"""spikingjelly ``activation_based`` networks: their IF, LIF and parametric LIF nodes as LIFs.

The user's network is either its multi-step part (:func:`body`), mapping ``[T, B, ...]`` to
``[T, B, K]``, or a class of the user's whose ``forward`` makes the time steps itself
(:func:`own_loop`; :mod:`snnattack.interop.loops`), which one forward of each form tells
apart (:func:`has_own_loop`, :mod:`snnattack.interop.probe`). The body's
adapted copy (:func:`~snnattack.interop.common.shared_copy`) runs every spikingjelly module in
step mode ``'m'``: a network built in step mode ``'s'`` is switched on the copy, which needs
its forward to be a composition of spikingjelly step modules (layers such as
``layer.Conv2d``, ``layer.SeqToANNContainer``) with no time loop of its own, or an
``nn.Sequential`` whose torch layers then run on the ``T * B`` samples
(:func:`_torch_layers_per_step`); a module that runs in step mode ``'s'`` only is
refused. The layers inside a container (:data:`CONTAINERS`) keep their step modes, as
spikingjelly's ``functional.set_step_mode`` leaves them. The own loop's copy keeps the step
modes: a node in ``'s'`` is called once per step. Each node becomes (tested on 0.0.0.0.14
and 2.0.0):

- membrane shifted by ``v_reset`` (``w = v - v_reset``, 0 for the soft reset), so the LIF's
  rest and hard reset are 0 and its threshold is ``theta = v_threshold - v_reset``;
- ``IFNode``: ``h = v + x``: ``lam = 1``;
- ``LIFNode`` (``k = 1/tau``) and ``ParametricLIFNode`` (``k = sigmoid(w)``, its ``w`` a
  parameter of the adapted network that trains with it, :mod:`snnattack.snn.learned`):
  ``decay_input=True``, ``h = v + (x - (v - v_reset)) k``: ``lam = 1 - k`` and the
  input scaled by ``k`` (:class:`~snnattack.snn.scaled.InputScale` before the LIF, in a
  :class:`~snnattack.snn.scaled.ScaledNeuron`: the Triton kernels multiply it in);
  ``decay_input=False``, ``h = v - (v - v_reset) k + x``: ``lam = 1 - k``, no scale;
- ``v_reset=None``: the soft reset (``v - v_threshold``); a value: the hard reset to it;
- ``detach_reset`` as it is; the node's ``surrogate_function`` is the LIF's own
  (:mod:`snnattack.interop.surrogates`), which ``stbp`` differentiates by unless
  ``attack.params.surrogate`` names another;
- 2.0's read-outs (``NonSpikingIFNode``, ``NonSpikingLIFNode``, and ``NoisyNonSpikingIFNode``
  with its noise off): a :class:`~snnattack.interop.readout.MembraneReadout`
  (:func:`_readout`), whose decoded output a body returns as one step ``[1, B, K]``
  (:func:`~snnattack.interop.readout.read_out`).

The node's backend (``torch``, ``cupy``, ``triton``), training flag and state stay those of
the user's node, which the copy does not hold: no ``reset_net`` is needed, and eval mode
still gets a surrogate gradient (the LIF always differentiates with it). Refused: any other
neuron (a subclass too: it may change the dynamics), a per-neuron ``v_threshold`` or
``v_reset``, ``v_threshold <= v_reset``, a surrogate with ``spiking=False`` (it outputs its
smooth function, not spikes), a node whose membrane 2.0's ``precision`` tools store at reduced
precision, stateful modules (``MemoryModule``) that are not neurons, and modules that run in
step mode ``'s'`` only. A multi-step ``layer.Conv2d``, ``layer.BatchNorm2d``,
``layer.AvgPool2d`` or ``layer.SeqToANNContainer`` without hooks becomes this project's
folded form of the same computation (:func:`_folded_layers`). spikingjelly's dropouts are
kept (:func:`_per_simulation`): they pass their input through in eval mode, where attacks run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

import torch
from torch import nn

from snnattack.cpu.guard import hook_kinds
from snnattack.errors import class_name
from snnattack.interop import surrogates
from snnattack.interop.adapter import register
from snnattack.interop.common import (
    PerSimulation,
    holds_users_class,
    in_mode_of,
    library_class,
    looks_like_neuron,
    refuse,
    scalar,
    shadow,
    shared_copy,
)
from snnattack.interop.prepared import followed, noted
from snnattack.interop.readout import (
    DECODES,
    NODES,
    NOISY,
    NOISY_DECODES,
    MembraneReadout,
    read_out,
)
from snnattack.snn.learned import Learned, Value
from snnattack.snn.neurons import LIF
from snnattack.snn.scaled import InputScale, ScaledNeuron
from snnattack.snn.stepwise import StepLIF
from snnattack.snn.temporal import (
    MIXES_TIME,
    FoldedAvgPool2d,
    FoldedBatchNorm2d,
    FoldedConv2d,
    FoldedSequential,
    StepWise,
)

SUPPORTED = ("IFNode", "LIFNode", "ParametricLIFNode")
# spikingjelly's containers that call their layers on single steps or on the folded samples
CONTAINERS = (
    "SeqToANNContainer",
    "TLastSeqToANNContainer",
    "MultiStepContainer",
    "TLastMultiStepContainer",
    "StepModeContainer",
    "ElementWiseRecurrentContainer",
    "LinearRecurrentContainer",
)
# its layers whose output at a step reads the other steps (attention over T)
TIME_MIXING = ("TemporalWiseAttention", "MultiDimensionalAttention")
LAYERS = "spikingjelly.activation_based."  # its layers' modules
# the model zoo: its classes holding a number of steps ``T`` repeat the image over it
ZOO = "spikingjelly.activation_based.model."
LEGACY_NEURONS = "spikingjelly.clock_driven.neuron"  # 0.0.0.0.14's former API (its layers run)
NEURONS = ("spikingjelly.activation_based.neuron", LEGACY_NEURONS)  # its neurons' modules


def supported() -> list[str]:
    """The node classes the adapter maps, as the user names them (the non-spiking read-outs
    in a multi-step body: :mod:`snnattack.interop.readout`)."""
    names = (*SUPPORTED, *NODES, *NOISY)
    return [f"spikingjelly.activation_based.neuron.{name}" for name in names]


def owns(net: nn.Module) -> bool:
    """Whether ``net`` holds spikingjelly modules."""
    return any(type(m).__module__.startswith("spikingjelly.") for m in net.modules())


def body(net: nn.Module) -> nn.Module:
    """The multi-step copy of ``net`` with every node replaced by its LIF; an unknown
    neuron, or a module that cannot run multi-step, is refused."""
    from spikingjelly.activation_based import base

    copied = _time_mixing_marked(shared_copy(net, _replacements(net, per_call=False)))
    multi_step = _multi_step(copied)
    for path, module in multi_step:
        if not isinstance(module, base.StepModule) or module.supported_step_mode() == ("m",):
            continue  # multi-step only (a container): nothing to switch
        if module.step_mode != "m":
            try:
                module.step_mode = "m"
            except (ValueError, AssertionError):
                raise refuse(path, module, "runs in step mode 's' only", supported()) from None
    if any(isinstance(m, MembraneReadout) for m in copied.modules()):
        copied.register_forward_hook(read_out)  # its read-out as the adapter decodes it
    if any(getattr(m, "step_mode", "m") == "s" for _, m in _in_sequences(net, _multi_step(net))):
        copied = _torch_layers_per_step(copied, _in_sequences(copied, multi_step))
    return _per_simulation(_folded_layers(copied, multi_step))


def _in_sequences(
    net: nn.Module, modules: list[tuple[str, nn.Module]]
) -> list[tuple[str, nn.Module]]:
    """Of ``modules`` (of ``net``, with their paths), those that ``nn.Sequential``s chain from
    ``net`` down, whose input is the output of the module before: in step mode ``'s'`` one
    step ``[B, ...]`` (a class of the user's may pass its layers anything)."""

    def chained(path: str) -> bool:
        parts = path.split(".")
        parents = [net.get_submodule(".".join(parts[:i])) for i in range(len(parts))]
        return all(type(p).forward is nn.Sequential.forward for p in parents)

    return [(path, m) for path, m in modules if path and chained(path)]


def _torch_layers_per_step(copied: nn.Module, modules: list[tuple[str, nn.Module]]) -> nn.Module:
    """``copied`` (the adapted copy of an ``nn.Sequential`` built in step mode ``'s'``) with
    each torch layer among ``modules`` (its modules in its sequences, with their paths) in a
    :class:`~snnattack.snn.temporal.StepWise`, in its mode: in step mode ``'s'`` it took one
    step ``[B, ...]`` (``nn.Conv2d``, ``nn.BatchNorm1d``, ``nn.Flatten``, ...), so the copy runs
    it on the ``T * B`` samples, as snnTorch's per-step layers run; before, it took ``[T, B,
    ...]`` as it was (a BatchNorm1d normalised the batch axis as its channels). ``nn.Linear``,
    which maps the last axis, stays as it is (its keys too)."""
    for path, module in modules:
        torch_layer = type(module).__module__.startswith("torch.nn.")
        if torch_layer and not list(module.children()) and type(module) is not nn.Linear:
            parent, _, name = path.rpartition(".")
            setattr(copied.get_submodule(parent), name, in_mode_of(StepWise(module), module))
    return copied


def own_loop(net: nn.Module) -> nn.Module:
    """The copy of ``net``, a class of the user's that makes its time steps itself, in its
    own step modes: a node in step mode ``'m'`` becomes its LIF, one in ``'s'`` (called once
    per step by the user's loop) a :class:`~snnattack.snn.stepwise.StepLIF`. A zoo class
    (:func:`_repeats_images`) takes event frames time first, as its ``forward`` reads a
    sequence: :func:`_frames_time_first`."""
    copied = _per_simulation(_time_mixing_marked(shared_copy(net, _replacements(net, True))))
    if _repeats_images(net):
        copied.register_forward_pre_hook(_frames_time_first)
    return copied


def _repeats_images(net: nn.Module) -> bool:
    """Whether ``net`` is a class of spikingjelly's model zoo that holds its number of steps
    ``T`` (2.0's ``MSResNet``, ``Spikformer``, ``SpikeDrivenTransformer``, ...): its
    ``forward`` repeats images ``[B, C, H, W]`` over ``T`` and takes a sequence
    ``[T, B, C, H, W]`` as it is."""
    return type(net).__module__.startswith(ZOO) and isinstance(getattr(net, "T", None), int)


def _frames_time_first(module: nn.Module, args: tuple) -> tuple | None:
    """Event frames ``[B, T, C, H, W]``, the adapted network's samples, as the sequence
    ``[T, B, C, H, W]`` a zoo class reads (else it takes their batch for its time steps);
    images pass as they are."""
    x, *rest = args
    if isinstance(x, torch.Tensor) and x.dim() == 5:
        return (x.transpose(0, 1), *rest)
    return None


def has_own_loop(net: nn.Module) -> bool | None:
    """True for a class of spikingjelly's model zoo that holds its number of steps ``T``
    (:func:`_repeats_images`); False for a network that can only be a multi-step body (an
    ``nn.Sequential``, the zoo's other classes, such as ``SpikingResNet`` or ``SpikingVGG``, a
    class without a ``forward`` of its own) unless it holds a class of the user's
    (``nn.Sequential(normalize, net)``); None for a class of the user's, whose ``forward``
    may take either form: one forward of each decides (:mod:`snnattack.interop.probe`)."""
    cls = type(net)
    if _repeats_images(net):
        return True
    if library_class(cls, "spikingjelly.") or cls.forward is nn.Module.forward:
        return None if holds_users_class(net, "spikingjelly.", NEURONS) else False
    return None


def _replacements(net: nn.Module, per_call: bool) -> dict[nn.Module, nn.Module]:
    """Each node of ``net`` and its LIF (``per_call``: a node in step mode ``'s'`` as a
    :class:`~snnattack.snn.stepwise.StepLIF`); an unknown neuron or stateful module is
    refused."""
    from spikingjelly.activation_based import neuron

    nodes = {getattr(neuron, name) for name in SUPPORTED}
    readouts = {getattr(neuron, name, None) for name in (*NODES, *NOISY)} - {None}  # 2.0's
    replacements: dict[nn.Module, nn.Module] = {}
    mapped: list[str] = []
    for path, module in net.named_modules():
        if any(path.startswith(f"{p}.") for p in mapped):
            continue  # a node's own children (its surrogate function)
        if type(module) in nodes:
            if container := _in_container(net, path):
                why = (
                    f"is a neuron inside spikingjelly's {container}, which calls it on single "
                    "steps or on the folded [T * B] samples; accepted: the neuron in step mode "
                    "'m' beside the container (neuron.IFNode(step_mode='m'))"
                )
                raise refuse(path, module, why, supported())
            replacements[module] = _lif(path, module, per_call and module.step_mode == "s")
            mapped.append(path)
        elif type(module) in readouts:
            replacements[module] = _readout(path, module)
            mapped.append(path)
        elif _dropout(module):
            continue  # kept: passes its input through in eval mode, where attacks run
        elif type(module).__module__.startswith(LEGACY_NEURONS):
            why = "is a neuron of the legacy clock_driven API; accepted: its activation_based node"
            raise refuse(path, module, why, supported())
        elif looks_like_neuron(module):
            raise refuse(path, module, "is not a neuron the adapter knows", supported())
        elif _stateful(module):
            why = "is a stateful module (MemoryModule) the adapter does not map"
            raise refuse(path, module, why, supported())
    if not replacements:
        raise refuse("", net, "has no spikingjelly neuron", supported())
    return replacements


def _in_container(net: nn.Module, path: str) -> str | None:
    """The class name of the spikingjelly container (:data:`CONTAINERS`) that holds the
    module at ``path`` of ``net``, if one does."""
    parts = path.split(".")
    for i in range(1, len(parts)):
        held_by = type(net.get_submodule(".".join(parts[:i])))
        if held_by.__name__ in CONTAINERS and held_by.__module__.startswith("spikingjelly."):
            return held_by.__name__
    return None


def _multi_step(copied: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules of ``copied`` that take ``[T, B, ...]``, with their paths: all but the
    layers inside one of spikingjelly's :data:`CONTAINERS`, which keep their step modes."""
    from spikingjelly.activation_based import layer

    containers = tuple(getattr(layer, name) for name in CONTAINERS if hasattr(layer, name))
    found: list[tuple[str, nn.Module]] = []
    inside: list[str] = []
    for path, module in copied.named_modules(remove_duplicate=False):
        if not any(path.startswith(f"{p}." if p else "") for p in inside):
            found.append((path, module))
            if isinstance(module, containers):
                inside.append(path)
    return found


def _folded_layers(copied: nn.Module, modules: list[tuple[str, nn.Module]]) -> nn.Module:
    """``copied`` (the adapted copy) with each of ``modules`` (its modules that take ``[T, B,
    ...]``, with their paths) that folds ``[T, B]`` replaced, in its mode, by this project's
    form of the same computation over the copy's own parameters and buffers (a
    :class:`~snnattack.snn.temporal.FoldedSequential` given the path its refusals name). One
    with hooks of the user's (:func:`~snnattack.cpu.guard.hook_kinds`) stays: they run."""
    from spikingjelly.activation_based import layer

    folded: dict[type, Callable[[nn.Module, str], nn.Module]] = {  # (module, its path)
        layer.Conv2d: lambda conv, _: FoldedConv2d(conv),
        layer.BatchNorm2d: lambda bn, _: FoldedBatchNorm2d(bn),
        layer.AvgPool2d: lambda pool, _: FoldedAvgPool2d(pool),
        layer.SeqToANNContainer: FoldedSequential,
    }
    for path, module in modules:
        if path and type(module) in folded and not hook_kinds(module):
            parent, _, name = path.rpartition(".")
            replacement = in_mode_of(folded[type(module)](module, path), module)
            setattr(copied.get_submodule(parent), name, replacement)
    return copied


def _time_mixing_marked(copied: nn.Module) -> nn.Module:
    """``copied`` with its layers that mix the time steps (:data:`TIME_MIXING`) marked
    (:data:`~snnattack.snn.temporal.MIXES_TIME`), for the gradient modes that refuse them."""
    for module in copied.modules():
        if type(module).__name__ in TIME_MIXING and type(module).__module__.startswith(LAYERS):
            setattr(module, MIXES_TIME, True)
    return copied


def _per_simulation(copied: nn.Module) -> nn.Module:
    """``copied`` with each of its spikingjelly dropouts in a
    :class:`~snnattack.interop.common.PerSimulation`, in its mode, its mask (the one the
    user's network held when copied) dropped: the adapted network draws one per forward."""
    dropouts = [(path, m) for path, m in copied.named_modules() if path and _dropout(m)]
    for path, dropout in dropouts:
        parent, _, name = path.rpartition(".")
        dropout.reset()
        setattr(copied.get_submodule(parent), name, in_mode_of(PerSimulation(dropout), dropout))
    return copied


def _dropout(module: nn.Module) -> bool:
    """Whether ``module`` is one of spikingjelly's dropouts (``Dropout``, ``Dropout2d``,
    the legacy ``MultiStepDropout``...), which do nothing in eval mode."""
    cls = type(module)
    return cls.__module__.startswith("spikingjelly.") and "Dropout" in cls.__name__


def _stateful(module: nn.Module) -> bool:
    """Whether ``module`` keeps a state between calls: a ``MemoryModule`` of spikingjelly
    (``activation_based`` or the legacy ``clock_driven``)."""
    return any(
        c.__name__ == "MemoryModule" and c.__module__.startswith("spikingjelly.")
        for c in type(module).__mro__
    )


def _lif(path: str, node: nn.Module, one_step: bool = False) -> nn.Module:
    """The LIF (after its input scale, if any) that computes ``node``'s spikes; ``one_step``:
    run one step per call (:class:`~snnattack.snn.stepwise.StepLIF`)."""
    v_reset = node.v_reset
    v_reset = None if v_reset is None else scalar(v_reset, "v_reset", path, node, supported())
    theta = scalar(node.v_threshold, "v_threshold", path, node, supported()) - (v_reset or 0.0)
    if theta <= 0:
        why = "has v_threshold <= v_reset (the LIF needs a threshold above its rest)"
        raise refuse(path, node, why, supported())
    if getattr(node, "_neuron_precision", None) is not None:  # 2.0's precision.convert
        raise refuse(path, node, "keeps its membrane at a reduced precision", supported())
    if not getattr(node.surrogate_function, "spiking", True):
        why = "has a surrogate_function with spiking=False (it outputs no spikes)"
        raise refuse(path, node, why, supported())
    rate = _decay(node)  # k: 1/tau, 0 for the IF node
    if rate >= 1:  # a leak lam = 1 - k of 0 or below: a LIF's lies in (0, 1]
        why = (
            f"has tau={float(node.tau):g}, whose decay 1/tau >= 1 leaves the membrane no "
            "memory (a leak 1 - 1/tau <= 0, where the LIF's is in (0, 1]); accepted: tau > 1"
        )
        raise refuse(path, node, why, supported())
    scaled = bool(rate and node.decay_input)
    learned = _learned(path, node, scaled)
    lif = LIF(
        lam=1.0 - rate,
        theta=theta,
        reset="soft" if v_reset is None else "hard",
        detach_reset=bool(node.detach_reset),
        surrogate=surrogates.spikingjelly(path, node),
        learned=learned,
    )
    neuron = StepLIF(lif) if one_step else lif
    if scaled:
        return ScaledNeuron(InputScale(rate, learned), neuron)
    return neuron


def _readout(path: str, node: nn.Module) -> MembraneReadout:
    """The :class:`~snnattack.interop.readout.MembraneReadout` of a non-spiking node; a
    ``decode`` its forward does not know (a misspelt ``'last-mem'``) is refused. The noisy IF
    node (``NoisyNonSpikingIFNode``) integrates its own T steps, and is refused with its noise
    on (each forward then adds ``sigma`` times the next draw of a noise sequence)."""
    noisy = type(node).__name__ in NOISY
    known = NOISY_DECODES if noisy else dict(zip(DECODES, DECODES, strict=True))
    if node.decode not in known:
        why = (
            f"has decode={node.decode!r}, not one its forward decodes (it returns the whole "
            f"membrane sequence); accepted: {', '.join(map(repr, known))}"
        )
        raise refuse(path, node, why, supported())
    if noisy and node.is_training:
        why = (
            "adds noise to its input at every forward while is_training=True (its own flag, "
            "which eval() leaves as it is), so its output is no function of the image; "
            "accepted: node.is_training = False (noisy_san's use_noise(False))"
        )
        raise refuse(path, node, why, supported())
    tau = scalar(node.tau, "tau", path, node, supported()) if hasattr(node, "tau") else None
    steps = int(node.T) if noisy else None
    return MembraneReadout(tau, known[node.decode], class_name(node), steps, path)


def _decay(node: nn.Module) -> float:
    """``k = 1/tau`` of a LIF node (a parametric one's ``sigmoid(w)`` now, ``w``
    :func:`~snnattack.interop.prepared.noted` as read), 0 for IF."""
    if hasattr(node, "w"):  # in the parameter's dtype, as the node computes it
        return float(noted(node.w).detach().sigmoid().item())
    return 1.0 / float(node.tau) if hasattr(node, "tau") else 0.0


def _learned(path: str, node: nn.Module, scaled: bool) -> Learned | None:
    """A ``ParametricLIFNode``'s ``w`` as the parameter its leak (and, with ``decay_input``,
    its input scale) follows and trains with (:mod:`snnattack.snn.learned`)."""
    if not isinstance(getattr(node, "w", None), nn.Parameter):
        return None
    derive = partial(_decay_of, scaled=scaled)
    where = f"{path} ({class_name(node)})"
    return Learned({"w": shadow(followed(node.w))}, {"w": torch.sigmoid}, derive, where)


def _decay_of(read: Mapping[str, Value], scaled: bool) -> dict[str, Value]:
    """The leak ``1 - k`` of a PLIF's ``k = sigmoid(w)``, and its input scale ``k`` where
    ``scaled`` (``decay_input``)."""
    lam = 1.0 - read["w"]
    return {"lam": lam, "scale": read["w"]} if scaled else {"lam": lam}


@register("spikingjelly", order=10)
class SpikingJelly:
    """The spikingjelly adapter (:class:`~snnattack.interop.adapter.Adapter`)."""

    neurons = NEURONS
    supported = tuple(supported())
    owns = staticmethod(owns)
    has_own_loop = staticmethod(has_own_loop)
    own_loop = staticmethod(own_loop)
    body = staticmethod(body)
