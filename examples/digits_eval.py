"""What both digits examples share: their command line and the robustness report, measured
with ``snnattack.evaluate`` (the worst-case ensemble per ε and the masking checks).

The defaults keep an example within 3 minutes on a 2-core machine and still mean something:
the first 200 of the 450 test digits (a robust accuracy to about ±3.5 points), ε = 8 and
16/255 (the examples' models keep about 75–85 % and 35–60 % robust accuracy there: neither
radius is trivial) and the quick worst-case ensemble (``method=[ensemble_quick]``: 5.7× less
CPU time than the full one, one digit apart from it in 100 at 16/255; docs/evaluation.md).
For numbers to report, run the full ensemble on the whole test split:
``--ensemble full --test-size 450`` (far longer: its tuning and Square's 5000 queries,
docs/evaluation.md; ``spikingjelly_digits.py`` took 3 min 12 s instead of 32 s, 2 min 14 s of
CPU time, on one thread of an AMD EPYC with AVX-512, 2026-12-01 at f7b64a7: 98.22 % clean,
78.44 % and 37.56 % robust at 8 and 16/255).

The trained weights go to ``--weights`` as ``torch.save(net.state_dict())`` writes them (each
example's ``make_net(weights)`` and ``checkpoint=`` read them back), and beside them, in
``<weights>.json``, the record of what made them (:func:`save_weights`): the package version
and git commit, as a stored model's ``record.json`` holds them, the weights' digest and the
example's settings."""

from __future__ import annotations

import argparse
import inspect
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

import snnattack
from snnattack.data.digits import DigitsDataModule
from snnattack.errors import ConfigError, UserError
from snnattack.records.checkpoints import torch_bytes, weights_id
from snnattack.records.files import write_atomic
from snnattack.records.provenance import provenance
from snnattack.runtime.cli import ArgumentParser, refuse
from snnattack.values import integer

# --ensemble: the method= preset; quick for a first look, full for reported numbers
ENSEMBLES = {"quick": "ensemble_quick", "full": "ensemble"}


def arguments(description: str, weights: str) -> argparse.Namespace:
    """The examples' options: training epochs, where the weights go, the radii, the test size.
    A mistyped option or a value out of range is refused in one line, exit code 2, before the
    training (as ``run.py`` refuses a key): not as a traceback once the training is done."""
    parser = ArgumentParser(description=description)
    parser.add_argument("--epochs", type=int, default=15, help="training epochs")
    parser.add_argument("--weights", default=weights, help="where the trained weights go")
    parser.add_argument("--eps", type=float, nargs="+", default=[8, 16], help="radii in 1/255")
    parser.add_argument("--test-size", type=int, default=200, help="first test images (of 450)")
    parser.add_argument(
        "--ensemble", choices=sorted(ENSEMBLES), default="quick", help="the worst case to run"
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds the training")
    args = parser.parse_args()
    check(args)
    return args


def check(args: argparse.Namespace) -> None:
    """Refuses (:class:`ConfigError`) the values no run can use, before any work."""
    integer(1).check("--epochs", args.epochs)
    integer(1).check("--test-size", args.test_size)
    bad = [e for e in args.eps if not 0 < e <= 255]
    if bad or len(set(args.eps)) < len(args.eps):
        raise ConfigError(
            f"--eps {' '.join(f'{e:g}' for e in args.eps)}"
            + (f" holds {bad[0]:g}" if bad else " repeats a radius")
            + "; accepted: distinct radii in (0, 255] in units of 1/255, e.g. --eps 8 16"
        )
    check_weights(args.weights)


def check_weights(weights: str) -> None:
    """Refuses a ``--weights`` path that cannot be written (nor its record beside it:
    :func:`record_path`), before the training."""
    folder = Path(weights).parent
    places = (Path(weights), record_path(weights))
    if any(p.is_dir() for p in places) or not folder.is_dir() or not os.access(folder, os.W_OK):
        raise ConfigError(
            f"--weights={weights} cannot be written (no such writable folder, or a folder "
            f"itself or at its record's place {record_path(weights)}); accepted: a file path "
            "in a writable folder"
        )


def record_path(weights: str | Path) -> Path:
    """Where the record of the weights saved to ``weights`` goes: ``<weights>.json`` beside
    them (``sj_digits.pt.json``; never the weights' own name, whatever it ends with)."""
    return Path(f"{weights}.json")


def save_weights(net: nn.Module, weights: str | Path, **settings: object) -> Path:
    """Saves ``net``'s state dict to ``weights``, the file ``torch.save(net.state_dict())``
    writes (``make_net(weights)``, ``checkpoint=`` and ``torch.load`` read it as before), and
    its record to :func:`record_path`: the package version, git commit, torch version and
    threads that made it (:func:`~snnattack.records.provenance.provenance`, as a stored
    model's ``record.json`` holds them; the project's rule: every result names the code that
    made it), the weights' digest (``weights``: the ``params:`` hash that the evaluations'
    ``metrics.json`` and benchmark entries name, so the record is matched to the file and to
    the results of these weights) and the example's ``settings``. Each written atomically: a
    refused write is one line naming the file (:class:`~snnattack.errors.WriteError`). An
    earlier record goes first: one stopped between the two writes (Ctrl-C, a full disk) leaves
    no record rather than the earlier weights' beside the new ones. Returns the record's
    path."""
    record = {**provenance(), "weights": weights_id(net), **settings}
    path = record_path(weights)
    path.unlink(missing_ok=True)
    write_atomic(Path(weights), torch_bytes(net.state_dict()))
    write_atomic(path, json.dumps(record, indent=2, default=str) + "\n")
    return path


def digits(seed: int) -> DigitsDataModule:
    """The embedded digits with snnattack's fixed train/validation/test splits."""
    torch.manual_seed(seed)
    data = DigitsDataModule(seed=seed)
    data.setup()
    return data


def report(net: nn.Module, data: DigitsDataModule, args: argparse.Namespace, T: int) -> None:
    """Prints the clean accuracy, the worst-case robust accuracy per ε and the masking flags."""
    test = torch.utils.data.Subset(data.test_set, range(min(args.test_size, len(data.test_set))))
    record = snnattack.evaluate(
        net, test, eps=args.eps, methods=[ENSEMBLES[args.ensemble]], val_data=data.val_set, T=T
    )
    print(f"clean accuracy {record.clean_acc:.2f} % on {record.n} test digits")
    for row in record.results:
        print(f"eps {row.eps_255:g}/255: worst-case robust accuracy {row.adv_acc:.2f} %")
    print(f"masking checks flagged: {record.masking['flagged'] or 'none'}")
    print(
        f"made by snnattack {record.version} at commit {record.git_commit} (torch "
        f"{record.torch}, {record.threads} thread(s)): T={T}, seed {args.seed}, {args.epochs} "
        f"epochs, method={ENSEMBLES[args.ensemble]}, weights {args.weights}"
    )


def run(doc: str, weights: str, make_net: Callable, train: Callable, T: int) -> None:
    """An example end to end: train with the library's loop, save the weights, report. A
    user's mistake the library finds (:class:`UserError`) ends as one line, exit code 2."""
    try:
        args = arguments(" ".join(doc.split("\n\n")[0].split()), weights)  # its 1st paragraph
        torch.set_num_threads(1)  # 8x8 digits: a second thread only adds synchronisation (a
        # job's dataset.threads; docs/performance.md, "Threads")
        data = digits(args.seed)
        net = make_net()
        print(f"training {args.epochs} epochs with the library's own loop", flush=True)
        started = time.perf_counter()
        train(net, data, args.epochs)
        example = Path(inspect.getfile(make_net)).name
        settings = {"example": example, "T": T, "epochs": args.epochs, "seed": args.seed}
        record = save_weights(net, args.weights, **settings)
        print(
            f"trained in {time.perf_counter() - started:.0f} s, weights in {args.weights} "
            f"(their version and commit in {record})"
        )
        report(net, data, args, T)
    except UserError as err:
        refuse(err)
