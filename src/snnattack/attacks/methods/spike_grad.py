"""The spike-compatible gradient attack (Liang et al., IEEE TNNLS 2021, "Exploring adversarial
attack in spiking neural networks with spike-compatible gradient"), the baseline of the SDA
and GSAttack papers, on binary frames, batched.

Threat model: binary frames (``dataset.params.event_encoding=binary``); a flip inserts or
deletes an event. No radius (one row per box at eps 0); the budget is ``n_iter`` iterations,
the events changed per success are reported.

Per sample and iteration, with the cross-entropy gradient ``g`` at the current raster ``x``
(under the job's gradient mode):

- gradient-to-spike (G2S): each bit is drawn with probability ``|g| / max |g|`` (the sample's
  largest), the drawn bits take ``sign(g)``, and only those that keep the raster binary are
  applied (``+1`` on a 0 inserts an event, ``-1`` on a 1 deletes one; the paper's
  overflow-aware transformation);
- gradient trigger (GT): a sample whose gradient is zero everywhere (the vanishing gradient
  of spiking inputs) flips each bit with probability ``trigger_rate`` instead.

A sample stops at its first fooling raster; one not fooled after ``n_iter`` iterations keeps
its clean input (a failure). No public code of the paper was found: this follows the paper's
description (docs/event_attacks.md says what could not be compared).
"""

from __future__ import annotations

import torch
from torch import nn
from torchattacks.attack import Attack

from snnattack.attacks.methods.base import register


@register("spike_grad", order=82, events=("binary",))
class SpikeGrad(Attack):
    """G2S and GT flips on binary frames (module docstring); the method ``spike_grad``, its
    parameters ``conf/method/spike_grad.yaml``'s keys."""

    def __init__(
        self, model: nn.Module, eps: float = 0.0, n_iter: int = 50, trigger_rate: float = 0.01
    ) -> None:
        super().__init__("SpikeGrad", model)
        self.n_iter, self.trigger_rate = n_iter, trigger_rate
        self.supported_mode = ["default"]

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x0 = images.clone().detach().to(self.device)
        y = labels.clone().detach().to(self.device)
        x = x0.clone()
        with torch.no_grad():
            active = self.get_logits(x0).argmax(1) == y
        success = torch.zeros_like(active)
        for _ in range(self.n_iter):
            idx = active.nonzero().squeeze(1)
            if not len(idx):
                break
            current = x[idx].clone().requires_grad_(True)
            loss = nn.functional.cross_entropy(self.get_logits(current), y[idx], reduction="sum")
            g = torch.autograd.grad(loss, current)[0].flatten(1)
            top = g.abs().amax(1, keepdim=True)
            drawn = torch.rand_like(g) < g.abs() / top.clamp(min=torch.finfo(g.dtype).tiny)
            step = g.sign() * drawn
            flat = current.detach().flatten(1)
            flip = ((flat == 0) & (step > 0)) | ((flat == 1) & (step < 0))
            vanished = (top == 0).expand_as(flip)  # the gradient trigger
            flip = torch.where(vanished, torch.rand_like(g) < self.trigger_rate, flip)
            x[idx] = torch.where(flip, 1.0 - flat, flat).view_as(current)
            with torch.no_grad():
                fooled = self.get_logits(x[idx]).argmax(1) != y[idx]
            active[idx[fooled]] = False
            success[idx[fooled]] = True
        return torch.where(success.view(-1, *[1] * (x.dim() - 1)), x, x0)
