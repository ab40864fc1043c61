"""BatchNorm outputs that the fused LIF recomputes in its backward instead of keeping.

In a training step, a conv-BN-LIF layer keeps for its backward the BN's input (the BN needs
it) and the LIF's membranes ``h_t``, two float tensors of the layer's size; yet ``h_t`` follows
exactly from the BN's input. Within :func:`batchnorm_recomputed` (opened by the model when
autograd records), :class:`~snnattack.temporal.StepWise` notes each batch-statistics BN output
with the BN's input (:func:`note`), and a fused LIF fed that output (:func:`source`) runs
:class:`~snnattack.multistep.BatchNormLIF`, which keeps only the BN's input: the same
gradients, one float tensor per layer fewer (``docs/performance.md``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

Entry = tuple[weakref.ref, int, torch.Tensor, nn.Module]
_stack: list[dict[int, Entry]] = []  # per open block: id of the BN's output -> its entry


def note(out: torch.Tensor, y: torch.Tensor, bn: nn.Module) -> None:
    """Declares ``out`` (``[T, B, ...]``) the output of ``bn`` fed ``y`` (``[T * B, ...]``) to
    the innermost open block; only where every tensor has one dtype (no autocast in between)."""
    weight = getattr(bn, "weight", None)
    if _stack and out.dtype == y.dtype and (weight is None or weight.dtype == y.dtype):
        _stack[-1][id(out)] = (weakref.ref(out), out._version, y, bn)


def source(x: torch.Tensor) -> tuple[torch.Tensor, nn.Module] | None:
    """The BN's input and the BN that computed ``x``, if noted and ``x`` is unmodified since."""
    entry = _stack[-1].get(id(x)) if _stack else None
    if entry is None or entry[0]() is not x or x._version != entry[1]:
        return None
    return entry[2], entry[3]


@contextmanager
def batchnorm_recomputed() -> Iterator[None]:
    """Within the block, noted BN outputs fed to a fused LIF are recomputed, not kept."""
    _stack.append({})
    try:
        yield
    finally:
        _stack.pop()
