"""What both digits examples share: their command line and the robustness report, measured
with ``snnattack.evaluate`` (the worst-case ensemble per ε and the masking checks)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from torch import nn

import snnattack
from snnattack.data.digits import DigitsDataModule


def arguments(description: str, weights: str) -> argparse.Namespace:
    """The examples' options: training epochs, where the weights go, the radii, the test size."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--epochs", type=int, default=15, help="training epochs")
    parser.add_argument("--weights", default=weights, help="where the trained weights go")
    parser.add_argument("--eps", type=float, nargs="+", default=[8, 16], help="radii in 1/255")
    parser.add_argument("--test-size", type=int, default=None, help="test images (default all)")
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
    test = data.test_set
    if args.test_size is not None:
        test = torch.utils.data.Subset(test, range(args.test_size))
    record = snnattack.evaluate(
        net, test, eps=args.eps, methods=["ensemble"], val_data=data.val_set, T=T
    )
    print(f"clean accuracy {record.clean_acc:.2f} %")
    for row in record.results:
        print(f"eps {row.eps_255:g}/255: worst-case robust accuracy {row.adv_acc:.2f} %")
    print(f"masking checks flagged: {record.masking['flagged'] or 'none'}")


def run(doc: str, weights: str, make_net: Callable, train: Callable, T: int) -> None:
    """An example end to end: train with the library's loop, save the weights, report."""
    args = arguments(doc.splitlines()[0], weights)
    data = digits(args.seed)
    net = make_net()
    train(net, data, args.epochs)
    torch.save(net.state_dict(), args.weights)
    report(net, data, args, T)
