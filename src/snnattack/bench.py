"""Cost of an attack step per gradient mode: ``python -m snnattack.bench [options]``.

Builds the named model (untrained, BatchNorm statistics calibrated on the random batch so
that it spikes), then measures, in one process and interleaved, a plain forward and one
attack gradient step per registered gradient mode (see :mod:`snnattack.analysis.cost`).
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

from snnattack.analysis.cost import calibrate_batchnorm, measure_cost, training_step
from snnattack.gradients import GRADIENT_MODES
from snnattack.models import build
from snnattack.models.fold import folded


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
        "--train", action="store_true", help="also time an STBP training step (weights)"
    )
    parser.add_argument(
        "--fold-bn", action="store_true", help="attack a copy with BN folded into its convs"
    )
    parser.add_argument(
        "--channels-last", action="store_true", help="model and input in channels_last layout"
    )
    parser.add_argument(
        "--compile", action="store_true", help="attack a torch.compile'd model (slow warm-up)"
    )
    parser.add_argument(
        "--sweep",
        metavar="KEY=V1,V2,...",
        help=f"one measurement per value of one of {', '.join(SWEEPABLE)}, e.g. T=4,8,16",
    )
    args = parser.parse_args(argv)
    args.sweep_values = _sweep(parser, args.sweep)
    return args


SWEEPABLE = ("T", "batch", "lam")


def _sweep(parser: argparse.ArgumentParser, text: str | None) -> tuple[str, list[Any]] | None:
    """``"T=4,8,16"`` as ``("T", [4, 8, 16])``; a usage error (exit 2) if malformed."""
    if text is None:
        return None
    key, _, values = text.partition("=")
    if key not in SWEEPABLE or not values:
        parser.error(f"--sweep: expected KEY=V1,V2,... with KEY one of {SWEEPABLE}, got {text!r}")
    cast = float if key == "lam" else int
    try:
        return key, [cast(v) for v in values.split(",")]
    except ValueError:
        parser.error(f"--sweep {key}: values must be {cast.__name__}s, got {values!r}")


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
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    calibrate_batchnorm(model, x)
    extra = {"train": training_step(model, x, y)} if args.train else {}
    attacked = folded(model) if args.fold_bn else model
    if args.compile:
        attacked = torch.compile(attacked)
    settings = {k: v for k, v in vars(args).items() if k != "sweep_values"}
    return {
        "settings": settings,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "modes": measure_cost(attacked, x, y, args.modes, args.repeats, extra),
    }


def sweep(args: argparse.Namespace) -> list[dict[str, Any]]:
    """One :func:`bench` record per value of ``--sweep`` (just one without it)."""
    if args.sweep_values is None:
        return [bench(args)]
    key, values = args.sweep_values
    return [bench(argparse.Namespace(**{**vars(args), key: value})) for value in values]


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


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    records = sweep(args)
    console = Console(stderr=True)
    for record in records:
        s = record["settings"]
        title = (
            f"{s['model']} batch={s['batch']} T={s['T']} λ={s['lam']} on {record['device']}, "
            f"median of {s['repeats']}"
        )
        console.print(cost_table(record["modes"], title))
    json.dump(records[0] if args.sweep is None else records, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
