"""The leaderboard of a folder of entries: ``python -m snnattack.benchmark.leaderboard DIR``.

Every ``*.json`` file below ``DIR`` is an entry, checked against the schema, but a job's
files: in a benchmark sweep's folder, each job's ``entry.json`` (:func:`candidates`). Entries
are grouped by protocol and ranked by their worst-case robust accuracy, highest first. As
RobustBench's rules do, an entry is ranked apart (listed after the ranked ones, marked,
without a rank, saying why: :func:`reasons`) when its masking checks fired, when it was run
with an older version of its protocol, with a protocol file other than the released one
(:mod:`snnattack.benchmark.release`), with settings of the protocol overridden, on data of
its own, when its rows, radii or number of test images are not its protocol file's (an entry
edited by hand, or cut short), or when the same weights, run at the same T and input, are
ranked under the protocol already.
A folder without entries, an entry that does not match the schema, names an unknown protocol
or a version that has no protocol file is refused with one line naming the folder or file. It
writes ``leaderboard.md`` and ``leaderboard.html`` (one static page, offline, sortable and
filterable: :mod:`snnattack.benchmark.page`) into ``--out`` (default ``DIR``), never over a
file that is not one of its pages.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Any

from snnattack.benchmark.entry import read_entry
from snnattack.benchmark.page import html
from snnattack.benchmark.protocol import PROTOCOL_DIR, Measures, Protocol, available, protocol
from snnattack.benchmark.release import recorded
from snnattack.benchmark.rows import DIRTY_MARK, DIRTY_NOTE, TITLE, Row, attacks, cells, shown
from snnattack.errors import UserError
from snnattack.records.files import write_atomic
from snnattack.runtime.cli import ArgumentParser


def reasons(
    entry: dict[str, Any], measured: Measures, current: int, released: str | None
) -> tuple[str, ...]:
    """Why ``entry`` is ranked apart (none: it is ranked), what the protocol file it names
    measures being ``measured`` (compared where the file holds it: a worst case over fewer
    attacks ranks too high), its protocol's latest version ``current`` and the recorded hash
    of the file it names ``released`` (None: not released)."""
    found = []
    if entry["masking"]["flagged"]:
        found.append("masking checks fired: " + ", ".join(entry["masking"]["flagged"]))
    provenance = entry["provenance"]
    version = provenance["protocol_version"]
    if version != current:
        found.append(f"protocol version {version}, current {current}")
    if released is None:
        found.append("its protocol file is not released (no hash recorded)")
    elif provenance["protocol_sha256"] != released:
        found.append(
            f"its protocol file is not the released one (sha256 "
            f"{provenance['protocol_sha256'][:12]}..., released {released[:12]}...)"
        )
    if provenance["overrides"]:
        found.append("overridden: " + ", ".join(provenance["overrides"]))
    if entry["data"] != "protocol":
        found.append("its own data, not the protocol's")
    if measured.rows is not None:
        if missing := [r for r in measured.rows if r not in entry["robust_acc"]]:
            found.append("rows missing: " + ", ".join(missing))
        if other := [r for r in entry["robust_acc"] if r not in measured.rows]:
            found.append("rows not in its protocol: " + ", ".join(other))
    if measured.eps is not None and measured.eps != sorted(entry["eps_255"]):
        found.append(f"eps_255 {entry['eps_255']}, its protocol's {measured.eps}")
    if measured.n is not None and entry["data"] == "protocol" and entry["n"] != measured.n:
        found.append(f"{entry['n']} test images, its protocol's {measured.n}")
    return tuple(found)


SKIPPED = ("wandb",)  # folders of other tools beside entries (logger=wandb's runs)


def candidates(folder: Path, pattern: str, left_out: Collection[Path] = ()) -> list[Path]:
    """The files below ``folder`` matching ``pattern`` that may be entries: in a job's folder
    (one holding ``metrics.json``: a benchmark sweep's jobs) only its ``entry.json``, and none
    in a hidden folder (``.rows``, ``.hydra``), a folder of :data:`SKIPPED` or one of
    ``left_out`` (at a sweep's end, its refused jobs' folders: what they hold is the user's,
    which the job's refusal named, not a result)."""
    jobs = {p.parent for p in folder.glob("**/metrics.json")}
    left = {p.resolve() for p in left_out}
    found = []
    for path in sorted(folder.glob(pattern)):
        parts = path.relative_to(folder).parts[:-1]
        if any(p.startswith(".") or p in SKIPPED for p in parts):
            continue
        if left and not left.isdisjoint(path.resolve().parents):
            continue
        inside = [folder.joinpath(*parts[:i]) in jobs for i in range(len(parts) + 1)]
        if any(inside) and not (inside[-1] and path.name == "entry.json"):
            continue
        found.append(path)
    return found


def entries(
    folder: Path,
    protocols: Path = PROTOCOL_DIR,
    pattern: str = "**/*.json",
    left_out: Collection[Path] = (),
) -> list[tuple[Path, dict[str, Any], Protocol]]:
    """Every entry below ``folder`` (its :func:`candidates` matching ``pattern``, none below
    ``left_out``), checked (UserError naming the first bad file), with the protocol file it
    names; a folder without one is refused too. Each protocol file is read once, however many
    entries name it, and so is each protocol's latest file, whose version ranks the others
    apart: its block must say the version its name does."""
    if not folder.is_dir():
        raise UserError(f"DIR={str(folder)!r} is not a folder; accepted: a folder of entries")
    known: dict[tuple[str, int], Protocol] = {}  # by (protocol, version): the files read
    found = []
    for path in candidates(folder, pattern, left_out):
        entry = read_entry(path)
        label = (entry["protocol"], entry["provenance"]["protocol_version"])
        if label not in known:
            try:
                known[label] = protocol(*label, folder=protocols)
            except UserError as err:
                raise UserError(f"{path}: {err}") from None
        if known[label].name != entry["protocol"]:  # digits_v1: a file's name, not the protocol's
            raise UserError(
                f"{path}: field protocol={entry['protocol']!r} names a protocol file, not a "
                f"protocol; accepted: {known[label].name} (its version is "
                "provenance.protocol_version)"
            )
        found.append((path, entry, known[label]))
    latest = {(name, versions[-1]) for name, versions in available(protocols).items()}
    for name, version in sorted(latest - set(known)):
        if any(label[0] == name for label in known):  # its block checked against its file name
            protocol(name, version, folder=protocols)
    if not found:
        raise UserError(
            f"DIR={str(folder)!r} holds no entry (*.json below it, a job's metrics.json aside); "
            "accepted: a folder of entries or a benchmark sweep's folder (its jobs' entry.json)"
        )
    return found


def board(
    folder: Path,
    protocols: Path = PROTOCOL_DIR,
    pattern: str = "**/*.json",
    left_out: Collection[Path] = (),
) -> list[Row]:
    """The rows of the leaderboard of :func:`entries`: by protocol (name order), ranked ones
    by worst case (highest first; ties by name), then the ones ranked apart. Entries of the
    same weights, T, input and protocol file are ranked once: the one of the lowest worst case."""
    versions = available(protocols)
    hashes = recorded(protocols)
    rows = []
    for path, entry, named in entries(folder, protocols, pattern, left_out):
        current = versions[entry["protocol"]][-1]
        why = reasons(entry, named.measures, current, hashes.get(f"{named.label}.yaml"))
        rows.append(Row(entry, path, None, why))
    rows.sort(
        key=lambda r: (
            r.entry["protocol"],
            bool(r.apart),
            -r.entry["worst_case"],
            r.entry["model"]["name"],
        )
    )
    ranks: Counter[str] = Counter()  # the ranked rows of each protocol so far
    ranked = []
    for row in duplicates(rows, folder):
        if not row.apart:
            ranks[row.entry["protocol"]] += 1
            row = Row(row.entry, row.path, ranks[row.entry["protocol"]], ())
        ranked.append(row)
    return ranked


def _run_alike(row: Row) -> tuple:
    """What makes two entries one model's result: its weights, run at the same T and input
    (encoding, levels), on the same protocol file. The same weights at another T are another
    model as deployed: ranked on their own."""
    model = row.entry["model"]
    settings = (model["T"], model.get("encoding"), model.get("levels"))
    return (row.entry["provenance"]["weights"], *settings, row.protocol)


def duplicates(rows: list[Row], folder: Path) -> list[Row]:
    """``rows`` (ranked ones first, by worst case) with every ranked entry of the same weights,
    T, input and protocol file as a later one (a lower worst case) marked apart: ranked once, at its
    lowest, which its reason names by its path below ``folder``, the folder the board reads
    (``0/entry.json``: every job of a sweep writes an ``entry.json``, so its base name alone
    named none). An entry without a weights hash has no duplicate."""
    lowest: dict[tuple, Row] = {}
    for row in rows:
        if row.entry["provenance"]["weights"] is not None and not row.apart:
            lowest[_run_alike(row)] = row
    marked = []
    for row in rows:
        kept = lowest.get(_run_alike(row))
        if kept is not None and kept is not row and not row.apart:
            where = kept.path.relative_to(folder).as_posix()
            note = f"same weights, T and protocol as {where}, ranked once"
            row = Row(row.entry, row.path, None, (note,))
        marked.append(row)
    marked.sort(key=lambda r: (r.entry["protocol"], bool(r.apart)))  # stable: order kept
    return marked


def markdown(rows: list[Row]) -> str:
    """The board (:func:`board`'s rows, never none) as Markdown: one section per protocol,
    ranked entries then the ones apart; an entry made from a tree with uncommitted changes has
    :data:`DIRTY_MARK` beside its model, and the page a legend saying what it means."""
    lines = [f"# {TITLE}", ""]
    lines += [
        "Robust accuracy (%) under each protocol (docs/benchmark.md). *worst case*: the lowest",
        "over the protocol's attacks; *reported*: the lowest the paper reported; *gap*: reported",
        "minus worst case. Entries ranked apart are marked ⚠ and carry no rank; *apart* says why.",
        "",
    ]
    if any(r.dirty for r in rows):  # a legend only where a mark is: the page of none unchanged
        lines += [f"{DIRTY_MARK} beside a model: {DIRTY_NOTE}.", ""]
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
            if row.dirty:
                text[head.index("model")] += f" {DIRTY_MARK}"
            lines.append("| " + " | ".join(map(cell, text)) + " |")
        lines.append("")
    return "\n".join(lines)


def cell(text: str) -> str:
    """``text`` as one cell of a Markdown table: ``|`` escaped, line breaks as spaces (a
    name or paper of two lines cut the row, and the table, in two)."""
    return re.sub(r"\s*[\r\n]+\s*", " ", text).replace("|", "\\|")


def check_out(out: Path, names: list[str]) -> None:
    """Refuses an ``--out`` that is a file, or whose ``names`` (the pages) exist but are not
    pages of this command: it never overwrites another file."""
    if out.exists() and not out.is_dir():
        raise UserError(
            f"--out={str(out)!r} is a file; accepted: a folder (the pages go in it as "
            f"{' and '.join(names)})"
        )
    for name in names:
        path = out / name
        if path.exists() and not (path.is_file() and TITLE in head(path)):
            raise UserError(
                f"--out={str(out)!r} holds {name}, which is not a page of this command; "
                "accepted: a folder without it, or with the pages this command wrote"
            )


def head(path: Path) -> str:
    """The first characters of a text file (its title)."""
    with open(path, errors="replace") as f:
        return f.read(2048)


def write(
    folder: Path,
    out: Path,
    protocols: Path = PROTOCOL_DIR,
    pattern: str = "**/*.json",
    left_out: Collection[Path] = (),
) -> dict[str, Path]:
    """Writes ``leaderboard.md`` and ``leaderboard.html`` of the entries below ``folder``
    (its files matching ``pattern``, none below the folders ``left_out``) into ``out``, after
    every check."""
    files = {"md": out / "leaderboard.md", "html": out / "leaderboard.html"}
    rows = board(folder, protocols, pattern, left_out)  # DIR first: --out defaults to it
    check_out(out, [p.name for p in files.values()])
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # below a file, on a read-only or storeless filesystem
        raise UserError(
            f"--out={str(out)!r} cannot be made ({err.strerror}); accepted: a folder that can "
            "be written or created"
        ) from None
    write_atomic(files["md"], markdown(rows))
    write_atomic(files["html"], html(rows))
    return files


def main(argv: list[str] | None = None) -> int:
    """The command line: exit 0 with the files written, 2 with one line and nothing written."""
    parser = ArgumentParser(
        prog="python -m snnattack.benchmark.leaderboard",
        description="Markdown and HTML leaderboard of a folder of benchmark entries.",
    )
    parser.add_argument("folder", type=Path, metavar="DIR", help="a folder of entries (*.json)")
    parser.add_argument("--out", type=Path, help="where the pages go (default: DIR)")
    parser.add_argument(
        "--protocols",
        type=Path,
        default=PROTOCOL_DIR,
        metavar="PDIR",
        help="the folder of the entries' protocol files (default: experiments/benchmark/; a "
        "drafted protocol's folder, as its sweep's -cd)",
    )
    args = parser.parse_args(argv)
    try:
        if not args.protocols.is_dir():  # else every entry's protocol would read as unknown
            raise UserError(
                f"--protocols={str(args.protocols)!r} is not a folder; accepted: a folder of "
                "protocol files (<name>_v<version>.yaml)"
            )
        files = write(args.folder, args.out or args.folder, args.protocols)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in files.values():
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
