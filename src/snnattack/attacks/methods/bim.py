"""BIM, the basic iterative method (Kurakin et al. 2017): PGD from the clean image."""

from __future__ import annotations

import torchattacks
from torch import nn

from snnattack.attacks.methods.base import register
from snnattack.attacks.methods.pgd import pgd


@register("bim", order=30)
def bim(
    model: nn.Module,
    eps: float,
    steps: int = 7,
    alpha: float | None = None,
    eps_per_alpha: float = 3.1,
    eot_samples: int = 1,
) -> torchattacks.Attack:
    """Basic iterative method: PGD from the clean image."""
    return pgd(model, eps, steps, alpha, eps_per_alpha, random_start=False, eot_samples=eot_samples)
