"""A forward and an STBP attack step per torch thread count, interleaved:
``python -m tools.thread_cost --threads 1 2 [options]``.

Builds the named model (untrained, BatchNorm statistics calibrated on the random batch so
that it spikes) and times, in every repeat, a forward (no autograd) and an STBP attack step
(forward and backward to the input) on each thread count in turn, so that the counts share
the machine's load: how the default of ``threads`` was chosen (docs/performance.md). Prints
JSON on stdout and a table on stderr.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch
from rich.table import Table

from snnattack.analysis.cost import attack_step
from snnattack.cpu.guard import BACKENDS
from snnattack.tools.command import (
    add_model_options,
    built_model,
    check_model,
    device_name,
    parser,
    run,
    settings,
)
from snnattack.values import MAX_THREADS, integer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    out = parser("python -m tools.thread_cost", __doc__)
    add_model_options(out)
    out.add_argument(
        "--threads", type=int, nargs="+", required=True, help="torch thread counts, e.g. 1 2"
    )
    out.add_argument(
        "--backend", choices=BACKENDS, default="c", help="the model's, as the config key backend"
    )
    return out.parse_args(argv)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """The record for the parsed options, refused first if one is out of range."""
    check_model(args)
    for count in args.threads:
        integer(1, MAX_THREADS).check("--threads", count)
    model, x, y = built_model(args, args.backend)
    return {
        "settings": settings(args),
        "device": device_name(x.device),  # where it measured (--device)
        "thread_steps": thread_cost(model, x, y, args.threads, args.repeats),
    }


def thread_cost(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, counts: list[int], repeats: int
) -> dict[str, dict[str, dict[str, float]]]:
    """Median wall seconds of a forward (no autograd) and of an STBP attack step (forward and
    backward to the input) on each torch thread count, the counts interleaved in every repeat
    so that they share the machine's load, and each time over the first count's
    (``vs_first``)."""

    def forward() -> None:
        with torch.no_grad():
            model(x)

    steps = {"forward": forward, "stbp": lambda: attack_step(model, x, y, "stbp")}
    saved = torch.get_num_threads()
    times: dict[tuple[int, str], list[float]] = {(n, s): [] for n in counts for s in steps}
    try:
        for step in steps.values():
            step()  # warm-up
        for _ in range(repeats):
            for n in counts:
                torch.set_num_threads(n)
                for name, step in steps.items():
                    start = time.perf_counter()
                    step()
                    times[n, name].append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(saved)
    med = {key: statistics.median(t) for key, t in times.items()}
    first = counts[0]
    return {
        str(n): {s: {"seconds": med[n, s], "vs_first": med[n, s] / med[first, s]} for s in steps}
        for n in counts
    }


def thread_table(record: dict[str, Any]) -> Table:
    """A rich table of :func:`measure`'s record."""
    s = record["settings"]
    table = Table(title=f"{s['model']} batch={s['batch']} T={s['T']}, median of {s['repeats']}")
    for col in ("threads", "step", "time (s)", "× first count"):
        table.add_column(col, justify="right")
    for n, by_step in record["thread_steps"].items():
        for name, m in by_step.items():
            table.add_row(n, name, format(m["seconds"], ".3f"), format(m["vs_first"], ".2f"))
    return table


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run(args, lambda: measure(args), lambda record: [thread_table(record)])


if __name__ == "__main__":
    main()
