"""Batched SDA against the reference's one-sample loop, side by side in one run
(``python -m fidelity.sda --reference PDSG-SDA``, from the checkout's root).

The reference is the ``SDA`` class of ``utils/attack.py`` in a clone of ``ryime/PDSG-SDA``
(Lun et al., CVPR 2025), imported as written from the folder given: its repository has no
licence, so this project does not copy it. It is called as its ``test.py`` calls it, one
sample at a time (``[T, 1, C, H, W]`` in, the model's ``[T, 1, classes]`` out), each after
``torch.manual_seed(seed + i)``; this project's :class:`~snnattack.attacks.methods.sda.SDA`
attacks the same samples in one batch with ``conf/method/sda.yaml``'s parameters, and one
sample at a time after the reference's seeds, under the gradient mode ``grad`` (STBP or PDSG,
the same on both sides: the reference's attack reads the model's gradient), on the
event-digits model of ``experiments/digits_events_attacks.yaml`` (binary frames split by
event number, T = 4; from the store, trained there if missing), or on the event attacks' test
fixture (:func:`fidelity.nets.event_digits_net`, its first clean-correct
held-out digits; with ``spiking_output`` an LIF layer after the readout). Both run on one
torch thread; the record gives the wall and CPU seconds of each, their ratio, and each one's
fooled samples and mean L0 (events flipped per success), with the samples on which the two
give the same L0 and the same example, so that the speed is measured at the same result
(docs/event_attacks.md, "Fidelity").
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from hydra import compose, initialize_config_dir
from rich.table import Table
from torch import nn

from fidelity.command import compare, comparison_parser
from fidelity.nets import TimeFirst, event_digits_net
from fidelity.reference import reference_module
from snnattack.attacks.methods.sda import SDA
from snnattack.config.keys import CONF_DIR
from snnattack.gradients import gradient_mode
from tools.stored import stored_job

EVENT_DIGITS = (  # the event-digits job of experiments/digits_events_attacks.yaml
    "dataset=digits_events",
    "dataset.params.split_by=number",
    "dataset.params.event_encoding=binary",
    "method=[sda]",
)
REFERENCE = "a clone of github.com/ryime/PDSG-SDA (the folder holding utils/attack.py)"


def reference_sda(folder: str | Path) -> ModuleType:
    """The reference's ``utils/attack.py`` of the clone in ``folder``, imported as written."""
    return reference_module(folder, "sda", REFERENCE, ["SDA"])


def _timed(run: Callable[[], torch.Tensor]) -> tuple[torch.Tensor, float, float]:
    start, cpu_start = time.perf_counter(), time.process_time()
    out = run()
    return out, time.perf_counter() - start, time.process_time() - cpu_start


def _stored_samples(
    store: str, samples: int, seed: int
) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """The stored event-digits model and its first ``samples`` clean-correct test samples."""
    _, model, data = stored_job(store, EVENT_DIGITS, seed)
    xs, ys, have = [], [], 0
    for x, y in data.test_dataloader():
        with torch.no_grad():
            correct = model(x).argmax(1) == y
        xs.append(x[correct])
        ys.append(y[correct])
        have += int(correct.sum())
        if have >= samples:
            break
    return model, torch.cat(xs)[:samples], torch.cat(ys)[:samples]


def measure_sda(
    store: str,
    folder: str | Path,
    samples: int = 64,
    seed: int = 0,
    model_source: str = "stored",
    spiking_output: bool = False,
    grad: str = "stbp",
) -> dict[str, Any]:
    """The record: on ``samples`` clean-correct samples of the stored model
    (``model_source="stored"``) or of the test fixture's net (``"fixture"``, with
    ``spiking_output``), under ``grad``, the reference's loop once and the batched attack
    before and after it (its median time), each one's seconds, fooled samples and mean L0,
    the agreement of the two, and that of this project's attack run one sample at a time
    after the reference's seeds (``identical_alone``)."""
    reference = reference_sda(folder)
    torch.set_num_threads(1)
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        method = compose("config", overrides=["method=[sda]"]).method.sda
    params = {k: v for k, v in method.items() if k != "name"}
    if model_source == "stored":
        model, x, y = _stored_samples(store, samples, seed)
    else:
        model, x, y = event_digits_net(samples, seed, spiking_output=spiking_output)
    wrapped = TimeFirst(model)

    def loop() -> torch.Tensor:
        out = []
        for i in range(len(y)):
            torch.manual_seed(seed + i)
            attack = reference.SDA(
                wrapped,
                k_init=params["k_init"],
                N=params["n_iter"],
                batch_limit=params["batch_limit"],
            )
            out.append(attack(x[i : i + 1].transpose(0, 1), y[i : i + 1]).transpose(0, 1))
        return torch.cat(out)

    def batched() -> torch.Tensor:
        torch.manual_seed(seed)
        return SDA(model, **params)(x, y)

    def alone() -> torch.Tensor:
        out = []
        for i in range(len(y)):
            torch.manual_seed(seed + i)
            out.append(SDA(model, **params)(x[i : i + 1], y[i : i + 1]))
        return torch.cat(out)

    with gradient_mode(model, grad):
        ours, first, first_cpu = _timed(batched)
        theirs, ref_seconds, ref_cpu = _timed(loop)
        again, second, second_cpu = _timed(batched)
        one_at_a_time = alone()
    if not torch.equal(ours, again):
        raise RuntimeError("the batched SDA gave two results on the same seed")
    seconds, cpu = statistics.median([first, second]), statistics.median([first_cpu, second_cpu])

    def result(adv: torch.Tensor) -> dict[str, Any]:
        with torch.no_grad():
            fooled = model(adv).argmax(1) != y
        l0 = (adv != x).flatten(1).sum(1)[fooled].float()
        return {"fooled": int(fooled.sum()), "mean_l0": l0.mean().item() if len(l0) else None}

    l0_ours, l0_theirs = ((a != x).flatten(1).sum(1) for a in (ours, theirs))
    return {
        "samples": len(y),
        "model": model_source,
        "spiking_output": spiking_output,
        "grad": grad,
        "params": params,
        "reference": {"seconds": ref_seconds, "cpu_seconds": ref_cpu, **result(theirs)},
        "batched": {"seconds": seconds, "cpu_seconds": cpu, **result(ours)},
        "same_l0": int((l0_ours == l0_theirs).sum()),
        "identical": int((ours == theirs).flatten(1).all(1).sum()),
        "identical_alone": int((one_at_a_time == theirs).flatten(1).all(1).sum()),
        "speedup": ref_seconds / seconds,
        "cpu_speedup": ref_cpu / cpu,
    }


def sda_table(record: dict[str, Any]) -> Table:
    """A rich table of :func:`measure_sda`."""
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


def main(argv: list[str] | None = None) -> None:
    parser = comparison_parser("sda", __doc__, "clean-correct test samples")
    parser.set_defaults(samples=64)
    parser.add_argument(
        "--model",
        choices=("stored", "fixture"),
        default="stored",
        help="the stored event-digits model (--store) or the event attacks' test fixture's net "
        "(--event-output)",
    )
    parser.add_argument(
        "--store",
        default=os.environ.get("SNNATTACK_STORE", "models"),
        help="model store the event-digits model is read from (trained there if missing)",
    )
    args = parser.parse_args(argv)
    spiking = args.event_output == "spiking"
    compare(
        args,
        lambda: measure_sda(
            args.store,
            args.reference,
            args.samples,
            args.seed,
            args.model,
            spiking,
            args.event_grad,
        ),
        sda_table,
    )


if __name__ == "__main__":
    main()
