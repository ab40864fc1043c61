"""MI-FGSM (Dong et al. 2018): iterative FGSM with momentum on the normalised gradient."""

from __future__ import annotations

import torchattacks
from torch import nn

from snnattack.attacks.methods.base import register, step


@register("mifgsm", order=40)
def mifgsm(
    model: nn.Module,
    eps: float,
    steps: int = 7,
    alpha: float | None = None,
    eps_per_alpha: float = 3.1,
    decay: float = 1.0,
) -> torchattacks.Attack:
    """Momentum iterative FGSM (Dong et al. 2018)."""
    alpha = step(eps, alpha, eps_per_alpha)
    return torchattacks.MIFGSM(model, eps=eps, alpha=alpha, steps=steps, decay=decay)
