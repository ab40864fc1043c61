"""A deep copy of a network as its last forward left it.

A forward may keep a tensor of its graph as a plain attribute (snnTorch's own loops keep
``self.mem1``; a rate kept for a regulariser, ``self.rate = spikes.mean()``), which
``copy.deepcopy`` refuses: only a graph's leaves can be deep-copied; so may a list or dict it
keeps (the spikes of each step, for a spike-count loss). Such a tensor is state,
not a weight: the copy holds its values, detached from the graph.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import torch
from torch import nn


def model_copy(model: nn.Module, memo: dict[int, object] | None = None) -> nn.Module:
    """A deep copy of ``model`` whose modules' tensors of a forward's graph are copies of their
    values without the graph; ``memo`` maps objects (by id) to what the copy holds instead."""
    memo = dict(memo or {})
    held = (t for m in model.modules() for v in vars(m).values() for t in _tensors(v))
    memo.update(
        {id(t): t.detach().clone() for t in held if t.grad_fn is not None and id(t) not in memo}
    )
    return copy.deepcopy(model, memo)


def _tensors(value: object, depth: int = 3) -> Iterator[torch.Tensor]:
    """The tensors of a module's attribute: itself, or held in its lists, tuples and dicts
    (a forward's spikes kept for a regulariser, ``self.hidden['spikes'].append(s)``), to
    ``depth`` levels."""
    if isinstance(value, torch.Tensor):
        yield value
    elif depth and isinstance(value, list | tuple | dict):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _tensors(item, depth - 1)
