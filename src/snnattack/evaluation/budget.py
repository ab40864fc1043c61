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

An attack that only moves events in time (``@register(..., retimes=True)``: ``retime``) keeps
every line's count (a line: one polarity and pixel over the T bins), so it inserts as many
events as it deletes; its L0 counts each move twice (the event leaves one bin and arrives in
another). Its row also reports, in ``retiming`` (:func:`sample_moves`), per success the events
moved (``sum(max(adv - x, 0))``, the events that arrive in a bin they were not in), their share
of the sample's events, and the total delay: per line the least total shift that turns ``x``
into ``adv`` (the 1-D earth mover's distance, ``sum_t |cumsum_t(adv - x)|``, in event-bins),
summed over lines. Both are the least any retiming needs, so at most what the attack spent
(its budget B0 counts spikes moved, B1 their shifts). Means, medians, the share of successes
with at most each of ``attack.l0_thresholds`` events moved and event-bins of delay, and the
histograms that give ASR against either budget. An ensemble of retiming components only
(``attacks.parse.retimes_events``) keeps a retiming per sample: its row has them too, of the
examples it kept.

An attack on the raw recordings (``@register(..., recordings=True)``: ``gsattack``) changes
events of the recording, which several may share one bit of a frame; its row also reports,
in ``recording``, per success the recording's events inserted, deleted and flipped in polarity
and their sum, the events changed (the GSAttack paper's L0), with their share of the clean
recording's events, the share of successes with at most each threshold and the histogram.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torchmetrics import Metric


def _joined(parts: Any) -> torch.Tensor:
    """A list state's values as one tensor (torchmetrics hands a synced one back joined)."""
    if isinstance(parts, torch.Tensor):
        return parts
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64)


def _mean(values: torch.Tensor) -> float:
    """The mean of ``values``, their sum correctly rounded (``math.fsum``): the same whatever
    their order. Under DDP a row's values are gathered rank after rank (rank 0's batches, then
    rank 1's), not in the test split's order, and a float sum (a share of a sample's events)
    took its last bits from that order."""
    return math.fsum(values.tolist()) / len(values)


def _median(values: torch.Tensor) -> float:
    return float(values.median()) if len(values) % 2 else float(values.quantile(0.5))


def _within(values: torch.Tensor, thresholds: tuple[int, ...]) -> dict[str, float | None]:
    """``{threshold: % of values <= it}`` (None each where there are no values)."""
    if not len(values):
        return {str(t): None for t in thresholds}
    return {str(t): 100.0 * float((values <= t).double().mean()) for t in thresholds}


class EventBudget(Metric):
    """Events inserted and deleted per fooled sample, and for a retiming attack (``retimes``)
    the events moved, their share and the total delay; gathered over every process."""

    full_state_update = False

    def __init__(self, retimes: bool = False, recordings: bool = False) -> None:
        super().__init__()
        self.retimes, self.recordings = retimes, recordings
        self.add_state("inserted", default=[], dist_reduce_fx="cat")
        self.add_state("deleted", default=[], dist_reduce_fx="cat")
        if retimes:
            for name in ("moved", "share", "delay"):
                self.add_state(name, default=[], dist_reduce_fx="cat")
        if recordings:
            self.add_state("recorded", default=[], dist_reduce_fx="cat")
        self.set_dtype(torch.float64)  # see WorstL0

    def update(
        self,
        fooled: torch.Tensor,
        delta: torch.Tensor,
        clean: torch.Tensor | None = None,
        changes: torch.Tensor | None = None,
    ) -> None:
        """``delta = adv - clean`` of a batch ``[B, T, ...]`` and which samples it fooled
        (``clean``: the clean frames, which a retiming attack's share of events moved needs;
        ``changes``: an attack on the recordings' ``[B, 4]`` events inserted, deleted, flipped
        and the clean recording's events, ``RecordedBatch.changes``)."""
        flat = delta[fooled].flatten(1).double()
        self.inserted.append(flat.clamp(min=0).sum(1))
        self.deleted.append((-flat).clamp(min=0).sum(1))
        if self.recordings:
            if changes is None:
                raise ValueError("an attack on the recordings reports what it changed")
            # flat (one row of 4 after another): an empty rank's state is flat too under DDP
            self.recorded.append(changes[fooled.cpu()].to(delta.device).double().flatten())
        if self.retimes:
            if clean is None:
                raise ValueError("a retiming attack's budget needs the clean frames")
            moved, delay = sample_moves(delta[fooled])
            events = clean[fooled].flatten(1).double().sum(1)
            self.moved.append(moved)
            self.delay.append(delay)
            self.share.append(100.0 * moved / events.clamp(min=1))

    def compute(self) -> dict[str, torch.Tensor]:
        names = ("inserted", "deleted", *(("moved", "share", "delay") if self.retimes else ()))
        names += ("recorded",) if self.recordings else ()
        return {name: _joined(getattr(self, name)) for name in names}

    def summary(self, thresholds: tuple[int, ...]) -> dict[str, Any]:
        """The row's fields: ``l0_mean``, ``l0_median``, ``inserted_mean``, ``deleted_mean``,
        ``l0_under`` (``{threshold: % of successes with L0 < threshold}``) and ``l0_hist``
        (:func:`l0_histogram`); None where nothing was fooled. A retiming attack's also
        ``retiming`` (:meth:`retiming`)."""
        # torchmetrics squeezes one success to a 0-d tensor: 1-d again
        counts = {name: values.reshape(-1) for name, values in self.compute().items()}
        inserted, deleted = counts["inserted"], counts["deleted"]
        l0 = inserted + deleted
        extra = {"retiming": self.retiming(counts, thresholds)} if self.retimes else {}
        if self.recordings:
            extra["recording"] = recording_summary(counts["recorded"].reshape(-1, 4), thresholds)
        if not len(l0):
            return {"l0_under": {str(t): None for t in thresholds}, "l0_hist": {}, **extra}
        return {
            "l0_hist": l0_histogram(l0),
            "l0_mean": _mean(l0),
            "l0_median": _median(l0),
            "inserted_mean": _mean(inserted),
            "deleted_mean": _mean(deleted),
            "l0_under": {str(t): 100.0 * float((l0 < t).double().mean()) for t in thresholds},
            **extra,
        }

    @staticmethod
    def retiming(counts: dict[str, torch.Tensor], thresholds: tuple[int, ...]) -> dict[str, Any]:
        """The row's ``retiming``: ``moved_mean``, ``moved_median``, ``moved_share_mean`` (% of
        a sample's events), ``delay_mean``, ``delay_median``, ``moved_within`` and
        ``delay_within`` (``{threshold: % of successes with at most that many}``),
        ``moved_hist`` and ``delay_hist`` (successes per value); the means, medians and shares
        None (the keys kept, as the row's ``l0_mean``) where nothing was fooled."""
        moved, share, delay = counts["moved"], counts["share"], counts["delay"]
        within = {
            "moved_within": _within(moved, thresholds),
            "delay_within": _within(delay, thresholds),
        }
        if not len(moved):
            means = ("moved_mean", "moved_median", "moved_share_mean", "delay_mean", "delay_median")
            return {**dict.fromkeys(means), **within, "moved_hist": {}, "delay_hist": {}}
        return {
            "moved_mean": _mean(moved),
            "moved_median": _median(moved),
            "moved_share_mean": _mean(share),
            "delay_mean": _mean(delay),
            "delay_median": _median(delay),
            **within,
            "moved_hist": l0_histogram(moved),
            "delay_hist": l0_histogram(delay),
        }


def recording_summary(changes: torch.Tensor, thresholds: tuple[int, ...]) -> dict[str, Any]:
    """A raw-event attack's ``recording`` field from its successes' ``[n, 4]`` events
    inserted, deleted, flipped and clean events: ``changed_mean``, ``changed_median``,
    ``changed_share_mean`` (% of the recording's events), ``inserted_mean``,
    ``deleted_mean``, ``flipped_mean``, ``changed_within`` (``{threshold: % of successes
    with at most that many}``) and ``changed_hist``; the means and the median None (the keys
    kept, as the row's ``l0_mean``) where none succeeded."""
    changed = changes[:, :3].sum(1)
    if not len(changed):
        means = ("changed_mean", "changed_median", "changed_share_mean")
        means += ("inserted_mean", "deleted_mean", "flipped_mean")
        return {
            **dict.fromkeys(means),
            "changed_within": _within(changed, thresholds),
            "changed_hist": {},
        }
    inserted, deleted, flipped, events = changes.unbind(1)
    return {
        "changed_mean": _mean(changed),
        "changed_median": _median(changed),
        "changed_share_mean": _mean(100.0 * changed / events.clamp(min=1)),
        "inserted_mean": _mean(inserted),
        "deleted_mean": _mean(deleted),
        "flipped_mean": _mean(flipped),
        "changed_within": _within(changed, thresholds),
        "changed_hist": l0_histogram(changed),
    }


def sample_moves(delta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per sample of a retiming's ``delta = adv - x`` (``[B, T, ...]``, every line's count
    kept): the events moved and the total delay in event-bins (the least that any retiming
    turning ``x`` into ``adv`` spends: per line the 1-D earth mover's distance)."""
    flat = delta.double()
    moved = flat.clamp(min=0).flatten(1).sum(1)
    delay = flat.cumsum(1).abs().flatten(1).sum(1)
    return moved, delay


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
        # a DDP rank without a batch (data.base's padding) sends torchmetrics' empty state in
        # the metric's dtype: float64 as the other ranks' values, or gloo/NCCL sizes mismatch
        self.set_dtype(torch.float64)

    def update(self, l0: torch.Tensor) -> None:
        """``l0``: per sample of a batch, its least L0 over the attacks (inf: none fooled it)."""
        self.l0.append(l0[torch.isfinite(l0)].double())

    def compute(self) -> torch.Tensor:
        """The fewest events per sample that some attack fooled."""
        return _joined(self.l0)

    def summary(self, methods: list[str], n_correct: int) -> dict[str, Any]:
        """The worst case's record: the attacks it takes the minimum over, the clean-correct
        samples, its ASR (any budget) and its ``l0_hist``."""
        l0 = self.compute().reshape(-1)  # one sample broken: torchmetrics gives it 0-d
        return {
            "methods": methods,
            "n_correct": n_correct,
            "asr": 100.0 * len(l0) / n_correct if n_correct else float("nan"),
            "l0_hist": l0_histogram(l0),  # {} where none was broken
        }
