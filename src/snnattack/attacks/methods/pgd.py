"""PGD (Madry et al. 2018): signed-gradient steps projected onto the eps-ball, from a random
start; with EOT, torchattacks' EOT-PGD."""

from __future__ import annotations

import torchattacks
from torch import nn

from snnattack.attacks.methods.base import register, step


@register("pgd", order=20)
def pgd(
    model: nn.Module,
    eps: float,
    steps: int = 7,
    alpha: float | None = None,
    eps_per_alpha: float = 3.1,
    random_start: bool = True,
    eot_samples: int = 1,
) -> torchattacks.Attack:
    """PGD; ``alpha=None`` takes ``eps / eps_per_alpha`` so every eps-ball's edge is reached."""
    alpha = step(eps, alpha, eps_per_alpha)
    if eot_samples > 1:
        return torchattacks.EOTPGD(
            model,
            eps=eps,
            alpha=alpha,
            steps=steps,
            eot_iter=eot_samples,
            random_start=random_start,
        )
    return torchattacks.PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=random_start)
