"""Spike-Retiming against the reference's classes on the same samples
(``python -m snnattack.tools.bench --retime-reference FOLDER``).

The reference is ``utils/attack.py`` of a clone of ``yuyi-sd/Spike-Retiming-Attacks`` (Yu et
al., ICLR 2026), imported as written from the folder given: its repository has no licence,
so this project does not copy it. Its classes run on CPU as its ``test.py`` runs them, one
sample ``[T, 1, C, H, W]`` at a time, at its own step counts: ``PGDTimeShiftAfterEncoder_Lowgpu``
(the class ``test.py`` runs for B∞) at ``D=1`` and ``D=2``, ``PGDTimeShiftAfterEncoder_L1`` at
a total delay of 6, ``PGDTimeShiftAfterEncoder_L0`` at 3 moves, and the dense
``PGDTimeShiftAfterEncoder`` at ``D=1``; this project's
:class:`~snnattack.attacks.methods.retime.Retime` attacks the same samples in one batch with
the parameters of ``conf/method/retime*.yaml`` at the same budget and steps. The model is
digits_net fitted briefly (:func:`event_digits_net`) and the samples its held-out event
digits (with or without an LIF layer after its readout), both sides under the same gradient
mode (STBP or PDSG), on one torch thread; the reference's prints are
dropped (stdout carries the record). The record gives per setting each side's fooled samples
and seconds and the number of identical examples (docs/event_attacks.md, "Fidelity").
"""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from sklearn.datasets import load_digits
from torch import nn

from snnattack.attacks.methods.retime import Retime
from snnattack.config.keys import CONF_DIR
from snnattack.config.settings import model_settings
from snnattack.data.digits_events import record
from snnattack.data.events import Framing
from snnattack.gradients import gradient_mode
from snnattack.snn.neurons import LIF
from snnattack.tools.reference import TimeFirst, reference_module
from snnattack.tools.retime_cost import method_params
from snnattack.training.trained import build_model

REFERENCE = (
    "a clone of github.com/yuyi-sd/Spike-Retiming-Attacks (the folder holding utils/attack.py)"
)
TRAIN = 240  # event digits the net is fitted on; the samples are the ones after them
FRAMING = Framing(4, 8, "time", "binary")  # the net's frames unless told
# (setting, this project's config file, norm, budget, steps, phi_init, reference class, its kwargs)
SETTINGS = (
    ("B∞ D=1", "retime", "linf", 1, 20, 4.0, "PGDTimeShiftAfterEncoder_Lowgpu", {"D": 1}),
    ("B∞ D=2", "retime", "linf", 2, 20, 4.0, "PGDTimeShiftAfterEncoder_Lowgpu", {"D": 2}),
    ("B1 6", "retime_l1", "l1", 6, 40, 0.0, "PGDTimeShiftAfterEncoder_L1", {"l1_steps_budget": 6}),
    ("B0 3", "retime_l0", "l0", 3, 40, 0.0, "PGDTimeShiftAfterEncoder_L0", {"l0_moves_budget": 3}),
    (
        "B∞ D=1 dense",
        "retime",
        "linf",
        1,
        20,
        0.0,
        "PGDTimeShiftAfterEncoder",
        {"D": 1, "lambda_cap": 20.0},
    ),
)


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


def reference_retime(folder: str | Path) -> ModuleType:
    """The reference's ``utils/attack.py`` of the clone in ``folder``, imported as written."""
    classes = sorted({setting[6] for setting in SETTINGS})
    return reference_module(folder, "--retime-reference", REFERENCE, classes)


def measure_retime_fidelity(
    folder: str | Path,
    samples: int = 32,
    seed: int = 0,
    spiking_output: bool = False,
    grad: str = "stbp",
) -> dict[str, Any]:
    """The record: per setting, on ``samples`` held-out event digits, the reference's
    one-sample loop and the batched ``retime``, each one's fooled samples and seconds, and
    their identical examples (module docstring); the net with ``spiking_output``
    (:func:`event_digits_net`), both sides under the gradient mode ``grad``."""
    reference = reference_retime(folder)
    torch.set_num_threads(1)
    model, x, y = event_digits_net(samples, seed, spiking_output=spiking_output)
    wrapped, cpu = TimeFirst(model), torch.device("cpu")

    def fooled(adv: torch.Tensor) -> int:
        with torch.no_grad():
            return int((model(adv).argmax(1) != y).sum())

    settings = {}
    for name, config, norm, budget, steps, phi_init, cls, kwargs in SETTINGS:
        params = {**method_params(config, steps), "norm": norm, "budget": budget}
        attack = getattr(reference, cls)(cpu, wrapped, steps=steps, **kwargs)
        with gradient_mode(model, grad):
            start = time.perf_counter()
            ours = Retime(model, **{**params, "phi_init": phi_init})(x, y)
            seconds = time.perf_counter() - start
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # its per-step losses: not the JSON
                theirs = torch.cat(
                    [
                        attack(x[i : i + 1].transpose(0, 1), y[i : i + 1]).transpose(0, 1)
                        for i in range(len(y))
                    ]
                )
            ref_seconds = time.perf_counter() - start
        settings[name] = {
            "reference_class": cls,
            "reference": {"fooled": fooled(theirs), "seconds": ref_seconds},
            "batched": {"fooled": fooled(ours), "seconds": seconds},
            "identical": int((ours == theirs).flatten(1).all(1).sum()),
        }
    return {
        "samples": len(y),
        "seed": seed,
        "spiking_output": spiking_output,
        "grad": grad,
        "settings": settings,
    }
