"""A spikingjelly SNN trained on the event digits with spikingjelly's own loop, then attacked
in the event domain by snnattack with every event threat model: SDA, SpikeFool, the
spike-compatible gradient, AE-Patch and GSAttack (events inserted, deleted or flipped),
Spike-Retiming (events moved in time) and, for scale, PGD's L∞ perturbation of the frames
(docs/event_attacks.md, docs/interop.md "Event data").

    python examples/spikingjelly_events.py --weights sj_events.pt

The event digits (``snnattack.data.digits_events``: scikit-learn's digits recorded by a
simulated event camera, no download) are handed to ``snnattack.evaluate`` as their raw event
streams (tonic's structured arrays) with ``overrides=["dataset=digits_events"]``: it frames
them as the dataset does (binary ``[B, T, 2, 8, 8]``), the network reads the frames time first
as spikingjelly's own loop feeds them, and GSAttack changes the streams themselves (its
insertion candidates come from held-out training streams, ``val_data``). Each event attack's
row reports its ASR with the events it changed per success (L0 mean, median, the share under
the SDA paper's 200 and 800); GSAttack's also the recording's events inserted, deleted and
flipped. The weights are saved as ``torch.save(net.state_dict())`` writes them, their record
beside them (``sj_events.pt.json``: the package version and git commit that trained them, their
digest, the settings; ``digits_eval.save_weights``). The same weights from the command line:

    PYTHONPATH=examples python run.py dataset=digits_events model=external \
        model.factory._target_=spikingjelly_events.make_net +model.kwargs.weights=sj_events.pt \
        T=4 'method=[sda,sparsefool,spike_grad,event_patch,gsattack,retime,pgd]' eps=[16] \
        boxes=[white] method.event_patch.area=0.1

(``method.event_patch.area=0.1``: the script's 2x2 patch, as ``digits_events_attacks`` sets it;
the default 3 % of an 8x8 frame is a single pixel.)

Measured with its defaults (40 epochs, the first 200 of the 450 test digits, 200 training
streams as GSAttack's insertion candidates), seed 0, one torch thread (``OMP_NUM_THREADS=1``)
on a shared 2-core machine (Intel Xeon), 2026-11-28: 37 s wall time; clean accuracy 78.0 %; ASR
and mean frame events changed per success: ``sda`` 100 % (10.77, all under 200), ``sparsefool``
96.8 % (16.88), ``spike_grad`` 100 % (38.33), ``event_patch`` (a 2x2 window) 75.6 % (17.75),
``gsattack`` 100 % (136.69 bits; 785 of the recording's events changed: 411 inserted, 187
deleted, 188 flipped), ``retime`` 80.8 % (76.0 events moved in time); PGD at 16/255
(fractional values, which no sensor produces) 42.9 %; no masking flag. Another CPU trains
other weights and gives somewhat other numbers (docs/experiments.md): an AMD EPYC gave a clean
accuracy of 78.5 % and ASRs of 96.2 % (sparsefool), 77.7 % (event_patch), 99.4 % (gsattack), 79.6 %
(retime) and 44.6 % (PGD) on 2026-11-29. Since each row draws its random numbers from its name
(2026-12-01, docs/running.md, "Reproducibility"), the rows with random draws differ: the same AMD
EPYC (AVX-512) gave 72.0 % (event_patch, a random placement) and 43.9 % (PGD, a random start),
the other rows unchanged, in 15 s wall time, 2026-12-01 at commit 208050a; the Intel Xeon's
event_patch and PGD numbers above are from before it.
"""

from __future__ import annotations

import argparse
import time

import torch
from digits_eval import check_weights, save_weights
from spikingjelly.activation_based import functional, layer, neuron, surrogate
from torch import nn

import snnattack
from snnattack.data.digits_events import DigitsEventsDataModule
from snnattack.errors import ConfigError, UserError
from snnattack.runtime.cli import ArgumentParser, refuse
from snnattack.values import integer

T = 4  # time bins of the event frames, the network's time steps
# every event threat model, and PGD's L-infinity perturbation of the frames for scale
METHODS = ["sda", "sparsefool", "spike_grad", "event_patch", "gsattack", "retime", "pgd"]


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


def share(percent: float | None) -> str:
    """A share of the successes, in % to one decimal (None: no success to count)."""
    return "-" if percent is None else f"{percent:.1f} %"


def arguments() -> argparse.Namespace:
    """The options; a mistyped option or a value out of range is refused in one line, exit
    code 2, before the training."""
    parser = ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--epochs", type=int, default=40, help="training epochs")
    parser.add_argument("--test-size", type=int, default=200, help="test digits attacked")
    parser.add_argument("--weights", default="sj_events.pt", help="where the weights are saved")
    parser.add_argument(
        "--donors", type=int, default=200, help="training streams GSAttack draws insertions from"
    )
    args = parser.parse_args()
    for option in ("epochs", "test_size", "donors"):
        integer(1).check("--" + option.replace("_", "-"), getattr(args, option))
    check_weights(args.weights)
    return args


def main() -> None:
    """Trains, attacks, prints; a user's mistake (:class:`UserError`) is one line, exit 2."""
    try:
        evaluate(arguments())
    except UserError as err:
        refuse(err)


def evaluate(args: argparse.Namespace) -> None:
    """The example end to end with the options ``args``."""
    started = time.time()
    torch.manual_seed(0)
    data = DigitsEventsDataModule(frames=T, seed=0)
    data.setup()
    recordings = data.recordings()
    if args.donors > len(recordings.train_labels):
        raise ConfigError(
            f"--donors={args.donors} is out of range; accepted: 1 to "
            f"{len(recordings.train_labels)} (the training streams)"
        )
    net = make_net()
    print(f"training {args.epochs} epochs with spikingjelly's loop", flush=True)
    train(net, data, args.epochs)
    settings = {"example": "spikingjelly_events.py", "T": T, "epochs": args.epochs, "seed": 0}
    record = save_weights(net, args.weights, **settings)
    print(
        f"trained in {time.time() - started:.0f} s, weights in {args.weights} (their version "
        f"and commit in {record})"
    )
    streams = [recordings.test(i) for i in range(min(args.test_size, len(data.test_set)))]
    labels = data.test_set.tensors[1][: len(streams)]
    donors = [recordings.train(i) for i in range(args.donors)]
    record = snnattack.evaluate(
        net,
        (streams, labels),
        methods=METHODS,
        eps=[16],
        T=T,
        val_data=(donors, list(recordings.train_labels[: args.donors])),
        overrides=["dataset=digits_events", "method.event_patch.area=0.1"],
    )
    print(f"clean accuracy {record.clean_acc:.1f} % on {record.n} test digits")
    for row in record.results:
        if row.l0_mean is None and row.eps_255 == 0:
            print(f"{row.method}: ASR {row.asr:.1f} % (no success)")
        elif row.l0_mean is not None:
            print(
                f"{row.method}: ASR {row.asr:.1f} %, events changed per success: mean "
                f"{row.l0_mean:.2f} (inserted {row.inserted_mean:.2f}, deleted "
                f"{row.deleted_mean:.2f}), median {row.l0_median:g}, share under "
                + ", ".join(f"{k}: {share(v)}" for k, v in (row.l0_under or {}).items())
            )
        else:
            print(f"{row.method} eps={row.eps_255:g}/255: ASR {row.asr:.1f} %")
        if row.recording and row.recording.get("changed_mean") is not None:
            r = row.recording
            print(
                f"  {row.method} on the recordings: {r['changed_mean']:.1f} events changed "
                f"({r['inserted_mean']:.1f} inserted, {r['deleted_mean']:.1f} deleted, "
                f"{r['flipped_mean']:.1f} flipped), {r['changed_share_mean']:.1f} % of a digit's"
            )
        if row.retiming and row.retiming.get("moved_mean") is not None:
            print(f"  {row.method}: {row.retiming['moved_mean']:.1f} events moved in time")
    print(f"masking checks flagged: {record.masking.get('flagged') or 'none'}")
    print(
        f"made by snnattack {record.version} at commit {record.git_commit} (torch "
        f"{record.torch}, {record.threads} thread(s)): T={T}, seed 0, {args.epochs} epochs, "
        f"{args.donors} donors, weights {args.weights}"
    )
    print(f"done in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
