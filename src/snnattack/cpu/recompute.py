"""BatchNorm outputs that the fused LIF recomputes in its backward instead of keeping.

In a training step, a conv-BN-LIF layer keeps for its backward the BN's input (the BN needs
it) and the LIF's membranes ``h_t``, two float tensors of the layer's size; yet ``h_t`` follows
exactly from the BN's input. Within :func:`batchnorm_recomputed` (opened by the model when
autograd records), :class:`~snnattack.snn.temporal.StepWise` notes each batch-statistics BN output
with the BN's input (:func:`note`, on the CPU in a network of the backend ``c`` or ``triton``:
:func:`recomputes`), a residual block notes the sum of its two branches (:func:`add`), and a
fused LIF fed a noted tensor (:func:`source`) runs
:class:`~snnattack.snn.multistep.BatchNormLIF`, which keeps only the BNs' inputs: the same
gradients, one float tensor per spiking layer fewer (``docs/performance.md``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from snnattack.cpu.guard import native

RECOMPUTING = ("c", "triton")  # the backends whose fused LIF recomputes a BN output

Term = tuple[torch.Tensor, nn.Module | None]  # a BN's input and the BN, or a tensor and None
Entry = tuple[weakref.ref, int, list[Term]]
_stack: list[dict[int, Entry]] = []  # per open block: id of the noted tensor -> its entry


def note(out: torch.Tensor, y: torch.Tensor, bn: nn.Module, backend: str) -> None:
    """Declares ``out`` (``[T, B, ...]``) the output of ``bn`` fed ``y`` (``[T * B, ...]``) in
    a ``backend`` network to the innermost open block; only where :func:`recomputes` (on
    the CPU the module's BN runs the kernel the backward runs again, where on CUDA it may
    run cuDNN's, whose rounding may differ, so there the LIF keeps ``h_t``; one dtype, as no
    autocast casts in between; no hooks that could change the output)."""
    if _stack and out.dtype == y.dtype and recomputes(backend, y, bn):
        _note(out, [(y, bn)])


def recomputes(backend: str, x: torch.Tensor, *modules: nn.Module) -> bool:
    """Whether a fused LIF of a ``backend`` network fed ``x`` (through ``modules``) may
    recompute it: where :func:`~snnattack.cpu.guard.native` holds and the backend runs a
    kernel there (``c``; ``triton``: its kernels under Triton's interpreter, else the torch
    ops)."""
    return backend in RECOMPUTING and native(x, *modules)


def add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a + b``, noted as the sum of its terms where ``a`` or ``b`` is a noted BN output (a
    residual block's branches: BN + BN, or BN + the block's input)."""
    out = a + b
    both = (source(a) or [(a, None)]) + (source(b) or [(b, None)])
    fits = len(both) == 2 and a is not b and a.shape == b.shape and a.dtype == b.dtype
    if fits and any(bn is not None for _, bn in both):
        _note(out, both)
    return out


def source(x: torch.Tensor) -> list[Term] | None:
    """The terms ``x`` was computed from, in order, if noted and ``x`` is unmodified since."""
    entry = _stack[-1].get(id(x)) if _stack else None
    if entry is None or entry[0]() is not x or x._version != entry[1]:
        return None
    return entry[2]


@contextmanager
def batchnorm_recomputed() -> Iterator[None]:
    """Within the block, noted BN outputs fed to a fused LIF are recomputed, not kept."""
    _stack.append({})
    try:
        yield
    finally:
        _stack.pop()


def _note(out: torch.Tensor, terms: list[Term]) -> None:
    """Records ``out`` in the innermost open block (the callers have checked one is open)."""
    _stack[-1][id(out)] = (weakref.ref(out), out._version, terms)
