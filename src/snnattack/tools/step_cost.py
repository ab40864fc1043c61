"""Cost of an attack step per gradient mode: ``python -m snnattack.tools.step_cost [options]``.

Builds the named model (untrained, BatchNorm statistics calibrated on the random batch so
that it spikes), then measures, in one process and interleaved, a plain forward and one
attack gradient step per registered gradient mode (see :mod:`snnattack.analysis.cost`).
``--impls fused unrolled`` measures each step with each neuron implementation and adds their
ratios (``fused_vs_unrolled``); ``--train`` adds an STBP training step. On a GPU it runs
under a job's numerics (``tf32: false``, ``deterministic: true``) unless ``--tf32`` or
``--nondeterministic`` say otherwise. Each step's floor, the
time of its convolutions and matrix products (``dense_vs_forward``; per fused/unrolled pair
``time_floor``), says how far any neuron implementation could take it. Then one adversarial
training step (``--adversary``, default PGD-7 at 8/255: crafting in the BatchNorm mode a
training's ``train.adversary.bn_mode=null`` takes, train mode for ``fgsm_rs`` and ``pgd``, eval
mode for ``fgsm``, ``trades`` and the modes ``rga``, ``ann``; then the parameters' gradient) per
gradient mode of its adversary, as a ratio to a standard training step (``training``).
Prints JSON on stdout and tables on stderr. On a CUDA device the record also holds
(``paper``) the absolute times and peak memory beside the RGA paper's Table S2 (``paper:``
of ``--paper``, by default experiments/tables2_cost_cifar10_vgg11.yaml).

The developer's other measurements are commands of the checkout's ``tools/`` folder (not
installed), run from the repository root: a step per torch thread count
(``python -m tools.thread_cost``), the default ensemble (``python -m tools.ensemble_cost``), a
Spike-Retiming step over a PGD step (``python -m tools.retime_cost``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from rich.markup import escape
from rich.table import Table

from snnattack.analysis.cost import measure_cost, measure_training_cost
from snnattack.cpu import native
from snnattack.cpu.guard import BACKENDS, applies
from snnattack.cuda import guard as gpu
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES
from snnattack.models.fold import folded
from snnattack.process.numerics import COMPILE_OPTIONS, held
from snnattack.snn.neurons import IMPLS
from snnattack.tools.command import (
    MODEL_RULES,
    add_model_options,
    built_model,
    check,
    check_model,
    device_name,
    parser,
    run,
    settings,
)
from snnattack.training.adversaries.recipe import ADVERSARIES, Adversary
from snnattack.values import RULES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    out = parser("python -m snnattack.tools.step_cost", __doc__)
    add_model_options(out)
    out.add_argument(
        "--modes", nargs="+", choices=GRADIENT_MODES, help="gradient modes (default: all)"
    )
    out.add_argument(
        "--impls",
        nargs="+",
        choices=IMPLS,
        help="measure every step with each neuron implementation (default: the model's, fused)",
    )
    out.add_argument("--train", action="store_true", help="also measure an STBP training step")
    out.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or this process's CPU time (steadier on a shared machine; CPU only)",
    )
    out.add_argument(
        "--backends",
        nargs="+",
        choices=BACKENDS,
        help="measure every step with the model on each, as the config key backend (c: the C "
        "kernels and memory savers on the CPU; default: c); the first is the bench's own",
    )
    out.add_argument(
        "--paper",
        help="experiment file whose paper.cost a CUDA measurement is shown beside (default: "
        "the checkout's experiments/tables2_cost_cifar10_vgg11.yaml, where there is one)",
    )
    out.add_argument(
        "--adversary",
        default="pgd",
        choices=ADVERSARIES,
        help="method of the adversarial training step timed per gradient mode",
    )
    out.add_argument("--adversary-steps", type=int, default=7, help="its steps (pgd, trades)")
    out.add_argument("--adversary-eps", type=float, default=8, help="its ε in 1/255")
    numerics = out.add_argument_group(
        "GPU numerics (default: a job's, tf32=false deterministic=true)"
    )
    numerics.add_argument("--tf32", action="store_true", help="allow TF32 (the config's tf32=true)")
    numerics.add_argument(
        "--nondeterministic", action="store_true", help="the config's deterministic=false"
    )
    layout = out.add_argument_group("evaluation-time speed-ups (attack steps only)")
    layout.add_argument(
        "--fold-bn", action="store_true", help="attack a copy with BN folded into its convs"
    )
    layout.add_argument(
        "--compile", action="store_true", help="attack a torch.compile'd model (slow warm-up)"
    )
    out.add_argument(
        "--sweep",
        action="append",  # given twice: refused (_sweep), not the last one alone
        metavar="KEY=V1,V2,...",
        help=f"one measurement per value of one of {', '.join(SWEEPABLE)}, e.g. T=4,8,16",
    )
    args = out.parse_args(argv)
    if args.train and (args.fold_bn or args.compile):
        out.error("--train measures the model as trained: not with --fold-bn or --compile")
    args.sweep_values = _sweep(out, args.sweep)
    args.sweep = args.sweep and args.sweep[0]  # the record's setting: the one given, as typed
    args.paper_block = None  # --paper's, read by check_steps before any measurement
    return args


SWEEPABLE = ("T", "batch", "lam")
PAPER_FILE = str(
    Path(__file__).resolve().parents[3] / "experiments/tables2_cost_cifar10_vgg11.yaml"
)


def _sweep(
    parser: argparse.ArgumentParser, given: list[str] | None
) -> tuple[str, list[Any]] | None:
    """``["T=4,8,16"]`` as ``("T", [4, 8, 16])``; a usage error (exit 2) if malformed or given
    twice (one axis: the bench sweeps no grid)."""
    if given is None:
        return None
    if len(given) > 1:
        parser.error(f"--sweep is given {len(given)} times; accepted: one --sweep KEY=V1,V2,...")
    (text,) = given
    key, _, values = text.partition("=")
    accepted = f"accepted: KEY=V1,V2,... with KEY one of {', '.join(SWEEPABLE)}, e.g. T=4,8,16"
    if key not in SWEEPABLE or not values:
        parser.error(f"--sweep {text} is not a sweep of one option; {accepted}")
    cast = float if key == "lam" else int
    try:
        return key, [cast(v) for v in values.split(",")]
    except ValueError:
        kind = "numbers" if cast is float else "integers"
        parser.error(f"--sweep {text} is not a list of {kind}; {accepted}")


def check_steps(args: argparse.Namespace) -> None:
    """:func:`check_model`, the values of ``--sweep`` by the rules of their options, the
    adversary's ``--adversary-steps`` and ``--adversary-eps``, and ``--paper``'s file, read
    into ``args.paper_block`` (None: no file given, and no checkout's), all before the first
    measurement."""
    check_model(args)
    if args.sweep_values is not None:
        key, values = args.sweep_values
        for value in values:
            if (complaint := MODEL_RULES[key].complaint(key, value)) is not None:
                raise ConfigError(f"--sweep {complaint}")
    check(args, {f"adversary_{k}": RULES[f"train.adversary.{k}"] for k in ("steps", "eps")})
    default = PAPER_FILE if Path(PAPER_FILE).is_file() else None  # a wheel has no experiments/
    paper = args.paper if args.paper is not None else default
    args.paper_block = None if paper is None else paper_block(paper)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    """The measurement record for the parsed options, under the GPU numerics they name (a
    job's by default: on a GPU the steps' times depend on them several-fold)."""
    with held(args.tf32, not args.nondeterministic):
        backend = (args.backends or ["c"])[0]
        model, x, y = built_model(args, backend)
        attacked = folded(model) if args.fold_bn else model
        if args.compile:
            attacked = torch.compile(attacked, options=COMPILE_OPTIONS)
        modes = measure_cost(
            attacked,
            x,
            y,
            args.modes,
            args.repeats,
            args.impls,
            args.train,
            args.clock,
            floor=not args.compile,  # a compiled graph runs its own kernels, not these ops
            backends=args.backends,
        )
        record = {
            "settings": settings(args),
            "device": device_name(x.device),
            "threads": torch.get_num_threads(),
            "backend": ran(backend, x),
            "modes": modes,
            "training": measure_training_cost(
                model, x, y, adversaries(args), args.repeats, args.clock
            ),
        }
        if args.impls and {"fused", "unrolled"} <= set(args.impls):
            record["fused_vs_unrolled"] = pair_ratios(modes, "[fused]", "[unrolled]")
        for other in (args.backends or [])[1:]:  # the first backend's steps over the other's
            record[f"backend_vs_{other}"] = pair_ratios(modes, "", f"[{other}]")
        if x.device.type == "cuda" and args.paper_block is not None:
            record["paper"] = paper_rows(modes, args.batch, args.paper_block)
        return record


def ran(backend: str, x: torch.Tensor) -> str:
    """What ran the LIF of a ``backend`` model fed ``x``: the C paths where the guard lets
    them and the kernels are built, the Triton kernels where they apply, else the torch ops."""
    if applies(backend, x) and native.built() is not None:
        return "c"
    return "triton" if gpu.applies(backend, x) else "torch"


def paper_block(path: str | Path) -> dict[str, Any]:
    """The ``paper:`` block of an experiment file (empty if the file has none)."""
    if not Path(path).is_file():
        raise ConfigError(f"--paper={str(path)!r} is not a file; accepted: an experiment file")
    paper = OmegaConf.to_container(OmegaConf.load(path)).get("paper") or {}
    if not isinstance(paper.get("cost", []), list):
        raise ConfigError(f"--paper={str(path)!r}: paper.cost is not a list of {{mode: ...}} rows")
    return paper


def paper_rows(
    modes: dict[str, dict[str, Any]], batch: int, paper: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each measured step beside the paper's row of its mode (Table S2 times one attack pass
    over ``paper.images`` images per entry: ours is the step time × the number of batches)."""
    images = paper.get("images")
    steps = math.ceil(images / batch) if images else None
    reference = {row["mode"]: row for row in paper.get("cost", [])}
    rows = []
    for name, m in modes.items():
        if "error" in m:
            continue
        ref = reference.get(name.split("[")[0], {})
        rows.append(
            {
                "step": name,
                "step_ms": m["seconds"] * 1e3,
                "seconds": m["seconds"] * steps if steps else None,
                "paper_seconds": ref.get("seconds"),
                "peak_mb": m["peak_mb"],
                "paper_peak_mb": ref.get("peak_mb"),
            }
        )
    return rows


def paper_table(rows: list[dict[str, Any]], title: str) -> Table:
    """A rich table of :func:`paper_rows`."""
    table = Table(title=title)
    columns = {
        "step": "step",
        "step_ms": "ms / step",
        "seconds": "s / pass",
        "paper_seconds": "paper s",
        "peak_mb": "peak MB",
        "paper_peak_mb": "paper MB",
    }
    for col in columns.values():
        table.add_column(col, justify="right")
    for row in rows:
        table.add_row(
            *(escape(str(row[k])) if k == "step" else _fmt(row[k], ".1f") for k in columns)
        )
    return table


def sweep(args: argparse.Namespace) -> list[dict[str, Any]]:
    """One :func:`bench` record per value of ``--sweep`` (just one without it)."""
    if args.sweep_values is None:
        return [bench(args)]
    key, values = args.sweep_values
    return [bench(argparse.Namespace(**{**vars(args), key: value})) for value in values]


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


def pair_ratios(
    modes: dict[str, dict[str, Any]], ours: str, theirs: str
) -> dict[str, dict[str, float | None]]:
    """Time and peak memory of each ``step + ours`` over its ``step + theirs`` (``[fused]``
    over ``[unrolled]``; ``""`` over ``[torch]``: the bench's backend over the torch ops),
    keyed by ``step``; with the steps' dense time (``dense_seconds``), ``time_floor``: the
    lesser of the two over the second's time, the least the time ratio could be with these
    convolutions."""
    out = {}
    for name, mine in modes.items():
        step = name.removesuffix(ours)
        other = modes.get(step + theirs)
        if not name.endswith(ours) or other is None or "error" in mine or "error" in other:
            continue
        out[step] = {
            "time": mine["seconds"] / other["seconds"],
            "memory": (
                mine["peak_mb"] / other["peak_mb"]
                if mine["peak_mb"] is not None and other["peak_mb"]
                else None
            ),
        }
        if "dense_seconds" in mine:
            dense = min(mine["dense_seconds"], other["dense_seconds"])
            out[step]["time_floor"] = dense / other["seconds"]
    return out


def ratio_table(ratios: dict[str, dict[str, float | None]], title: str = "") -> Table:
    """A rich table of :func:`pair_ratios`."""
    table = Table(title=title)
    for col in ("step", "time", "time floor", "peak memory"):
        table.add_column(col, justify="right")
    for step, r in ratios.items():
        table.add_row(
            escape(step), *(_fmt(r.get(k), ".2f") for k in ("time", "time_floor", "memory"))
        )
    return table


def _fmt(v: float | None, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def cost_table(modes: dict[str, dict[str, Any]], title: str = "") -> Table:
    """A rich table of a :func:`measure_cost` result."""
    table = Table(title=title)
    for col in (
        "step",
        "time (ms)",
        "× forward",
        "floor × fwd",
        "× stbp",
        "peak MB",
        "mem × forward",
        "mem × stbp",
    ):
        table.add_column(col, justify="right")
    for name, m in modes.items():
        if "error" in m:
            table.add_row(escape(name), m["error"], *[""] * 6)
            continue
        table.add_row(
            escape(name),
            _fmt(m["seconds"] * 1e3, ".2f"),
            _fmt(m["time_vs_forward"], ".2f"),
            _fmt(m.get("dense_vs_forward"), ".2f"),
            _fmt(m["time_vs_stbp"], ".2f"),
            _fmt(m["peak_mb"], ".1f"),
            _fmt(m["memory_vs_forward"], ".2f"),
            _fmt(m["memory_vs_stbp"], ".2f"),
        )
    return table


def training_table(steps: dict[str, dict[str, Any]], title: str = "") -> Table:
    """A rich table of a :func:`measure_training_cost` result."""
    table = Table(title=title)
    for col in ("step", "time (ms)", "× standard"):
        table.add_column(col, justify="right")
    for name, m in steps.items():
        cells = [m["error"], ""] if "error" in m else (m["seconds"] * 1e3, m["time_vs_standard"])
        table.add_row(escape(name), *(c if isinstance(c, str) else format(c, ".2f") for c in cells))
    return table


def tables(args: argparse.Namespace, record: dict[str, Any]) -> list[Table]:
    """The tables of one record: its steps, the ratios asked for, its training steps and,
    on a CUDA device, the paper's rows beside it."""
    s = record["settings"]
    title = (
        f"{s['model']} batch={s['batch']} T={s['T']} λ={s['lam']} on {record['device']}, "
        f"median of {s['repeats']} ({s['clock']} time), backend: {record['backend']}"
    )
    out = [cost_table(record["modes"], title)]
    if "fused_vs_unrolled" in record:
        out.append(ratio_table(record["fused_vs_unrolled"], "fused over unrolled"))
    for other in (s["backends"] or [])[1:]:
        title = f"backend: {s['backends'][0]} over {other}"
        out.append(ratio_table(record[f"backend_vs_{other}"], title))
    out.append(training_table(record["training"], f"one {s['adversary']} training step"))
    if "paper" in record:
        notes = f"beside the paper: {args.paper_block.get('notes', '')}"
        out.append(paper_table(record["paper"], escape(notes)))
    return out


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)

    def measure() -> dict[str, Any] | list[dict[str, Any]]:
        check_steps(args)
        records = sweep(args)
        return records[0] if args.sweep is None else records

    def all_tables(record: dict[str, Any] | list[dict[str, Any]]) -> list[Table]:
        records = record if isinstance(record, list) else [record]
        return [table for one in records for table in tables(args, one)]

    run(args, measure, all_tables)


if __name__ == "__main__":
    main()
