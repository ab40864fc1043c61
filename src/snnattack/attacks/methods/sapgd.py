"""SA-PGD: stable adaptive projected gradient descent (Wang et al. 2025, "Towards Reliable
Evaluation of Adversarial Robustness for Spiking Neural Networks", arXiv 2512.22522).

An L-infinity PGD made for the rough input landscape of spiking networks. Each step:

- the loss gradient ``g`` (averaged over ``eot_samples`` forward passes, as APGD's EOT) is
  normalised by its mean absolute value per sample (an L1 normalisation), so one steep spike
  boundary does not dominate;
- a first moment ``m = momentum * m + g / mean|g|`` and a second moment
  ``v = second_moment * v + g^2 / mean(g^2)`` give the step ``m / sqrt(v)``, scaled by the
  step size and clipped to it per pixel;
- the step size starts at ``eps`` and is halved every ``k`` steps, ``k`` starting at
  ``first_halving * steps`` and shrinking by ``halving_shrink * steps`` after each halving
  down to ``min_halving * steps`` (the reference's schedule: 0.22, 0.03, 0.06).

The start is a random point of the ball (seeded by ``seed``, without touching the global
random state, so stochastic encoders keep the evaluator's draws). Within a restart each sample
keeps the last iterate that fooled the crafting model, else its highest-loss iterate. Over
``n_restarts`` restarts a sample gets the example of the first restart that fooled it; a
sample no restart fools gets the *first* restart's highest-loss iterate (the later restarts'
losses are not compared with it). Each restart starts the gradient mode's kept state afresh
(ASSG's moments, as the reference's ``set_backpropagation`` before each restart). Unlike the
reference (and torchattacks' APGD), samples the model already misclassifies are attacked as
well and unfooled samples return that highest-loss iterate rather than the clean image, so a
transfer (black-box) attack gets a perturbation for every sample.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchattacks.attack import Attack

from snnattack.attacks.methods.base import check_loss, register
from snnattack.gradients.base import restart_surrogates

EPS_DIV = 1e-12  # keeps the normalisations finite where a gradient is exactly zero


def dlr_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample difference-of-logits-ratio loss (Croce & Hein 2020), to be maximised."""
    ordered, index = logits.sort(dim=1)
    top_is_y = (index[:, -1] == y).float()
    true = logits.gather(1, y[:, None])[:, 0]
    other = ordered[:, -2] * top_is_y + ordered[:, -1] * (1.0 - top_is_y)
    return -(true - other) / (ordered[:, -1] - ordered[:, -3] + EPS_DIV)


def _per_sample(stat: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A per-sample statistic of shape [B] reshaped to broadcast over ``like`` ([B, ...])."""
    return stat.view(-1, *([1] * (like.dim() - 1)))


def halvings(steps: int, first: float, shrink: float, shortest: float) -> set[int]:
    """The steps (counted from 1) after which SA-PGD halves its step size: after ``first *
    steps``, then after periods ``shrink * steps`` shorter each time, never shorter than
    ``shortest * steps``; each share in whole steps and at least one, but a ``shrink`` of 0,
    which keeps the period as it is."""
    period = max(int(first * steps), 1)
    less = max(int(shrink * steps), 1) if shrink > 0 else 0
    least = max(int(shortest * steps), 1)
    out, at = set(), period
    while at <= steps:
        out.add(at)
        period = max(period - less, least)
        at += period
    return out


@register("sapgd", order=60)
class SAPGD(Attack):
    """SA-PGD, L-infinity, pixels in [0, 1], with the CE or DLR loss; the method ``sapgd``
    itself (its parameters are ``conf/method/sapgd.yaml``'s keys); see the module docstring
    for the update."""

    def __init__(
        self,
        model: nn.Module,
        eps: float = 8 / 255,
        steps: int = 100,
        n_restarts: int = 1,
        loss: str = "ce",
        momentum: float = 0.5,
        second_moment: float = 0.8,
        first_halving: float = 0.22,
        halving_shrink: float = 0.03,
        min_halving: float = 0.06,
        seed: int = 0,
        eot_samples: int = 1,
    ) -> None:
        super().__init__("SAPGD", model)
        check_loss("sapgd", loss)
        self.eps, self.steps, self.n_restarts, self.loss = eps, steps, n_restarts, loss
        self.momentum, self.second_moment = momentum, second_moment
        self.first_halving, self.halving_shrink = first_halving, halving_shrink
        self.min_halving, self.seed, self.eot_samples = min_halving, seed, eot_samples
        self.supported_mode = ["default"]

    def _loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.loss == "ce":
            return F.cross_entropy(logits, y, reduction="none")
        return dlr_loss(logits, y)

    def _gradient(
        self, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The EOT-averaged loss gradient at ``x``, the last pass's per-sample loss and logits."""
        x = x.detach().requires_grad_()
        grad = torch.zeros_like(x)
        for _ in range(self.eot_samples):
            with torch.enable_grad():
                logits = self.get_logits(x)
                loss = self._loss(logits, y)
            grad += torch.autograd.grad(loss.sum(), [x])[0].detach()
        return grad / self.eot_samples, loss.detach(), logits.detach()

    def _project(self, x_adv: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.min(torch.max(x_adv, x - self.eps), x + self.eps).clamp(0, 1)

    def _run(
        self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One restart: each sample's adversarial example and whether it fooled the model.
        The gradient mode's state kept over passes (ASSG's moments) starts afresh."""
        restart_surrogates(self.model)
        start = 2 * torch.rand(x.shape, generator=generator, device=x.device) - 1
        start = start / _per_sample(start.flatten(1).abs().amax(1), x)
        x_adv = (x + self.eps * start).clamp(0, 1)
        grad, loss, logits = self._gradient(x_adv, y)
        fooled = logits.argmax(1) != y
        fooling, best, best_loss = x_adv, x_adv, loss  # replaced, never written in place
        step = torch.full((len(x),), self.eps, device=x.device)
        halves = halvings(self.steps, self.first_halving, self.halving_shrink, self.min_halving)
        m, v = torch.zeros_like(x), torch.zeros_like(x)
        for done in range(1, self.steps + 1):
            with torch.no_grad():
                mean_abs = _per_sample(grad.flatten(1).abs().mean(1), x) + EPS_DIV
                mean_sq = _per_sample(grad.pow(2).flatten(1).mean(1), x) + EPS_DIV
                m = self.momentum * m + grad / mean_abs
                v = self.second_moment * v + grad.pow(2) / mean_sq
                size = _per_sample(step, x)
                delta = torch.max(torch.min(m / (v.sqrt() + EPS_DIV) * size, size), -size)
                x_adv = self._project(x_adv + delta, x)
            grad, loss, logits = self._gradient(x_adv, y)
            with torch.no_grad():
                now = logits.argmax(1) != y
                fooling = torch.where(_per_sample(now, x), x_adv, fooling)
                fooled |= now
                higher = loss > best_loss
                best = torch.where(_per_sample(higher, x), x_adv, best)
                best_loss = torch.where(higher, loss, best_loss)
                if done in halves:
                    step /= 2.0
        return torch.where(_per_sample(fooled, x), fooling, best), fooled

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = images.clone().detach().to(self.device)
        y = labels.clone().detach().to(self.device)
        generator = torch.Generator(device=x.device).manual_seed(self.seed)
        adv, fooled = self._run(x, y, generator)
        for _ in range(self.n_restarts - 1):
            candidate, now = self._run(x, y, generator)
            adv = torch.where(_per_sample(now & ~fooled, x), candidate, adv)
            fooled |= now
        return adv.detach()
