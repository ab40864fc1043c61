"""A spikingjelly SNN trained on the event digits with spikingjelly's own loop, then attacked
in the event domain by snnattack: SDA's bit flips (events inserted or deleted) and, for scale,
PGD's L∞ perturbation of the frames (docs/event_attacks.md, docs/interop.md "Event data").

    python examples/spikingjelly_events.py --weights sj_events.pt

The event digits (``snnattack.data.digits_events``: scikit-learn's digits recorded by a
simulated event camera, no download) give binary frames ``[B, T, 2, 8, 8]``; the network is
spikingjelly's conv tutorial shape, multi-step, fed the frames time first as its own loop feeds
them. ``snnattack.evaluate(..., overrides=["dataset=digits_events"])`` tells the evaluation
that the samples are binary event frames: ``sda`` then reports its ASR with the events it
changed per success (L0 mean, median, and the share under the SDA paper's 200 and 800). The
same weights from the command line:

    PYTHONPATH=examples python run.py dataset=digits_events model=external \
        model.factory._target_=spikingjelly_events.make_net +model.kwargs.weights=sj_events.pt \
        T=4 'method=[sda,pgd]' eps=[16] boxes=[white]

Measured with its defaults (40 epochs, the first 200 of the 450 test digits), seed 0, one
torch thread (``OMP_NUM_THREADS=1``) on a 2-core machine shared with other jobs: 20 s wall
time (11 s CPU, user); clean accuracy 78.5 %; ``sda`` ASR 100 % changing 14.0 events per
success on average (7.5 inserted, 6.5 deleted; median 9 of the 512 bits), all under 200;
PGD at 16/255 (fractional values, which no sensor produces) ASR 40.1 %; no masking flag.
"""

from __future__ import annotations

import argparse
import time

import torch
from spikingjelly.activation_based import functional, layer, neuron, surrogate
from torch import nn

import snnattack
from snnattack.data.digits_events import DigitsEventsDataModule

T = 4  # time bins of the event frames, the network's time steps


def make_net(weights: str | None = None) -> nn.Sequential:
    """Conv8-BN-LIF-maxpool-linear-LIF on frames [T, B, 2, 8, 8] (spikingjelly, 'm')."""
    net = nn.Sequential(
        layer.Conv2d(2, 8, 3, padding=1, bias=False),
        layer.BatchNorm2d(8),
        neuron.LIFNode(surrogate_function=surrogate.ATan()),
        layer.MaxPool2d(2),
        layer.Flatten(),
        layer.Linear(8 * 4 * 4, 10, bias=False),
        neuron.LIFNode(surrogate_function=surrogate.ATan()),
    )
    functional.set_step_mode(net, "m")
    if weights:
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return net


def train(net: nn.Sequential, data: DigitsEventsDataModule, epochs: int) -> None:
    """spikingjelly's tutorial loop: frames time first, the output's firing rate against the
    one-hot label (MSE), reset_net after each batch."""
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    net.train()
    for _ in range(epochs):
        for x, y in data.train_dataloader():
            rate = net(x.transpose(0, 1)).mean(0)
            loss = nn.functional.mse_loss(rate, nn.functional.one_hot(y, 10).float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            functional.reset_net(net)
    net.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40, help="training epochs")
    parser.add_argument("--test-size", type=int, default=200, help="test digits attacked")
    parser.add_argument("--weights", default="sj_events.pt", help="where the weights are saved")
    args = parser.parse_args()
    started = time.time()
    torch.manual_seed(0)
    data = DigitsEventsDataModule(frames=T, seed=0)
    data.setup()
    net = make_net()
    train(net, data, args.epochs)
    torch.save(net.state_dict(), args.weights)
    x, y = data.test_set.tensors
    record = snnattack.evaluate(
        net,
        (x[: args.test_size], y[: args.test_size]),
        methods=["sda", "pgd"],
        eps=[16],
        T=T,
        overrides=["dataset=digits_events"],
    )
    print(f"clean accuracy {record.clean_acc:.1f} % on {record.n} test digits")
    for row in record.results:
        if row.l0_mean is not None:
            print(
                f"{row.method}: ASR {row.asr:.1f} %, events changed per success: mean "
                f"{row.l0_mean:.2f} (inserted {row.inserted_mean:.2f}, deleted "
                f"{row.deleted_mean:.2f}), median {row.l0_median:g}, share under 200 and "
                f"800: {row.l0_under}"
            )
        else:
            print(f"{row.method} eps={row.eps_255:g}/255: ASR {row.asr:.1f} %")
    print(f"masking checks flagged: {record.masking.get('flagged')}")
    print(f"done in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
