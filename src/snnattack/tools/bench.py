"""Cost of an attack step per gradient mode: ``python -m snnattack.tools.bench [options]``.

Builds the named model (untrained, BatchNorm statistics calibrated on the random batch so
that it spikes), then measures, in one process and interleaved, a plain forward and one
attack gradient step per registered gradient mode (see :mod:`snnattack.analysis.cost`).
``--impls fused unrolled`` measures each step with each neuron implementation and adds their
ratios (``fused_vs_unrolled``); ``--train`` adds an STBP training step. Each step's floor, the
time of its convolutions and matrix products (``dense_vs_forward``; per fused/unrolled pair
``time_floor``), says how far any neuron implementation could take it. Then one adversarial
training step (``--adversary``, default PGD-7 at 8/255: crafting in eval mode, then the
parameters' gradient) per gradient mode of its adversary, as a ratio to a standard training
step (``training``). Prints JSON on stdout and tables on stderr. On a CUDA device the record
also holds (``paper``) the absolute times and peak memory beside the RGA paper's Table S2
(``paper:`` of ``--paper``, by default experiments/tables2_cost_cifar10_vgg11.yaml).

Two other measurements replace the step table: ``--threads 1 2`` times a forward and an STBP
attack step (forward and backward) on each torch thread count, interleaved (how the default
of ``threads`` was chosen: docs/performance.md); ``--ensemble`` times the default worst-case
ensemble on the digits test set, today's Square beside this project's
(:mod:`snnattack.tools.ensemble_cost`); ``--sda FOLDER`` times the batched SDA beside the
reference's one-sample loop from a clone of its repository (:mod:`snnattack.tools.sda_cost`);
``--retime`` times a Spike-Retiming step under each of
its budgets against a plain PGD step on the same event-digits model
(:mod:`snnattack.tools.retime_cost`; ``--batch``, ``--T``, ``--repeats``, ``--retime-steps``,
``--retime-model``, ``--retime-size``);
``--retime-reference FOLDER`` runs the reference's Spike-Retiming classes from a clone of its
repository beside ``retime`` on the same event digits (:mod:`snnattack.tools.retime_fidelity`);
``--gsattack-reference FOLDER`` runs GSAttack's reference loop from a clone of its repository
beside ``gsattack`` on raw event digits (:mod:`snnattack.tools.gsattack_fidelity`);
``--patch-reference FOLDER`` runs the reference AE-Patch's patch update from a clone of its
repository beside ``event_patch_universal``'s on the same mini-batches
(:mod:`snnattack.tools.patch_fidelity`; ``--patch-samples``); ``--spikefool-reference FOLDER``
runs SpikeFool's ``universal_attack`` from a clone of its repository beside
``sparsefool_universal`` on the same samples
(:mod:`snnattack.tools.spikefool_universal_fidelity`; ``--spikefool-samples``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from snnattack.analysis import resolve_device
from snnattack.analysis.cost import (
    attack_step,
    calibrate_batchnorm,
    measure_cost,
    measure_training_cost,
)
from snnattack.config.preflight import device_exists
from snnattack.config.rules import DEVICES, RULES, SEED
from snnattack.cpu import native
from snnattack.cpu.guard import BACKENDS, applies
from snnattack.errors import ConfigError, UserError
from snnattack.gradients import GRADIENT_MODES
from snnattack.models import MODELS, build
from snnattack.models.fold import folded
from snnattack.models.shapes import layer_outputs
from snnattack.process.malloc import POLICIES as MALLOC_POLICIES
from snnattack.process.malloc import set_malloc
from snnattack.runtime.cli import ArgumentParser, refuse
from snnattack.snn.neurons import IMPLS, RESETS
from snnattack.tools.ensemble_cost import SQUARES, measure_ensemble
from snnattack.tools.gsattack_fidelity import measure_gsattack_fidelity
from snnattack.tools.patch_fidelity import measure_patch_fidelity
from snnattack.tools.retime_cost import measure_retime
from snnattack.tools.retime_fidelity import measure_retime_fidelity
from snnattack.tools.sda_cost import measure_sda
from snnattack.tools.spikefool_universal_fidelity import measure_spikefool_universal
from snnattack.training.adversary import ADVERSARIES, Adversary
from snnattack.values import integer, optional


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(
        prog="python -m snnattack.tools.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default="digits_net", choices=MODELS, help="model name")
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
    parser.add_argument("--reset", default="hard", choices=RESETS, help="reset after a spike")
    parser.add_argument("--device", default="cpu", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions per mode")
    parser.add_argument(
        "--modes",
        nargs="+",
        default=None,
        choices=GRADIENT_MODES,
        help="gradient modes (default: all)",
    )
    parser.add_argument(
        "--impls",
        nargs="+",
        choices=IMPLS,
        default=None,
        help="measure every step with each neuron implementation (default: the model's, fused)",
    )
    parser.add_argument("--train", action="store_true", help="also measure an STBP training step")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or this process's CPU time (steadier on a shared machine; CPU only)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and inputs")
    parser.add_argument(
        "--malloc",
        choices=MALLOC_POLICIES,
        default="reuse",
        help="CPU allocator policy, as the config key malloc (one per process)",
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=BACKENDS,
        default=None,
        help="measure every step with the model on each, as the config key backend (c: the C "
        "kernels and memory savers on the CPU; default: c); the first is the bench's own",
    )
    parser.add_argument(
        "--paper",
        default=PAPER_FILE,
        help="experiment file whose paper.cost a CUDA measurement is shown beside",
    )
    parser.add_argument(
        "--adversary",
        default="pgd",
        choices=ADVERSARIES,
        help="method of the adversarial training step timed per gradient mode",
    )
    parser.add_argument("--adversary-steps", type=int, default=7, help="its steps (pgd, trades)")
    parser.add_argument("--adversary-eps", type=float, default=8, help="its ε in 1/255")
    layout = parser.add_argument_group("evaluation-time speed-ups (attack steps only)")
    layout.add_argument(
        "--fold-bn", action="store_true", help="attack a copy with BN folded into its convs"
    )
    layout.add_argument(
        "--channels-last", action="store_true", help="model and input in channels_last layout"
    )
    layout.add_argument(
        "--compile", action="store_true", help="attack a torch.compile'd model (slow warm-up)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=None,
        help="instead of the step table: a forward and an STBP attack step on each torch thread "
        "count, interleaved (e.g. 1 2)",
    )
    workload = parser.add_argument_group("the default ensemble (--ensemble, instead of the steps)")
    workload.add_argument(
        "--ensemble",
        action="store_true",
        help="time the default worst-case ensemble on the digits test set with the quick "
        "start's model, torchattacks' Square and this project's interleaved per batch",
    )
    workload.add_argument("--ensemble-eps", type=float, default=8, help="its ε in 1/255")
    workload.add_argument("--test-size", type=int, default=None, help="test images (all)")
    workload.add_argument(
        "--store",
        default=os.environ.get("SNNATTACK_STORE", "models"),
        help="model store the quick start's model is read from (trained there if missing)",
    )
    event = parser.add_argument_group(
        "batched SDA against its reference (--sda, instead of the steps)"
    )
    event.add_argument(
        "--sda",
        metavar="FOLDER",
        default=None,
        help="a clone of github.com/ryime/PDSG-SDA: its one-sample SDA loop beside this "
        "project's batched SDA on the event digits, one thread (--store for the model)",
    )
    event.add_argument("--sda-samples", type=int, default=64, help="clean-correct test samples")
    event.add_argument(
        "--sda-model",
        choices=("stored", "fixture"),
        default="stored",
        help="the stored event-digits model (--store) or the event attacks' test fixture's net "
        "(--event-output)",
    )
    event.add_argument(
        "--event-output",
        choices=("readout", "spiking"),
        default="readout",
        help="the fixture net's output (--sda-model fixture, --retime-reference, "
        "--gsattack-reference, --patch-reference): its linear readout, or an LIF layer after "
        "it (spike rates, often tied)",
    )
    event.add_argument(
        "--event-grad",
        choices=GRADIENT_MODES,
        default="stbp",
        help="the gradient mode of both sides, e.g. pdsg (--sda, --retime-reference, "
        "--gsattack-reference, --patch-reference)",
    )
    retiming = parser.add_argument_group("Spike-Retiming (--retime, instead of the steps)")
    retiming.add_argument(
        "--retime",
        action="store_true",
        help="time a retime step under each budget (B∞, B1, B0) over a plain PGD step on an "
        "event-digits model, interleaved (--batch event digits, --T bins)",
    )
    retiming.add_argument(
        "--retime-steps", type=int, default=20, help="steps of each attack run (retime and PGD)"
    )
    retiming.add_argument(
        "--retime-model", default="digits_net", choices=MODELS, help="the model --retime attacks"
    )
    retiming.add_argument(
        "--retime-size",
        type=int,
        default=8,
        help="frame side of --retime's event digits (8: the event digits; e.g. 32 for vgg11)",
    )
    retiming.add_argument(
        "--retime-reference",
        metavar="FOLDER",
        default=None,
        help="a clone of github.com/yuyi-sd/Spike-Retiming-Attacks: its classes one sample at "
        "a time beside the batched retime on the same event digits, one thread",
    )
    retiming.add_argument(
        "--retime-samples", type=int, default=32, help="held-out event digits (--retime-reference)"
    )
    events = parser.add_argument_group("GSAttack (--gsattack-reference, instead of the steps)")
    events.add_argument(
        "--gsattack-reference",
        metavar="FOLDER",
        default=None,
        help="a clone of github.com/JY-ura/GumbelSoftmaxAttack: its attack loop one sample at "
        "a time beside gsattack on the same raw event digits, one thread",
    )
    events.add_argument(
        "--gsattack-samples",
        type=int,
        default=32,
        help="held-out event digits (--gsattack-reference)",
    )
    patch = parser.add_argument_group("AE-Patch (--patch-reference, instead of the steps)")
    patch.add_argument(
        "--patch-reference",
        metavar="FOLDER",
        default=None,
        help="a clone of github.com/yszbb/AE-Patch: its patch update beside "
        "event_patch_universal's on the same event-digit mini-batches, one thread",
    )
    patch.add_argument(
        "--patch-samples",
        type=int,
        default=32,
        help="held-out event digits that fit the patch, and as many that test it",
    )
    spikefool = parser.add_argument_group(
        "SpikeFool's universal perturbation (--spikefool-reference, instead of the steps)"
    )
    spikefool.add_argument(
        "--spikefool-reference",
        metavar="FOLDER",
        default=None,
        help="a clone of github.com/jubueche/SPAA: its universal_attack beside "
        "sparsefool_universal on the same event digits, one thread",
    )
    spikefool.add_argument(
        "--spikefool-samples",
        type=int,
        default=32,
        help="held-out event digits that fit the flips, and as many that test them",
    )
    parser.add_argument(
        "--sweep",
        metavar="KEY=V1,V2,...",
        help=f"one measurement per value of one of {', '.join(SWEEPABLE)}, e.g. T=4,8,16",
    )
    args = parser.parse_args(argv)
    if args.train and (args.fold_bn or args.compile):
        parser.error("--train measures the model as trained: not with --fold-bn or --compile")
    args.sweep_values = _sweep(parser, args.sweep)
    return args


SWEEPABLE = ("T", "batch", "lam")
PAPER_FILE = str(
    Path(__file__).resolve().parents[3] / "experiments/tables2_cost_cifar10_vgg11.yaml"
)


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


def check(args: argparse.Namespace) -> None:
    """Refuses an option out of its range, a missing GPU, or a model that does not fit the
    input shape, before any measurement (:class:`ConfigError`)."""
    for flag, rule in (
        ("T", RULES["T"]),
        ("lam", RULES["lambda"]),
        ("batch", integer(1)),
        ("repeats", integer(1)),
        ("num_classes", integer(2)),
        ("seed", SEED),
        ("device", DEVICES),
        ("adversary_steps", RULES["train.adversary.steps"]),
        ("adversary_eps", RULES["train.adversary.eps"]),
        ("ensemble_eps", RULES["train.adversary.eps"]),
        ("test_size", optional(integer(1))),
        ("sda_samples", integer(1)),
        ("retime_steps", integer(1)),
        ("retime_size", integer(4)),
        ("retime_samples", integer(1)),
        ("gsattack_samples", integer(1)),
        ("patch_samples", integer(1)),
        ("spikefool_samples", integer(1)),
    ):
        rule.check(f"--{flag.replace('_', '-')}", getattr(args, flag))
    for count in args.threads or []:
        integer(1).check("--threads", count)
    if len(args.input_shape) != 3 or min(args.input_shape) < 1:
        raise ConfigError(
            f"--input-shape={args.input_shape} is out of range; accepted: three positive "
            "integers C H W, e.g. 3 32 32"
        )
    device_exists("--device", args.device)
    with torch.device("meta"):
        model = build(args.model, num_classes=args.num_classes, in_channels=args.input_shape[0])
    if layer_outputs(model.eval(), tuple(args.input_shape)) is None:
        raise ConfigError(
            f"--model={args.model} does not fit --input-shape "
            f"{' '.join(map(str, args.input_shape))}; accepted: the model's input, e.g. "
            "digits_net 1 8 8, vgg11 3 32 32"
        )


def bench(args: argparse.Namespace) -> dict[str, Any]:
    """The measurement record for the parsed options."""
    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    backend = (args.backends or ["c"])[0]
    model = build(
        args.model,
        num_classes=args.num_classes,
        in_channels=args.input_shape[0],
        T=args.T,
        lam=args.lam,
        reset=args.reset,
        backend=backend,
    ).to(device)
    x = torch.rand(args.batch, *args.input_shape, device=device)
    y = torch.randint(0, args.num_classes, (args.batch,), device=device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    calibrate_batchnorm(model, x)
    if args.threads:
        return {
            "settings": {k: v for k, v in vars(args).items() if k != "sweep_values"},
            "device": "cpu",
            "thread_steps": thread_cost(model, x, y, args.threads, args.repeats),
        }
    attacked = folded(model) if args.fold_bn else model
    if args.compile:
        attacked = torch.compile(attacked)
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
        "settings": {k: v for k, v in vars(args).items() if k != "sweep_values"},
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        # what ran: the C paths where the guard lets them and the kernels built
        "backend": "c" if applies(backend, x) and native.built() is not None else "torch",
        "modes": modes,
        "training": measure_training_cost(model, x, y, adversaries(args), args.repeats, args.clock),
    }
    if args.impls and {"fused", "unrolled"} <= set(args.impls):
        record["fused_vs_unrolled"] = pair_ratios(modes, "[fused]", "[unrolled]")
    for other in (args.backends or [])[1:]:  # the first backend's steps over the other's
        record[f"backend_vs_{other}"] = pair_ratios(modes, "", f"[{other}]")
    if device.type == "cuda":
        record["paper"] = paper_rows(modes, args.batch, paper_block(args.paper))
    return record


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


def thread_table(steps: dict[str, dict[str, dict[str, float]]], title: str) -> Table:
    """A rich table of :func:`thread_cost`."""
    table = Table(title=title)
    for col in ("threads", "step", "time (s)", "× first count"):
        table.add_column(col, justify="right")
    for n, by_step in steps.items():
        for name, m in by_step.items():
            table.add_row(n, name, format(m["seconds"], ".3f"), format(m["vs_first"], ".2f"))
    return table


def ensemble_table(record: dict[str, Any]) -> Table:
    """A rich table of :func:`snnattack.tools.ensemble_cost.measure_ensemble`."""
    table = Table(
        title=f"default ensemble at {record['eps_255']:g}/255 on {record['images']} digits test "
        f"images (tuning {record['tune_seconds']:.1f} s, in both)"
    )
    for col in ("Square", "time (s)", "CPU time (s)", "Square (s)", "robust acc %"):
        table.add_column(col, justify="right")
    for kind in SQUARES:
        m = record[kind]
        table.add_row(
            kind,
            *(f"{m[k]:.1f}" for k in ("seconds", "cpu_seconds", "square_seconds")),
            f"{m['robust_acc']:.2f}",
        )
    return table


def sda_table(record: dict[str, Any]) -> Table:
    """A rich table of :func:`snnattack.tools.sda_cost.measure_sda`."""
    table = Table(
        title=f"SDA on {record['samples']} event digits, one thread: {record['speedup']:.1f}x "
        f"faster batched ({record['cpu_speedup']:.1f}x CPU time); same L0 on "
        f"{record['same_l0']}, identical examples on {record['identical']} (one at a time: "
        f"{record['identical_alone']}); {record['model']} model, {record['grad']}"
        f"{', spiking output' if record['spiking_output'] else ''}"
    )
    for col in ("SDA", "time (s)", "CPU time (s)", "fooled", "mean L0"):
        table.add_column(col, justify="right")
    for kind in ("reference", "batched"):
        m = record[kind]
        l0 = "-" if m["mean_l0"] is None else f"{m['mean_l0']:.2f}"
        table.add_row(kind, f"{m['seconds']:.2f}", f"{m['cpu_seconds']:.2f}", str(m["fooled"]), l0)
    return table


def retime_table(record: dict[str, Any]) -> Table:
    """A rich table of :func:`snnattack.tools.retime_cost.measure_retime`."""
    s = record["settings"]
    table = Table(
        title=f"retime over PGD, per step: {s['model']} on {s['batch']} event digits at "
        f"{s['size']}x{s['size']}, T={s['T']}, "
        f"{s['steps']} steps, median of {s['repeats']}, {record['threads']} thread(s)"
    )
    for col in ("attack", "s per step", "vs PGD"):
        table.add_column(col, justify="right")
    for name, m in record["steps"].items():
        table.add_row(name, f"{m['seconds']:.4f}", f"{m['vs_pgd']:.2f}")
    return table


def fidelity_table(record: dict[str, Any], attack: str, ours: str) -> Table:
    """A rich table of a fidelity record (:mod:`snnattack.tools.retime_fidelity`,
    :mod:`snnattack.tools.gsattack_fidelity`): per setting both sides' fooled samples, the
    identical examples and the seconds (this project's where its side ``ours`` has them)."""
    n = record["samples"]
    table = Table(title=f"{attack} beside the reference on {n} event digits, one thread")
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


def patch_fidelity_table(record: dict[str, Any]) -> Table:
    """A rich table of :func:`snnattack.tools.patch_fidelity.measure_patch_fidelity`: per
    target class, the fitting with this project's update and with the reference's."""
    n = record["samples"]
    table = Table(
        title=f"event_patch_universal beside the reference's patch_attack (fitted on {n} event "
        f"digits, tested on the {n} after them), one thread"
    )
    columns = ("target", "fitted with", "mini-batches", "one step equal", "update equal")
    for col in (*columns, "test reached"):
        table.add_column(col, justify="right")
    for target, sides in record["settings"].items():
        for side, m in sides.items():
            table.add_row(
                target,
                side,
                str(m["batches"]),
                f"{m['one_step_equal']} / {m['batches']}",
                f"{m['update_equal']} / {m['batches']}",
                f"{m['test_succeeded']} / {m['test_eligible']}",
            )
    return table


def spikefool_universal_table(record: dict[str, Any]) -> Table:
    """A rich table of
    :func:`snnattack.tools.spikefool_universal_fidelity.measure_spikefool_universal`."""
    n = record["samples"]
    table = Table(
        title=f"sparsefool_universal beside the reference's universal_attack (fitted on {n} "
        f"event digits, tested on the {n} after them; same bits: {record['same_bits']})"
    )
    for col in ("side", "bits flipped", "test fooled", "seconds"):
        table.add_column(col, justify="right")
    for side in ("reference", "ours"):
        m = record[side]
        table.add_row(
            side,
            str(m["bits"]),
            f"{m['test_fooled']} / {record['test_correct']}",
            f"{m['seconds']:.2f}",
        )
    return table


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
            *(
                escape(str(row[k])) if k == "step" else "–" if row[k] is None else f"{row[k]:.1f}"
                for k in columns
            )
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
        if "error" in m:
            table.add_row(escape(name), m["error"], "")
        else:
            seconds, ratio = m["seconds"] * 1e3, m["time_vs_standard"]
            table.add_row(escape(name), format(seconds, ".2f"), format(ratio, ".2f"))
    return table


def workload(
    args: argparse.Namespace,
) -> tuple[Callable[[], dict[str, Any]], Callable[[dict[str, Any]], Table]] | None:
    """The whole-attack measurement asked for instead of the step table (``--ensemble``,
    ``--sda``, ``--retime-reference``, ``--gsattack-reference``, ``--patch-reference``,
    ``--spikefool-reference``, ``--retime``) and the table of its record; None if none."""
    if args.ensemble:
        return (
            lambda: measure_ensemble(args.store, args.ensemble_eps, args.test_size, args.seed),
            ensemble_table,
        )
    spiking = args.event_output == "spiking"
    if args.sda:
        return (
            lambda: measure_sda(
                args.store,
                args.sda,
                args.sda_samples,
                args.seed,
                args.sda_model,
                spiking,
                args.event_grad,
            ),
            sda_table,
        )
    if args.retime_reference:
        return (
            lambda: measure_retime_fidelity(
                args.retime_reference, args.retime_samples, args.seed, spiking, args.event_grad
            ),
            lambda record: fidelity_table(record, "retime", "batched"),
        )
    if args.gsattack_reference:
        return (
            lambda: measure_gsattack_fidelity(
                args.gsattack_reference, args.gsattack_samples, args.seed, spiking, args.event_grad
            ),
            lambda record: fidelity_table(record, "gsattack", "one_at_a_time"),
        )
    if args.patch_reference:
        return (
            lambda: measure_patch_fidelity(
                args.patch_reference, args.patch_samples, args.seed, spiking, args.event_grad
            ),
            patch_fidelity_table,
        )
    if args.spikefool_reference:
        return (
            lambda: measure_spikefool_universal(
                args.spikefool_reference, args.spikefool_samples, seed=args.seed
            ),
            spikefool_universal_table,
        )
    if args.retime:
        return (
            lambda: measure_retime(
                args.batch,
                args.T,
                args.retime_steps,
                args.repeats,
                args.seed,
                args.retime_model,
                args.retime_size,
            ),
            retime_table,
        )
    return None


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    chosen = workload(args)
    try:
        check(args)
        set_malloc(args.malloc)
        records = [chosen[0]()] if chosen else sweep(args)
    except UserError as err:
        refuse(err)
    console = Console(stderr=True)
    for record in records:
        if chosen:
            console.print(chosen[1](record))
            continue
        s = record["settings"]
        if args.threads:
            title = f"{s['model']} batch={s['batch']} T={s['T']}, median of {s['repeats']}"
            console.print(thread_table(record["thread_steps"], title))
            continue
        title = (
            f"{s['model']} batch={s['batch']} T={s['T']} λ={s['lam']} on {record['device']}, "
            f"median of {s['repeats']} ({s['clock']} time), backend: {record['backend']}"
        )
        console.print(cost_table(record["modes"], title))
        if "fused_vs_unrolled" in record:
            console.print(ratio_table(record["fused_vs_unrolled"], "fused over unrolled"))
        for other in (s["backends"] or [])[1:]:
            title = f"backend: {s['backends'][0]} over {other}"
            console.print(ratio_table(record[f"backend_vs_{other}"], title))
        console.print(training_table(record["training"], f"one {s['adversary']} training step"))
        if "paper" in record:
            notes = f"beside the paper: {paper_block(args.paper).get('notes', '')}"
            console.print(paper_table(record["paper"], escape(notes)))
    json.dump(records[0] if args.sweep is None else records, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
