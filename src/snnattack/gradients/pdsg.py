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

An infinite membrane (a current of -inf or +inf, :mod:`snnattack.snn.reset`) is left out of
the spread: a spread with it is infinite or NaN, and would make every slope of its channel NaN.
The spread is that of the finite membranes, which keep the Gaussian they would have without
the infinite one beside them, and the infinite membrane's own slope is the Gaussian's 0 at
``v = -inf`` or ``+inf``, the 0 every other surrogate gives so far from the threshold. A
channel with all membranes finite gets the same bits as without this rule. A spread beyond
the dtype's range (huge finite membranes whose squares or sum overflow) is infinite: its Gaussian is
flat, the slope 0 at every membrane of the channel, the limit of ever wider ones.

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
from snnattack.snn.surrogates import Surrogate, finite_entries
from snnattack.values import one_of

POOLS = ("sample", "batch")  # whose membranes sigma pools (the module docstring)


class PotentialDependent(Surrogate):
    """Gaussian slope of mean ``sigma / 2`` and width ``sigma``, the membrane's spread so far.

    The count, mean and sum of squared deviations of the finite membranes of the steps seen,
    per sample (``pool: sample``) or over the batch (``pool: batch``) and per channel, are
    merged step by step (Chan et al.'s pairwise update), so no step's membrane is kept.
    """

    name = "pdsg"

    def __init__(self, pool: str = "sample") -> None:
        self.pool = pool

    def start(self, recording: bool) -> None:
        self._stats: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def observe(self, v: torch.Tensor, t: int) -> torch.Tensor:
        # the positions after the channel (or unit) dimension 1, and the batch if pooled
        dims = [*([0] if self.pool == "batch" else []), *range(2, v.dim())]
        n_b, mean_b, m2_b = finite_moments(v, dims)
        if self._stats is None:
            n, mean, m2 = n_b, mean_b, m2_b
        else:
            n_a, mean_a, m2_a = self._stats
            n = n_a + n_b
            some = n.clamp(min=1)  # no finite membrane yet: the shares are 0, not 0 / 0
            delta = mean_b - mean_a
            mean = mean_a + delta * (n_b / some).to(v.dtype)
            m2 = m2_a + m2_b + delta.square() * (n_a * n_b / some).to(v.dtype)
        self._stats = (n, mean, m2)
        # a spread beyond the dtype's range is inf: m2 overflowed, or inf - inf made it NaN
        sigma = (m2 / (n - 1).clamp(min=1).to(v.dtype)).sqrt().nan_to_num_(math.inf, math.inf)
        return torch.where((n > 1) & (sigma > 0), sigma, torch.ones_like(sigma))

    def grad(self, grad: torch.Tensor, v: torch.Tensor, seen: Any = None) -> torch.Tensor:
        sigma = seen
        # an infinite spread's Gaussian is flat: its exponential taken at a width of 1 (not
        # inf / inf), over sqrt(2 pi) inf, gives the slope 0 at every membrane
        width = sigma.where(sigma.isfinite(), 1.0)
        slope = torch.exp(-(((v - 0.5 * width) / (math.sqrt(2) * width)) ** 2))
        return grad * slope / (math.sqrt(2 * math.pi) * sigma)


def finite_moments(
    v: torch.Tensor, dims: list[int]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The count (float64), mean and sum of squared deviations of the finite entries of ``v``
    over ``dims``, kept dimensions; an entry of ``dims`` [] is its own group (a reduction over
    no dimension would take them all). A group without a finite entry has the count 0, the
    mean 0 and the sum 0. The count is summed in float32 at least (float64 for float64): exact
    up to 2**24 entries, without a float64 copy of a float32 ``v``."""
    finite, kept = finite_entries(v)
    if not dims:
        return finite.to(torch.float64), kept, torch.zeros_like(v)
    at_least = torch.promote_types(v.dtype, torch.float32)
    n = finite.sum(dims, keepdim=True, dtype=at_least).to(torch.float64)
    # the mean with the infinite entries as 0, times total / n: 1 where every entry is finite,
    # so such a group gets torch's mean of v, bit for bit on every device
    total = math.prod(v.shape[d] for d in dims)
    mean = kept.mean(dims, keepdim=True) * (total / n.clamp(min=1)).to(v.dtype)
    return n, mean, ((kept - mean) * finite).square().sum(dims, keepdim=True)


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
