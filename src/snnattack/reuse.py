"""Rows that never read the job's gradient mode, computed once per process (``attack.reuse``).

The ensemble (its components name their own gradient modes) and the gradient-free methods
(Square) do not read ``attack.grad_mode`` or ``attack.params``. A sweep over ``attack=``
(``experiments/digits_adversarial.yaml`` sweeps stbp, rga, bptr and hart) would compute the
same such row in every job: on digits the ensemble is most of a job's time. Hydra's basic
launcher runs a sweep's jobs one after another in one process, so the first job that computes
such a row keeps it here and the later jobs with the same settings copy it. The copy records
the job folder that computed it (``reused_from``).

The key is everything that fixes a result except the gradient mode: the weights of the target
and the source, the config without its cosmetic keys and without ``attack.grad_mode`` /
``attack.params``, and the row's position (its random seeds derive from it). Nothing is shared
between processes: launchers that start one per job (joblib, submitit) and DDP jobs compute
every row, and so does a job that saves its adversarial examples (``attack.save_examples``),
whose files need the crafted tensors.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch import nn

from snnattack.attacks import GRADIENT_FREE
from snnattack.ensemble import ENSEMBLE
from snnattack.evaluation import AttackSpec
from snnattack.results import AttackRow, result_spec

log = logging.getLogger(__name__)

_ROWS: dict[str, AttackRow] = {}  # rows this process computed, by key


def independent(spec: AttackSpec) -> bool:
    """Whether ``spec``'s row does not depend on the job's gradient mode."""
    return spec.attack == ENSEMBLE or spec.attack in GRADIENT_FREE


def weights(*models: nn.Module | None) -> str:
    """A digest of the models' parameters and buffers."""
    digest = hashlib.sha256()
    for model in models:
        for name, tensor in (model.state_dict() if model is not None else {}).items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
        digest.update(b"|")
    return digest.hexdigest()


def row_keys(
    cfg: DictConfig,
    specs: list[AttackSpec],
    target: nn.Module,
    source: nn.Module | None,
    world_size: int,
) -> dict[int, str]:
    """The keys of the rows of ``specs`` that may be shared, by position: none unless
    ``attack.reuse`` is on, the job runs in one process and saves no examples."""
    if not cfg.attack.reuse or world_size != 1 or cfg.attack.save_examples:
        return {}
    shared = [i for i, spec in enumerate(specs) if independent(spec)]
    if not shared:
        return {}
    settings = result_spec(cfg)
    for mode_key in ("grad_mode", "params"):
        settings["attack"].pop(mode_key, None)
    base = json.dumps([settings, weights(target, source)], sort_keys=True, default=str)
    return {i: hashlib.sha256(f"{base}|{i}|{specs[i].name}".encode()).hexdigest() for i in shared}


def earlier_rows(keys: dict[int, str], specs: list[AttackSpec]) -> dict[int, AttackRow]:
    """The rows an earlier job of this process computed, by position."""
    found = {i: _ROWS[key] for i, key in keys.items() if key in _ROWS}
    for i, row in found.items():
        log.info("reused row %s from %s", specs[i].name, row.reused_from)
    return found


def remember(keys: dict[int, str], rows: list[AttackRow], output_dir: Path) -> None:
    """Keeps this job's shareable rows for the later jobs of the process."""
    for i, key in keys.items():
        if rows[i].reused_from is None:
            _ROWS[key] = replace(rows[i], reused_from=str(output_dir))


def forget() -> None:
    """Drops every kept row (tests start each from none)."""
    _ROWS.clear()
