"""Adversarial attacks built from config on top of torchattacks (L-infinity, [0, 1] pixels).

``eps`` and ``alpha`` are given here in [0, 1] units; configs write them in units of 1/255.
Each method is one module of this package registered in :data:`METHODS`
(:mod:`snnattack.attacks.methods.base`), and one ``conf/method/<name>.yaml``; this package
imports every module, so a new method is its module and its config file:

- ``fgsm``, ``pgd``, ``bim``, ``mifgsm``: the gradient attacks; ``alpha=None`` takes
  ``eps / eps_per_alpha``.
- ``apgd``: APGD (Croce & Hein 2020) with the cross-entropy (``loss: ce``, APGD-CE) or the
  difference-of-logits-ratio loss (``loss: dlr``, APGD-DLR; ``conf/method/apgd_dlr.yaml``).
- ``sapgd``: SA-PGD (Wang et al. 2025), PGD with L1-normalised momentum and adaptive, clipped
  steps (:mod:`snnattack.attacks.methods.sapgd`).
- ``square``: the Square attack, score-based and gradient-free (:data:`GRADIENT_FREE`): it
  only queries the model's outputs, so no gradient mode applies (recorded as ``none``).
- ``autoattack``: the standard L-infinity AutoAttack (APGD-CE, APGD-T, FAB-T, Square).
- ``sda``: the Sparse Dynamic Attack on binary event frames, fewest bit flips
  (:mod:`snnattack.attacks.methods.sda`; no radius: one row per box at eps 0).
- ``sparsefool``, ``spike_grad``, ``event_patch``, ``gsattack_frames``: SpikeFool under a
  Hamming budget, the spike-compatible gradient flips, the AE-Patch event patch, GSAttack's
  Gumbel-softmax draws, on binary event frames; ``gsattack``: GSAttack on the raw recordings;
  ``retime``: Spike-Retiming (their modules; no radius either; docs/event_attacks.md).

Expectation over transformation (``attack.eot_samples=n``, for stochastic inputs such as
Poisson spikes): each step averages the loss gradients of ``n`` independent forward passes.
FGSM, PGD and BIM then run as torchattacks' EOT-PGD (FGSM = one step of size eps from the
clean image, BIM = PGD without random start: the same updates), APGD with its ``eot_iter``
and SA-PGD with its ``eot_samples``.
"""

from __future__ import annotations

import torchattacks
from torch import nn

from snnattack.attacks.methods.base import METHODS, Method, register
from snnattack.errors import ConfigError
from snnattack.registry import discover
from snnattack.values import accepted_params, member_of

discover(__name__, __path__)

# the methods declared gradient-free at their registration
GRADIENT_FREE = frozenset(name for name, method in METHODS.items() if method.gradient_free)
# the parameters some method takes (``method.<m>.<name>``; a method's make: model, eps first)
METHOD_PARAMS = frozenset(p for method in METHODS.values() for p in accepted_params(method.make, 2))

__all__ = [
    "GRADIENT_FREE",
    "METHODS",
    "METHOD_PARAMS",
    "Method",
    "build_attack",
    "is_event_attack",
    "reads_recordings",
    "register",
    "takes_eot",
]


def is_event_attack(method: str) -> bool:
    """Whether ``method`` is a registered attack on event frames (its rows count events)."""
    return method in METHODS and bool(METHODS[method].events)


def reads_recordings(method: str) -> bool:
    """Whether ``method`` is a registered attack on the raw recordings (``gsattack``)."""
    return method in METHODS and METHODS[method].recordings


def takes_eot(method: str) -> bool:
    """Whether ``method`` can average gradients over several draws (``attack.eot_samples``)."""
    return METHODS[method].takes_eot


def build_attack(
    method: str, model: nn.Module, eps: float, eot_samples: int = 1, **params
) -> torchattacks.Attack:
    """The attack ``method`` on ``model`` with radius ``eps`` and the method's ``params``."""
    member_of(METHODS).check("method", method)
    if eot_samples > 1:
        if not takes_eot(method):
            accepted = ", ".join(m for m in METHODS if takes_eot(m))
            raise ConfigError(
                f"attack.eot_samples={eot_samples} does not apply to "
                f"method={method}; accepted: 1, or the methods {accepted}"
            )
        params["eot_samples"] = eot_samples
    try:
        return METHODS[method].make(model, eps, **params)
    except TypeError as err:
        raise ConfigError(f"method.{method}: {err}") from None
