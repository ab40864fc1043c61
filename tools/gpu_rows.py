"""The same job on the CPU and on the GPU, and the gradient modes on the GPU, compared in
samples: what ``python -m tools.gpu_check`` decides from two ``metrics.json``.

A GPU sums floats in another order than the CPU, so a sample whose margin (or a membrane
potential near the threshold) lies within rounding may be classified, or fooled, otherwise.
That moves a row by a few samples, never by many: a row whose count of samples still right
differs by more than the tolerance is a bug, not rounding. And a gradient mode that silently
fell back to another on the GPU would give that mode's rows exactly: two modes whose rows
differ on the CPU must differ on the GPU too.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

CLEAN = "clean"  # the row name of the clean accuracy


def row_name(row: dict[str, Any]) -> str:
    """A ``metrics.json`` row's name in the report: ``pgd white 16/255``."""
    return f"{row['method']} {row['box']} {row['eps_255']:g}/255"


def still_right(metrics: dict[str, Any]) -> dict[str, int]:
    """Per row of a job's ``metrics.json`` (and :data:`CLEAN`), how many of its test samples
    the target still classifies right: the counts the CPU and the GPU are compared in."""
    counts = {CLEAN: round(metrics["clean_acc"] * metrics["n"] / 100)}
    for row in metrics["results"]:
        counts[row_name(row)] = round(row["adv_acc"] * (row["n"] or metrics["n"]) / 100)
    return counts


@dataclass(frozen=True)
class Side:
    """One row on both devices: samples still right on the CPU and on the GPU."""

    row: str
    cpu: int
    gpu: int

    @property
    def apart(self) -> int:
        """Samples the two devices disagree on, at least."""
        return abs(self.cpu - self.gpu)


def side_by_side(cpu: dict[str, Any], gpu: dict[str, Any]) -> list[Side]:
    """Every row of the CPU's and the GPU's ``metrics.json`` of one job, clean first. A row
    only one of them holds is a ``KeyError``: the two ran other jobs."""
    on_cpu, on_gpu = still_right(cpu), still_right(gpu)
    if on_cpu.keys() != on_gpu.keys():
        raise KeyError(f"the CPU's rows {sorted(on_cpu)} are not the GPU's {sorted(on_gpu)}")
    return [Side(row, on_cpu[row], on_gpu[row]) for row in on_cpu]


def beyond(sides: list[Side], tolerance: int) -> list[Side]:
    """The rows whose devices disagree on more than ``tolerance`` samples."""
    return [s for s in sides if s.apart > tolerance]


def rows_of(metrics: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """A job's attack rows by name: (ASR, adversarial accuracy), what tells two modes apart."""
    return {row_name(r): (r["asr"], r["adv_acc"]) for r in metrics["results"]}


def merged_modes(
    cpu: dict[str, dict[str, Any]], gpu: dict[str, dict[str, Any]]
) -> list[tuple[str, str]]:
    """The pairs of gradient modes (``metrics.json`` by mode on each device) whose rows differ
    on the CPU but are identical on the GPU: one of them ran as the other there."""
    return [
        (a, b)
        for a, b in combinations(sorted(cpu.keys() & gpu.keys()), 2)
        if rows_of(cpu[a]) != rows_of(cpu[b]) and rows_of(gpu[a]) == rows_of(gpu[b])
    ]
