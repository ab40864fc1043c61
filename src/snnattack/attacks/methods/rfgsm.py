"""R+FGSM (Tramèr et al., ICLR 2018): a random signed step of size alpha, then signed-gradient
steps of size alpha, projected onto the eps-ball; torchattacks' RFGSM. One step with
alpha = eps / 2 is the single-step attack of the SNN-RAT lineage's tables (Ding et al.,
NeurIPS 2022). With EOT, each gradient averages several forward passes of a random model."""

from __future__ import annotations

import torch
import torchattacks
from torch import nn

from snnattack.attacks.methods.base import register, step


class EOTRFGSM(torchattacks.RFGSM):
    """torchattacks' R+FGSM whose every gradient is the mean of ``eot_iter`` forward and
    backward passes (expectation over transformation: a random model's expected gradient);
    its random step is drawn as torchattacks draws it."""

    def __init__(self, model: nn.Module, eps: float, alpha: float, steps: int, eot_iter: int):
        super().__init__(model, eps=eps, alpha=alpha, steps=steps)
        self.eot_iter = eot_iter

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        images = images.clone().detach().to(self.device)
        labels = labels.clone().detach().to(self.device)
        target = self.get_target_label(images, labels) if self.targeted else labels
        sign = -1.0 if self.targeted else 1.0
        adv = torch.clamp(images + self.alpha * torch.randn_like(images).sign(), 0, 1).detach()
        for _ in range(self.steps):
            grad = torch.zeros_like(adv)
            for _ in range(self.eot_iter):
                point = adv.clone().requires_grad_(True)
                cost = sign * nn.functional.cross_entropy(self.get_logits(point), target)
                grad += torch.autograd.grad(cost, point)[0]
            adv = adv + self.alpha * grad.sign()
            adv = torch.clamp(images + torch.clamp(adv - images, -self.eps, self.eps), 0, 1)
        return adv.detach()


@register("rfgsm", order=15)
def rfgsm(
    model: nn.Module,
    eps: float,
    steps: int = 1,
    alpha: float | None = None,
    eps_per_alpha: float = 2.0,
    eot_samples: int = 1,
) -> torchattacks.Attack:
    """R+FGSM; ``alpha=None`` takes ``eps / eps_per_alpha`` (eps / 2: the random step and the
    gradient step together reach the ball's edge); ``eot_samples > 1`` averages each gradient
    over that many forward passes."""
    alpha = step(eps, alpha, eps_per_alpha)
    if eot_samples > 1:
        return EOTRFGSM(model, eps=eps, alpha=alpha, steps=steps, eot_iter=eot_samples)
    return torchattacks.RFGSM(model, eps=eps, alpha=alpha, steps=steps)
