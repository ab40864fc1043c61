"""The budget an event attack used, per success, as the event-attack papers report it.

An event attack (``@register(..., events=...)``) changes whole events on binary or integer
frames, so its budget is counted in events, not as a norm: per sample fooled (clean-correct,
adversarially wrong), the events inserted (``sum(max(adv - x, 0))``), deleted
(``sum(max(x - adv, 0))``) and their sum, L0 (on binary frames, the bits flipped: the SDA
paper's L0). A row reports their means, L0's median, and the share of successes whose L0 lies
under each of ``attack.l0_thresholds`` (SDA reports L0 < 200 and < 800). Samples the attack
fails on do not count, as in the papers.

For the ASR-vs-budget curve a row also keeps ``l0_hist``, the number of successes at each L0
(:func:`l0_histogram`): the ASR at budget ``b`` is the share of clean-correct samples fooled
with ``L0 <= b`` (the report's ``snnattack.report.events``). The worst case over a job's
event attacks (:class:`WorstL0`) counts a sample as broken at ``b`` if any of them fooled it
with ``L0 <= b``, as the ensemble does for L-infinity at each radius.
"""

from __future__ import annotations

from typing import Any

import torch
from torchmetrics import Metric


class EventBudget(Metric):
    """Events inserted and deleted per fooled sample, gathered over every process."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("inserted", default=[], dist_reduce_fx="cat")
        self.add_state("deleted", default=[], dist_reduce_fx="cat")

    def update(self, fooled: torch.Tensor, delta: torch.Tensor) -> None:
        flat = delta[fooled].flatten(1).double()
        self.inserted.append(flat.clamp(min=0).sum(1))
        self.deleted.append((-flat).clamp(min=0).sum(1))

    def compute(self) -> dict[str, torch.Tensor]:
        def joined(parts: Any) -> torch.Tensor:
            if isinstance(parts, torch.Tensor):
                return parts
            return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64)

        return {"inserted": joined(self.inserted), "deleted": joined(self.deleted)}

    def summary(self, thresholds: tuple[int, ...]) -> dict[str, Any]:
        """The row's fields: ``l0_mean``, ``l0_median``, ``inserted_mean``, ``deleted_mean``,
        ``l0_under`` (``{threshold: % of successes with L0 < threshold}``) and ``l0_hist``
        (:func:`l0_histogram`); None where nothing was fooled."""
        counts = self.compute()  # torchmetrics squeezes one success to a 0-d tensor: 1-d again
        inserted, deleted = counts["inserted"].reshape(-1), counts["deleted"].reshape(-1)
        l0 = inserted + deleted
        if not len(l0):
            return {"l0_under": {str(t): None for t in thresholds}, "l0_hist": {}}
        return {
            "l0_hist": l0_histogram(l0),
            "l0_mean": float(l0.mean()),
            "l0_median": float(l0.median()) if len(l0) % 2 else float(l0.quantile(0.5)),
            "inserted_mean": float(inserted.mean()),
            "deleted_mean": float(deleted.mean()),
            "l0_under": {str(t): 100.0 * float((l0 < t).double().mean()) for t in thresholds},
        }


def sample_l0(delta: torch.Tensor) -> torch.Tensor:
    """Events changed per sample (inserted + deleted: ``sum |adv - x|``) of a batch's ``delta``."""
    return delta.flatten(1).double().abs().sum(1)


def l0_histogram(l0: torch.Tensor) -> dict[str, int]:
    """``{L0: successes}`` of the L0 values ``l0`` (one per success), L0 ascending; the keys
    are strings (JSON) of whole event counts."""
    values, counts = torch.unique(l0.round().long(), return_counts=True)
    return {str(int(v)): int(c) for v, c in zip(values, counts, strict=True)}


class WorstL0(Metric):
    """Per sample, the fewest events any of a job's event attacks (of one box) needed to fool
    it; samples none fooled are left out. Gathered over every process."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("l0", default=[], dist_reduce_fx="cat")

    def update(self, l0: torch.Tensor) -> None:
        """``l0``: per sample of a batch, its least L0 over the attacks (inf: none fooled it)."""
        self.l0.append(l0[torch.isfinite(l0)].double())

    def compute(self) -> torch.Tensor:
        """The fewest events per sample that some attack fooled."""
        parts = self.l0
        if isinstance(parts, torch.Tensor):
            return parts
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64)

    def summary(self, methods: list[str], n_correct: int) -> dict[str, Any]:
        """The worst case's record: the attacks it takes the minimum over, the clean-correct
        samples, its ASR (any budget) and its ``l0_hist``."""
        l0 = self.compute().reshape(-1)  # one sample broken: torchmetrics gives it 0-d
        hist = l0_histogram(l0) if len(l0) else {}
        return {
            "methods": methods,
            "n_correct": n_correct,
            "asr": 100.0 * len(l0) / n_correct if n_correct else float("nan"),
            "l0_hist": hist,
        }
