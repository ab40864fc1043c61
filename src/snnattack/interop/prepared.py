"""What an entrance prepared of a user's model, kept while neither the model nor the settings
change: a loop of ``snnattack.attack`` calls over batches pays the adaptation, the model's
checks and the composed config once, not per batch (docs/performance.md, "A repeated call").

A kept preparation is keyed by what identifies its inputs, and never served stale:

- the model object, held by a weak reference (the cache never keeps a model alive; its entries
  go with it);
- its state (:func:`state_of`): every parameter and buffer by identity (held by a weak
  reference, so a tensor replaced, even by one at a freed one's address, is a change), its
  memory, device, dtype and shape (``.to()``, ``.data =``), but not its values: what a
  preparation holds of the weights follows them (the adapted network shares the model's
  memory, the attacked copy takes its weights at every call), so an optimiser's step or
  ``load_state_dict`` between two calls is attacked by the kept preparation, and what a build
  computed of them is compared by value (below); every module by
  identity (a submodule replaced) and class (one swapped through ``__class__``, whose forward
  is another) with its plain attributes (the training flag of ``.train()`` / ``.eval()``, a
  neuron's ``v_threshold`` set by assignment, from Python or numpy, an immutable value of
  :data:`VALUES`: a ``range``, a dtype; a tuple or list of such values, nested to
  :data:`NESTED` levels, a namedtuple too; a set or frozenset of them), its hooks (one added
  or removed; a ``functools.partial``'s arguments), its functions by identity (snnTorch's
  ``spike_grad`` replaced, held weakly as the tensors are), its tensors that are neither
  parameter nor buffer (``self.scale = torch.tensor(...)``, which a forward may read, and
  those in a tuple, list or dict it holds: ``self.masks = [...]``), compared as the parameters
  are, its numpy arrays (``self.gains = np.ones(10)``) by value, and the plain values
  (numbers, strings, tuples and lists of them) of its dicts that are not its own registries
  (``self.scales = {...}``; a module's registries are named with an underscore) and of its
  settings holders (a ``SimpleNamespace``, an argparse ``Namespace``, a dataclass:
  ``self.args.gain``), nested ones to three levels, and of an object of another class (a
  native LIF's ``surrogate``, ``Triangle(width=1.0)``, whose width a user may set in place; a
  callable object's ``alpha``), with its class; what lists, tuples, deques and dicts of any
  class hold, to :data:`NESTED` levels (:func:`_held_value`: ``self.layers[0]["gain"]``, a
  ``defaultdict``); a module held in a plain list, tuple or dict and not registered
  (``self.extra = [nn.Linear(...)]``), or what cannot be compared (an object without a
  ``__dict__``, an OmegaConf config, a deeper nesting), counts as a change at every call
  (:func:`_modules_held`); the state is read again after the entrance's checks of a fresh
  preparation (:meth:`Preparations.settle`), whose forward of a SpikingNet calls its hooks (a
  recording hook's object changed is no change);
- the values of the tensors the build read as numbers (:func:`noted`: a tensor ``beta`` or
  ``threshold`` of snnTorch's, a surrogate's ``alpha``) and of those the models hold besides
  their parameters and buffers
  (:func:`_held_tensors`; in a settings holder or an object too), compared by value, however
  they changed (an optimiser's step, ``beta.data.clamp_(0, 1)``,
  ``self.scale.data.fill_(2)``): the kept adaptation or attacked copy holds the old numbers;
  and, where the entrance describes the weights (``weighed``: :func:`snnattack.evaluate`'s
  record of their hash), every weight's value;
- the values of the learned neuron parameters the adapted LIFs follow (:func:`followed`: a
  parametric LIF's ``w``, snnTorch's learned ``beta`` and ``threshold``), compared by value
  too; where only they changed, each with its version moved (an optimiser's step), the kept
  preparation takes them (:meth:`Preparations.refreshed`: the LIFs read them again), and a
  change through ``.data`` prepares afresh; the settings an adapted LIF derives from them
  (:data:`~snnattack.snn.learned.FOLLOWING`), which its forward sets, and what it last read
  of them (:data:`~snnattack.snn.learned.MEMOS`) are not compared;
- where the entrance asks it (``finite``: the API, whose first call refuses a NaN or
  infinite weight), the finiteness of the models' floating parameters and buffers: a NaN
  written through ``.data`` after a first call is refused by the next as by the first;
- the settings, a hashable value the entrance builds from its arguments (and the samples'
  shape, on which a foreign network's form is probed).

Not compared, so not seen by a kept preparation: an snnTorch neuron's hidden state
(:data:`HIDDEN`: its ``mem`` buffer and ``reset`` tensor, which each forward replaces and no
adapter reads), a class's or a module's global variables that a forward reads (the attacked
copy reads them as the model does, at each forward; an adaptation that read one at its build
holds that value), the variables a hook function closes over (read as they are at each
forward, also by the attacked copy, which holds the same function), and objects reached
otherwise than as a module's attributes.

Reading the state costs no host sync: versions, addresses and flags live on the host. The
values and the finiteness are compared on the tensors' device in one batched reduction and
read in one host sync per device (none where neither is compared: a network without
tensors read as numbers, kept where ``finite`` is not asked), or left unread for the caller
(:meth:`Preparations.deferred`), which reads them with its own values: a repeated
``snnattack.attack`` reads them with its batch's checks, in one host sync in all where the
batch is on the model's device.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextvars import ContextVar
from numbers import Number
from types import MethodType, SimpleNamespace
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from snnattack.records.checkpoints import all_finite
from snnattack.snn.learned import FOLLOWING, MEMOS, Learned

Built = TypeVar("Built")
Valid = Callable[[Any], bool]  # whether a kept preparation still serves (its own conditions)
PLAIN = frozenset((bool, int, float, str, type(None)))  # the attributes a state compares
REGISTRIES = frozenset((dict, OrderedDict, set))  # a module's own: its hooks, submodules, ...
NAMESPACES = frozenset((SimpleNamespace, argparse.Namespace))  # settings by attribute
KEPT = 32  # preparations kept per model: the most recently made, of distinct arguments
COMPARED = (torch.Tensor, np.ndarray)  # arrays a module's attribute may be, compared
CONTAINERS = (tuple, list, deque, dict, bytearray)  # compared by what they hold, of any class
# immutable values without a __dict__, compared by equality as numbers are (a forward may
# read ``self.window = range(4)``, ``self.cast = torch.float16``, ``self.key = b"..."``)
VALUES = (range, bytes, torch.dtype, torch.device, torch.layout, torch.memory_format)
NESTED = 3  # the levels of tuples and lists in tuples and lists compared (``[[1.0, 2.0]]``)
# snnTorch neurons' hidden states (non-persistent buffers) and reset signal (a tensor
# attribute), which each forward of the user's replaces (``self.mem = ...``,
# ``self.reset = ...``) and no adapter reads (its LIF keeps its own membrane, from zero at
# each forward), as spikingjelly's ``v`` lives in its ``_memories``, which no state reads
HIDDEN = frozenset(("mem", "syn", "spk", "syn_exc", "syn_inh", "reset"))
# the tensors the build under way read as numbers (None: no build under way)
_READ: ContextVar[list[torch.Tensor] | None] = ContextVar("read", default=None)
# those of them that its learned neurons follow (:func:`followed`)
_FOLLOWED: ContextVar[list[torch.Tensor] | None] = ContextVar("followed", default=None)


def noted(value: Any) -> Any:
    """``value``, noted as read into a number by the preparation being built where it is a
    tensor (an adapter reads a neuron's decay or threshold so): a later call compares its
    values, which the state does not (:func:`state_of`), as an optimiser's step or a
    ``.data`` change alters them."""
    read = _READ.get()
    if read is not None and isinstance(value, torch.Tensor):
        read.append(value)
    return value


def followed(value: torch.Tensor) -> torch.Tensor:
    """``value``, a neuron's learned parameter that the preparation being built follows: its
    adapted LIF reads the numbers again once the parameter's version moved
    (:class:`~snnattack.snn.learned.Learned`). New values of it that moved its version (an
    optimiser's step, ``load_state_dict``) are taken into the kept preparation
    (:meth:`Preparations.refreshed`), not prepared afresh; a change through ``.data``, which
    moves no version, still prepares afresh."""
    follows = _FOLLOWED.get()
    if follows is not None:
        follows.append(value)
    return value


def state_of(model: nn.Module, public: bool = False) -> list[Any]:
    """``model``'s state as the module docstring lists it, objects by ``id``: two states
    compare equal only if nothing that a preparation reads has changed in between, provided
    the objects of the first are all still alive (an id is unique among living objects only:
    :class:`Preparations` holds weak references to them). One pass over the modules, at
    every call: a few microseconds per module. ``public``: of the modules' attributes, the
    public ones and their hooks only (the kept attacked copy's: what a forward changed of it
    without touching a tensor, a count or running statistic kept as an attribute, a hook
    object's records); a private one (its name starts with an underscore) is a module's memo
    of what it read (a learned neuron's ``_seen``), which its first forward fills and which
    changes no output. A parameter or buffer is compared by identity, memory, device, dtype
    and shape, not by its version counter: a change of its values alone (an optimiser's
    step, ``load_state_dict``) is no change of what a preparation holds, which shares the
    model's memory or copies its weights at every call, and compares by value what it read of
    them (:func:`noted`, ``weighed``)."""
    state: list[Any] = []
    modules = list(model.modules())
    registered = {id(m) for m in modules}  # compared as they are, wherever else held
    for m in modules:
        state.append(id(m))
        state.append(type(m))  # its class swapped (``m.__class__ = ...``): another forward
        attributes = _attributes(m, registered)
        state.append([a for a in attributes if _public(a[0])] if public else attributes)
        for t in (*m._parameters.values(), *_buffers(m)):
            if t is not None:
                state.append(_tensor(t, versioned=False))
    return state


def lists_of(model: nn.Module) -> list[list[Any]]:
    """The lists that ``model``'s modules hold as public attributes and that the objects of
    their hooks hold (``recorder.outputs``, a bound method's or a callable object's), and
    those in a dict either holds (``self.records["conv"]``): where a forward records by
    appending (:func:`state_of` compares them)."""
    held: list[Any] = []
    for m in model.modules():
        for k, v in m.__dict__.items():
            if k.endswith("hooks") and type(v) in REGISTRIES:
                for f in v.values():
                    owner = f.__self__ if type(f) is MethodType else f
                    if _instance(owner) and not isinstance(owner, nn.Module):
                        held.extend(vars(owner).values())
            elif _public(k):
                held.append(v)
    dicts = (x for v in held if type(v) in (dict, OrderedDict) for x in v.values())
    return [v for v in (*held, *dicts) if type(v) is list]


def _public(name: str) -> bool:
    """Whether an attribute ``name`` is a module's public one or its hooks."""
    return name[0] != "_" or name.endswith("hooks")


@functools.cache  # per class: a state reads it at every call
def _transient(kind: type) -> frozenset[str]:
    """The names of the attributes and buffers of a module of class ``kind`` that no
    preparation depends on: an snnTorch neuron's hidden state (:data:`HIDDEN`), which the
    user's own forward between two calls replaces."""
    return HIDDEN if (kind.__module__ or "").startswith("snntorch") else frozenset()


def _buffers(module: nn.Module) -> Iterable[torch.Tensor | None]:
    """``module``'s own buffers that a preparation depends on (:func:`_transient`)."""
    transient = _transient(type(module))
    if not transient:
        return module._buffers.values()
    transient = transient & module._non_persistent_buffers_set
    return [b for k, b in module._buffers.items() if k not in transient]


def _attributes(module: nn.Module, registered: set[int]) -> list[tuple[str, Any]]:
    """``module``'s compared attributes by name (the module docstring's list): its hooks by
    their handles' numbers, never reused, and their functions (:func:`_value`). Most of a
    module's attributes are its own registries (``_modules``, spikingjelly's ``_memories``),
    passed over first: a repeated call reads every module's attributes at each call.
    ``registered``: the ids of the model's modules (:func:`_modules_held`)."""
    out: list[tuple[str, Any]] = []
    transient = _transient(type(module))
    if isinstance(module, Learned):  # what it last read: its parameters are compared
        transient = transient | MEMOS
    elif isinstance(module._modules.get("learned"), Learned):  # compared as its parameters
        transient = transient | FOLLOWING
    for k, v in module.__dict__.items():
        if transient and k in transient:
            continue
        kind = type(v)
        if kind in PLAIN:
            out.append((k, v))
        elif kind in REGISTRIES:
            if not v:
                continue  # most of them: nothing to compare (an empty dict adds nothing)
            if k.endswith("hooks"):  # by handle, and a hook object's own settings
                out.append((k, tuple((h, _value(f)) for h, f in v.items())))
            elif k[0] != "_" and kind is not set:  # the user's: self.scales = {...}
                out.append((k, _modules_held(v.items(), registered), _settings(v)))
            elif k[0] != "_" and _scalar_set(v):  # the user's: self.skip = {2, 3}
                out.append((k, _value(v)))
        elif _sizes(kind, v):
            out.append((k, (kind, *v)))  # most: a layer's sizes, as :func:`_value` holds them
        elif _compared(v):
            out.append((k, _value(v)))
        elif kind in (tuple, list) and (held := _modules_held(enumerate(v), registered)):
            others = (_held_value(x, 1) for x in v if not isinstance(x, nn.Module))
            out.append((k, kind, held, tuple(others)))
        elif isinstance(v, CONTAINERS) and not (k[0] == "_" and kind in REGISTRIES):
            out.append((k, _held_value(v)))  # ``self.layers = [{"gain": 2.0}]``, a defaultdict
        elif _holder(v):
            out.append((k, _settings(_held_settings(v))))
        elif _instance(v):  # a native LIF's surrogate: Triangle(width=...), set in place
            out.append((k, type(v), _settings(vars(v))))
        elif not (k[0] == "_" and kind in REGISTRIES):
            out.append((k, _held_value(v)))  # an object without a __dict__: never equal
    return out


def _sizes(kind: type, value: Any) -> bool:
    """Whether ``value``, of class ``kind``, is a tuple or list of plain values (a layer's
    ``kernel_size``, ``padding``): read at every call, without a call per number."""
    return kind in (tuple, list) and PLAIN.issuperset(map(type, value))


def _instance(value: Any) -> bool:
    """Whether ``value`` is an object of another class whose attributes a forward may read
    (a native neuron's ``surrogate``, changed in place: ``lif.surrogate.width = 0.5``): one
    with a ``__dict__``, not a class, compared by its class and plain values."""
    return isinstance(getattr(value, "__dict__", None), dict) and not isinstance(value, type)


def _modules_held(items: Iterable[tuple[Any, Any]], registered: set[int]) -> Any:
    """The modules among ``items`` (a plain list's, tuple's or dict's positions or keys and
    values) by position or key and identity, where the model registers each
    (``self.blocks = [self.block1, self.block2]``, an adapted snnTorch ``Leaky``'s ``group``);
    a token never equal to another where one is not (``self.extra = [nn.Linear(...)]``, whose
    changes no state sees: the model prepared afresh at every call, never stale); () where
    none is held."""
    held = tuple(
        (k if _scalar(k) else type(k), id(v)) for k, v in items if isinstance(v, nn.Module)
    )
    return object() if any(i not in registered for _, i in held) else held


def _holder(value: Any) -> bool:
    """Whether ``value`` is an object that holds settings by name, which a forward may read
    (``self.args.gain``): a ``SimpleNamespace``, an argparse ``Namespace``, a dataclass."""
    if type(value) in NAMESPACES:
        return True
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _held_settings(holder: Any) -> dict[str, Any]:
    """A settings holder's (or another object's) values by name (a dataclass's fields: one
    with ``slots=True`` has no ``__dict__``)."""
    if dataclasses.is_dataclass(holder):
        return {f.name: getattr(holder, f.name, None) for f in dataclasses.fields(holder)}
    return vars(holder)


def _settings(held: dict[Any, Any], depth: int = 0) -> tuple[Any, ...]:
    """The plain values of a dict (or of a settings holder's attributes, :func:`_holder`),
    by key: what a module's attribute is compared by (:func:`_compared`) but functions, as
    :func:`_value` holds it, and those of the dicts and holders it holds (to three levels).
    What else it holds (a module, another object) is not compared: a dict of them is a
    registry, not settings."""
    out: list[Any] = []
    for k, v in held.items():
        if _function(v):
            continue  # a method of the holder: compared where it is a module's attribute
        key = k if _scalar(k) else _held_value(k, depth + 1)  # a tensor's == is elementwise
        if _compared(v):
            out.append((key, _value(v)))
        elif depth < 2 and type(v) in (dict, OrderedDict):
            out.append((key, _settings(v, depth + 1)))
        elif depth < 2 and _holder(v):
            out.append((key, _settings(_held_settings(v), depth + 1)))
        else:
            out.append((key, _held_value(v, depth + 1)))
    return tuple(out)


def _held_value(value: Any, depth: int = 0, found: list[Any] | None = None) -> Any:
    """A value that none of the rules above names, compared by its class and what it holds,
    to :data:`NESTED` levels: the items of a list, tuple or deque, the keys and values of a
    dict of any class (a ``defaultdict``'s factory, a ``Counter``), the attributes of a
    settings holder or another object (``self.layers = [{"gain": 2.0}]``, ``[Cfg(2.0)]``, a
    list of numpy arrays, a dict keyed by tuples). A token never equal to another where it
    holds what cannot be compared (deeper, a module, an object without a ``__dict__``): the
    model is prepared afresh at every call, never stale. ``found`` collects the tensors and
    functions it holds (compared by identity: :func:`_held`)."""
    if isinstance(value, torch.Tensor) or _function(value):
        if found is not None:
            found.append(value)
    if isinstance(value, functools.partial):
        parts = (value.func, value.args, value.keywords)
        return ("partial", *(_held_value(x, depth + 1, found) for x in parts))
    if _function(value):  # by identity, and a callable object's own values
        owner = value.__self__ if type(value) is MethodType else value
        own = vars(owner) if _instance(owner) and not isinstance(owner, nn.Module) else {}
        plain = {k: v for k, v in own.items() if not _function(v)}
        return ("function", id(value), _held_value(plain, depth + 1, found))
    if _scalar(value) or isinstance(value, COMPARED) or _scalar_set(value):
        return _value(value)
    if isinstance(value, bytearray):
        return (bytearray, bytes(value))
    if depth >= NESTED or isinstance(value, nn.Module):
        return object()
    if isinstance(value, (tuple, list, deque)):
        return (type(value), *(_held_value(x, depth + 1, found) for x in value))
    if isinstance(value, dict):
        factory = getattr(value, "default_factory", None)
        pairs = (
            (_held_value(k, depth + 1), _held_value(v, depth + 1, found)) for k, v in value.items()
        )
        return (type(value), _held_value(factory, depth + 1, found), *pairs)
    if _holder(value) or _instance(value):
        return (type(value), _held_value(_held_settings(value), depth + 1, found))
    return object()


def _compared(value: Any) -> bool:
    """Whether a module's attribute ``value`` (not a registry) is part of its state: a number
    (numpy's too), a string, a tensor, a numpy array (:func:`_array`), a function (by
    identity), a set of plain values, or a tuple or list of them (:func:`_element`)."""
    if isinstance(value, (tuple, list)):
        return all(_element(v) for v in value)
    return _scalar(value) or isinstance(value, COMPARED) or _function(value) or _scalar_set(value)


def _element(value: Any, depth: int = 0) -> bool:
    """Whether ``value``, held in a tuple or list, is compared: a plain value, a tensor, or
    a tuple or list of them (a namedtuple too) to :data:`NESTED` levels (``[[1.0, 2.0]]``,
    which the attacked copy, a deep copy, copies as it is then)."""
    if type(value) in PLAIN:
        return True
    if isinstance(value, (tuple, list)) and depth < NESTED:
        return all(_element(v, depth + 1) for v in value)
    return _scalar(value) or isinstance(value, torch.Tensor)


def _scalar(value: Any) -> bool:
    """Whether ``value`` is compared by equality: a plain value, a number (numpy's too) or
    an immutable value of :data:`VALUES`."""
    return type(value) in PLAIN or isinstance(value, (Number, *VALUES))


def _scalar_set(value: Any) -> bool:
    """Whether ``value`` is a set or frozenset of plain values (``self.skip = {2, 3}``, which
    a forward may test ``i in self.skip``): compared by its class and elements."""
    return isinstance(value, (set, frozenset)) and all(_scalar(v) for v in value)


def _function(value: Any) -> bool:
    """Whether ``value`` is called rather than read (a function, a class, a partial)."""
    return callable(value) and not isinstance(value, nn.Module)


def _value(value: Any) -> Any:
    """A compared attribute as its state holds it: a tensor as :func:`_tensor`, a function by
    its identity, a list as a tuple of its values."""
    if type(value) in PLAIN:
        return value
    if isinstance(value, torch.Tensor):
        return _tensor(value)
    if isinstance(value, np.ndarray):
        return _array(value)
    if isinstance(value, (tuple, list)):
        return (type(value), *map(_value, value))
    if _scalar_set(value):
        return (type(value), frozenset(value))
    if isinstance(value, functools.partial):  # its arguments, which a deep copy copies
        arguments = {**dict(enumerate(value.args)), **value.keywords}
        return ("partial", _value(value.func), _settings(arguments))
    if _function(value):  # by identity, and what a callable object holds (its ``alpha``)
        # a bound method (``scaler.hook``): what its object holds (its ``__dict__`` is its
        # function's), which a deep copy (the attacked copy's hooks) copies as it is then
        owner = value.__self__ if type(value) is MethodType else value
        held = getattr(owner, "__dict__", None)
        if isinstance(owner, nn.Module) and type(held) is dict:
            # a module's own method (snnTorch's ``self.state_function``): its plain values,
            # not its registries (their tensors are its state) nor its hidden state
            transient = _transient(type(owner))
            held = {
                k: v for k, v in held.items() if type(v) not in REGISTRIES and k not in transient
            }
        return ("function", id(value), _settings(held) if type(held) is dict else ())
    return value


def _array(a: np.ndarray) -> tuple[Any, ...]:
    """A numpy array by value (its dtype, shape and bytes: ``self.gains = np.ones(10)``,
    which a forward may read through ``torch.from_numpy``), as no version counter tracks it:
    a copy of its bytes per call, at memory speed."""
    return ("ndarray", a.dtype.str, a.shape, a.tobytes())


def _tensor(t: torch.Tensor, versioned: bool = True) -> tuple[Any, ...]:
    """A tensor's identity, version counter (None where not ``versioned``), memory, device,
    dtype and shape. An inference tensor (a pruned layer's weight computed in a
    ``torch.inference_mode()`` forward) tracks no version: it counts as changed at every
    call, and so does a sparse one, whose memory is no one pointer nor one flat tensor to
    compare by value (:func:`_held_tensors`)."""
    if t.is_inference() or t.layout != torch.strided:
        return (id(t), object(), t.device, t.dtype, t.shape)
    return (id(t), t._version if versioned else None, t.data_ptr(), t.device, t.dtype, t.shape)


def _held(model: nn.Module) -> Iterator[Any]:
    """``model``'s tensors that are neither parameter nor buffer (held as attributes, or in a
    tuple, list or dict held so: ``self.masks = [...]``, ``self.scales = {"gain": ...}``, or
    by a settings holder or another object: ``self.args.gain``, to :data:`NESTED` levels as
    :func:`_held_value` compares them), and its functions."""
    for m in model.modules():
        transient = _transient(type(m))
        for k, v in m.__dict__.items():
            kind = type(v)
            if kind in PLAIN or (k[0] == "_" and kind in REGISTRIES) or k in transient:
                continue  # its settings; its own registries (parameters, buffers, hooks)
            if isinstance(v, torch.Tensor):
                yield v
            elif (
                (isinstance(v, CONTAINERS) and not _sizes(kind, v))
                or _function(v)
                or _holder(v)
                or _instance(v)
            ):
                found: list[Any] = []  # a .data change: its version does not move
                _held_value(v, found=found)
                yield from found


def _held_tensors(models: list[nn.Module]) -> list[torch.Tensor]:
    """The tensors of ``models`` that are neither parameter nor buffer (:func:`_held`), whose
    values a kept preparation compares: a change through ``.data`` bumps no version, and no
    weight copy refreshes them (an inference tensor, changed at every call, left out)."""
    held = (t for m in models for t in _held(m) if isinstance(t, torch.Tensor))
    return [t for t in held if not t.is_inference() and t.layout == torch.strided]


def _weights(models: list[nn.Module]) -> list[torch.Tensor]:
    """The parameters and buffers of ``models`` that their states hold (:func:`_buffers`),
    whose values a preparation that describes them (a record's hash of the weights) compares:
    a change through ``.data`` bumps no version (an inference or sparse tensor, which the
    state counts as changed at every call, left out)."""
    every = (
        t
        for m in models
        for mod in m.modules()
        for t in (*mod._parameters.values(), *_buffers(mod))
    )
    return [
        t for t in every if t is not None and not t.is_inference() and t.layout == torch.strided
    ]


def _objects(model: nn.Module) -> list[weakref.ref]:
    """Weak references to ``model``'s modules, parameters, buffers, other tensors and
    functions: those whose identity its state holds (a built-in function, which cannot be
    referenced weakly, lives as long as the process)."""
    refs = []
    buffers = (b for m in model.modules() for b in _buffers(m) if b is not None)
    for o in (*model.modules(), *model.parameters(), *buffers, *_held(model)):
        try:
            refs.append(weakref.ref(o))
        except TypeError:
            continue
    return refs


class Preparations:
    """The preparations kept per model object: the latest per settings (the :data:`KEPT` most
    recently made), for as long as the model lives and its state is the one they were made
    of (a preparation made afresh drops those of the model as it was, and with them what they
    held of its old tensors, and those holding a copy of its weights' old values)."""

    def __init__(self) -> None:
        self._kept: weakref.WeakKeyDictionary[nn.Module, dict[Hashable, tuple[Any, ...]]]
        self._kept = weakref.WeakKeyDictionary()

    def get(
        self,
        model: nn.Module,
        settings: Hashable,
        build: Callable[[], Built],
        valid: Valid,
        compared: bool = False,
    ) -> Built:
        """What ``build`` prepares of ``model`` under ``settings``: as :meth:`deferred`, with
        its check read at once (a kept preparation served while it holds, else built afresh)."""
        built, checks = self.deferred(model, settings, build, valid=valid, compared=compared)
        return built if passed(checks) else self.rebuilt(model, settings, build)

    def deferred(
        self,
        model: nn.Module,
        settings: Hashable,
        build: Callable[[], Built],
        *others: nn.Module | None,
        valid: Valid = lambda _: True,
        finite: bool = False,
        weighed: bool = False,
        compared: bool = False,
    ) -> tuple[Built, list[torch.Tensor]]:
        """What ``build`` prepares of ``model`` (and of ``others``, a black-box source: their
        state is compared too) under ``settings``: kept from an earlier call if no model's
        state changed since and it is still ``valid``, else built now (:meth:`rebuilt`); with
        the checks of a kept one left unread (:func:`_checks`: the values it read as numbers
        and, ``finite``, the models' floating tensors; none where it was built now). What
        ``build`` returns must not refer to ``model`` (a weak key's value that does keeps it
        alive). The caller reads the checks with its own values in one host sync and, where
        one is false (:func:`passed`), takes :meth:`rebuilt` before it refuses anything: the
        fresh preparation's refusals come first, as at a first call. ``compared``: the caller
        compared the models' states at this call (``model`` is the network of a preparation
        kept of the user's model, which its entrance served: :func:`prepared_once`), so they are
        not read again; a preparation made afresh of another state dropped those of this
        one (:meth:`rebuilt`)."""
        kept = self._kept.get(model, {}) if _keyed(model) else {}
        if settings in kept:
            models = [m for m in (model, *others) if m is not None]
            state, alive, built, _, numbers = kept[settings]
            if (compared or _as_made(models, state, alive)) and valid(built):
                return built, _checks(numbers, finite)
        return self.rebuilt(model, settings, build, *others, weighed=weighed), []

    def rebuilt(
        self,
        model: nn.Module,
        settings: Hashable,
        build: Callable[[], Built],
        *others: nn.Module | None,
        weighed: bool = False,
    ) -> Built:
        """What ``build`` prepares of ``model`` (and ``others``) under ``settings``, built now
        and kept, replacing a kept one (stale: its checks read false)."""
        if not _keyed(model):
            return build()  # a model equal to another one: its identity cannot key it
        models = [m for m in (model, *others) if m is not None]
        kept = self._kept.setdefault(model, {})
        token, following = _READ.set([]), _FOLLOWED.set([])
        try:
            built = build()
            weights = _weights(models) if weighed else []
            follows = _FOLLOWED.get() or []
            ids = {id(t) for t in follows}
            read = [t for t in _READ.get() or [] if id(t) not in ids]
            numbers = _Numbers([*read, *_held_tensors(models), *weights], models, follows)
        finally:
            _READ.reset(token)
            _FOLLOWED.reset(following)
        # the state after the build, which the next call compares; its objects held weakly,
        # as one that dies (replaced) may leave its id to a newcomer
        alive = tuple(ref for m in models for ref in _objects(m))
        state, versions = _state(models), _versions(model)  # the model's own, as state[0]
        for stale in [
            k for k, (was, _, _, v, _) in kept.items() if was[0] != state[0] or _older(v, versions)
        ]:
            # made of the model as it was, or a copy of its weights' values as they were (a
            # weighed one's, which the next call would find changed): none would be served again
            del kept[stale]
        kept.pop(settings, None)
        kept[settings] = (state, alive, built, versions if weighed else None, numbers)
        while len(kept) > KEPT:
            del kept[next(iter(kept))]  # the least recently made
        return built

    def refreshed(
        self, model: nn.Module, settings: Hashable, *others: nn.Module | None
    ) -> Any | None:
        """The kept preparation of ``model`` (and ``others``) under ``settings`` whose checks
        failed, where only the learned neuron parameters it follows changed (:func:`followed`),
        each with its version moved: its adapted LIFs read them again at their next forward
        (the attacked copy takes them: :func:`~snnattack.evaluation.attacked.kept_attacked_copy`),
        and its values of them are taken anew; None where anything else changed (the state, a
        value read as a number, a weight made NaN or infinite, a learned parameter changed
        through ``.data``), which prepares afresh. A training loop of a network with learned
        decays that attacks each batch keeps its preparation across steps."""
        kept = self._kept.get(model, {}) if _keyed(model) else {}
        if settings not in kept:
            return None
        models = [m for m in (model, *others) if m is not None]
        state, alive, built, _, numbers = kept[settings]
        fresh = _as_made(models, state, alive)
        if not (numbers.followed and fresh and passed(_checks(numbers, True, followed=False))):
            return None
        for group, was, versions in numbers.followed.values():
            parts = was.split([t.numel() for t in group])
            for t, part, version in zip(group, parts, versions, strict=True):
                if t._version == version and not torch.equal(t.detach().reshape(-1), part):
                    return None  # changed through ``.data``: no LIF reads it again
        numbers.follow([t for group, *_ in numbers.followed.values() for t in group])
        return built

    def settle(self, model: nn.Module, settings: Hashable, *others: nn.Module | None) -> None:
        """The kept preparation of ``model`` (and ``others``) under ``settings``, and those
        kept of the models as they were at its build (other settings, the attacked copy),
        taken as made of the models as they are now, where only modules' attributes changed
        since: the entrance's own check of a fresh preparation runs a model it does not adapt
        (a SpikingNet) on one image, which calls the model's hooks, and a hook object that
        records (``self.calls += 1``, ``self.outputs.append(...)``) read as changed at the
        next call prepared afresh at every call. A tensor, module or class changed meanwhile
        leaves the states as they were (the next call prepares afresh)."""
        kept = self._kept.get(model, {}) if _keyed(model) else {}
        if settings not in kept:
            return
        models = [m for m in (model, *others) if m is not None]
        was, now = kept[settings][0], _state(models)
        if not all(map(_attributes_only, was, now)):
            return  # more than attributes changed: not the check's doing alone
        held = _held_tensors(models)
        alive = tuple(ref for m in models for ref in _objects(m))
        for key, (state, _, built, versions, numbers) in list(kept.items()):
            groups = (*numbers.devices.values(), *numbers.followed.values())
            compared = {id(t) for tensors, *_ in groups for t in tensors}
            # a tensor held anew (``self.last = out``), whose values it does not compare: kept
            if state == was and all(id(t) in compared for t in held):
                kept[key] = (now, alive, built, versions, numbers)

    def clear(self) -> None:
        """Forgets every preparation (the next call of each prepares afresh)."""
        self._kept.clear()


def _attributes_only(was: list[Any], now: list[Any]) -> bool:
    """Whether a model's state ``now`` differs from ``was`` (:func:`state_of`) at most in its
    modules' attributes (the lists :func:`_attributes` makes): the same modules, classes and
    tensors."""
    same = len(was) == len(now)
    return same and all(type(a) is list or a == b for a, b in zip(was, now, strict=True))


def _as_made(models: list[nn.Module], state: list[Any], alive: tuple[weakref.ref, ...]) -> bool:
    """Whether ``models`` are in the ``state`` a preparation was made of, its objects (held by
    the weak references ``alive``) all still living: an id is unique among living objects only."""
    return state == _state(models) and all(ref() is not None for ref in alive)


def _state(models: list[nn.Module]) -> list[Any]:
    """The states of ``models``, in order."""
    return [state_of(m) for m in models]


def versions_of(tensors: Iterable[torch.Tensor]) -> tuple[int, ...]:
    """The version counters of ``tensors``: which values of them a preparation (or a copy)
    holds, as an in-place change moves them."""
    return tuple(t._version for t in tensors)


def _versions(model: nn.Module) -> tuple[int, ...]:
    """The version counters of ``model``'s weights (:func:`_weights`): which values of them a
    preparation was made of, read when one is made, never at a call."""
    return versions_of(_weights([model]))


def _older(weighed: tuple[int, ...] | None, versions: tuple[int, ...]) -> bool:
    """Whether a kept preparation that holds a copy of the weights' values (``weighed``: the
    versions it was made at; None: it holds none) was made of other values than ``versions``
    say the weights hold now: a copy of the model's old weights, which would not be served
    again, dropped as a preparation is made afresh."""
    return weighed is not None and weighed != versions


class _Numbers:
    """The tensors a build read as numbers (:func:`noted`), a model holds besides its
    parameters and buffers (:func:`_held_tensors`) or, weighed, its weights (:func:`_weights`),
    and their values then, flattened into one tensor per device and dtype (an integer mask
    compared exactly; one copy shared by the preparations of the same values:
    :func:`_snapshot`); the learned neuron parameters it follows (``followed``:
    :func:`followed`), their values and versions then, by device and dtype too; and the
    floating parameters and persistent buffers of the ``models`` by device and dtype, whose
    finiteness a call may check (:func:`_checks`): the same tensors while the models' state
    is the one the preparation was made of."""

    def __init__(
        self, tensors: list[torch.Tensor], models: list[nn.Module], followed: list[torch.Tensor]
    ) -> None:
        self.devices = {key: (group, _snapshot(group)) for key, group in _by(tensors).items()}
        self.follow(followed)
        floats = (t for m in models for t in _persistent(m))
        self.floats = _by(t for t in floats if t.is_floating_point())

    def follow(self, followed: list[torch.Tensor]) -> None:
        """Takes the values and versions of the learned parameters ``followed`` now."""
        self.followed = {
            key: (group, _snapshot(group), versions_of(group))
            for key, group in _by(followed).items()
        }


# the values of groups of tensors (:func:`_snapshot`), by the tensors' identities, versions
# and memory, while a kept preparation holds them
_SNAPSHOTS: weakref.WeakValueDictionary[tuple[Any, ...], torch.Tensor]
_SNAPSHOTS = weakref.WeakValueDictionary()


def _snapshot(group: list[torch.Tensor]) -> torch.Tensor:
    """The values of ``group`` in one flat tensor: the one an earlier preparation keeps of
    the same tensors where it holds the same values (compared here, as a preparation is
    built), so that the preparations of a model under many settings (:data:`KEPT`) keep one
    copy of its weights, not one each."""
    flat, key = _flat(group), tuple(_tensor(t) for t in group)
    kept = _SNAPSHOTS.get(key)
    if kept is not None and torch.equal(kept, flat):
        return kept
    _SNAPSHOTS[key] = flat
    return flat


def _keyed(model: nn.Module) -> bool:
    """Whether ``model`` can key its preparations: not one equal to another model (a class
    with its own ``__eq__``), whose identity would not tell it apart."""
    return type(model).__eq__ is object.__eq__


def passed(checks: list[torch.Tensor]) -> bool:
    """Whether a kept preparation's ``checks`` (:meth:`Preparations.deferred`) all hold:
    read in one host sync per device."""
    return all(bool(c) for c in checks)


def _checks(numbers: _Numbers, finite: bool, followed: bool = True) -> list[torch.Tensor]:
    """Whether the tensors of ``numbers`` (the learned parameters it follows too, unless
    ``followed`` is False) hold the values read then and, ``finite``, the floating
    parameters and persistent buffers of its models are all finite: compared on each device
    at once, one flag per device left unread (none where nothing is compared).

    The finiteness is read off the tensors' norms
    (:func:`~snnattack.records.checkpoints.all_finite`): a finite tensor whose norm
    overflowed (far larger weights than a network holds) is taken for a change, the call
    prepares afresh, and the exact check of the preparation decides."""
    flags: dict[torch.device, list[torch.Tensor]] = {}
    with torch.no_grad():
        groups = [*numbers.devices.items(), *(numbers.followed.items() if followed else ())]
        for (device, _), (tensors, was, *_) in groups:
            flags.setdefault(device, []).append(_flat(tensors).eq(was).all())
        for (device, _), group in (numbers.floats if finite else {}).items():
            flags.setdefault(device, []).append(all_finite(group))
    return [f[0] if len(f) == 1 else torch.stack(f).all() for f in flags.values()]


def _persistent(model: nn.Module) -> Iterator[torch.Tensor]:
    """``model``'s parameters and persistent buffers: what its first call checks finite
    (a non-persistent buffer may be infinite by design: a mask of -inf, a clamp's bound)."""
    yield from model.parameters()
    for m in model.modules():
        kept = m._non_persistent_buffers_set
        yield from (b for k, b in m._buffers.items() if b is not None and k not in kept)


def _by(tensors: Iterable[torch.Tensor]) -> dict[tuple[torch.device, torch.dtype], list]:
    """``tensors`` grouped by device and dtype, in order, each one once (a tied weight once)."""
    groups: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    seen: set[int] = set()
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            groups.setdefault((t.device, t.dtype), []).append(t)
    return groups


def _flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    """The values of ``tensors`` (of one device) in one flat tensor."""
    return torch.cat([t.detach().reshape(-1) for t in tensors])


PREPARED = Preparations()  # the process's preparations, of every entrance


def arguments_key(*arguments: Any) -> str | None:
    """The arguments of a call as the key of what they prepare (:func:`prepared_once`), or None
    where one is not a plain value (numbers, strings, None, and lists, tuples and dicts of
    them), whose text may not tell it apart: then nothing is kept."""

    def plain(value: Any) -> bool:
        if isinstance(value, dict):
            return all(plain(k) and plain(v) for k, v in value.items())
        if isinstance(value, list | tuple):
            return all(plain(v) for v in value)
        return isinstance(value, (*PLAIN, torch.dtype, torch.device))

    return repr(arguments) if plain(arguments) else None


def settled(model: Any, key: str | None, source: Any = None) -> None:
    """Takes the preparation kept for ``model`` (and ``source``) under ``key`` as made of
    them as they are now, after the entrance's checks of a fresh one ran them
    (:meth:`Preparations.settle`)."""
    if key is not None and isinstance(model, nn.Module) and isinstance(source, nn.Module | None):
        PREPARED.settle(model, key, source)


def sample_form(x: Any) -> tuple[Any, ...] | None:
    """The form of the samples ``x`` on which a model is adapted and checked (a sample's
    shape, dtype, device), which the key of its preparation holds; None if not a tensor."""
    return (tuple(x.shape[1:]), x.dtype, x.device) if isinstance(x, torch.Tensor) else None


def prepared_once(
    model: Any,
    key: str | None,
    build: Callable[[], Any],
    source: Any = None,
    fresh: bool = False,
    weighed: bool = False,
    valid: Valid = lambda _: True,
) -> tuple[Any, list[torch.Tensor]]:
    """What ``build`` prepares of ``model`` (and ``source``) for the call whose arguments
    ``key`` stands for, and the unread checks of a kept one (:meth:`Preparations.deferred`,
    its weights' finiteness among them, and with ``weighed`` their values: a preparation
    that describes them, :func:`snnattack.evaluate`'s record of their hash), which the caller
    reads and, where one is false, calls again with ``fresh``: the kept one, where only the
    learned neuron parameters it follows moved (:meth:`Preparations.refreshed`; not
    ``weighed``, whose record names their values too), else one built now, replacing it.
    ``valid``: whether a kept one still serves by its own conditions (built afresh if not).
    The one place where :func:`snnattack.attack`, :func:`snnattack.evaluate` and
    :func:`snnattack.gradient_mode` reuse a preparation."""
    if key is None or not isinstance(model, nn.Module) or not isinstance(source, nn.Module | None):
        return build(), []
    if fresh:
        # a weighed one compares the learned parameters among its weights: made afresh
        kept = None if weighed else PREPARED.refreshed(model, key, source)
        if kept is not None:
            return kept, []
        return PREPARED.rebuilt(model, key, build, source, weighed=weighed), []
    return PREPARED.deferred(model, key, build, source, valid=valid, finite=True, weighed=weighed)
