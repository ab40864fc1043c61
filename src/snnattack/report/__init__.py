"""Sweep and job folders to a report: tables like the papers', figures, CSV and one HTML page.

``python -m snnattack.report DIR`` (and, automatically, the end of every multirun) reads every
``metrics.json`` under ``DIR`` and writes into ``DIR``: ``report.md``, ``results.csv`` (one
row per job and attack, every swept key a column), ``report.html`` (self-contained, figures
embedded) and the PNG figures.
"""

from __future__ import annotations

import base64
import csv
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snnattack.errors import UserError
from snnattack.report import figures
from snnattack.report.collect import (
    SETTING_KEYS,
    Job,
    extra_keys,
    load_jobs,
    paper_block,
    result_rows,
)
from snnattack.report.tables import Table, cost_table, table1, table2
from snnattack.results import MEASURES


@dataclass
class Report:
    """What a report holds: its tables, figures and CSV rows, and the files written."""

    folder: Path
    jobs: list[Job]
    columns: list[str]
    rows: list[dict[str, Any]]
    tables: list[Table] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def build_report(folder: Path) -> Report:
    """Reads ``folder`` and draws the tables and figures (PNG files written into it)."""
    folder = Path(folder)
    jobs = load_jobs(folder)
    if not jobs:
        raise UserError(f"no metrics.json under {folder}; accepted: a job or sweep folder")
    columns, rows = result_rows(jobs)
    extra = extra_keys(jobs)
    paper = paper_block(jobs)
    report = Report(folder, jobs, columns, rows)
    report.tables = [
        t
        for t in (
            table2(rows, extra, paper.get("table2") or []),
            table1(jobs, paper.get("table1") or []),
            cost_table(jobs, paper.get("cost") or []),
        )
        if t is not None
    ]

    def series(x: str) -> list[str]:
        keys = [k for k in (*SETTING_KEYS, *extra, "eps_255") if k not in (x, "seed")]
        return [k for k in keys if len({r.get(k) for r in rows}) > 1]

    drawn = (
        figures.asr_vs(rows, "eps_255", series("eps_255"), folder / "asr_vs_eps.png"),
        figures.asr_vs(rows, "lambda", series("lambda"), folder / "asr_vs_lambda.png"),
        figures.adv_acc_vs_T(rows, series("T"), folder / "adv_acc_vs_T.png"),
        figures.kinds_bars(rows, folder / "kinds.png"),
        figures.rate_current(jobs, folder / "rate_current.png"),
        figures.beta_gamma(rows, folder / "beta_gamma.png"),
        figures.cost_bars(jobs, folder / "cost.png"),
    )
    report.figures = [p for p in drawn if p is not None]
    return report


def markdown(report: Report) -> str:
    """The report as Markdown (figures linked as files beside it)."""
    lines = [
        f"# Report: {report.folder.name}",
        "",
        f"{len(report.jobs)} job(s), {len(report.rows)} attack row(s); swept: "
        f"{', '.join(_swept(report)) or 'nothing'}.",
        "",
    ]
    notes = paper_block(report.jobs).get("notes")
    if notes:
        lines += [f"Paper: {notes}", ""]
    for t in report.tables:
        lines += [
            f"## {t.title}",
            "",
            "| " + " | ".join(t.columns) + " |",
            "|" + "---|" * len(t.columns),
        ]
        lines += ["| " + " | ".join(row) + " |" for row in t.rows]
        lines += ["", t.note, ""]
    for p in report.figures:
        lines += [f"![{p.stem}]({p.name})", ""]
    return "\n".join(lines)


def html_page(report: Report) -> str:
    """The report as one self-contained HTML page (figures embedded as base64 PNG)."""
    e = html.escape
    parts = [
        f"<h1>Report: {e(report.folder.name)}</h1>",
        f"<p>{len(report.jobs)} job(s), {len(report.rows)} attack row(s); swept: "
        f"{e(', '.join(_swept(report)) or 'nothing')}.</p>",
    ]
    notes = paper_block(report.jobs).get("notes")
    if notes:
        parts.append(f"<p>Paper: {e(str(notes))}</p>")
    for t in report.tables:
        head = "".join(f"<th>{e(c)}</th>" for c in t.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in t.rows
        )
        parts.append(
            f"<h2>{e(t.title)}</h2><table><tr>{head}</tr>{body}</table>"
            f"<p><small>{e(t.note)}</small></p>"
        )
    for p in report.figures:
        data = base64.b64encode(p.read_bytes()).decode()
        parts.append(
            f'<h2>{e(p.stem)}</h2><img alt="{e(p.stem)}" src="data:image/png;base64,{data}">'
        )
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}img{max-width:100%}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
        f"{e(report.folder.name)}</title><style>{style}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )


def _swept(report: Report) -> list[str]:
    return [
        c
        for c in report.columns[1:]
        if len({str(r.get(c)) for r in report.rows}) > 1
        and c not in ("clean_acc", "source_clean_acc", "job", "eps", *MEASURES)  # eps: eps_255
    ]


def write_report(folder: Path) -> Report:
    """Builds the report of ``folder`` and writes report.md, results.csv and report.html."""
    report = build_report(folder)
    folder = report.folder
    with open(folder / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=report.columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(report.rows)
    (folder / "report.md").write_text(markdown(report))
    (folder / "report.html").write_text(html_page(report))
    report.files = {
        "md": folder / "report.md",
        "csv": folder / "results.csv",
        "html": folder / "report.html",
        **{p.stem: p for p in report.figures},
    }
    return report
