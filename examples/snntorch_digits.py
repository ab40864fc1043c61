"""A digits SNN trained with snnTorch's own tools, then its worst-case robustness measured by
snnattack (docs/interop.md).

    python examples/snntorch_digits.py --weights snntorch_digits.pt

The training is snnTorch's usual loop: ``Leaky`` neurons with ``init_hidden=True`` in an
``nn.Sequential`` of one time step, the loop over ``T`` in the script, the mean output over
time, cross-entropy, ``utils.reset`` before every batch. snnattack adapts the per-step network
(``snnattack.interop.adapt`` wraps the same ``nn.Sequential``; the time loop is its own), so
the ensemble and every gradient mode attack it. From the command line:

    PYTHONPATH=examples python run.py model=external \
        model.factory._target_=snntorch_digits.make_net +model.kwargs.weights=snntorch_digits.pt \
        T=4 'method=[ensemble_quick]' boxes=[white]   # method=[ensemble] for reported numbers

It finishes in under 3 minutes with its defaults: 15 training epochs, then the quick worst-case
ensemble (``ensemble_quick``) at ε = 8 and 16/255 on the first 200 of the 450 test digits
(``digits_eval.py`` says why these). Measured: 74 s wall time, 73 s CPU time (user + sys, one
torch thread, ``OMP_NUM_THREADS=1``) on a shared 2-core machine (Intel Xeon), 2026-11-28, seed 0:
clean accuracy 98.5 %, robust accuracy 85.5 % at 8/255 and 58.5 % at 16/255, no masking flag
(another CPU trains other weights: an AMD EPYC gave 99 %, 87 % and 55.5 %, the same again with
AVX-512 in 24 s on 2026-12-01 at 208050a, docs/experiments.md). The training says when it
starts and ends, the progress of the attacks and the masking checks shows on the terminal, and
the last line names the code and settings that made the numbers (version, git commit); the
weights' own record, ``<weights>.json`` beside them, names the code that trained them
(``digits_eval.py``). For numbers to report: ``--ensemble full --test-size 450``.
"""

from __future__ import annotations

import snntorch as snn
import torch
from digits_eval import run
from snntorch import surrogate, utils
from torch import nn

from snnattack.data.digits import DigitsDataModule

T = 4  # time steps of the direct encoding


def make_net(weights: str | None = None) -> nn.Sequential:
    """Conv16-BN-Leaky-pool-conv32-BN-Leaky-pool-linear for one time step (snnTorch)."""
    spike = surrogate.atan()
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        snn.Leaky(beta=0.5, spike_grad=spike, init_hidden=True),
        nn.AvgPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32),
        snn.Leaky(beta=0.5, spike_grad=spike, init_hidden=True),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 10),
    )
    if weights:
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return net


def train(net: nn.Sequential, data: DigitsDataModule, epochs: int) -> None:
    """snnTorch's loop: reset, T steps, mean output, cross-entropy."""
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    net.train()
    for _ in range(epochs):
        for x, y in data.train_dataloader():
            utils.reset(net)
            logits = torch.stack([net(x) for _ in range(T)]).mean(0)
            loss = nn.functional.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()


def main() -> None:
    run(__doc__, "snntorch_digits.pt", make_net, train, T)


if __name__ == "__main__":
    main()
