"""The report's tables, laid out like the papers' (Tables 1, 2, S2), ours beside theirs."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from snnattack.report.collect import SETTING_KEYS as SETTING
from snnattack.report.collect import Job

BOXES = (("white", "WB"), ("black", "BB"))
SHORT = {
    "lambda": "λ",
    "eps_255": "ε (/255)",
    "time_extension": "TE",
    "attack.params.beta": "β",
    "attack.params.gamma": "γ",
}  # column names of well-known keys


@dataclass
class Table:
    """A titled table of strings (numbers already formatted); ``note`` is one line below it."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""
    key: str = field(default="")


def mean_std(values: Iterable[float | None]) -> tuple[float, float, int] | None:
    """(mean, sample std, count) of the finite values; None if there are none."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not xs:
        return None
    return statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0, len(xs)


def fmt_stat(stat: tuple[float, float, int] | None, digits: int = 2) -> str:
    if stat is None:
        return "–"
    mean, std, n = stat
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if n > 1 else f"{mean:.{digits}f}"


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def same(a: Any, b: Any) -> bool:
    """Equality of config values that tolerates 1 vs 1.0 and '8' vs 8."""
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    except (TypeError, ValueError):
        return str(a) == str(b)


def matching(paper_rows: list[dict], ours: dict[str, Any]) -> dict | None:
    """The first paper row whose keys shared with ``ours`` all agree, if any."""
    for row in paper_rows or []:
        shared = [k for k in row if k in ours]
        if shared and all(same(row[k], ours[k]) for k in shared):
            return row
    return None


def with_defaults(paper_rows: list[dict], defaults: dict[str, Any]) -> list[dict]:
    """Paper rows with ``defaults`` for the settings they leave out (e.g. no time extension)."""
    return [{**defaults, **row} for row in paper_rows or []]


def not_run(paper_rows: list[dict], matched: list[dict]) -> list[dict]:
    """The paper rows no row of ours matched, in the paper's order: listed as "not run"."""
    return [row for row in paper_rows if not any(row is m for m in matched)]


def ranked(known: Sequence[str], name: Any) -> tuple:
    """Sort key: the ``known`` names in their order, then any other name alphabetically."""
    return (list(known).index(name) if name in known else len(known), str(name))


def mode_order(mode: str | None) -> tuple:
    """STBP first, then RGA, then any other gradient mode by name (the paper's order)."""
    return ranked(("stbp", "rga"), mode)


def group(items: Iterable[tuple[Any, Any]]) -> dict[Any, list]:
    """The values of (key, value) pairs gathered per key, keys in order of first appearance."""
    groups: dict[Any, list] = defaultdict(list)
    for key, value in items:
        groups[key].append(value)
    return groups


def table2(rows: list[dict[str, Any]], extra: list[str], paper: list[dict]) -> Table | None:
    """RGA Table 2: per setting, method and ε, clean accuracy and ASR per box and grad mode.

    Cells are mean ± std over seeds; a ``paper`` row follows each row the paper reports, and
    the paper's rows none of ours matches close the table as "not run". The time extension
    (``TE``, RGA's time-extended attack) gets a column when a row has one; paper rows without
    ``time_extension`` are rows without it.
    """
    if not rows:
        return None
    rows = [{**r, "time_extension": r.get("time_extension") or 1} for r in rows]
    te = ["time_extension"] if any(r["time_extension"] != 1 for r in rows) else []
    keys = [*SETTING, *extra, *te, "method", "eps_255"]
    paper = with_defaults(paper, {"time_extension": 1})
    modes = sorted({r["grad_mode"] for r in rows if r.get("grad_mode")}, key=mode_order)
    boxes = [(b, label) for b, label in BOXES if any(r.get("box") == b for r in rows)]
    groups = group((tuple(r.get(k) for k in keys), r) for r in rows)
    columns = [
        *(SHORT.get(k, k) for k in keys),
        "clean",
        *(f"{label} {m}" for _, label in boxes for m in modes),
        "seeds",
    ]
    out, matched = [], []
    for key, members in groups.items():
        clean = {r.get("seed"): r.get("clean_acc") for r in members}  # one model per seed
        cells = [fmt_stat(mean_std(clean.values()))]
        for box, _ in boxes:
            for m in modes:
                cells.append(
                    fmt_stat(
                        mean_std(
                            r.get("asr")
                            for r in members
                            if r.get("box") == box and r["grad_mode"] == m
                        )
                    )
                )
        seeds = len({r.get("seed") for r in members})
        out.append([*(fmt(v) for v in key), *cells, str(seeds)])
        ref = matching(paper, {"time_extension": 1, **dict(zip(keys, key, strict=True))})
        if ref:
            matched.append(ref)
            out.append(_paper_table2_row(ref, [fmt(v) for v in key], boxes, modes, ""))
    for ref in not_run(paper, matched):
        out.append(_paper_table2_row(ref, [fmt(ref.get(k)) for k in keys], boxes, modes, "not run"))
    return Table(
        "Table 2: attack success rate (%), white box (WB) and black box (BB)",
        columns,
        out,
        "ASR = share of correctly classified test samples the attack fools; "
        "mean ± std over seeds; clean = clean test accuracy (%).",
        "table2",
    )


def _paper_table2_row(
    ref: dict, key: list[str], boxes: list, modes: list[str], seeds: str
) -> list[str]:
    """A Table 2 row of the paper's numbers; ``key`` are the setting cells it is shown with."""
    theirs = [fmt(ref.get("clean"))] + [
        fmt((ref.get(box) or {}).get(m)) for box, _ in boxes for m in modes
    ]
    return [*key[:-2], f"{key[-2]} (paper)", key[-1], *theirs, seeds]


def table1(jobs: list[Job], paper: list[dict]) -> Table | None:
    """RGA Table 1: clean and spike-shuffled accuracy per trained model and shuffle mode, over
    seeds. The paper's numbers sit beside the ``layer`` shuffle (its references'); its rows
    none of ours matches close the table as "not run"."""
    found = [(j, j.record.analyses["shuffle"]) for j in jobs if "shuffle" in j.record.analyses]
    if not found:
        return None
    per_model = {
        (
            (j.record.models.get("target") or {}).get("key", j.name),
            s.get("mode", "neuron"),  # results from before the modes shuffled per neuron
        ): (j, s)
        for j, s in found
    }  # attack-only differences share one model: count it once per shuffle mode
    groups = group(
        ((*(j.setting(k) for k in SETTING), s.get("mode", "neuron")), (j, s))
        for j, s in per_model.values()
    )
    keys = [*SETTING, "shuffle"]
    paper = with_defaults(paper, {"shuffle": "layer"})
    out, matched = [], []
    for key, members in groups.items():
        clean = mean_std(s.get("clean_acc") for _, s in members)
        shuffled = mean_std(s.get("shuffled_acc") for _, s in members)
        delta = mean_std(
            s["shuffled_acc"] - s["clean_acc"]
            for _, s in members
            if s.get("shuffled_acc") is not None and s.get("clean_acc") is not None
        )
        ref = matching(paper, dict(zip(keys, key, strict=True))) or {}
        matched.append(ref)
        out.append(
            [
                *(fmt(v) for v in key),
                fmt_stat(clean),
                fmt_stat(shuffled),
                fmt_stat(delta),
                str(len(members)),
                fmt(ref.get("clean")),
                fmt(ref.get("shuffled")),
            ]
        )
    for ref in not_run(paper, matched):
        cells = [fmt(ref.get(k)) for k in keys]
        out.append(
            [*cells, "–", "–", "–", "not run", fmt(ref.get("clean")), fmt(ref.get("shuffled"))]
        )
    columns = [
        *(SHORT.get(k, k) for k in keys),
        "clean",
        "shuffled",
        "Δ",
        "models",
        "paper clean",
        "paper shuffled",
    ]
    return Table(
        "Table 1: accuracy (%) before and after spike shuffle",
        columns,
        out,
        "Spike trains permuted over time at every spiking layer (shuffle: layer = one order "
        "per layer, as the paper's code; neuron = one per neuron); a small Δ means the "
        "network is rate-coded.",
        "table1",
    )


def cost_table(jobs: list[Job], paper: list[dict]) -> Table | None:
    """RGA Table S2: time and peak memory of one attack step per gradient mode."""
    out = []
    stbp = matching(paper, {"mode": "stbp"}) or {}
    for j in jobs:
        cost = j.record.analyses.get("cost")
        if not cost:
            continue
        setting = f"{j.setting('model')} T={j.setting('T')} λ={j.setting('lambda')}"
        for mode, m in (cost.get("modes") or {}).items():
            if "error" in m:
                continue
            ref = matching(paper, {"mode": mode}) or {}
            out.append(
                [
                    j.name,
                    setting,
                    mode,
                    *(
                        _num(m.get(k), s)
                        for k, s in (
                            ("seconds", 1e3),
                            ("time_vs_forward", 1),
                            ("time_vs_stbp", 1),
                            ("peak_mb", 1),
                            ("memory_vs_stbp", 1),
                        )
                    ),
                    fmt(ref.get("seconds")),
                    fmt(ref.get("peak_mb")),
                    *(_num(_paper_ratio(ref, stbp, k), 1) for k in ("seconds", "peak_mb")),
                ]
            )
    if not out:
        return None
    columns = [
        "job",
        "model",
        "step",
        "time (ms)",
        "× forward",
        "× stbp",
        "peak MB",
        "mem × stbp",
        "paper s",
        "paper MB",
        "paper × stbp",
        "paper mem × stbp",
    ]
    return Table(
        "Table S2: cost of one attack step (input gradient)",
        columns,
        out,
        "Median over repeats, interleaved in one process; peak memory above the memory "
        "in use before the step (CPU: resident set, CUDA: allocated).",
        "cost",
    )


def _paper_ratio(row: dict, stbp: dict, key: str) -> float | None:
    if row.get(key) is None or not stbp.get(key):
        return None
    return row[key] / stbp[key]


def _num(value: float | None, scale: float) -> str:
    return "–" if value is None else f"{value * scale:.2f}"
