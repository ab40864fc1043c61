"""A digits_net fitted briefly on binary event-digit frames, for the event attacks' tests (the
net of the Spike-Retiming reference bench, :mod:`snnattack.tools.retime_fidelity`)."""

from __future__ import annotations

import torch

from snnattack.tools.retime_fidelity import event_digits_net


def binary_digits_net(held_out: int = 6) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """digits_net (Adam, 6 epochs) on binary 8x8 frames of 240 event digits, ``held_out``
    further digits and the net's own predictions as labels (all start clean-correct)."""
    return event_digits_net(held_out)
