"""The rows of the leaderboard and their cells, shared by its Markdown
(:mod:`snnattack.benchmark.leaderboard`) and its HTML page (:mod:`snnattack.benchmark.page`):
one module below both, so that neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snnattack.benchmark.entry import lowest_reported

TITLE = "SNN robustness leaderboard"  # the pages' title: a file without it is not a page

# an entry made from a tree with uncommitted changes: its commit ends in DIRTY (as every
# record's git_commit, snnattack.records.provenance), and the page marks it with DIRTY_MARK
DIRTY = "+dirty"
DIRTY_MARK = "†"
DIRTY_NOTE = (
    "made from a tree with uncommitted changes (its provenance.commit ends in +dirty): "
    "its commit alone does not name the code that measured it"
)


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
    def dirty(self) -> bool:
        """Whether the entry was made from a tree with uncommitted changes (its recorded
        commit ends in :data:`DIRTY`): the board marks it (:data:`DIRTY_NOTE`)."""
        commit = self.entry["provenance"]["commit"]
        return commit is not None and commit.endswith(DIRTY)

    @property
    def reported(self) -> float | None:
        """The lowest robust accuracy the paper reported (``clean`` aside)."""
        return lowest_reported(self.entry["reported"])


# the columns of every row (:func:`cells`), the attacks' aside
FIXED = (
    *("rank", "model", "paper", "protocol", "architecture", "T", "encoding", "training"),
    "parameters",
    *("clean", "reported", "worst case", "gap", "n", "apart"),
)


def attacks(rows: list[Row]) -> list[str]:
    """The attack columns: every entry's attacks, in the order they first appear, but a name
    of :data:`FIXED`: a row named ``clean`` would take the place of that column, in every
    entry's row (``check_entry`` refuses it; a method named so one day stays off the page)."""
    return list(dict.fromkeys(k for r in rows for k in r.entry["robust_acc"] if k not in FIXED))


def encoding(model: dict[str, Any]) -> str | None:
    """The entry's input encoding as the board shows it (``direct``, ``poisson, 4 levels``);
    None where the entry does not state it."""
    if model["encoding"] is None:
        return None
    levels = model["levels"]
    return model["encoding"] + ("" if levels is None else f", {levels} levels")


def cited(paper: str | None, venue: str | None) -> str | None:
    """The paper column: ``Me et al. (ICLR 2027)``; the paper alone where it names its venue
    already (``Bu et al., CVPR 2023``), the venue alone without a paper."""
    if not paper or not venue:
        return paper or venue
    return paper if venue in paper else f"{paper} ({venue})"


def cells(row: Row, columns: list[str]) -> dict[str, Any]:
    """The values of a row by column (numbers as they are, text as text)."""
    e = row.entry
    model = e["model"]
    return {
        "rank": row.rank,
        "model": model["name"],
        "paper": cited(model["paper"], model["venue"]),
        "protocol": row.protocol,
        "architecture": model["architecture"],
        "T": model["T"],
        "encoding": encoding(model),
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
    if column in PERCENT or column in attack_columns:  # the entries' precision
        return f"{value:.2f}"
    return str(value)
