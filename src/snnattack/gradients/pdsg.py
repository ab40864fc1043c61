"""PDSG, the potential-dependent surrogate gradient (Lun et al., CVPR 2025, "Towards effective
and sparse adversarial attack on spiking neural networks via breaking invisible surrogate
gradients"; reference code ``ryime/PDSG-SDA``, ``utils/attack.py``).

Forward values unchanged. Backward: STBP whose spike slope is a Gaussian that follows the
spread of the membrane potential,

    g(v_t) = exp(-((v_t - sigma_t / 2) / (sqrt(2) sigma_t))**2) / (sqrt(2 pi) sigma_t),

with ``sigma_t`` the standard deviation (unbiased) of the membrane potential ``h`` over
steps ``1..t`` and every position, per channel (conv layers) or per unit (linear layers); a
zero or undefined spread (a single value) counts as 1. The spread of ``h`` equals that of
``v = h - theta``, which is what is accumulated.

``pool`` says whose membranes are pooled: ``sample`` (the default) each sample's own, so that
a sample's gradient never depends on the rest of its batch; it equals the reference run one
sample at a time, as its event attack (``SDA``, batches of one) runs it. ``batch`` pools over
the batch too, as the reference's ``PDSG.forward`` does (``v.std(dim=(0, 1, 3, 4))`` over
steps, batch and positions), which its image attacks (``FGSM``, ``PGD``) run on batches of
``--batch-size`` 256: a sample's gradient then depends on its batch and the batch size.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from snnattack.gradients.base import neuron_settings, register
from snnattack.snn.surrogates import Surrogate
from snnattack.values import one_of

POOLS = ("sample", "batch")  # whose membranes sigma pools (the module docstring)


class PotentialDependent(Surrogate):
    """Gaussian slope of mean ``sigma / 2`` and width ``sigma``, the membrane's spread so far.

    The count, mean and sum of squared deviations of the steps seen, per sample (``pool:
    sample``) or over the batch (``pool: batch``) and per channel, are merged step by step
    (Chan et al.'s pairwise update), so no step's membrane is kept.
    """

    name = "pdsg"

    def __init__(self, pool: str = "sample") -> None:
        self.pool = pool

    def start(self, recording: bool) -> None:
        self._stats: tuple[int, torch.Tensor, torch.Tensor] | None = None

    def observe(self, v: torch.Tensor, t: int) -> torch.Tensor:
        # the positions after the channel (or unit) dimension 1, and the batch if pooled
        dims = [*([0] if self.pool == "batch" else []), *range(2, v.dim())]
        n_b = math.prod(v.shape[d] for d in dims)
        # no dimension to pool (a sample's linear unit): the step is its own mean (a mean over
        # dims [] would reduce over all)
        mean_b = v.mean(dims, keepdim=True) if dims else v
        m2_b = (v - mean_b).square().sum(dims, keepdim=True) if dims else torch.zeros_like(v)
        if self._stats is None:
            n, mean, m2 = n_b, mean_b, m2_b
        else:
            n_a, mean_a, m2_a = self._stats
            n = n_a + n_b
            delta = mean_b - mean_a
            mean = mean_a + delta * (n_b / n)
            m2 = m2_a + m2_b + delta.square() * (n_a * n_b / n)
        self._stats = (n, mean, m2)
        if n < 2:
            return torch.ones_like(mean)
        sigma = (m2 / (n - 1)).sqrt()
        return torch.where(sigma > 0, sigma, torch.ones_like(sigma))

    def grad(self, grad: torch.Tensor, v: torch.Tensor, seen: Any = None) -> torch.Tensor:
        sigma = seen
        slope = torch.exp(-(((v - 0.5 * sigma) / (math.sqrt(2) * sigma)) ** 2))
        return grad * slope / (math.sqrt(2 * math.pi) * sigma)


@register(
    "pdsg",
    title="PDSG",
    order=60,
    per_step=True,
    fixed=True,
    compiles=False,  # its running statistics are Python state, read at every call
    pool=one_of(*POOLS),
)
def pdsg(model: nn.Module, pool: str = "sample"):
    return neuron_settings(model, surrogate=lambda _: PotentialDependent(pool))
