"""A digits_net fitted briefly on binary event-digit frames, for the event attacks' tests (the
recipe of tests/unit/attacks/test_sda.py's fixture, shared here)."""

from __future__ import annotations

import lightning as L
import torch
from harness import compose
from sklearn.datasets import load_digits

from snnattack.config.settings import model_settings
from snnattack.data.digits_events import record
from snnattack.data.events import to_frames
from snnattack.training.trained import build_model


def binary_digits_net(held_out: int = 6) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """digits_net (Adam, 6 epochs) on binary 8x8 frames of 240 event digits, ``held_out``
    further digits and the net's own predictions as labels (all start clean-correct)."""
    L.seed_everything(0, verbose=False)
    model = build_model(model_settings(compose("dataset=digits_events")))
    streams = record(load_digits().images[: 240 + held_out] / 16.0)
    frames = to_frames(streams, (16, 16, 2), 4, 8, "time", "binary")
    labels = torch.as_tensor(load_digits().target[:240])
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(6):
        for i in range(0, 240, 40):
            loss = torch.nn.functional.cross_entropy(model(frames[i : i + 40]), labels[i : i + 40])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    x = frames[240:]
    with torch.no_grad():
        y = model(x).argmax(1)
    return model, x, y
