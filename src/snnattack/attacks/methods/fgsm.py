"""FGSM (Goodfellow et al. 2015): one signed-gradient step of size eps from the clean image;
with EOT, one step of torchattacks' EOT-PGD."""

from __future__ import annotations

import torchattacks
from torch import nn

from snnattack.attacks.methods.base import register


@register("fgsm", order=10)
def fgsm(model: nn.Module, eps: float, eot_samples: int = 1) -> torchattacks.Attack:
    """FGSM; ``eot_samples > 1`` averages each gradient over that many forward passes."""
    if eot_samples > 1:
        return torchattacks.EOTPGD(
            model, eps=eps, alpha=eps, steps=1, eot_iter=eot_samples, random_start=False
        )
    return torchattacks.FGSM(model, eps=eps)
