"""The Square attack (Andriushchenko et al. 2020): score-based and gradient-free, it only
queries the model's outputs, so no gradient mode applies (recorded as ``none``)."""

from __future__ import annotations

import torchattacks
from torch import nn

from snnattack.attacks.methods.base import register


@register("square", order=70, gradient_free=True)
def square(
    model: nn.Module,
    eps: float,
    n_queries: int = 1000,
    n_restarts: int = 1,
    p_init: float = 0.8,
    seed: int = 0,
) -> torchattacks.Attack:
    """Square attack (Andriushchenko et al. 2020): random square updates, outputs only."""
    return torchattacks.Square(
        model,
        norm="Linf",
        eps=eps,
        n_queries=n_queries,
        n_restarts=n_restarts,
        p_init=p_init,
        seed=seed,
    )
