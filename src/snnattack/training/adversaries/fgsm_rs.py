"""``fgsm_rs``: FGSM from a uniform random start in the ε-ball, step ``alpha`` (null =
1.25 ε), projected back (Wong, Rice & Kolter, *Fast is better than free*, ICLR 2020)."""

from __future__ import annotations

from typing import Any

from snnattack.training.adversaries.base import Method, register

FGSM_RS_STEP = 1.25  # alpha = this * eps when alpha is null (Wong et al. 2020)


@register
class FGSMRS(Method):
    """FGSM with a random start; crafted on the batch's statistics, as Wong et al."""

    name, order, reads, bn, one_step = "fgsm_rs", 20, ("alpha",), "train", True

    def default_step(self, adversary: Any, eps: float) -> float:
        return FGSM_RS_STEP * eps
