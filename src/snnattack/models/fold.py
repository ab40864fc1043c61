"""Folding eval-mode BatchNorm into the conv or linear layer before it, for attacks.

At evaluation a BN is a per-channel affine map, so ``BN(conv(x))`` is one conv with scaled
weights and a bias: the same function up to float rounding, one pass over the activations
fewer per layer and per time step. Training needs the BN itself (batch statistics), so only a
copy made for attacking is folded.
"""

from __future__ import annotations

import torch
from torch import nn

from snnattack.models.copies import model_copy
from snnattack.snn.temporal import StepWise

_BN = nn.modules.batchnorm._BatchNorm


def folded(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (in eval mode, the modules put in the folded BNs' places too: a kept
    copy compares their flags) whose BNs that follow a conv/linear are folded in."""
    out = model_copy(model)
    with torch.no_grad():
        for module in [m for m in out.modules() if isinstance(m, nn.Sequential)]:
            _fold_children(module)
    return out.eval()


def _affine(m: nn.Module) -> nn.Conv2d | nn.Linear | None:
    """The conv/linear a child computes last (itself, or a StepWise around it), if any."""
    inner = m.module if isinstance(m, StepWise) else m
    if isinstance(inner, nn.Sequential) and len(inner):
        inner = inner[-1]
    return inner if isinstance(inner, nn.Conv2d | nn.Linear) else None


def _bn(m: nn.Module) -> _BN | None:
    """The eval-mode BN a child is (itself, or a StepWise around it), if any."""
    inner = m.module if isinstance(m, StepWise) else m
    usable = isinstance(inner, _BN) and inner.running_mean is not None and inner.affine
    return inner if usable else None


def _fold_children(seq: nn.Sequential) -> None:
    """Folds each (conv/linear, BN) pair of consecutive children of ``seq`` in place."""
    children = list(seq)
    for i in range(1, len(children)):
        affine, bn = _affine(children[i - 1]), _bn(children[i])
        if affine is not None and bn is not None and affine.weight.shape[0] == bn.num_features:
            _fold(affine, bn)
            wrapped = isinstance(children[i], StepWise)
            seq[i] = StepWise(nn.Identity(), children[i].backend) if wrapped else nn.Identity()


def _fold(affine: nn.Conv2d | nn.Linear, bn: _BN) -> None:
    """``affine`` becomes ``bn ∘ affine`` (weights scaled per output channel, bias added)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shape = (-1,) + (1,) * (affine.weight.dim() - 1)
    affine.weight.mul_(scale.view(shape))
    bias = affine.bias if affine.bias is not None else torch.zeros_like(bn.running_mean)
    affine.bias = nn.Parameter((bias - bn.running_mean) * scale + bn.bias)
