"""What both digits examples share: their command line and the robustness report, measured
with ``snnattack.evaluate`` (the worst-case ensemble per ε and the masking checks).

The defaults keep an example within 3 minutes on a 2-core machine and still mean something:
the first 200 of the 450 test digits (a robust accuracy to about ±3.5 points), ε = 8 and
16/255 (the examples' models keep about 75–85 % and 35–60 % robust accuracy there: neither
radius is trivial) and the quick worst-case ensemble (``method=[ensemble_quick]``: 5.7× less
CPU time than the full one, one digit apart from it in 100 at 16/255; docs/evaluation.md).
For numbers to report, run the full ensemble on the whole test split:
``--ensemble full --test-size 450`` (far longer: its tuning and Square's 5000 queries,
docs/evaluation.md)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from torch import nn

import snnattack
from snnattack.data.digits import DigitsDataModule

# --ensemble: the method= preset; quick for a first look, full for reported numbers
ENSEMBLES = {"quick": "ensemble_quick", "full": "ensemble"}


def arguments(description: str, weights: str) -> argparse.Namespace:
    """The examples' options: training epochs, where the weights go, the radii, the test size."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--epochs", type=int, default=15, help="training epochs")
    parser.add_argument("--weights", default=weights, help="where the trained weights go")
    parser.add_argument("--eps", type=float, nargs="+", default=[8, 16], help="radii in 1/255")
    parser.add_argument("--test-size", type=int, default=200, help="first test images (of 450)")
    parser.add_argument(
        "--ensemble", choices=sorted(ENSEMBLES), default="quick", help="the worst case to run"
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds the training")
    return parser.parse_args()


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


def run(doc: str, weights: str, make_net: Callable, train: Callable, T: int) -> None:
    """An example end to end: train with the library's loop, save the weights, report."""
    args = arguments(doc.splitlines()[0], weights)
    torch.set_num_threads(1)  # 8x8 digits: a second thread only adds synchronisation (a job's
    # dataset.threads; docs/performance.md, "Threads")
    data = digits(args.seed)
    net = make_net()
    train(net, data, args.epochs)
    torch.save(net.state_dict(), args.weights)
    report(net, data, args, T)
