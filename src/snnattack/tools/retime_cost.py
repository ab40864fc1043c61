"""Cost of a Spike-Retiming step against a plain PGD step on the same model
(``python -m snnattack.tools.bench --retime``).

The model is ``digits_net`` on binary event frames ``[T, 2, 8, 8]`` (the event digits'
shape), untrained, its BatchNorm statistics calibrated on the batch so that it spikes; the
batch is the first ``batch`` event digits (:func:`snnattack.data.digits_events.record`,
framed by time). Each attack runs through a job's crafting path
(:func:`snnattack.attacks.crafting.craft`, STBP gradients) with ``steps`` steps: ``retime``
under each budget of its config files (``conf/method/retime.yaml``, ``retime_l1.yaml``,
``retime_l0.yaml``) and ``pgd`` (``conf/method/pgd.yaml``, at 8/255), interleaved in every
repeat so that they share the machine's load. The record gives each one's median seconds per
step (a run's seconds over its steps, its one-off work included) and ``vs_pgd``, the ratio to
PGD's: the issue's bound is 3.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch
from omegaconf import OmegaConf
from sklearn.datasets import load_digits

from snnattack.analysis.cost import calibrate_batchnorm
from snnattack.attacks.crafting import craft
from snnattack.data.digits_events import record
from snnattack.data.events import to_frames
from snnattack.models import build
from snnattack.package import CONF_DIR
from snnattack.settings import Recipe

RETIME_ROWS = ("retime", "retime_l1", "retime_l0")  # the config files of its three budgets
PGD_EPS = 8 / 255  # PGD's radius (any: its step's cost does not depend on it)


def method_params(name: str, steps: int) -> dict[str, Any]:
    """The parameters of ``conf/method/<name>.yaml`` with ``steps`` steps."""
    params = OmegaConf.to_container(
        OmegaConf.load(CONF_DIR / "method" / f"{name}.yaml"), resolve=True
    )
    params.pop("name")
    return {**params, "steps": steps}


def measure_retime(batch: int, T: int, steps: int, repeats: int, seed: int) -> dict[str, Any]:
    """Median seconds per step of ``retime`` under each budget and of ``pgd``, and each one's
    ratio to PGD's (module docstring)."""
    torch.manual_seed(seed)
    model = build("digits_net", num_classes=10, in_channels=2, T=T, encoding="frames")
    streams = record(load_digits().images[:batch] / 16.0)
    x = to_frames(streams, (16, 16, 2), T, 8, "time", "binary")
    calibrate_batchnorm(model, x)
    model.eval()
    with torch.no_grad():
        y = model(x).argmax(1)
    runs = {name: ("retime", method_params(name, steps), 0.0) for name in RETIME_ROWS}
    runs["pgd"] = ("pgd", method_params("pgd", steps), PGD_EPS)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for repeat in range(repeats + 1):  # the first round warms up
        for name, (method, params, eps) in runs.items():
            torch.manual_seed(seed)
            start = time.perf_counter()
            craft(method, model, x, y, eps, params, Recipe("stbp"))
            if repeat:
                times[name].append((time.perf_counter() - start) / steps)
    per_step = {name: statistics.median(t) for name, t in times.items()}
    return {
        "settings": {"batch": batch, "T": T, "steps": steps, "repeats": repeats, "seed": seed},
        "threads": torch.get_num_threads(),
        "events": int(x.sum()),
        "steps": {
            name: {"seconds": per_step[name], "vs_pgd": per_step[name] / per_step["pgd"]}
            for name in runs
        },
    }
