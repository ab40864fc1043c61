"""Cost of a Spike-Retiming step against a plain PGD step on the same model
(``python -m tools.retime_cost [options]``).

The model is ``digits_net`` on binary event frames ``[T, 2, 8, 8]`` (the event digits'
shape), or any registered model on the digits recorded by a larger simulated sensor (``model``,
``size``: e.g. ``vgg11`` at 32x32, where an attack step costs what a DVS network's does),
untrained, its BatchNorm statistics calibrated on the batch so that it spikes; the batch is the
first ``batch`` event digits (:func:`snnattack.data.digits_events.record` on a sensor of twice
``size``, the digit on three quarters of it, as the event digits' defaults 16 and 12 for 8;
framed by time). Each attack runs through a job's crafting path
(:func:`snnattack.attacks.crafting.craft`, STBP gradients) with ``steps`` steps: ``retime``
under each budget of its config files (``conf/method/retime.yaml``, ``retime_l1.yaml``,
``retime_l0.yaml``) and ``pgd`` (``conf/method/pgd.yaml``, at 8/255), interleaved in every
repeat so that they share the machine's load. The record gives each one's median seconds per
step (a run's seconds over its steps, its one-off work included) and ``vs_pgd``, the ratio to
PGD's: the issue's bound is 3.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch
from omegaconf import OmegaConf
from rich.table import Table
from sklearn.datasets import load_digits

from snnattack.analysis.cost import calibrate_batchnorm
from snnattack.attacks.crafting import craft
from snnattack.data.digits_events import record
from snnattack.data.events import to_frames
from snnattack.models import MODELS, build
from snnattack.package import CONF_DIR
from snnattack.settings import Recipe
from snnattack.tools.command import check, parser, run
from snnattack.values import RULES, integer

RETIME_ROWS = ("retime", "retime_l1", "retime_l0")  # the config files of its three budgets
PGD_EPS = 8 / 255  # PGD's radius (any: its step's cost does not depend on it)


def method_params(name: str, steps: int) -> dict[str, Any]:
    """The parameters of ``conf/method/<name>.yaml`` with ``steps`` steps."""
    params = OmegaConf.to_container(
        OmegaConf.load(CONF_DIR / "method" / f"{name}.yaml"), resolve=True
    )
    params.pop("name")
    return {**params, "steps": steps}


def event_digits(batch: int, T: int, size: int) -> torch.Tensor:
    """The first ``batch`` digits as binary event frames ``[batch, T, 2, size, size]``."""
    sensor = 2 * size
    streams = record(load_digits().images[:batch] / 16.0, sensor=sensor, image_size=3 * size // 2)
    return to_frames(streams, (sensor, sensor, 2), T, size, "time", "binary")


def measure_retime(
    batch: int,
    T: int,
    steps: int,
    repeats: int,
    seed: int,
    model: str = "digits_net",
    size: int = 8,
) -> dict[str, Any]:
    """Median seconds per step of ``retime`` under each budget and of ``pgd`` on ``model``
    at ``size`` x ``size`` frames, and each one's ratio to PGD's (module docstring)."""
    torch.manual_seed(seed)
    arch, model = model, build(model, num_classes=10, in_channels=2, T=T, encoding="frames")
    x = event_digits(batch, T, size)
    calibrate_batchnorm(model, x)
    model.eval()
    with torch.no_grad():
        y = model(x).argmax(1)
    runs = {name: ("retime", method_params(name, steps), 0.0) for name in RETIME_ROWS}
    runs["pgd"] = ("pgd", method_params("pgd", steps), PGD_EPS)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for repeat in range(repeats + 1):  # the first round warms up
        for name, (method, params, eps) in runs.items():
            torch.manual_seed(seed)
            start = time.perf_counter()
            craft(method, model, x, y, eps, params, Recipe("stbp"))
            if repeat:
                times[name].append((time.perf_counter() - start) / steps)
    per_step = {name: statistics.median(t) for name, t in times.items()}
    return {
        "settings": {
            "model": arch,
            "size": size,
            "batch": batch,
            "T": T,
            "steps": steps,
            "repeats": repeats,
            "seed": seed,
        },
        "threads": torch.get_num_threads(),
        "events": int(x.sum()),
        "steps": {
            name: {"seconds": per_step[name], "vs_pgd": per_step[name] / per_step["pgd"]}
            for name in runs
        },
    }


def retime_table(record: dict[str, Any]) -> Table:
    """A rich table of :func:`measure_retime`."""
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    out = parser("python -m tools.retime_cost", __doc__)
    out.add_argument("--batch", type=int, default=32, help="event digits per step")
    out.add_argument("--T", type=int, default=4, help="time bins")
    out.add_argument("--steps", type=int, default=20, help="steps of each attack run")
    out.add_argument("--repeats", type=int, default=5, help="timed repetitions of each")
    out.add_argument("--model", default="digits_net", choices=MODELS, help="the model attacked")
    out.add_argument(
        "--size",
        type=int,
        default=8,
        help="frame side of the event digits (8: the event digits; e.g. 32 for vgg11)",
    )
    return out.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rules = {"batch": integer(1), "T": RULES["T"], "steps": integer(1), "repeats": integer(1)}

    def measure() -> dict[str, Any]:
        check(args, {**rules, "size": integer(4)})
        return measure_retime(
            args.batch, args.T, args.steps, args.repeats, args.seed, args.model, args.size
        )

    run(args, measure, lambda record: [retime_table(record)])


if __name__ == "__main__":
    main()
