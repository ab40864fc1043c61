"""LightningDataModules by dataset name: ``DATAMODULES[cfg.dataset.name]``.

Every datamodule takes ``batch_size`` (training), ``eval_batch_size`` (validation, test and
attacks) and ``seed`` (for its fixed splits) plus its own options from ``cfg.dataset.params``;
it serves images in [0, 1] (or event frames) with integer labels, and carves the validation
split from the training data so that the test split is used for final numbers only.

Each datamodule registers itself (``@register`` in its module, :mod:`snnattack.data.base`);
this package imports every module, so a new dataset is its module and its
``conf/dataset/<name>.yaml``.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader

from snnattack.data.base import DATAMODULES, register
from snnattack.registry import discover
from snnattack.settings import DataSettings

discover(__name__, __path__)

__all__ = ["DATAMODULES", "build_datamodule", "datamodule", "first_samples", "register"]


def build_datamodule(
    name: str, batch_size: int, eval_batch_size: int, seed: int, **params: Any
) -> L.LightningDataModule:
    """The datamodule registered as ``name``, with its options ``params``."""
    if name not in DATAMODULES:
        raise ValueError(f"unknown dataset {name!r}; accepted: {sorted(DATAMODULES)}")
    return DATAMODULES[name](
        batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed, **params
    )


def datamodule(settings: DataSettings) -> L.LightningDataModule:
    """The datamodule ``settings`` describe (a job's: :class:`~snnattack.settings.DataSettings`)."""
    return build_datamodule(
        settings.name,
        batch_size=settings.batch_size,
        eval_batch_size=settings.eval_batch_size,
        seed=settings.seed,
        **settings.params,
    )


def first_samples(
    loader: DataLoader, n: int, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` images and labels of ``loader`` (fewer if it holds fewer), on
    ``device`` (where they are, if None): the one batch a probe reads, whatever the loader's
    batch size."""
    xs, ys, have = [], [], 0
    for x, y in loader:
        xs.append(x)
        ys.append(y)
        have += len(y)
        if have >= n:
            break
    return torch.cat(xs)[:n].to(device), torch.cat(ys)[:n].to(device)
