"""The papers' analyses of a trained model, run inside a job with ``analysis=[...]``.

``analysis=[shuffle,rate_current,cost]`` runs, after the attacks, on the job's target model:

- ``shuffle``: clean vs spike-shuffled test accuracy (RGA Table 1, :mod:`.shuffle`);
- ``rate_current``: static and actual rate-current curves on validation data (:mod:`.rate_current`);
- ``cost``: time and memory of one attack step per gradient mode (Table S2, :mod:`.cost`).

Each result goes into ``metrics.json`` under ``analyses.<name>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig
from torch import nn

from snnattack.analysis.cost import measure_cost
from snnattack.analysis.rate_current import actual_curve, static_curve
from snnattack.analysis.shuffle import shuffle_test
from snnattack.errors import ConfigError
from snnattack.settings import AnalysisSettings


def _shuffle(
    settings: AnalysisSettings,
    opts: DictConfig,
    model: nn.Module,
    dm: L.LightningDataModule,
    device: torch.device,
) -> dict[str, Any]:
    return shuffle_test(
        model,
        dm.test_dataloader(),
        seed=opts.seed,
        limit_batches=opts.limit_batches,
        device=device,
        mode=opts.mode,
    )


def _rate_current(
    settings: AnalysisSettings,
    opts: DictConfig,
    model: nn.Module,
    dm: L.LightningDataModule,
    device: torch.device,
) -> dict[str, Any]:
    actual = actual_curve(
        model,
        dm.val_dataloader(),
        layer=opts.layer,
        n_points=opts.n_points,
        seed=opts.seed,
        limit_batches=opts.limit_batches,
        device=device,
    )
    static = static_curve(settings.lam, settings.theta, opts.static_max, opts.static_points)
    return {"actual": actual, "static": static}


def _cost(
    settings: AnalysisSettings,
    opts: DictConfig,
    model: nn.Module,
    dm: L.LightningDataModule,
    device: torch.device,
) -> dict[str, Any]:
    xs, ys, n = [], [], 0
    for x, y in dm.test_dataloader():
        xs.append(x)
        ys.append(y)
        n += len(y)
        if n >= opts.batch_size:
            break
    x = torch.cat(xs)[: opts.batch_size].to(device)
    y = torch.cat(ys)[: opts.batch_size].to(device)
    return {
        "batch_size": len(y),
        "repeats": opts.repeats,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "modes": measure_cost(model, x, y, repeats=opts.repeats),
    }


ANALYSES: dict[str, Callable[..., dict[str, Any]]] = {
    "shuffle": _shuffle,
    "rate_current": _rate_current,
    "cost": _cost,
}


def resolve_device(choice: str) -> torch.device:
    """The torch device of a device option: ``auto`` and ``gpu`` are the GPU if present."""
    if choice in ("auto", "gpu"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cpu" or choice.startswith("cuda"):
        return torch.device(choice)
    raise ConfigError(f"analysis device={choice!r} is unknown; accepted: auto, cpu, cuda")


def run_analyses(
    settings: AnalysisSettings, model: nn.Module, dm: L.LightningDataModule
) -> dict[str, Any]:
    """Runs every analysis selected in ``settings`` (``analysis=[...]``) on ``model``; results
    by name."""
    selected = settings.selected
    unknown = sorted(set(selected) - set(ANALYSES))
    if unknown:
        raise ConfigError(f"analysis={unknown} is unknown; accepted: {', '.join(ANALYSES)}")
    if not selected:
        return {}
    dm.setup("test")
    results = {}
    for name, opts in selected.items():
        device = resolve_device(opts.get("device", settings.accelerator))
        model = model.to(device).eval()
        results[name] = ANALYSES[name](settings, opts, model, dm, device)
    return results
