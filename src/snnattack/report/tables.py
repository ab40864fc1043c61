"""The report's tables, laid out like the papers' (Tables 1, 2, S2), ours beside theirs."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from snnattack.report.collect import SETTING_KEYS as SETTING
from snnattack.report.collect import Job

BOXES = (("white", "WB"), ("black", "BB"))
SHORT = {
    "lambda": "λ",
    "eps_255": "ε (/255)",
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

    Cells are mean ± std over seeds; a ``paper`` row follows each row the paper reports.
    """
    if not rows:
        return None
    keys = [*SETTING, *extra, "method", "eps_255"]
    modes = sorted({r["grad_mode"] for r in rows if r.get("grad_mode")}, key=mode_order)
    boxes = [(b, label) for b, label in BOXES if any(r.get("box") == b for r in rows)]
    groups = group((tuple(r.get(k) for k in keys), r) for r in rows)
    columns = [
        *(SHORT.get(k, k) for k in keys),
        "clean",
        *(f"{label} {m}" for _, label in boxes for m in modes),
        "seeds",
    ]
    out = []
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
        ref = matching(paper, dict(zip(keys, key, strict=True)))
        if ref:
            theirs = [fmt(ref.get("clean"))] + [
                fmt((ref.get(box) or {}).get(m)) for box, _ in boxes for m in modes
            ]
            out.append(
                [*(fmt(v) for v in key[:-2]), f"{key[-2]} (paper)", fmt(key[-1]), *theirs, ""]
            )
    return Table(
        "Table 2: attack success rate (%), white box (WB) and black box (BB)",
        columns,
        out,
        "ASR = share of correctly classified test samples the attack fools; "
        "mean ± std over seeds; clean = clean test accuracy (%).",
        "table2",
    )


def table1(jobs: list[Job], paper: list[dict]) -> Table | None:
    """RGA Table 1: clean and spike-shuffled accuracy per trained model, over seeds."""
    found = [(j, j.record.analyses["shuffle"]) for j in jobs if "shuffle" in j.record.analyses]
    if not found:
        return None
    per_model = {
        (j.record.models.get("target") or {}).get("key", j.name): (j, s) for j, s in found
    }  # attack-only differences share one model: count it once
    groups = group((tuple(j.setting(k) for k in SETTING), (j, s)) for j, s in per_model.values())
    out = []
    for key, members in groups.items():
        clean = mean_std(s.get("clean_acc") for _, s in members)
        shuffled = mean_std(s.get("shuffled_acc") for _, s in members)
        delta = mean_std(
            s["shuffled_acc"] - s["clean_acc"]
            for _, s in members
            if s.get("shuffled_acc") is not None and s.get("clean_acc") is not None
        )
        ref = matching(paper, dict(zip(SETTING, key, strict=True))) or {}
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
    columns = [
        *(SHORT.get(k, k) for k in SETTING),
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
        "Each neuron's spike train permuted over time at every spiking layer; "
        "a small Δ means the network is rate-coded.",
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


def tuning_table(jobs: list[Job]) -> Table | None:
    """The gradient-mode parameters chosen on validation data (``attack.tune``): per row, and
    per tuned ensemble component. None when nothing was tuned."""
    rows = []
    for job in jobs:
        for r in map(asdict, job.record.results):
            where = [job.name, r["box"], fmt(r["eps_255"])]
            if r.get("tuned"):
                t = r["tuned"]
                chosen = ", ".join(f"{k}={fmt(v)}" for k, v in t["params"].items())
                rows.append(
                    [
                        *where,
                        r["grad_mode"],
                        r["method"],
                        chosen,
                        f"{t['val_asr']:.2f}",
                        str(t["val_n"]),
                    ]
                )
            for c in r.get("components") or []:
                if c.get("tuned"):
                    chosen = ", ".join(f"{k}={fmt(v)}" for k, v in c["grad_params"].items())
                    rows.append(
                        [*where, c["grad_mode"], f"ensemble: {c['name']}", chosen, "–", "–"]
                    )
    if not rows:
        return None
    return Table(
        "Tuned gradient-mode parameters",
        ["job", "box", "ε (/255)", "mode", "method", "chosen", "val ASR %", "val n"],
        rows,
        "Chosen per row by the highest ASR on validation images (never test); "
        "HART's γ on its authors' grid 0.10..2.45.",
        key="tuning",
    )


def ensemble_table(rows: list[dict[str, Any]], jobs: list[Job], extra: list[str]) -> Table | None:
    """The worst-case ensemble's robust accuracy beside the lowest adversarial accuracy of any
    single attack on the same model (setting, seed, box, ε), and which component fooled how
    many samples first. None without ensemble rows."""
    keys = (*SETTING, "seed", *extra, "box", "eps_255")
    groups = group((tuple(r.get(k) for k in keys), r) for r in rows)
    firsts = {
        (job.name, r["box"], r["eps_255"]): r.get("components") or []
        for job in jobs
        for r in map(asdict, job.record.results)
    }
    out = []
    for members in groups.values():
        singles = [r for r in members if r.get("grad_mode") != "ensemble"]
        # a sweep over attack= repeats the ensemble (which does not read it) in each job: once
        for e in [r for r in members if r.get("grad_mode") == "ensemble"][:1]:
            best = min(singles, key=lambda r: r["adv_acc"]) if singles else None
            parts = firsts.get((e["job"], e["box"], e["eps_255"]), [])
            out.append(
                [
                    e["job"],
                    e["box"],
                    fmt(e["eps_255"]),
                    f"{e['adv_acc']:.2f}",
                    f"{best['adv_acc']:.2f} ({best['method']}/{best['grad_mode']})"
                    if best
                    else "–",
                    ("yes" if e["adv_acc"] <= best["adv_acc"] + 1e-9 else "NO") if best else "–",
                    ", ".join(f"{c['name']} {c['first_successes']}" for c in parts),
                ]
            )
    if not out:
        return None
    return Table(
        "Worst-case ensemble",
        [
            "job",
            "box",
            "ε (/255)",
            "robust acc %",
            "lowest single attack %",
            "ensemble ≤ all",
            "first successes per component",
        ],
        out,
        "Robust accuracy: the share of test samples that survive every component. The lowest "
        "single attack is taken over the other rows on the same model, box and ε.",
        key="ensemble",
    )


def masking_table(jobs: list[Job]) -> Table | None:
    """The gradient-masking checks per job (``checks.masking``): flagged ones with their
    details, ``none`` for a job with no flag. None when no job ran the checks."""
    checked = [j for j in jobs if j.record.masking]
    if not checked:
        return None
    rows = []
    for job in checked:
        masking = job.record.masking
        flagged = [c for c in masking["checks"] if c["flagged"]]
        rows.append(
            [
                job.name,
                ", ".join(c["name"] for c in flagged) or "none",
                "; ".join(c["detail"] for c in flagged),
            ]
        )
    n = sum(1 for j in checked if j.record.masking["flagged"])
    return Table(
        "Gradient-masking checks",
        ["job", "flagged", "details"],
        rows,
        f"{n} of {len(checked)} job(s) flagged. A flag is a warning that the attacks may "
        "underestimate the attack success rate (docs/evaluation.md).",
        key="masking",
    )


def _paper_ratio(row: dict, stbp: dict, key: str) -> float | None:
    if row.get(key) is None or not stbp.get(key):
        return None
    return row[key] / stbp[key]


def _num(value: float | None, scale: float) -> str:
    return "–" if value is None else f"{value * scale:.2f}"
