"""Adversarial attacks built from config on top of torchattacks (L-infinity, [0, 1] pixels).

``eps`` and ``alpha`` are given here in [0, 1] units; configs write them in units of 1/255.
"""

from __future__ import annotations

import torchattacks
from torch import nn

from snnattack.errors import ConfigError


def _fgsm(model: nn.Module, eps: float) -> torchattacks.Attack:
    return torchattacks.FGSM(model, eps=eps)


def _pgd(
    model: nn.Module,
    eps: float,
    steps: int = 7,
    alpha: float | None = None,
    eps_per_alpha: float = 3.1,
    random_start: bool = True,
) -> torchattacks.Attack:
    """PGD; ``alpha=None`` takes ``eps / eps_per_alpha`` so every eps-ball's edge is reached."""
    if alpha is None:
        alpha = eps / eps_per_alpha
    return torchattacks.PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=random_start)


METHODS = {"fgsm": _fgsm, "pgd": _pgd}


def build_attack(method: str, model: nn.Module, eps: float, **params) -> torchattacks.Attack:
    """The attack ``method`` on ``model`` with radius ``eps`` and the method's ``params``."""
    if method not in METHODS:
        raise ConfigError(f"method={method!r} is unknown; accepted: {sorted(METHODS)}")
    try:
        return METHODS[method](model, eps, **params)
    except TypeError as err:
        raise ConfigError(f"method.{method}: {err}") from None
