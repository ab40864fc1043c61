"""The papers' analyses of a trained model, run inside a job with ``analysis=[...]``.

``analysis=[shuffle,rate_current,cost]`` runs, after the attacks, on the job's target model:

- ``shuffle``: clean vs spike-shuffled test accuracy (RGA Table 1, :mod:`.shuffle`);
- ``rate_current``: static and actual rate-current curves on validation data (:mod:`.rate_current`);
- ``cost``: time and memory of one attack step per gradient mode (Table S2, :mod:`.cost`).

Each result goes into ``metrics.json`` under ``analyses.<name>``. A new analysis is one module
and its ``conf/analysis/<name>.yaml`` (:mod:`snnattack.analysis.base`).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn

from snnattack.analysis.base import ANALYSES, kept_notes, register
from snnattack.errors import ConfigError
from snnattack.registry import discover
from snnattack.settings import AnalysisSettings

discover(__name__, __path__)

__all__ = ["ANALYSES", "register", "resolve_device", "run_analyses"]


def resolve_device(choice: str) -> torch.device:
    """The torch device of a device option: ``auto`` and ``gpu`` are the GPU if present (a job
    notes ``gpu`` without one: :func:`snnattack.config.preflight.absent_gpu`)."""
    if choice in ("auto", "gpu"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cpu" or choice.startswith("cuda"):
        return torch.device(choice)
    raise ConfigError(
        f"analysis device={choice!r} is unknown; accepted: auto, cpu, gpu, cuda, cuda:N"
    )


def run_analyses(
    settings: AnalysisSettings,
    model: nn.Module,
    dm: L.LightningDataModule,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """Runs every analysis selected in ``settings`` (``analysis=[...]``) on ``model``; results
    by name. The analyses' notes (:func:`snnattack.analysis.base.note`: a setting the data
    left unused) are appended to ``notes``, the job record's, where it is given."""
    selected = settings.selected
    unknown = sorted(set(selected) - set(ANALYSES))
    if unknown:
        raise ConfigError(f"analysis={unknown} is unknown; accepted: {', '.join(ANALYSES)}")
    if not selected:
        return {}
    dm.setup("test")
    results = {}
    with kept_notes([] if notes is None else notes):
        for name, opts in selected.items():
            device = resolve_device(opts.get("device", settings.accelerator))
            model = model.to(device).eval()
            results[name] = ANALYSES[name](opts, model, dm, device)
    return results
