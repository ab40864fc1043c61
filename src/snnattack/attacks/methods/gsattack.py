"""GSAttack (Yao et al., ECCV 2024, "Exploring vulnerabilities in spiking neural networks:
direct adversarial attacks on raw event data"), on binary frames, batched.

Threat model: binary frames (``dataset.params.event_encoding=binary``); every bit is a
candidate event, kept, inserted or deleted. No radius (one row per box at eps 0); an L1
penalty (``kappa``) keeps the events changed few, and they are reported per success.

The paper attacks raw events (each candidate (x, y, t) is -1, 0 or +1, framed differentiably);
its repository (JY-ura/GumbelSoftmaxAttack) also holds a binary-frame generator,
``ProbabilityFrameAttacker`` (``attacks/ours/probability_space/probability_attack.py``): two
logits per bit, initialised to the one-hot clean bit (``utils/init_alpha.py``,
``init_alpha_from_frame``). That generator with the repository's attack loop (``main.py``,
``attacker.py``, ``config/default.yaml``, ``config/attack/ours.yaml``, ``config/optimizer/
adam.yaml``, ``config/scheduler/CosALR.yaml``) is this method. Per sample and step
``e = 1 .. steps``:

- a hard Gumbel-softmax draw of every bit at temperature ``tau`` (cosine-annealed from
  ``max_tau`` to ``min_tau`` over ``decay_step`` steps), straight-through;
- the loss: cross-entropy (ascended for the true class, ``target: -1``; descended for class
  ``target``) plus ``kappa`` times the mean L1 distance of the draw to the clean frame;
- Adam (``lr``, its learning rate cosine-annealed with period ``2 * lr_period``, as
  ``CosineAnnealingLR(T_max=lr_period)``) on the logits, whose gradient is clipped to norm
  ``max_grad_norm`` and values to ``[-alpha_boundary, alpha_boundary]``;
- the sample stops at the first draw that succeeds (fooled, or predicted as ``target``); one
  never succeeding keeps its clean input (a failure).

Differences from the reference: raw events and their differentiable framing are not done
(the attack acts on the frames the network reads); each sample's Adam and gradient clipping
are the reference's, run for the whole batch at once (per-sample norms).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torchattacks.attack import Attack

from snnattack.attacks.methods.base import register

ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults, as the reference


@register("gsattack", order=84, events=("binary",))
class GSAttack(Attack):
    """GSAttack on binary frames (module docstring); the method ``gsattack``, its parameters
    ``conf/method/gsattack.yaml``'s keys."""

    def __init__(
        self,
        model: nn.Module,
        eps: float = 0.0,
        steps: int = 100,
        kappa: float = 0.1,
        lr: float = 1.0,
        lr_period: int = 10,
        max_tau: float = 2.0,
        min_tau: float = 0.1,
        decay_step: int = 100,
        alpha_boundary: float = 2.0,
        max_grad_norm: float = 20.0,
        target: int = -1,
    ) -> None:
        super().__init__("GSAttack", model)
        self.steps, self.kappa, self.lr, self.lr_period = steps, kappa, lr, lr_period
        self.max_tau, self.min_tau, self.decay_step = max_tau, min_tau, decay_step
        self.alpha_boundary, self.max_grad_norm, self.target = alpha_boundary, max_grad_norm, target
        self.supported_mode = ["default"]

    def _tau(self, e: int) -> float:
        """The reference's ``CosineAnnealing`` after ``e`` steps: ``max_tau`` to ``min_tau``."""
        if e >= self.decay_step:
            return self.min_tau
        return self.min_tau + 0.5 * (self.max_tau - self.min_tau) * (
            1 + math.cos(math.pi * e / self.decay_step)
        )

    def _main_loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per sample: ``-CE(true)`` untargeted, ``CE(target)`` targeted (to minimise)."""
        if self.target < 0:
            return -F.cross_entropy(logits, y, reduction="none")
        goal = torch.full_like(y, self.target)
        return F.cross_entropy(logits, goal, reduction="none")

    def _succeeded(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        pred = logits.argmax(1)
        return pred != y if self.target < 0 else pred == self.target

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = images.clone().detach().to(self.device)
        y = labels.clone().detach().to(self.device)
        alpha = torch.stack([(x == 0).float(), (x == 1).float()], -1)  # init_alpha_from_frame
        m, v = torch.zeros_like(alpha), torch.zeros_like(alpha)
        adv = x.clone()
        with torch.no_grad():
            active = self.get_logits(x).argmax(1) == y  # clean-correct samples only
        if self.target >= 0:
            active &= y != self.target
        success = torch.zeros_like(active)
        for e in range(1, self.steps + 1):
            idx = active.nonzero().squeeze(1)
            if not len(idx):
                break
            a = alpha[idx].requires_grad_(True)
            draw = _hard_bit(F.gumbel_softmax(a, tau=self._tau(e - 1), hard=True))
            logits = self.get_logits(draw)
            l1 = (draw - x[idx]).abs().flatten(1).mean(1)
            loss = self._main_loss(logits, y[idx]) + self.kappa * l1
            g = torch.autograd.grad(loss.sum(), a)[0]
            norm = g.flatten(1).norm(dim=1).view(-1, *[1] * (g.dim() - 1))
            g = g * (self.max_grad_norm / (norm + 1e-6)).clamp(max=1.0)  # clip_grad_norm_
            lr = self.lr * (1 + math.cos(math.pi * (e - 1) / self.lr_period)) / 2
            m[idx] = ADAM_BETAS[0] * m[idx] + (1 - ADAM_BETAS[0]) * g
            v[idx] = ADAM_BETAS[1] * v[idx] + (1 - ADAM_BETAS[1]) * g * g
            denom = (v[idx] / (1 - ADAM_BETAS[1] ** e)).sqrt() + ADAM_EPS
            step = lr / (1 - ADAM_BETAS[0] ** e) * m[idx] / denom
            alpha[idx] = (a.detach() - step).clamp(-self.alpha_boundary, self.alpha_boundary)
            won = self._succeeded(logits.detach(), y[idx])
            adv[idx[won]] = draw.detach()[won]
            active[idx[won]] = False
            success[idx[won]] = True
        return torch.where(success.view(-1, *[1] * (x.dim() - 1)), adv, x)


def _hard_bit(one_hot: torch.Tensor) -> torch.Tensor:
    """The drawn bit (the index of ``one_hot``'s 1) whose gradient flows to the drawn class's
    entry only: the reference's ``SoftArgmax2d``."""
    chosen = (one_hot * one_hot.detach()).sum(-1)  # 1, with the gradient of the drawn entry
    return one_hot.detach()[..., 1] + chosen - chosen.detach()
