"""``fgsm``: one signed-gradient step of size ε from the clean image (the SNN-RAT reference,
``putshua/SNN-RAT``, trains with it at ε = 2/255)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from snnattack.training.adversaries.base import Method, register


@register
class FGSM(Method):
    """FGSM from the clean image, α = ε; crafted in eval mode, as SNN-RAT."""

    name, order, one_step = "fgsm", 10, True

    def step_size(self, adversary: Any, eps: float) -> float:
        return eps

    def start(
        self, model: nn.Module, x: torch.Tensor, eps: float, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, Any]:
        return x.clone(), None
