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
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snnattack.errors import UserError
from snnattack.records.files import write_all, write_error
from snnattack.records.results import MEASURES
from snnattack.registry import discover
from snnattack.report import figures
from snnattack.report.collect import (
    PROVENANCE,
    RUN_KEYS,
    SETTING_KEYS,
    Job,
    analyses_swept,
    cell,
    extra_keys,
    load_jobs,
    paper_block,
    result_rows,
    set_by_choice,
)
from snnattack.report.figures import FIGURES
from snnattack.report.origin import Origin, origin
from snnattack.report.tables import TABLES, Table

log = logging.getLogger(__name__)
_FILES = {"md": "report.md", "csv": "results.csv", "html": "report.html"}  # Report.files' own


@dataclass
class Report:
    """What a report holds: its tables, figures and CSV rows, and the files written."""

    folder: Path
    jobs: list[Job]
    columns: list[str]
    rows: list[dict[str, Any]]
    origin: Origin
    left_out: list[str] = field(default_factory=list)  # unreadable or missing jobs, a line each
    tables: list[Table] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def build_report(folder: Path) -> Report:
    """Reads ``folder`` and draws the tables and figures (PNG files written into it; an
    earlier report's figure that this one does not draw is removed: its jobs removed, it would
    show results that the report no longer holds)."""
    folder = Path(folder)
    jobs, left = load_jobs(folder)
    if not jobs:
        why = f" can be read ({'; '.join(left)})" if left else ""
        raise UserError(f"no metrics.json under {folder}{why}; accepted: a job or sweep folder")
    for line in left:
        log.warning("left out of the report: %s", line)
    columns, rows = result_rows(jobs)
    extra = extra_keys(jobs)
    report = Report(folder, jobs, columns, rows, origin(folder, jobs), left)
    sources = {"rows": rows, "jobs": jobs, "extra": extra, "paper": paper_block(jobs)}
    drawn_tables = (table(sources) for table in TABLES.values())  # in their declared order
    report.tables = [t for t in drawn_tables if t is not None]

    def series(x: str) -> list[str]:
        keys = [k for k in (*SETTING_KEYS, *extra, *RUN_KEYS, "eps_255") if k not in (x, "seed")]
        return [k for k in keys if len({r.get(k) for r in rows}) > 1]

    plotted = {"rows": rows, "jobs": jobs, "series": series}
    o = report.origin
    made = {"Title": o.title, "Source": o.command, "Description": f"{o.code_text()} · {o.date}"}
    with figures.made_by(made):  # each PNG says what produced it
        drawn_figures = {name: figure(plotted, folder) for name, figure in FIGURES.items()}
    report.figures = [p for p in drawn_figures.values() if p is not None]  # in order
    for name in (n for n, p in drawn_figures.items() if p is None):
        (folder / f"{name}.png").unlink(missing_ok=True)
    return report


def _header(report: Report) -> list[str]:
    """The report's opening lines after its command: what it holds."""
    lines = [
        f"{len(report.jobs)} job(s), {len(report.rows)} attack row(s); varied: "
        f"{', '.join(_swept(report)) or 'nothing'}."
    ]
    if report.origin.launches:
        lines.append(report.origin.launches_text())
    if report.left_out:
        lines.append(f"Left out: {'; '.join(report.left_out)}.")
    if saved := sum(1 for r in report.rows if r.get("examples")):
        lines.append(
            f"Adversarial examples saved for {saved} row(s): the files are in results.csv's "
            "examples column (format: docs/examples.md in the snnattack repository)."
        )
    if notes := paper_block(report.jobs).get("notes"):
        lines.append(f"Paper: {notes}")
    return lines


def _cells(t: Table, bold: Callable[[str], str], plain: Callable[[str], str]) -> list[list[str]]:
    """``t``'s rows, its bold cells written by ``bold``, the others by ``plain``."""
    rows = enumerate(t.rows)
    return [[bold(c) if (i, k) in t.bold else plain(c) for k, c in enumerate(r)] for i, r in rows]


def markdown(report: Report) -> str:
    """The report as Markdown (figures linked as files beside it)."""
    lines = [f"# {report.origin.title}", "", f"Command: {report.origin.line()}", ""]
    for text in _header(report):
        lines += [text, ""]
    for t in report.tables:
        lines += [f"## {t.title}", ""]
        if t.summary:
            lines += [f"**Finding.** {t.summary}", ""]
        if t.settings:
            lines += [f"Settings: {t.settings}.", ""]
        lines += ["| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
        lines += ["| " + " | ".join(row) + " |" for row in _cells(t, "**{}**".format, str)]
        lines += ["", t.note, ""]
    for number, p in enumerate(report.figures, 1):
        caption = figures.caption(p.stem)
        lines += [f"**Figure {number}.** {caption}", "", f"![{caption}]({p.name})", ""]
    return "\n".join(lines)


STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:100%}"
    ".scroll{overflow-x:auto;max-width:100%}"
    "table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;white-space:nowrap}"
    "img{max-width:100%;height:auto}figure{margin:1em 0}code{white-space:pre-wrap}"
)  # wide tables scroll inside their box instead of being clipped by the window


def html_page(report: Report) -> str:
    """The report as one self-contained HTML page (figures embedded as base64 PNG)."""
    e, o = html.escape, report.origin
    parts = [
        f"<h1>{e(o.title)}</h1>",
        f"<p>Command: <code>{e(o.command)}</code> · {e(o.code_text())} · "
        f"results of {e(o.date)}</p>",
        *(f"<p>{e(text)}</p>" for text in _header(report)),
    ]
    for t in report.tables:
        head = "".join(f"<th>{e(c)}</th>" for c in t.columns)
        cells = _cells(t, lambda c: f"<b>{e(c)}</b>", e)
        body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells)
        parts.append(f"<h2>{e(t.title)}</h2>")
        if t.summary:
            parts.append(f"<p><b>Finding.</b> {e(t.summary)}</p>")
        if t.settings:
            parts.append(f"<p>Settings: {e(t.settings)}.</p>")
        parts.append(
            f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'
            f"<p><small>{e(t.note)}</small></p>"
        )
    for number, p in enumerate(report.figures, 1):
        data = base64.b64encode(p.read_bytes()).decode()
        caption = figures.caption(p.stem)
        parts.append(
            f'<figure><img alt="{e(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption><b>Figure {number}.</b> {e(caption)}</figcaption></figure>"
        )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>"
        f"{e(report.origin.title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )


def _swept(report: Report) -> list[str]:
    """The columns other than results (and the examples' files, the reused rows' origin) that
    vary between rows (eps: shown as eps_255): what the user varied, by a sweep or by a list
    within each job (``method``, ``box``, ``eps``), under the header's "varied:", not
    "swept:", which a reader takes for the ``-m`` axes alone. A column that a swept
    group choice sets (:func:`~snnattack.report.collect.set_by_choice`: an event dataset's
    frames) is named with that choice, ``dataset (with its encoding)``, not as swept alone; a
    crafting model's setting whose values follow another column named, row for row and
    back (``source_lambda`` beside ``lambda``: the target's, or a source of the target's
    settings; ``source_kind`` beside ``box``, after it), is not named again (two settings
    the user swept in step both are). An analysis's key that varies between jobs is named
    too (:func:`~snnattack.report.collect.analyses_swept`:
    no attack row differs by it, Table 1's shuffle modes do)."""
    follows = set_by_choice(report.jobs)
    results = {"clean_acc", "source_clean_acc", "job", "eps", "examples", "reused_from"}
    results |= {*MEASURES, *PROVENANCE}  # the code that made a row: the header's commit line
    varied = [c for c in report.columns[1:] if len({str(r.get(c)) for r in report.rows}) > 1]
    candidates = [c for c in varied if c not in results]

    def derived(c: str) -> bool:
        return c.startswith("source_") and c not in follows

    plain = [c for c in candidates if not derived(c)]  # named, each: before or after the source's
    swept: list[str] = []
    for c in candidates:
        if not derived(c) or not any(_one_to_one(report.rows, k, c) for k in (*plain, *swept)):
            swept.append(c)
    with_it = {c: [k for k in swept if follows.get(k) == c] for c in swept}
    return [
        *(
            f"{c} (with its {', '.join(with_it[c])})" if with_it[c] else c
            for c in swept
            if c not in follows or follows[c] not in swept
        ),
        *analyses_swept(report.jobs),
    ]


def _one_to_one(rows: list[dict[str, Any]], a: str, b: str) -> bool:
    """Whether the columns ``a`` and ``b`` of ``rows`` determine each other."""
    pairs = {(str(r.get(a)), str(r.get(b))) for r in rows}
    return len(pairs) == len({x for x, _ in pairs}) == len({y for _, y in pairs})


def write_report(folder: Path) -> Report:
    """Builds the report of ``folder`` and writes report.md, results.csv and report.html, each
    atomically and the three as one (:func:`~snnattack.records.files.write_all`); a full disk
    or read-only folder is one :class:`~snnattack.errors.WriteError` naming the file (or the
    folder the figures go to)."""
    try:
        report = build_report(folder)  # it draws the figures into the folder
    except OSError as err:
        raise write_error(err.filename or folder, err) from None
    folder = report.folder
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=report.columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: cell(v) for k, v in r.items()} for r in report.rows)
    files = {kind: folder / name for kind, name in _FILES.items()}
    write_all(  # as one: a refused report.md left results.csv new beside the old report.html
        {
            files["csv"]: table.getvalue().encode(),
            files["md"]: markdown(report),
            files["html"]: html_page(report),
        }
    )
    report.files = {**files, **{p.stem: p for p in report.figures}}
    return report


# every module of report/ registers its tables and figures; last, as callback.py imports
# write_report
discover(__name__, __path__)
