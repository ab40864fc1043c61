"""AutoAttack (Croce & Hein 2020): the standard L-infinity ensemble of APGD-CE, APGD-T, FAB-T
and Square."""

from __future__ import annotations

import torchattacks
from torch import nn

from snnattack.attacks.methods.base import register


@register("autoattack", order=80)
def autoattack(
    model: nn.Module, eps: float, n_classes: int = 10, seed: int = 0
) -> torchattacks.Attack:
    """Standard L-infinity AutoAttack (Croce & Hein 2020)."""
    return torchattacks.AutoAttack(
        model, norm="Linf", eps=eps, version="standard", n_classes=n_classes, seed=seed
    )
