"""Spikes kept as one byte for the backward pass.

A layer fed spikes (a convolution, a linear layer, a pooling) saves its input for its own
backward, in the network's float dtype: four bytes (eight in float64) for a value that is 0
or 1. Within :func:`spikes_as_bytes`, the fused LIF marks the spikes it returns
(:func:`mark`), and a saved tensor that is marked spikes, unmodified since, is kept as
``bool`` and turned back into its dtype when the backward reads it: the same values, a
quarter of the memory (``docs/performance.md``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import torch

_stack: list[dict[int, tuple[weakref.ref, int]]] = []  # per open block: storage -> mark


def mark(spikes: torch.Tensor) -> torch.Tensor:
    """Declares ``spikes`` (values 0 or 1) binary to the innermost open block; returns it."""
    if _stack:
        _stack[-1][_storage(spikes)] = (weakref.ref(spikes), spikes._version)
    return spikes


@contextmanager
def spikes_as_bytes() -> Iterator[None]:
    """Within the block, tensors autograd saves that are marked spikes are kept as bool."""
    marks: dict[int, tuple[weakref.ref, int]] = {}

    def pack(t: torch.Tensor) -> object:
        plain = t.layout == torch.strided and t.is_floating_point() and t.device.type != "meta"
        entry = marks.get(_storage(t)) if plain else None
        if entry is None:
            return t
        spikes, version = entry[0](), entry[1]
        # the marked tensor still alive (so the memory is its own) and not modified since
        if spikes is None or spikes.dtype != t.dtype or t._version != version:
            return t
        return t.bool(), t.dtype

    def unpack(packed: object) -> torch.Tensor:
        if isinstance(packed, torch.Tensor):
            return packed
        bits, dtype = packed
        return bits.view(torch.uint8).to(dtype)

    _stack.append(marks)
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
            yield
    finally:
        _stack.pop()


def _storage(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()
