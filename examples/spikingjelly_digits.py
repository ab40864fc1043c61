"""A digits SNN trained with spikingjelly's own tools, then its worst-case robustness measured
by snnattack (docs/interop.md).

    python examples/spikingjelly_digits.py --weights sj_digits.pt

The training is spikingjelly's usual loop: multi-step layers, the image repeated ``T`` times,
the mean output over time, cross-entropy, ``functional.reset_net`` after every batch. Then
``snnattack.evaluate`` attacks the trained network with the worst-case ensemble at each ε and
runs the masking checks. The same weights are attacked from the command line with
``model=external`` and :func:`make_net` as the factory:

    PYTHONPATH=examples python run.py model=external \
        model.factory._target_=spikingjelly_digits.make_net +model.kwargs.weights=sj_digits.pt \
        T=4 'method=[ensemble_quick]' boxes=[white]   # method=[ensemble] for reported numbers

It finishes in under 3 minutes with its defaults: 15 training epochs, then the quick worst-case
ensemble (``ensemble_quick``) at ε = 8 and 16/255 on the first 200 of the 450 test digits
(``digits_eval.py`` says why these). Measured: 71 s wall time, 70 s CPU time (user + sys, one
torch thread, ``OMP_NUM_THREADS=1``) on a shared 2-core machine (Intel Xeon), 2026-11-28, seed 0:
clean accuracy 97 %, robust accuracy 75.5 % at 8/255 and 34 % at 16/255, no masking flag (another
CPU trains other weights: an AMD EPYC gave 98 %, 77.5 % and 38 %, the same again with
AVX-512 in 32 s on 2026-12-01 at 208050a, docs/experiments.md). The training says when it
starts and ends, the progress of the attacks and the masking checks shows on the terminal, and
the last line names the code and settings that made the numbers (version, git commit); the
weights' own record, ``<weights>.json`` beside them, names the code that trained them
(``digits_eval.py``). For numbers to report: ``--ensemble full --test-size 450``.
"""

from __future__ import annotations

import torch
from digits_eval import run
from spikingjelly.activation_based import functional, layer, neuron, surrogate
from torch import nn

from snnattack.data.digits import DigitsDataModule

T = 4  # time steps of the direct encoding


def make_net(weights: str | None = None) -> nn.Sequential:
    """Conv16-BN-LIF-pool-conv32-BN-LIF-pool-linear on [T, B, 1, 8, 8] (spikingjelly, 'm')."""
    net = nn.Sequential(
        layer.Conv2d(1, 16, 3, padding=1, bias=False),
        layer.BatchNorm2d(16),
        neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), detach_reset=True),
        layer.AvgPool2d(2),
        layer.Conv2d(16, 32, 3, padding=1, bias=False),
        layer.BatchNorm2d(32),
        neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), detach_reset=True),
        layer.AvgPool2d(2),
        layer.Flatten(),
        layer.Linear(32 * 2 * 2, 10),
    )
    functional.set_step_mode(net, "m")
    if weights:
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return net


def train(net: nn.Sequential, data: DigitsDataModule, epochs: int) -> None:
    """spikingjelly's loop: mean output over T, cross-entropy, reset_net after each batch."""
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    net.train()
    for _ in range(epochs):
        for x, y in data.train_dataloader():
            logits = net(x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0)
            loss = nn.functional.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            functional.reset_net(net)
    net.eval()


def main() -> None:
    run(__doc__, "sj_digits.pt", make_net, train, T)


if __name__ == "__main__":
    main()
