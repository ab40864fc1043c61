"""``python -m tools.timings``: measure how long the documented commands take, and write
the README's timings table (the one place the README and the experiment headers take
timings from).

Run from the repository root. Each command runs as a user would run it, from an empty
checkpoint store (so training is included) and into a fresh temporary folder; the table row
records the wall time, the date and the machine (CPU model and cores, GPU if any). Rows of
commands not measured this time are kept as they were.

    python -m tools.timings                  # headline sweep, test suite, digits_table2
    python -m tools.timings --only headline  # one row
    python -m tools.timings --only digits_eps digits_cost --dry-run  # print only
    python -m tools.timings --only digits_table2 --keep runs  # keep its sweep
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

START = "<!-- timings: start (written by python -m tools.timings; do not edit) -->"
END = "<!-- timings: end -->"
HEADER = ["run", "command", "wall time", "measured on"]
DEFAULT = ("headline", "suite", "digits_table2")


@dataclass(frozen=True)
class Target:
    """A documented command: its row label and its words (run from the repository root)."""

    label: str
    words: tuple[str, ...]
    sweep: bool = True  # a run.py multirun: gets an empty store and a fresh sweep folder


@dataclass(frozen=True)
class Measurement:
    """One timed run of a target."""

    seconds: float
    date: str
    machine: str


def targets(root: Path) -> dict[str, Target]:
    """The measurable commands: the headline sweep, the default test suite and every digits
    experiment file (``experiments/digits_*.yaml``), by name."""
    out = {
        "headline": Target(
            "headline sweep (quick start)",
            ("python", "run.py", "-m", "attack=rga,stbp", "lambda=0.5,0.9,1.0"),
        ),
        "suite": Target("default test suite", ("pytest",), sweep=False),
    }
    for path in sorted((root / "experiments").glob("digits_*.yaml")):
        words = ("python", "run.py", "-m", "-cd", "experiments", "-cn", path.stem)
        out[path.stem] = Target(f"`{path.stem}`", words)
    return out


def machine() -> str:
    """The machine in words: CPU model and cores, and the GPU when torch sees one."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{os.cpu_count()} CPU cores ({model})"
    if torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name(0)}"
    return text


def measure(target: Target, root: Path, keep: Path | None = None) -> float:
    """Seconds the target's command takes (a sweep from an empty store, in a temporary
    folder, or in ``keep`` to read its results afterwards); raises ``RuntimeError`` with the
    end of its output if it fails."""
    with tempfile.TemporaryDirectory(prefix="snnattack-timings-") as scratch:
        tmp = str(keep) if keep is not None else scratch
        words = [sys.executable if w == "python" else w for w in target.words]
        if words[0] == "pytest":
            words = [sys.executable, "-m", "pytest", *words[1:]]
        if target.sweep:
            words += [f"store.dir={tmp}/models", f"hydra.sweep.dir={tmp}/sweep"]
        start = time.monotonic()
        proc = subprocess.run(words, cwd=root, capture_output=True, text=True)
        seconds = time.monotonic() - start
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise RuntimeError(f"{shlex.join(target.words)} exited {proc.returncode}: {tail}")
    return seconds


def duration(seconds: float) -> str:
    """``84 s`` below two minutes, else ``10.3 min``."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def rewrite(readme: str, measured: dict[str, Measurement], known: dict[str, Target]) -> str:
    """``readme`` with its timings table's rows of ``measured`` targets replaced (or added in
    ``known``'s order); other rows and all text outside the table stay as they are."""
    if START not in readme or END not in readme:
        raise ValueError(f"the README has no timings table (lines {START!r} ... {END!r})")
    before, rest = readme.split(START, 1)
    table, after = rest.split(END, 1)
    rows = {}
    for line in table.strip().splitlines()[2:]:  # header and rule first
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = line.strip()
    for name, m in measured.items():
        t = known[name]
        rows[t.label] = (
            f"| {t.label} | `{shlex.join(t.words)}` | {duration(m.seconds)} | "
            f"{m.date}, {m.machine} |"
        )
    order = [t.label for t in known.values()]
    ranked = sorted(rows, key=lambda label: order.index(label) if label in order else len(order))
    lines = [
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
        *(rows[label] for label in ranked),
    ]
    return before + START + "\n" + "\n".join(lines) + "\n" + END + after


def main(argv: list[str] | None = None) -> None:
    root = Path.cwd()
    known = targets(root)
    parser = argparse.ArgumentParser(
        prog="python -m tools.timings",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=sorted(known),
        default=list(DEFAULT),
        metavar="NAME",
        help=f"what to measure (default: {' '.join(DEFAULT)}); one of: {', '.join(known)}",
    )
    parser.add_argument(
        "--readme", type=Path, default=root / "README.md", help="the file to rewrite"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the table, write nothing")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep each sweep's store and folder (its report) in DIR/NAME instead of deleting them",
    )
    args = parser.parse_args(argv)
    if not (root / "run.py").exists() or not args.readme.exists():
        parser.exit(2, f"error: run it from the repository root (no run.py or {args.readme})\n")
    today = datetime.date.today().isoformat()
    where = machine()
    measured = {}
    for name in args.only:
        print(f"measuring {name}: {shlex.join(known[name].words)}", file=sys.stderr)
        try:
            seconds = measure(known[name], root, args.keep / name if args.keep else None)
        except RuntimeError as err:
            parser.exit(1, f"error: {err}\n")
        print(f"  {duration(seconds)}", file=sys.stderr)
        measured[name] = Measurement(seconds, today, where)
    text = rewrite(args.readme.read_text(), measured, known)
    if args.dry_run:
        print(re.search(re.escape(START) + r".*?" + re.escape(END), text, re.S)[0])
    else:
        args.readme.write_text(text)
        print(f"wrote {args.readme}", file=sys.stderr)


if __name__ == "__main__":
    main()
