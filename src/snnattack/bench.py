"""Cost of an attack step per gradient mode: ``python -m snnattack.bench [options]``.

Builds the named model (untrained, BatchNorm statistics calibrated on the random batch so
that it spikes), then measures, in one process and interleaved, a plain forward and one
attack gradient step per registered gradient mode (see :mod:`snnattack.analysis.cost`), and
one adversarial training step (``--adversary``, default PGD-7 at 8/255: crafting in eval mode,
then the loss's backward) per gradient mode of its adversary, as a ratio to a standard step.
Prints JSON on stdout and a table on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from snnattack.analysis.cost import calibrate_batchnorm, measure_cost, measure_training_cost
from snnattack.gradients import GRADIENT_MODES
from snnattack.models import build
from snnattack.training.adversary import METHODS as ADVERSARY_METHODS
from snnattack.training.adversary import Adversary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m snnattack.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default="digits_net", help="model registry name")
    parser.add_argument(
        "--input-shape",
        type=int,
        nargs="+",
        default=[1, 8, 8],
        help="C H W of one image (vgg11: 3 32 32)",
    )
    parser.add_argument("--num-classes", type=int, default=10, help="output classes")
    parser.add_argument("--batch", type=int, default=32, help="images per step (paper: 32)")
    parser.add_argument("--T", type=int, default=4, help="simulation time steps")
    parser.add_argument("--lam", type=float, default=1.0, help="membrane leak λ in (0, 1]")
    parser.add_argument("--reset", default="hard", help="hard | soft")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions per mode")
    parser.add_argument(
        "--modes",
        nargs="+",
        default=None,
        help=f"gradient modes (default: all, {', '.join(GRADIENT_MODES)})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and inputs")
    parser.add_argument(
        "--adversary",
        default="pgd",
        choices=ADVERSARY_METHODS,
        help="method of the adversarial training step timed per gradient mode",
    )
    parser.add_argument("--adversary-steps", type=int, default=7, help="its steps (pgd, trades)")
    parser.add_argument("--adversary-eps", type=float, default=8, help="its ε in 1/255")
    return parser.parse_args(argv)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    """The measurement record for the parsed options."""
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    model = build(
        args.model,
        num_classes=args.num_classes,
        in_channels=args.input_shape[0],
        T=args.T,
        lam=args.lam,
        reset=args.reset,
    ).to(device)
    x = torch.rand(args.batch, *args.input_shape, device=device)
    y = torch.randint(0, args.num_classes, (args.batch,), device=device)
    calibrate_batchnorm(model, x)
    return {
        "settings": dict(vars(args)),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "modes": measure_cost(model, x, y, args.modes, args.repeats),
        "training": measure_training_cost(model, x, y, adversaries(args), args.repeats),
    }


def adversaries(args: argparse.Namespace) -> dict[str, Adversary]:
    """The adversary of the timed training step, once per gradient mode (``method@mode``)."""
    return {
        f"{args.adversary}@{mode}": Adversary(
            method=args.adversary,
            eps=args.adversary_eps / 255.0,
            steps=args.adversary_steps,
            grad_mode=mode,
        )
        for mode in args.modes or GRADIENT_MODES
    }


def cost_table(modes: dict[str, dict[str, Any]], title: str = "") -> Table:
    """A rich table of a :func:`measure_cost` result."""
    table = Table(title=title)
    for col in (
        "step",
        "time (ms)",
        "× forward",
        "× stbp",
        "peak MB",
        "mem × forward",
        "mem × stbp",
    ):
        table.add_column(col, justify="right")

    def fmt(v: float | None, spec: str) -> str:
        return "–" if v is None else format(v, spec)

    for name, m in modes.items():
        if "error" in m:
            table.add_row(name, m["error"], *[""] * 5)
            continue
        table.add_row(
            name,
            fmt(m["seconds"] * 1e3, ".2f"),
            fmt(m["time_vs_forward"], ".2f"),
            fmt(m["time_vs_stbp"], ".2f"),
            fmt(m["peak_mb"], ".1f"),
            fmt(m["memory_vs_forward"], ".2f"),
            fmt(m["memory_vs_stbp"], ".2f"),
        )
    return table


def training_table(steps: dict[str, dict[str, Any]], title: str = "") -> Table:
    """A rich table of a :func:`measure_training_cost` result."""
    table = Table(title=title)
    for col in ("step", "time (ms)", "× standard"):
        table.add_column(col, justify="right")
    for name, m in steps.items():
        if "error" in m:
            table.add_row(name, m["error"], "")
        else:
            table.add_row(
                name, format(m["seconds"] * 1e3, ".2f"), format(m["time_vs_standard"], ".2f")
            )
    return table


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    record = bench(args)
    title = (
        f"{args.model} batch={args.batch} T={args.T} λ={args.lam} on {record['device']}, "
        f"median of {args.repeats}"
    )
    console = Console(stderr=True)
    console.print(cost_table(record["modes"], title))
    console.print(training_table(record["training"], f"one {args.adversary} training step"))
    json.dump(record, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
