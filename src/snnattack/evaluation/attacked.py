"""The models the attacks run: copies of the trained target and source, prepared for attacking.

The trained models themselves stay as they are: the analyses, the masking checks' notes and
the store use them.
"""

from __future__ import annotations

import copy

from torch import nn

from snnattack.models.fold import folded


def attacked_models(
    target: nn.Module, source: nn.Module | None, *, fold_bn: bool, compiled: bool
) -> tuple[nn.Module, nn.Module | None]:
    """Copies of ``target`` and ``source`` (None stays None): with their BNs folded into the
    convs where ``fold_bn`` (``attack.fold_bn``), and ``torch.compile``'d where ``compiled``
    (``compile``)."""

    def prepare(model: nn.Module) -> nn.Module:
        out = folded(model) if fold_bn else copy.deepcopy(model)
        if compiled:
            out.compile()  # in place: the module keeps its attributes and state_dict keys
        return out

    return prepare(target), None if source is None else prepare(source)
