"""A digits SNN (4 epochs) from the session's shared store and its test images: trained once
per test session, whichever module asks first (pass the ``digits_store`` fixture)."""

from __future__ import annotations

from pathlib import Path

import torch
from harness import compose

from snnattack.config.parse import data_settings
from snnattack.data import datamodule
from snnattack.records.store import ModelStore
from snnattack.training.parse import model_settings
from snnattack.training.trained import trained_model


def spiking(model: torch.nn.Module) -> None:
    """Sets an untrained digits_net's BN statistics so that its layers spike (its outputs
    depend on the images and, with a Poisson encoder, on the draws)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.uniform_(0.1, 0.3)
                m.bias.uniform_(0.4, 1.4)


def trained(store: Path, *overrides: str):
    """The trained model and the first 200 test images and labels of the digits config."""
    cfg = _config(store, *overrides)
    model, _ = trained_model(model_settings(cfg), 0, ModelStore(store), [])
    dm = datamodule(data_settings(cfg, 0))
    dm.setup()
    x, y = next(iter(torch.utils.data.DataLoader(dm.test_set, batch_size=200)))
    return model, x, y


def stored_file(store: Path, *overrides: str) -> Path:
    """The store's file (``model.pt``) of the model :func:`trained` gives."""
    _, record = trained_model(model_settings(_config(store, *overrides)), 0, ModelStore(store), [])
    return store / record["key"] / "model.pt"


def _config(store: Path, *overrides: str):
    return compose(
        "train.epochs=4",
        f"store.dir={store}",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        *overrides,
    )
