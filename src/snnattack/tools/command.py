"""What every measurement command shares, :mod:`snnattack.tools.step_cost` and those of the
checkout's ``tools/`` and ``fidelity/`` folders: the seed and allocator options, a bad option
refused in one line before any measurement, the tables on stderr and the record as JSON on
stdout; and, for the benches of an untrained model (:mod:`.step_cost`, the checkout's
``tools/thread_cost.py``), its options, their checks and the model built and calibrated on a
random batch."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from snnattack.analysis import resolve_device
from snnattack.analysis.cost import calibrate_batchnorm
from snnattack.config.plain_rules import DEVICES, SEED
from snnattack.config.preflight import absent_gpu, device_exists
from snnattack.errors import ConfigError, UserError
from snnattack.models import MODELS, build
from snnattack.models.shapes import layer_outputs
from snnattack.process.malloc import POLICIES as MALLOC_POLICIES
from snnattack.process.malloc import set_malloc
from snnattack.runtime.cli import ArgumentParser, refuse
from snnattack.snn.neurons import RESETS
from snnattack.values import RULES, Rule, integer


def parser(prog: str, doc: str | None) -> ArgumentParser:
    """The command's parser, its docstring as the help, with ``--seed`` and ``--malloc``."""
    out = ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    out.add_argument("--seed", type=int, default=0, help="seed of weights and inputs")
    out.add_argument(
        "--malloc",
        choices=MALLOC_POLICIES,
        default="reuse",
        help="CPU allocator policy, as the config key malloc (one per process)",
    )
    return out


def check(args: argparse.Namespace, rules: dict[str, Rule]) -> None:
    """Each option named in ``rules`` (its ``dest``) held to its rule (:class:`ConfigError`)."""
    SEED.check("--seed", args.seed)
    for dest, rule in rules.items():
        rule.check(f"--{dest.replace('_', '-')}", getattr(args, dest))


def run(
    args: argparse.Namespace,
    measure: Callable[[], Any],
    tables: Callable[[Any], Iterable[Table]],
) -> None:
    """``measure()``'s record (or list of records) under ``--malloc``, a :class:`UserError`
    refused in one line (exit 2); then ``tables(record)`` on stderr and the record as JSON on
    stdout."""
    try:
        set_malloc(args.malloc)
        record = measure()
    except UserError as err:
        refuse(err)
    console = Console(stderr=True)
    for table in tables(record):
        console.print(table)
    json.dump(record, sys.stdout, indent=2)
    sys.stdout.write("\n")


def add_model_options(out: argparse.ArgumentParser) -> None:
    """The untrained model a bench measures, its batch and its timed repetitions."""
    out.add_argument("--model", default="digits_net", choices=MODELS, help="model name")
    out.add_argument(
        "--input-shape",
        type=int,
        nargs="+",
        default=[1, 8, 8],
        help="C H W of one image (vgg11: 3 32 32)",
    )
    out.add_argument("--num-classes", type=int, default=10, help="output classes")
    out.add_argument("--batch", type=int, default=32, help="images per step (paper: 32)")
    out.add_argument("--T", type=int, default=4, help="simulation time steps")
    out.add_argument("--lam", type=float, default=1.0, help="membrane leak λ in (0, 1]")
    out.add_argument("--reset", default="hard", choices=RESETS, help="reset after a spike")
    out.add_argument("--device", default="cpu", help="auto | cpu | gpu | cuda | cuda:N")
    out.add_argument("--repeats", type=int, default=5, help="timed repetitions per step")
    out.add_argument(
        "--channels-last", action="store_true", help="model and input in channels_last layout"
    )


MODEL_RULES = {
    "T": RULES["T"],
    "lam": RULES["lambda"],
    "batch": integer(1),
    "repeats": integer(1),
    "num_classes": integer(2),
    "device": DEVICES,
}


def check_model(args: argparse.Namespace) -> None:
    """Refuses a model option out of its range, a missing GPU, or a model that does not fit
    the input shape, before any measurement (:class:`ConfigError`); notes on stderr a
    ``--device gpu`` this machine lacks, which measures on the CPU (:func:`absent_gpu`)."""
    check(args, MODEL_RULES)
    if len(args.input_shape) != 3 or min(args.input_shape) < 1:
        raise ConfigError(
            f"--input-shape={args.input_shape} is out of range; accepted: three positive "
            "integers C H W, e.g. 3 32 32"
        )
    device_exists("--device", args.device)
    for note in absent_gpu("--device", str(args.device)):
        print(f"note: {note}", file=sys.stderr)
    with torch.device("meta"):
        model = build(args.model, num_classes=args.num_classes, in_channels=args.input_shape[0])
    if layer_outputs(model.eval(), tuple(args.input_shape)) is None:
        raise ConfigError(
            f"--model={args.model} does not fit --input-shape "
            f"{' '.join(map(str, args.input_shape))}; accepted: the model's input, e.g. "
            "digits_net 1 8 8, vgg11 3 32 32"
        )


def built_model(
    args: argparse.Namespace, backend: str
) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """The seeded model on ``backend``, a random batch and labels on its device, its BatchNorm
    statistics calibrated on the batch so that it spikes."""
    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
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
    return model, x, y


def device_name(device: torch.device) -> str:
    """How a record names the device a bench measured on: the GPU's name, else ``cpu``."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed options as a record's ``settings`` (not what was read from them: the
    step bench's sweep values and ``--paper``'s block)."""
    return {k: v for k, v in vars(args).items() if k not in ("sweep_values", "paper_block")}
