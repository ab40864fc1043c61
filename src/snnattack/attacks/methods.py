"""Adversarial attacks built from config on top of torchattacks (L-infinity, [0, 1] pixels).

``eps`` and ``alpha`` are given here in [0, 1] units; configs write them in units of 1/255.
Each method is one function in :data:`METHODS` and one ``conf/method/<name>.yaml``.

- ``fgsm``, ``pgd``, ``bim``, ``mifgsm``: the gradient attacks; ``alpha=None`` takes
  ``eps / eps_per_alpha``.
- ``apgd``: APGD (Croce & Hein 2020) with the cross-entropy (``loss: ce``, APGD-CE) or the
  difference-of-logits-ratio loss (``loss: dlr``, APGD-DLR; ``conf/method/apgd_dlr.yaml``).
- ``sapgd``: SA-PGD (Wang et al. 2025), PGD with L1-normalised momentum and adaptive, clipped
  steps (:mod:`snnattack.attacks.sapgd`).
- ``square``: the Square attack, score-based and gradient-free (:data:`GRADIENT_FREE`): it
  only queries the model's outputs, so no gradient mode applies (recorded as ``none``).
- ``autoattack``: the standard L-infinity AutoAttack (APGD-CE, APGD-T, FAB-T, Square).

Expectation over transformation (``attack.eot_samples=n``, for stochastic inputs such as
Poisson spikes): each step averages the loss gradients of ``n`` independent forward passes.
FGSM, PGD and BIM then run as torchattacks' EOT-PGD (FGSM = one step of size eps from the
clean image, BIM = PGD without random start: the same updates), APGD and SA-PGD with their
``eot_iter``.
"""

from __future__ import annotations

import inspect

import torchattacks
from torch import nn

from snnattack.attacks.sapgd import SAPGD
from snnattack.errors import ConfigError
from snnattack.gradients.base import restart_surrogates

GRADIENT_FREE = frozenset({"square"})


def _step(eps: float, alpha: float | None, eps_per_alpha: float) -> float:
    return eps / eps_per_alpha if alpha is None else alpha


def _fgsm(model: nn.Module, eps: float, eot_samples: int = 1) -> torchattacks.Attack:
    if eot_samples > 1:
        return torchattacks.EOTPGD(
            model, eps=eps, alpha=eps, steps=1, eot_iter=eot_samples, random_start=False
        )
    return torchattacks.FGSM(model, eps=eps)


def _pgd(
    model: nn.Module,
    eps: float,
    steps: int = 7,
    alpha: float | None = None,
    eps_per_alpha: float = 3.1,
    random_start: bool = True,
    eot_samples: int = 1,
) -> torchattacks.Attack:
    """PGD; ``alpha=None`` takes ``eps / eps_per_alpha`` so every eps-ball's edge is reached."""
    alpha = _step(eps, alpha, eps_per_alpha)
    if eot_samples > 1:
        return torchattacks.EOTPGD(
            model,
            eps=eps,
            alpha=alpha,
            steps=steps,
            eot_iter=eot_samples,
            random_start=random_start,
        )
    return torchattacks.PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=random_start)


def _bim(
    model: nn.Module,
    eps: float,
    steps: int = 7,
    alpha: float | None = None,
    eps_per_alpha: float = 3.1,
    eot_samples: int = 1,
) -> torchattacks.Attack:
    """Basic iterative method: PGD from the clean image."""
    return _pgd(
        model, eps, steps, alpha, eps_per_alpha, random_start=False, eot_samples=eot_samples
    )


def _mifgsm(
    model: nn.Module,
    eps: float,
    steps: int = 7,
    alpha: float | None = None,
    eps_per_alpha: float = 3.1,
    decay: float = 1.0,
) -> torchattacks.Attack:
    """Momentum iterative FGSM (Dong et al. 2018)."""
    alpha = _step(eps, alpha, eps_per_alpha)
    return torchattacks.MIFGSM(model, eps=eps, alpha=alpha, steps=steps, decay=decay)


def _check_loss(method: str, loss: str) -> None:
    """Refuses a loss the adaptive PGD attacks do not have (they take CE or DLR)."""
    if loss not in ("ce", "dlr"):
        raise ConfigError(f"method.{method}.loss={loss!r} is unknown; accepted: ce, dlr")


class _APGD(torchattacks.APGD):
    """torchattacks' APGD whose every restart starts the gradient mode's state kept over
    passes (ASSG's moments) afresh, as the ASSG reference's ``ASSG_APGD`` does."""

    def attack_single_run(self, x_in, y_in):
        restart_surrogates(self.model)
        return super().attack_single_run(x_in, y_in)


def _apgd(
    model: nn.Module,
    eps: float,
    steps: int = 10,
    n_restarts: int = 1,
    loss: str = "ce",
    rho: float = 0.75,
    seed: int = 0,
    eot_samples: int = 1,
) -> torchattacks.Attack:
    """APGD-CE (``loss="ce"``) or APGD-DLR (``loss="dlr"``)."""
    _check_loss("apgd", loss)
    return _APGD(
        model,
        norm="Linf",
        eps=eps,
        steps=steps,
        n_restarts=n_restarts,
        seed=seed,
        loss=loss,
        eot_iter=eot_samples,
        rho=rho,
    )


def _sapgd(
    model: nn.Module,
    eps: float,
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
) -> torchattacks.Attack:
    """SA-PGD (Wang et al. 2025) with the CE or DLR loss."""
    _check_loss("sapgd", loss)
    return SAPGD(
        model,
        eps=eps,
        steps=steps,
        n_restarts=n_restarts,
        loss=loss,
        momentum=momentum,
        second_moment=second_moment,
        first_halving=first_halving,
        halving_shrink=halving_shrink,
        min_halving=min_halving,
        seed=seed,
        eot_iter=eot_samples,
    )


def _square(
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


def _autoattack(
    model: nn.Module, eps: float, n_classes: int = 10, seed: int = 0
) -> torchattacks.Attack:
    """Standard L-infinity AutoAttack (Croce & Hein 2020)."""
    return torchattacks.AutoAttack(
        model, norm="Linf", eps=eps, version="standard", n_classes=n_classes, seed=seed
    )


METHODS = {
    "fgsm": _fgsm,
    "pgd": _pgd,
    "bim": _bim,
    "mifgsm": _mifgsm,
    "apgd": _apgd,
    "sapgd": _sapgd,
    "square": _square,
    "autoattack": _autoattack,
}


def takes_eot(method: str) -> bool:
    """Whether ``method`` can average gradients over several draws (``attack.eot_samples``)."""
    return "eot_samples" in inspect.signature(METHODS[method]).parameters


def build_attack(
    method: str, model: nn.Module, eps: float, eot_samples: int = 1, **params
) -> torchattacks.Attack:
    """The attack ``method`` on ``model`` with radius ``eps`` and the method's ``params``."""
    if method not in METHODS:
        raise ConfigError(f"method={method!r} is unknown; accepted: {sorted(METHODS)}")
    if eot_samples > 1:
        if not takes_eot(method):
            accepted = ", ".join(m for m in METHODS if takes_eot(m))
            raise ConfigError(
                f"attack.eot_samples={eot_samples} does not apply to "
                f"method={method}; accepted: 1, or the methods {accepted}"
            )
        params["eot_samples"] = eot_samples
    try:
        return METHODS[method](model, eps, **params)
    except TypeError as err:
        raise ConfigError(f"method.{method}: {err}") from None
