"""A digits_net fitted briefly on binary event-digit frames, for the event attacks' tests (the
net of the Spike-Retiming reference bench, :mod:`snnattack.tools.retime_fidelity`)."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits

from snnattack.data.events import Framing
from snnattack.data.recordings import Recordings
from snnattack.tools.retime_fidelity import TRAIN, digit_streams, event_digits_net


def binary_digits_net(
    held_out: int = 6, spiking_output: bool = False
) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """digits_net (Adam, 6 epochs) on binary 8x8 frames of 240 event digits, ``held_out``
    further digits and the net's own predictions as labels (all start clean-correct);
    ``spiking_output``: its readout followed by LIF neurons (outputs are spike rates)."""
    return event_digits_net(held_out, spiking_output=spiking_output)


def held_out_recordings(held_out: int = 6) -> Recordings:
    """The recordings behind :func:`binary_digits_net`'s frames (the same ``held_out``): its
    held-out digits as the test split, in order, and its 240 training digits with their labels
    as the training split."""
    digits = load_digits()
    streams = digit_streams(TRAIN + held_out)
    return Recordings(
        (16, 16, 2),
        Framing(4, 8, "time", "binary"),
        lambda i: streams[TRAIN + i],
        lambda i: streams[i],
        tuple(digits.target[:TRAIN].tolist()),
    )
