"""SpikeFool's universal perturbation (Büchel et al. 2022; jubueche/SPAA, ``sparsefool.py``,
``universal_attack`` with ``Heatmap`` or ``RandomEviction``): ONE set of bit flips fitted on
held-out binary frames, then applied as it is to every test sample.

Threat model: binary frames; the perturbation is a set of at most ``max_hamming_distance``
bits (pixel, polarity, bin) flipped in every sample (an event inserted where there was none,
deleted where there was one). Fitting (:mod:`snnattack.attacks.universal`: on the validation
batch, never on test data), as the reference: the heat map counts, per bit, how many of the
clean-correct samples' own SpikeFool examples (:class:`~.sparsefool.SparseFool`, batched, the
parameters below, no Hamming budget: the reference's ``max_hamming_distance=int(1e6)``) flip
it. The set starts empty; in each of ``rounds`` passes over the batch, one sample at a time,
a sample that the current set does not fool is attacked by SpikeFool from its flipped
frames, its flips are added to the set, and the set is cut back to ``max_hamming_distance``
bits: the hottest ones (``eviction: heatmap``, ties to the later bit, as the reference's
reversed stable sort) or a uniform draw of the bits to drop (``eviction: random``). After
each pass the set's success rate over the whole batch is measured, and the set of the best
rate is kept (the first on ties).

Applied to a test batch: every sample's bits of the set are flipped; a sample succeeds when
its flipped frames are no longer predicted as its label; a failure keeps its clean input.
Difference from the reference: its per-sample SpikeFool hands back its last raster even when
it did not fool the model, whose flips then join the set; here such a sample adds none.
"""

from __future__ import annotations

import torch
from torch import nn

from snnattack.attacks.methods.base import UniversalAttack, refuse_empty, register
from snnattack.attacks.methods.sparsefool import SparseFool

EVICTIONS = ("heatmap", "random")
UNBOUNDED = 10**6  # the per-sample attack's Hamming budget (the reference's int(1e6))


def flipped(x: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
    """``x`` (binary frames) with the bits of ``flips`` (one sample's shape, 0/1) flipped."""
    return torch.where(flips.bool(), 1.0 - x, x)


@register("sparsefool_universal", order=81.5, events=("binary",))
class UniversalSparseFool(UniversalAttack):
    """SpikeFool's universal perturbation (module docstring); the method
    ``sparsefool_universal``, its parameters ``conf/method/sparsefool_universal.yaml``'s
    keys."""

    def __init__(
        self,
        model: nn.Module,
        eps: float = 0.0,
        max_hamming_distance: int = 1000,
        rounds: int = 3,
        eviction: str = "heatmap",
        lam: float = 2.0,
        max_iter: int = 20,
        overshoot: float = 0.02,
        step_size: float = 0.2,
        max_iter_deep_fool: int = 50,
        fitted: dict[str, torch.Tensor] | None = None,
    ) -> None:
        super().__init__("UniversalSparseFool", model, fitted)
        self.max_hamming_distance, self.rounds, self.eviction = (
            max_hamming_distance,
            rounds,
            eviction,
        )
        self.sparsefool = SparseFool(
            model,
            max_hamming_distance=UNBOUNDED,
            lam=lam,
            max_iter=max_iter,
            overshoot=overshoot,
            step_size=step_size,
            max_iter_deep_fool=max_iter_deep_fool,
        )

    def _predict(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.get_logits(x).argmax(1)

    def _evict(self, flips: torch.Tensor, heat: torch.Tensor) -> torch.Tensor:
        """``flips`` cut back to ``max_hamming_distance`` bits (the reference's ``evict``)."""
        flat = flips.flatten()
        over = int(flat.sum()) - self.max_hamming_distance
        if over <= 0:
            return flips
        on = flat.nonzero().squeeze(1)
        if self.eviction == "random":
            drop = on[torch.ones(len(on), device=on.device).multinomial(over)]
            return flat.index_fill(0, drop, 0.0).view_as(flips)
        # hottest first; among equal heat the later bit first (a reversed stable sort)
        rank = heat.flatten()[on] * heat.numel() + on.to(heat.dtype)
        keep = on[rank.topk(self.max_hamming_distance).indices]
        return torch.zeros_like(flat).index_fill(0, keep, 1.0).view_as(flips)

    def fit(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        x, y = x.to(self.device), y.to(self.device)
        correct = self._predict(x) == y
        refuse_empty(correct, "clean-correct")
        heat = (self.sparsefool(x[correct], y[correct]) != x[correct]).sum(0).float()
        flips = torch.zeros_like(x[0])
        best, best_rate = flips, 0.0
        for _ in range(self.rounds):
            for i in range(len(x)):
                xi = flipped(x[i : i + 1], flips)
                if self._predict(xi) == y[i]:
                    adv = self.sparsefool(xi, y[i : i + 1])
                    flips = self._evict(flips.logical_or((adv != xi)[0]).float(), heat)
            rate = float((self._predict(flipped(x, flips)) != y).float().mean())
            if rate > best_rate:
                best, best_rate = flips, rate
        return {"flips": best}

    def apply(
        self, x: torch.Tensor, y: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        adv = flipped(x, state["flips"])
        won = (self._predict(adv) != y) & (self._predict(x) == y)
        return torch.where(won.view(-1, *[1] * (x.dim() - 1)), adv, x)
