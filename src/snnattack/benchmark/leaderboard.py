"""The leaderboard of a folder of entries: ``python -m snnattack.benchmark.leaderboard DIR``.

Every ``*.json`` file below ``DIR`` (a job's ``metrics.json`` aside) is an entry, checked
against the schema. Entries are grouped by protocol and ranked by their worst-case robust
accuracy, highest first. As RobustBench's rules do, an entry is ranked apart (listed after
the ranked ones, marked, without a rank) when its masking checks fired, when it was run with
an older version of its protocol, or on data of its own instead of the protocol's. An entry
that does not match the schema, names an unknown protocol or a version that has no protocol
file is refused with one line naming the file. It writes ``leaderboard.md`` and
``leaderboard.html`` (one static page, offline, sortable and filterable:
:mod:`snnattack.benchmark.page`) into ``--out`` (default ``DIR``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snnattack.benchmark.entry import lowest_reported, read_entry
from snnattack.benchmark.protocol import PROTOCOL_DIR, available, protocol
from snnattack.errors import UserError


@dataclass(frozen=True)
class Row:
    """One entry on the board: its file, its rank within its protocol (None: ranked apart)
    and why it is apart."""

    entry: dict[str, Any]
    path: Path
    rank: int | None
    apart: tuple[str, ...]

    @property
    def protocol(self) -> str:
        """``<protocol>_v<version>``, the protocol file the entry was run with."""
        return f"{self.entry['protocol']}_v{self.entry['provenance']['protocol_version']}"

    @property
    def reported(self) -> float | None:
        """The lowest robust accuracy the paper reported (``clean`` aside)."""
        return lowest_reported(self.entry["reported"])


def reasons(entry: dict[str, Any], current: int) -> tuple[str, ...]:
    """Why ``entry`` is ranked apart (none: it is ranked)."""
    found = []
    if entry["masking"]["flagged"]:
        found.append("masking checks fired: " + ", ".join(entry["masking"]["flagged"]))
    version = entry["provenance"]["protocol_version"]
    if version != current:
        found.append(f"protocol version {version}, current {current}")
    if entry["data"] != "protocol":
        found.append("its own data, not the protocol's")
    return tuple(found)


def entries(
    folder: Path, protocols: Path = PROTOCOL_DIR, pattern: str = "**/*.json"
) -> list[tuple[Path, dict[str, Any]]]:
    """Every entry below ``folder`` (its files matching ``pattern``, ``metrics.json`` aside),
    checked (UserError naming the first bad file)."""
    if not folder.is_dir():
        raise UserError(f"DIR={str(folder)!r} is not a folder; accepted: a folder of entries")
    found = []
    for path in sorted(folder.glob(pattern)):
        if path.name == "metrics.json":
            continue
        entry = read_entry(path)
        name, version = entry["protocol"], entry["provenance"]["protocol_version"]
        try:
            protocol(name, version, folder=protocols)
        except UserError as err:
            raise UserError(f"{path}: {err}") from None
        found.append((path, entry))
    return found


def board(folder: Path, protocols: Path = PROTOCOL_DIR, pattern: str = "**/*.json") -> list[Row]:
    """The rows of the leaderboard: by protocol (name order), ranked ones by worst case
    (highest first; ties by name), then the ones ranked apart."""
    versions = available(protocols)
    rows = []
    for path, entry in entries(folder, protocols, pattern):
        rows.append(Row(entry, path, None, reasons(entry, versions[entry["protocol"]][-1])))
    rows.sort(
        key=lambda r: (
            r.entry["protocol"],
            bool(r.apart),
            -r.entry["worst_case"],
            r.entry["model"]["name"],
        )
    )
    ranked: list[Row] = []
    for row in rows:
        if row.apart:
            ranked.append(row)
            continue
        before = [r for r in ranked if r.entry["protocol"] == row.entry["protocol"]]
        ranked.append(Row(row.entry, row.path, len(before) + 1, ()))
    return ranked


def attacks(rows: list[Row]) -> list[str]:
    """The attack columns: every entry's attacks, in the order they first appear."""
    return list(dict.fromkeys(k for r in rows for k in r.entry["robust_acc"]))


def number(value: float | None) -> str:
    """A percentage as the board shows it (two decimals, the entries' precision)."""
    return "" if value is None else f"{value:.2f}"


def cells(row: Row, columns: list[str]) -> dict[str, Any]:
    """The values of a row by column (numbers as they are, text as text)."""
    e = row.entry
    model = e["model"]
    return {
        "rank": row.rank,
        "model": model["name"],
        "paper": " ".join(x for x in (model["paper"], model["venue"]) if x) or None,
        "protocol": row.protocol,
        "architecture": model["architecture"],
        "T": model["T"],
        "training": model["training"],
        "parameters": model["parameters"],
        "clean": e["clean_acc"],
        "reported": row.reported,
        "worst case": e["worst_case"],
        "gap": e["gap"],
        **{a: e["robust_acc"].get(a) for a in columns},
        "n": e["n"],
        "apart": "; ".join(row.apart) or None,
    }


PERCENT = ("clean", "reported", "worst case", "gap")  # columns shown with two decimals


def shown(column: str, value: Any, attack_columns: list[str]) -> str:
    """A cell's text."""
    if value is None:
        return ""
    if column in PERCENT or column in attack_columns:
        return number(value)
    return str(value)


def markdown(rows: list[Row]) -> str:
    """The board as Markdown: one section per protocol, ranked entries then the ones apart."""
    lines = ["# SNN robustness leaderboard", ""]
    lines += [
        "Robust accuracy (%) under each protocol (docs/benchmark.md). *worst case*: the lowest",
        "over the protocol's attacks; *reported*: the lowest the paper reported; *gap*: reported",
        "minus worst case. Entries ranked apart are marked ⚠ and carry no rank.",
        "",
    ]
    for name in dict.fromkeys(r.protocol.rpartition("_v")[0] for r in rows):
        group = [r for r in rows if r.entry["protocol"] == name]
        columns = attacks(group)
        head = list(cells(group[0], columns))
        lines += [f"## {name}", ""]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in group:
            values = cells(row, columns)
            text = [shown(c, values[c], columns) for c in head]
            if row.apart:
                text[0] = "⚠"
            lines.append("| " + " | ".join(t.replace("|", "\\|") for t in text) + " |")
        lines.append("")
    if not rows:
        lines += ["No entry yet.", ""]
    return "\n".join(lines)


def write(
    folder: Path, out: Path, protocols: Path = PROTOCOL_DIR, pattern: str = "**/*.json"
) -> dict[str, Path]:
    """Writes ``leaderboard.md`` and ``leaderboard.html`` of the entries below ``folder``
    (its files matching ``pattern``)."""
    from snnattack.benchmark.page import html
    from snnattack.records.files import write_atomic

    rows = board(folder, protocols, pattern)
    out.mkdir(parents=True, exist_ok=True)
    files = {"md": out / "leaderboard.md", "html": out / "leaderboard.html"}
    write_atomic(files["md"], markdown(rows))
    write_atomic(files["html"], html(rows))
    return files


def main(argv: list[str] | None = None) -> int:
    """The command line: exit 0 with the files written, 2 with one line and nothing written."""
    parser = argparse.ArgumentParser(
        prog="python -m snnattack.benchmark.leaderboard",
        description="Markdown and HTML leaderboard of a folder of benchmark entries.",
    )
    parser.add_argument("folder", type=Path, metavar="DIR", help="a folder of entries (*.json)")
    parser.add_argument("--out", type=Path, help="where the pages go (default: DIR)")
    args = parser.parse_args(argv)
    try:
        files = write(args.folder, args.out or args.folder)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in files.values():
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
