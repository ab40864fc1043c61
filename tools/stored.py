"""A job's trained model and data for the measurements that time a whole attack
(:mod:`.ensemble_cost`, and the checkout's ``fidelity/sda.py``): the config composed from
``conf/`` with the given overrides, validated, and its model from the checkpoint store
(trained there if missing)."""

from __future__ import annotations

from collections.abc import Sequence

from lightning import LightningDataModule
from omegaconf import DictConfig
from torch import nn

from snnattack.config.compose import compose_config
from snnattack.config.parse import data_settings
from snnattack.config.validation import validate
from snnattack.data import datamodule
from snnattack.records.store import ModelStore
from snnattack.training.parse import model_settings
from snnattack.training.trained import trained_model


def stored_job(
    store: str, overrides: Sequence[str], seed: int = 0
) -> tuple[DictConfig, nn.Module, LightningDataModule]:
    """The validated config, the model trained with ``seed`` (in eval mode) and its data
    (set up) of a job with ``overrides``, its checkpoints in ``store``."""
    overrides = [*overrides, f"seed={seed}", f"store.dir={store}"]
    cfg = compose_config([*overrides, "trainer.enable_progress_bar=false"])
    validate(cfg)
    model = trained_model(model_settings(cfg), seed, ModelStore(store), [])[0].eval()
    data = datamodule(data_settings(cfg, seed))
    data.setup()
    return cfg, model, data
