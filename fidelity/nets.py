"""The nets and samples that the comparisons with other projects' code attack: digits_net
fitted briefly on event digits (:func:`event_digits_net`, also the event attacks' test
fixture: tests/fixtures_event_nets.py) and the references' model interface
(:class:`TimeFirst`)."""

from __future__ import annotations

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from sklearn.datasets import load_digits
from torch import nn

from snnattack.config.keys import CONF_DIR
from snnattack.data.digits_events import record
from snnattack.data.events import Framing
from snnattack.snn.neurons import LIF
from snnattack.training.parse import model_settings
from snnattack.training.trained import build_model

TRAIN = 240  # event digits the net is fitted on; the samples are the ones after them
FRAMING = Framing(4, 8, "time", "binary")  # the net's frames unless told


class TimeFirst(nn.Module):
    """The reference's model interface: ``[T, B, ...]`` in, ``[T, B, classes]`` out (it
    averages over the first axis)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(frames.transpose(0, 1)).unsqueeze(0)


def event_digits_net(
    held_out: int,
    seed: int = 0,
    framing: Framing = FRAMING,
    sensor: int = 16,
    spiking_output: bool = False,
) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """digits_net (Adam, 6 epochs) on ``framing``'s frames (by default binary 8x8, T = 4,
    split by time) of the first 240 event digits (recorded by a ``sensor``-pixel sensor, the
    digit on three quarters of it), the ``held_out`` digits after them and the net's own
    predictions as labels (all start clean-correct): a small trained event net in seconds,
    also the event attacks' test fixture. ``spiking_output``: an LIF layer after the linear
    readout, trained with it, so that the outputs are spike rates (counts over T, often tied:
    the setting of ``examples/spikingjelly_events.py``)."""
    L.seed_everything(seed, verbose=False)
    size = f"dataset.params.size={framing.size}"
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["dataset=digits_events", size, f"T={framing.frames}"])
    model = build_model(model_settings(cfg))
    if spiking_output:
        model.body.append(LIF())
    streams = digit_streams(TRAIN + held_out, sensor)
    frames = framing.many(streams, (sensor, sensor, 2))
    labels = torch.as_tensor(load_digits().target[:TRAIN])
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(6):
        for i in range(0, TRAIN, 40):
            loss = nn.functional.cross_entropy(model(frames[i : i + 40]), labels[i : i + 40])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    x = frames[TRAIN:]
    with torch.no_grad():
        y = model(x).argmax(1)
    return model, x, y


def digit_streams(n: int, sensor: int = 16) -> list:
    """The first ``n`` event digits recorded by a ``sensor``-pixel sensor."""
    return record(load_digits().images[:n] / 16.0, sensor=sensor, image_size=sensor * 3 // 4)
