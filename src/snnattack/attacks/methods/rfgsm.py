"""R+FGSM (Tramèr et al., ICLR 2018): a random signed step of size alpha, then signed-gradient
steps of size alpha, projected onto the eps-ball; torchattacks' RFGSM. One step with
alpha = eps / 2 is the single-step attack of the SNN-RAT lineage's tables (Ding et al.,
NeurIPS 2022)."""

from __future__ import annotations

import torchattacks
from torch import nn

from snnattack.attacks.methods.base import register, step


@register("rfgsm", order=15)
def rfgsm(
    model: nn.Module,
    eps: float,
    steps: int = 1,
    alpha: float | None = None,
    eps_per_alpha: float = 2.0,
) -> torchattacks.Attack:
    """R+FGSM; ``alpha=None`` takes ``eps / eps_per_alpha`` (eps / 2: the random step and the
    gradient step together reach the ball's edge)."""
    return torchattacks.RFGSM(model, eps=eps, alpha=step(eps, alpha, eps_per_alpha), steps=steps)
