"""``trades``: the inner maximisation of KL(f(x) ‖ f(x')) from x + 0.001·N(0, 1), not clipped
to the pixel range before the first gradient (as ``trades.py``), then the loss
CE(f(x), y) + β · KL(f(x) ‖ f(x')) (Zhang et al., ICML 2019; ``beta`` = 1/λ, 6 there)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from snnattack.training.adversaries.base import Method, Recipe, kl_divergence, register

TRADES_START = 0.001  # std of TRADES' Gaussian start (its reference code)


@register
class TRADES(Method):
    """TRADES; crafted in eval mode, as its reference (``model.eval()`` before its loop)."""

    name, order, reads = "trades", 40, ("alpha", "steps", "beta")

    def start(
        self, model: nn.Module, x: torch.Tensor, eps: float, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, Any]:
        with torch.no_grad():
            clean = F.softmax(model(x), dim=1)
        # not clipped to [0, 1] before the first gradient, as trades.py
        return x + TRADES_START * torch.empty_like(x).normal_(generator=generator), clean

    def step_loss(self, logits: torch.Tensor, y: torch.Tensor, target: Any) -> torch.Tensor:
        return kl_divergence(logits, target)

    def loss(
        self,
        adversary: Recipe,
        model: nn.Module,
        x: torch.Tensor,
        adv: torch.Tensor,
        y: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """CE on the clean images + β · KL(f(x) ‖ f(x')) (the clean logits logged)."""
        clean = model(x)
        robust = kl_divergence(model(adv), F.softmax(clean, dim=1))
        return F.cross_entropy(clean, y) + adversary.beta * robust, clean
