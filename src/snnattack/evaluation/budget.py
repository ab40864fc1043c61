"""The budget an event attack used, per success, as the event-attack papers report it.

An event attack (``@register(..., events=...)``) changes whole events on binary or integer
frames, so its budget is counted in events, not as a norm: per sample fooled (clean-correct,
adversarially wrong), the events inserted (``sum(max(adv - x, 0))``), deleted
(``sum(max(x - adv, 0))``) and their sum, L0 (on binary frames, the bits flipped: the SDA
paper's L0). A row reports their means, L0's median, and the share of successes whose L0 lies
under each of ``attack.l0_thresholds`` (SDA reports L0 < 200 and < 800). Samples the attack
fails on do not count, as in the papers.
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
        """The row's fields: ``l0_mean``, ``l0_median``, ``inserted_mean``, ``deleted_mean``
        and ``l0_under`` (``{threshold: % of successes with L0 < threshold}``); None where
        nothing was fooled."""
        counts = self.compute()
        inserted, deleted = counts["inserted"], counts["deleted"]
        l0 = inserted + deleted
        if not len(l0):
            return {"l0_under": {str(t): None for t in thresholds}}
        return {
            "l0_mean": float(l0.mean()),
            "l0_median": float(l0.median()) if len(l0) % 2 else float(l0.quantile(0.5)),
            "inserted_mean": float(inserted.mean()),
            "deleted_mean": float(deleted.mean()),
            "l0_under": {str(t): 100.0 * float((l0 < t).double().mean()) for t in thresholds},
        }
