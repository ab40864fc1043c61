"""APGD (Croce & Hein 2020) with the cross-entropy (``loss: ce``, APGD-CE) or the
difference-of-logits-ratio loss (``loss: dlr``, APGD-DLR; ``conf/method/apgd_dlr.yaml``)."""

from __future__ import annotations

import torchattacks
from torch import nn

from snnattack.attacks.methods.base import check_loss, register
from snnattack.gradients.base import restart_surrogates


class _APGD(torchattacks.APGD):
    """torchattacks' APGD whose every restart starts the gradient mode's state kept over
    passes (ASSG's moments) afresh, as the ASSG reference's ``ASSG_APGD`` does."""

    def attack_single_run(self, x_in, y_in):
        restart_surrogates(self.model)
        return super().attack_single_run(x_in, y_in)


@register("apgd", order=50)
def apgd(
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
    check_loss("apgd", loss)
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
