"""The report's event-attack parts: ASR against the L0 budget per event attack and the worst
case over them (a figure and a table), and each attack's example as event frames.

An event attack's row keeps ``l0_hist``, its successes per L0 (``evaluation/budget.py``), and
the job's record keeps ``event_worst_case`` per box: the fewest events any event attack needed
per sample. The ASR at budget ``b`` is the share of clean-correct samples fooled with
``L0 <= b`` (:meth:`Curve.asr`). A retiming attack's row (``retime``) also keeps
``retiming``, its successes per events moved and per total delay, drawn the same way against
either budget (:func:`retime_budget_table`, :func:`asr_vs_retiming`). The frames figure reads
the examples that ``attack.save_examples=true`` wrote, which hold the clean frames of event
attacks (a move shows as an event deleted and one inserted on the same pixel).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from snnattack.records.results import attack_label
from snnattack.report import figures
from snnattack.report.collect import Job, copied_here
from snnattack.report.figures import register as register_figure
from snnattack.report.figures import shared_legend
from snnattack.report.tables import Table, fmt, register

WORST = "worst case"  # the name of the worst case over a box's event attacks
# a retiming attack's two budgets: the key of its histogram in ``retiming`` and their label
RETIMING = {"moved": "events moved", "delay": "total delay (event-bins)"}


@dataclass(frozen=True)
class Curve:
    """One ASR-vs-budget curve: an event attack's row, or a box's worst case, of one job."""

    job: str
    box: str
    name: str  # the attack (``sda/stbp``) or :data:`WORST`
    hist: dict[str, int]  # successes per L0
    n_correct: int

    def asr(self, budget: float) -> float:
        """ASR (%) with ``L0 <= budget``."""
        if not self.n_correct:
            return float("nan")
        return 100.0 * sum(c for v, c in self.hist.items() if float(v) <= budget) / self.n_correct

    def steps(self) -> tuple[list[float], list[float]]:
        """The curve's corners: (L0 values from 0, ASR at each)."""
        xs = [0.0, *sorted(float(v) for v in self.hist)]
        return xs, [self.asr(x) for x in xs]


def curves(jobs: list[Job]) -> list[Curve]:
    """Every event attack's curve and each box's worst case, per job (the worst case after
    its box's attacks), those copied from another of ``jobs`` left out."""
    copied, found = copied_here(jobs), []
    for j in jobs:
        for r in j.record.results:
            if r.l0_hist is not None and not copied(r.reused_from, j):
                label = attack_label(r.method, r.grad_mode)
                found.append(Curve(j.name, r.box, label, r.l0_hist, r.n_correct))
        for box, worst in j.record.event_worst_case.items():
            if not copied(worst.get("reused_from"), j):
                found.append(Curve(j.name, box, WORST, worst["l0_hist"], worst["n_correct"]))
    place = {j.name: i for i, j in enumerate(jobs)}  # the jobs' folder order (2 before 10)
    return sorted(found, key=lambda c: (place[c.job], c.box != "white", c.box, c.name == WORST))


def field_curves(jobs: list[Job], field: str, hist: str) -> list[Curve]:
    """Every row's curve of the histogram ``hist`` in its ``field`` (a retiming's
    ``retiming``, a raw-event attack's ``recording``), for the rows that have it (those
    copied from another of ``jobs`` left out)."""
    copied = copied_here(jobs)
    return [
        Curve(j.name, r.box, attack_label(r.method, r.grad_mode), values[hist], r.n_correct)
        for j in jobs
        for r in j.record.results
        if (values := getattr(r, field)) is not None and not copied(r.reused_from, j)
    ]


def _thresholds(jobs: list[Job]) -> list[int]:
    """The papers' thresholds the jobs report (``attack.l0_thresholds``)."""
    return sorted(
        {t for j in jobs for t in (j.config.get("attack") or {}).get("l0_thresholds") or []}
    )


def budgets(found: list[Curve], thresholds: list[int]) -> list[int]:
    """The table's budgets: 1, 2, 5, 10, ... up to the largest L0 any attack needed, and the
    papers' thresholds (``attack.l0_thresholds``) up to the first at or past it."""
    top = max((float(v) for c in found for v in c.hist), default=1.0)
    grid, step = [], 1
    while step < top:
        grid += [b * step for b in (1, 2, 5) if b * step < top]
        step *= 10
    past = [t for t in sorted(thresholds) if t >= top][:1]
    return sorted({*grid, *(t for t in thresholds if t < top), *past, *([] if past else [top])})


@register("event_budget", order=75)
def event_budget_table(jobs: list[Job]) -> Table | None:
    """ASR at each L0 budget per event attack and the worst case over them, per box."""
    found = curves(jobs)
    if not found:
        return None
    columns, rows, (grid,) = _curve_rows(jobs, [(c,) for c in found], ["L0"])
    note = (
        "ASR (%) at each budget: the share of the clean-correct test samples fooled changing at "
        f"most that many events (inserted + deleted); {WORST}: a sample counts as broken if any "
        "event attack of its box fooled it within the budget (fewest events per sample); a "
        "row a job copied from another job here (attack.reuse) is shown once, under that job"
    )
    worst = [c for c in found if c.name == WORST]
    several = len({c.job for c in worst}) > 1
    summary = "; ".join(
        f"{f'job {c.job}, ' if several else ''}{c.box} box: "
        + (
            f"the worst case fools {fmt(round(c.asr(float('inf')), 1))} % (≤ {fmt(grid[0])} "
            f"event{'s' * (grid[0] != 1)}: {fmt(round(c.asr(grid[0]), 1))} %)"
            if c.n_correct
            else "no test sample classified right clean, none to fool"
        )
        for c in worst
    )
    return Table("Event attacks: ASR against the L0 budget", columns, rows, note, summary=summary)


def _curve_rows(
    jobs: list[Job], lines: list[tuple[Curve, ...]], names: list[str]
) -> tuple[list, list, list[list[int]]]:
    """The columns and rows of an ASR-at-each-budget table: a row per line of curves of one
    attack row, a curve per budget (``names``), each at its :func:`budgets`; and those."""
    thresholds = _thresholds(jobs)
    grids = [budgets([line[i] for line in lines], thresholds) for i in range(len(names))]
    several = len({line[0].job for line in lines}) > 1
    rows = [
        [*([line[0].job] if several else []), line[0].box, line[0].name, str(line[0].n_correct)]
        + [fmt(round(c.asr(b), 1)) for c, grid in zip(line, grids, strict=True) for b in grid]
        for line in lines
    ]
    columns = [*(["job"] if several else []), "box", "attack", "n correct"]
    columns += [f"{name} ≤ {fmt(b)}" for name, grid in zip(names, grids, strict=True) for b in grid]
    return columns, rows, grids


@register("recording_budget", order=77)
def recording_budget_table(jobs: list[Job]) -> Table | None:
    """ASR at each budget of the recording's events changed per raw-event attack row."""
    found = field_curves(jobs, "recording", "changed_hist")
    if not found:
        return None
    columns, rows, _ = _curve_rows(jobs, [(c,) for c in found], ["changed"])
    note = (
        "ASR (%) at each budget: the share of the clean-correct test samples fooled changing at "
        "most that many events of the recording (inserted + deleted + flipped in polarity)"
    )
    return Table("Raw events: ASR against the recording's events changed", columns, rows, note)


@register("retime_budget", order=76)
def retime_budget_table(jobs: list[Job]) -> Table | None:
    """ASR at each budget of events moved and of total delay per retiming attack row."""
    moved, delay = (field_curves(jobs, "retiming", f"{b}_hist") for b in RETIMING)
    if not moved:
        return None
    columns, rows, _ = _curve_rows(jobs, list(zip(moved, delay, strict=True)), list(RETIMING))
    note = (
        "ASR (%) at each budget: the share of the clean-correct test samples fooled moving at "
        "most that many events in time (B0), or with at most that total delay in event-bins "
        "(B1: per line the least total shift from the clean events, summed)"
    )
    return Table("Retiming: ASR against events moved and total delay", columns, rows, note)


def _asr_axes(ax: Any, job: str, box: str, budget: str) -> None:
    """One panel of ASR (%) against a ``budget`` axis, titled by its box (and job)."""
    ax.set_title(f"{box} box" + ("" if job == "." else f", {job}"), fontsize=9)
    ax.set_xlabel(budget)
    ax.set_ylabel("ASR (%)")
    ax.set_ylim(0, 100)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)


@register_figure(
    "asr_vs_retiming",
    order=73,
    caption=(
        "Attack success rate of each retiming attack against its budgets: the events moved "
        "per sample (left) and their total delay in event-bins (right), a row per job and box."
    ),
)
def asr_vs_retiming(jobs: list[Job], path: Path) -> Path | None:
    """Step curves of ASR against events moved and total delay (None without a retiming row)."""
    found = {b: field_curves(jobs, "retiming", f"{b}_hist") for b in RETIMING}
    panels = list(dict.fromkeys((c.job, c.box) for c in found["moved"]))
    if not panels:
        return None
    names = list(dict.fromkeys(c.name for c in found["moved"]))
    fig, axes = plt.subplots(len(panels), 2, squeeze=False, figsize=(8.8, 3.3 * len(panels)))
    for row, (job, box) in zip(axes, panels, strict=True):
        for ax, (budget, label) in zip(row, RETIMING.items(), strict=True):
            for c in (c for c in found[budget] if (c.job, c.box) == (job, box)):
                ax.step(*c.steps(), where="post", color=f"C{names.index(c.name)}", label=c.name)
            _asr_axes(ax, job, box, label)
    shared_legend(fig)
    return figures._save(fig, path)


@register_figure(
    "asr_vs_l0",
    order=72,
    caption=(
        "Attack success rate against the L0 budget (events inserted + deleted per sample): "
        "a line per event attack, the worst case over them black, a panel per box."
    ),
)
def asr_vs_l0(jobs: list[Job], path: Path) -> Path | None:
    """Step curves of ASR against the L0 budget, a panel per job and box (None without an
    event attack)."""
    found = curves(jobs)
    panels = list(dict.fromkeys((c.job, c.box) for c in found))
    if not panels:
        return None
    names = list(dict.fromkeys(c.name for c in found if c.name != WORST))
    fig, axes = plt.subplots(1, len(panels), squeeze=False, figsize=(4.4 * len(panels), 3.3))
    for ax, (job, box) in zip(axes[0], panels, strict=True):
        for c in (c for c in found if (c.job, c.box) == (job, box)):
            colour, line = ("black", "--") if c.name == WORST else (f"C{names.index(c.name)}", "-")
            ax.step(*c.steps(), where="post", color=colour, linestyle=line, label=c.name)
        _asr_axes(ax, job, box, "L0 budget (events changed per sample)")
    shared_legend(fig)
    return figures._save(fig, path)


def example_of(saved: dict[str, Any]) -> int | None:
    """The first sample whose example fooled the model (classified right clean, wrong
    adversarial) and changed its frames, or None. A file written before ``correct`` was saved
    cannot tell a sample classified wrong already: there any changed sample classified wrong."""
    adv, clean = saved["adv_inputs"], saved.get("clean_inputs")
    if clean is None or adv.dim() != 5 or adv.shape[2] != 2:  # [n, T, polarity, H, W]
        return None
    wrong = saved["preds"] != saved["labels"]
    fooled = wrong if saved.get("correct") is None else wrong & saved["correct"]
    changed = (adv != clean).flatten(1).any(1) & fooled
    hits = changed.nonzero()
    return int(hits[0]) if len(hits) else None


def _frame(on: np.ndarray, off: np.ndarray) -> np.ndarray:
    """An RGB picture of one bin: ON events red, OFF events blue, both magenta, none white."""
    on, off = np.clip(on, 0, 1), np.clip(off, 0, 1)
    return np.stack([1 - off * (1 - on), 1 - np.maximum(on, off), 1 - on * (1 - off)], axis=-1)


def _examples(jobs: list[Job], root: Path) -> list[tuple[str, dict[str, Any], int, bool]]:
    """Per event attack row with saved examples: its name, the examples, the first fooled
    sample and whether the attack only moves events (a retiming)."""
    from snnattack.evaluation.examples import load  # only here: it imports torch

    found = []
    for j in jobs:
        for r in j.record.results:
            if r.l0_hist is None or not r.examples:
                continue
            file = root / j.name / r.examples
            if not file.is_file():
                continue
            saved = load(file)
            k = example_of(saved)
            if k is not None:
                name = f"{attack_label(r.method, r.grad_mode)}, {r.box} box"
                name = name if j.name == "." else f"{name} ({j.name})"
                found.append((name, saved, k, r.retiming is not None))
    return found


@register_figure(
    "event_examples",
    order=74,
    caption=(
        "Per event attack, a clean test sample (upper row) and its adversarial version (lower "
        "row) as event frames over time (ON red, OFF blue): events inserted marked +, deleted × "
        "(a retiming's: moved to +, moved from ×)."
    ),
)
def event_examples(jobs: list[Job], path: Path) -> Path | None:
    """The first fooled sample of each event attack with saved examples: its clean and
    adversarial frames per time bin, inserted (green +) and deleted (black ×) events marked
    (a retiming's events where they moved to and from)."""
    found = _examples(jobs, path.parent)
    if not found:
        return None
    steps = max(saved["adv_inputs"].shape[1] for _, saved, _, _ in found)
    fig, axes = plt.subplots(
        2 * len(found), steps, squeeze=False, figsize=(1.6 * steps, 3.4 * len(found))
    )
    for a, (name, saved, k, retimes) in enumerate(found):
        clean = saved["clean_inputs"][k].numpy()
        adv = saved["adv_inputs"][k].numpy()
        delta = adv - clean
        for t in range(steps):
            for row, frames in enumerate((clean, adv)):
                ax = axes[2 * a + row][t]
                ax.set_xticks([])
                ax.set_yticks([])
                if t >= len(frames):
                    ax.axis("off")
                    continue
                ax.imshow(_frame(frames[t, 0], frames[t, 1]), interpolation="nearest")
                if row == 1:
                    for marker, sign, colour, label in (
                        ("+", 1, "green", "moved to" if retimes else "inserted"),
                        ("x", -1, "black", "moved from" if retimes else "deleted"),
                    ):
                        ys, xs = np.nonzero((sign * delta[t]).max(0) > 0)
                        ax.scatter(xs, ys, marker=marker, c=colour, s=30, label=label)
            axes[2 * a][t].set_title(f"t = {t}", fontsize=8)
        label, pred = int(saved["labels"][k]), int(saved["preds"][k])
        changed = int(np.abs(delta).sum())
        axes[2 * a][0].set_ylabel(f"{name}\nclean: {label}", fontsize=8)
        axes[2 * a + 1][0].set_ylabel(f"adversarial: {pred}\nL0 = {changed}", fontsize=8)
    shared_legend(fig)
    return figures._save(fig, path)
