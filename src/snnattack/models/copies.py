"""A deep copy of a network as its last forward left it.

A forward may keep a tensor of its graph as a plain attribute (snnTorch's own loops keep
``self.mem1``; a rate kept for a regulariser, ``self.rate = spikes.mean()``), which
``copy.deepcopy`` refuses: only a graph's leaves can be deep-copied. Such a tensor is state,
not a weight: the copy holds its values, detached from the graph.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def model_copy(model: nn.Module, memo: dict[int, object] | None = None) -> nn.Module:
    """A deep copy of ``model`` whose modules' tensors of a forward's graph are copies of their
    values without the graph; ``memo`` maps objects (by id) to what the copy holds instead."""
    memo = dict(memo or {})
    held = (v for m in model.modules() for v in vars(m).values() if isinstance(v, torch.Tensor))
    memo.update(
        {id(t): t.detach().clone() for t in held if t.grad_fn is not None and id(t) not in memo}
    )
    return copy.deepcopy(model, memo)
