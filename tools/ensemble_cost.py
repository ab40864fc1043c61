"""Cost of the default worst-case ensemble, today's Square against this project's
(``python -m tools.ensemble_cost [--eps 8] [--test-size N] [--store DIR]``).

The quick start's digits model (from the store, trained there if missing) is attacked at one
ε on the digits test set by the default ensemble (``conf/method/ensemble.yaml``), its HART
component tuned once on validation images as a job tunes it. Every test batch is attacked
twice, interleaved, with the same seed: with torchattacks' ``Square`` (the implementation
before this project's) and with :class:`snnattack.attacks.methods.square.Square`; the record
gives each one's wall and CPU seconds (this process's, steadier than wall time on a shared
machine), Square's seconds and the robust accuracy, so that a change of speed is measured
under the same load and checked to leave the attack as strong.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torchattacks
from rich.table import Table

from snnattack.attacks import ensemble
from snnattack.attacks.methods import METHODS
from snnattack.attacks.parse import attack_specs
from snnattack.attacks.tuning import tune_specs
from snnattack.config.parse import attack_settings
from snnattack.data import first_samples
from snnattack.tools.command import check, parser, run
from snnattack.values import RULES, integer, optional
from tools.stored import stored_job

SQUARES = ("torchattacks", "snnattack")  # today's Square, then this project's


@contextmanager
def square_of(kind: str) -> Iterator[None]:
    """Within the block ``method=square`` builds ``kind``'s Square (same parameters)."""
    method = METHODS["square"]
    if kind == "snnattack":
        yield
        return

    def make(model: torch.nn.Module, eps: float, **params: Any) -> torchattacks.Attack:
        return torchattacks.Square(model, norm="Linf", eps=eps, **params)

    METHODS["square"] = dataclasses.replace(method, make=make)
    try:
        yield
    finally:
        METHODS["square"] = method


@contextmanager
def timing_square(seconds: list[float]) -> Iterator[None]:
    """Adds the seconds each Square crafting takes within the block to ``seconds[0]``."""
    craft = ensemble.craft_tracked

    def timed(algorithm: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        start = time.perf_counter()
        out = craft(algorithm, *args, **kwargs)
        if algorithm == "square":
            seconds[0] += time.perf_counter() - start
        return out

    ensemble.craft_tracked = timed
    try:
        yield
    finally:
        ensemble.craft_tracked = craft


def measure_ensemble(
    store: str, eps_255: float, test_size: int | None, seed: int = 0
) -> dict[str, Any]:
    """The ensemble's record: tuning seconds, and per Square its seconds, Square's share and
    the robust accuracy on the first ``test_size`` test images (all if None)."""
    cfg, model, data = stored_job(
        store, [f"eps=[{eps_255}]", "method=[ensemble]", "boxes=[white]"], seed
    )
    test = data.test_set
    if test_size is not None:
        test = torch.utils.data.Subset(test, range(min(test_size, len(test))))
    start, cpu_start = time.perf_counter(), time.process_time()
    torch.manual_seed(seed)
    validation = first_samples(data.val_dataloader(), cfg.attack.tune.val_size)
    specs = tune_specs(attack_settings(cfg), attack_specs(cfg), model, None, validation)
    tune_seconds, tune_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    parts, eps = specs[0].params["components"], specs[0].eps
    totals = {
        kind: {"seconds": 0.0, "cpu_seconds": 0.0, "square_seconds": [0.0], "robust": 0}
        for kind in SQUARES
    }
    loader = torch.utils.data.DataLoader(test, batch_size=cfg.eval_batch_size)
    n = 0
    for index, (x, y) in enumerate(loader):
        with torch.no_grad():
            correct = model(x).argmax(1) == y
        n += len(y)
        for kind in SQUARES:
            total = totals[kind]
            torch.manual_seed(seed * 1_000_003 + index)
            start, cpu_start = time.perf_counter(), time.process_time()
            with square_of(kind), timing_square(total["square_seconds"]):
                adv, *_ = ensemble.worst_case(
                    parts, model, lambda b: model(b).argmax(1), x, y, correct, eps
                )
            total["seconds"] += time.perf_counter() - start
            total["cpu_seconds"] += time.process_time() - cpu_start
            with torch.no_grad():
                total["robust"] += int((correct & (model(adv).argmax(1) == y)).sum())
    out: dict[str, Any] = {
        "images": n,
        "eps_255": eps_255,
        "tune_seconds": tune_seconds,
        "tune_cpu_seconds": tune_cpu,
    }
    for kind, total in totals.items():
        out[kind] = {
            "seconds": total["seconds"] + tune_seconds,
            "cpu_seconds": total["cpu_seconds"] + tune_cpu,
            "square_seconds": total["square_seconds"][0],
            "robust_acc": 100.0 * total["robust"] / n,
        }
    out["time_ratio"] = out["snnattack"]["seconds"] / out["torchattacks"]["seconds"]
    out["cpu_time_ratio"] = out["snnattack"]["cpu_seconds"] / out["torchattacks"]["cpu_seconds"]
    out["square_time_ratio"] = (
        out["snnattack"]["square_seconds"] / out["torchattacks"]["square_seconds"]
    )
    return out


def ensemble_table(record: dict[str, Any]) -> Table:
    """A rich table of :func:`measure_ensemble`."""
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    out = parser("python -m tools.ensemble_cost", __doc__)
    out.add_argument("--eps", type=float, default=8, help="the ensemble's ε in 1/255")
    out.add_argument("--test-size", type=int, default=None, help="test images (all)")
    out.add_argument(
        "--store",
        default=os.environ.get("SNNATTACK_STORE", "models"),
        help="model store the quick start's model is read from (trained there if missing)",
    )
    return out.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)

    def measure() -> dict[str, Any]:
        check(args, {"eps": RULES["train.adversary.eps"], "test_size": optional(integer(1))})
        return measure_ensemble(args.store, args.eps, args.test_size, args.seed)

    run(args, measure, lambda record: [ensemble_table(record)])


if __name__ == "__main__":
    main()
