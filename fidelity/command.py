"""What every comparison of this folder shares: the options (``--reference FOLDER`` the
clone, ``--samples``, ``--event-output``, ``--event-grad``, with :mod:`snnattack.tools.command`'s
``--seed`` and ``--malloc``), a bad option refused in one line before the clone is read, the
record's table on stderr and the record as JSON on stdout; and a per-setting record's head
(:func:`per_setting`) and table (:func:`fidelity_table`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rich.table import Table

from snnattack.gradients import GRADIENT_MODES
from snnattack.runtime.cli import ArgumentParser
from snnattack.tools.command import check, parser, run
from snnattack.values import integer


def comparison_parser(name: str, doc: str | None, samples: str) -> ArgumentParser:
    """The parser of ``python -m fidelity.<name>``; ``samples`` says what ``--samples`` counts."""
    out = parser(f"python -m fidelity.{name}", doc)
    out.add_argument(
        "--reference", metavar="FOLDER", required=True, help="a clone of the reference"
    )
    out.add_argument("--samples", type=int, default=32, help=samples)
    out.add_argument(
        "--event-output",
        choices=("readout", "spiking"),
        default="readout",
        help="the event net's output: its linear readout, or an LIF layer after it (spike "
        "rates, often tied)",
    )
    out.add_argument(
        "--event-grad",
        choices=GRADIENT_MODES,
        default="stbp",
        help="the gradient mode of both sides, e.g. pdsg",
    )
    return out


def compare(
    args: argparse.Namespace,
    measure: Callable[[], dict[str, Any]],
    table: Callable[[dict[str, Any]], Table],
) -> None:
    """``--samples`` checked, then ``measure()``'s record, its table and its JSON."""

    def checked() -> dict[str, Any]:
        check(args, {"samples": integer(1)})
        return measure()

    run(args, checked, lambda record: [table(record)])


def event_comparison(
    name: str,
    doc: str | None,
    samples: str,
    measure: Callable[[str, int, int, bool, str], dict[str, Any]],
    table: Callable[[dict[str, Any]], Table],
    argv: list[str] | None,
) -> None:
    """The command of a comparison whose ``measure`` takes the clone, ``--samples``,
    ``--seed``, the spiking output (``--event-output spiking``) and ``--event-grad``."""
    args = comparison_parser(name, doc, samples).parse_args(argv)
    spiking = args.event_output == "spiking"
    compare(
        args,
        lambda: measure(args.reference, args.samples, args.seed, spiking, args.event_grad),
        table,
    )


def per_setting(samples: int, seed: int, spiking_output: bool, grad: str) -> dict[str, Any]:
    """The head of a per-setting record (:mod:`fidelity.retime`, :mod:`fidelity.gsattack`,
    :mod:`fidelity.patch`), its ``settings`` still empty."""
    return {
        "samples": samples,
        "seed": seed,
        "spiking_output": spiking_output,
        "grad": grad,
        "settings": {},
    }


def fidelity_table(record: dict[str, Any], attack: str, ours: str) -> Table:
    """A rich table of a fidelity record (:mod:`fidelity.retime`,
    :mod:`fidelity.gsattack`): per setting both sides' fooled samples, the
    identical examples and the seconds (this project's where its side ``ours`` has them), out
    of the samples both attack (``correct`` where the record has it: the clean-correct ones)."""
    n = record.get("correct", record["samples"])
    shown = f"{record['samples']} event digits" + (
        f" ({n} classified right)" if "correct" in record else ""
    )
    table = Table(title=f"{attack} beside the reference on {shown}, one thread")
    timed = all("seconds" in m[ours] for m in record["settings"].values())
    columns = ["setting", "fooled (ref)", f"fooled ({ours})", "identical", "ref (s)"]
    for col in [*columns, *(["ours (s)"] if timed else [])]:
        table.add_column(col, justify="right")
    for name, m in record["settings"].items():
        ref, mine = m["reference"], m[ours]
        table.add_row(
            name,
            f"{ref['fooled']} / {n}",
            f"{mine['fooled']} / {n}",
            f"{m['identical']} / {n}",
            f"{ref['seconds']:.2f}",
            *([f"{mine['seconds']:.2f}"] if timed else []),
        )
    return table
