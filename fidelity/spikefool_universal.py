"""SpikeFool's universal perturbation against the reference's ``universal_attack`` on the same
samples (``python -m fidelity.spikefool_universal --reference FOLDER``, from the checkout's root).

The reference is ``sparsefool.py`` of a clone of ``jubueche/SPAA`` (Büchel et al. 2022),
imported as written from the folder given: its repository has no licence, so this project
does not copy it. Its one import of the repository's ``utils.py`` (``get_prediction``, which
``universal_attack`` never calls; that ``utils.py`` imports packages not installed here)
reads a stand-in module while it is imported. Its ``universal_attack`` runs on CPU
(``device="cpu"``) with the ``Heatmap`` eviction, given the held-out event digits of the
test fixture's net (:func:`fidelity.nets.event_digits_net`, STBP
gradients, one thread) through the reference's model interface (one sample ``[T, C, H, W]``
or a batch in, logits out), and as its per-sample ``attack_fn`` this project's
:class:`~snnattack.attacks.methods.sparsefool.SparseFool` (equal to the reference's
``sparsefool`` bit for bit: docs/event_attacks.md, "Fidelity"), with no Hamming budget as the
reference's experiments. ``sparsefool_universal`` fits on the same samples with the same
settings. The record gives each side's set of flips (its size and whether the two are the
same bits), its successes on the test digits after the held-out ones, and its seconds.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from rich.table import Table
from torch import nn

from fidelity.command import compare, comparison_parser
from fidelity.nets import event_digits_net
from fidelity.reference import reference_module
from snnattack.attacks.methods.sparsefool import SparseFool
from snnattack.attacks.methods.sparsefool_universal import UNBOUNDED, UniversalSparseFool
from snnattack.gradients import gradient_mode

REFERENCE = "a clone of github.com/jubueche/SPAA (the folder holding sparsefool.py)"
BUDGET, ROUNDS = 10, 3  # bits in the set (512 bits per digit); passes (its experiments' 3)


def reference_sparsefool(folder: str | Path) -> ModuleType:
    """The reference's ``sparsefool.py`` of the clone in ``folder``, its ``utils`` import
    reading a stand-in (module docstring)."""
    stand_in = ModuleType("utils")
    stand_in.get_prediction = None  # never called by universal_attack
    kept = sys.modules.get("utils")
    sys.modules["utils"] = stand_in
    try:
        return reference_module(
            folder,
            "spikefool",
            REFERENCE,
            ["universal_attack", "Heatmap"],
            path="sparsefool.py",
        )
    finally:
        if kept is None:
            del sys.modules["utils"]
        else:
            sys.modules["utils"] = kept


class OneOrMany(nn.Module):
    """The reference's model interface: one sample ``[T, C, H, W]`` or a batch in, logits
    ``[B, classes]`` out."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x if x.dim() == 5 else x[None])


def measure_spikefool_universal(
    folder: str | Path, samples: int = 32, seed: int = 0
) -> dict[str, Any]:
    """The record: ``samples`` held-out event digits fit each side's set of flips, the
    ``samples`` after them test it (module docstring)."""
    reference = reference_sparsefool(folder)
    torch.set_num_threads(1)
    model, x, y = event_digits_net(2 * samples, seed)
    (xv, yv), (xt, yt) = (x[:samples], y[:samples]), (x[samples:], y[samples:])
    sparsefool = SparseFool(model, max_hamming_distance=UNBOUNDED)

    def attack_fn(x_i: torch.Tensor, y_i: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"X_adv": sparsefool(x_i[None], y_i.view(1))[0]}

    def successes(flips: torch.Tensor) -> int:
        attack = UniversalSparseFool(model, max_hamming_distance=BUDGET, fitted={"flips": flips})
        return int((attack(xt, yt) != xt).flatten(1).any(1).sum())

    with gradient_mode(model, "stbp"):
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # its prints
            theirs = reference.universal_attack(
                xv, yv, OneOrMany(model), attack_fn, BUDGET, ROUNDS, device="cpu"
            )["pert_total"].float()
        their_seconds = time.perf_counter() - started
        started = time.perf_counter()
        ours = UniversalSparseFool(model, max_hamming_distance=BUDGET, rounds=ROUNDS).fit(xv, yv)
        our_seconds = time.perf_counter() - started
        record: dict[str, Any] = {
            "samples": samples,
            "seed": seed,
            "max_hamming_distance": BUDGET,
            "rounds": ROUNDS,
            "same_bits": torch.equal(theirs, ours["flips"]),
        }
        for side, flips, seconds in (
            ("reference", theirs, their_seconds),
            ("ours", ours["flips"], our_seconds),
        ):
            record[side] = {
                "bits": int(flips.sum()),
                "test_fooled": successes(flips),
                "seconds": round(seconds, 3),
            }
    record["test_correct"] = int((model(xt).argmax(1) == yt).sum())
    return record


def spikefool_universal_table(record: dict[str, Any]) -> Table:
    """A rich table of
    :func:`measure_spikefool_universal`."""
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


def main(argv: list[str] | None = None) -> None:
    args = comparison_parser(
        "spikefool_universal",
        __doc__,
        "held-out event digits that fit the flips, and as many that test them",
    ).parse_args(argv)
    compare(
        args,
        lambda: measure_spikefool_universal(args.reference, args.samples, seed=args.seed),
        spikefool_universal_table,
    )


if __name__ == "__main__":
    main()
