"""A digits SNN trained once per test module (4 epochs, a temporary store) and its test images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from snnattack.data import datamodule
from snnattack.store import ModelStore
from snnattack.training.trained import trained_model

ROOT = Path(__file__).resolve().parents[1]


def trained(tmp_path_factory: pytest.TempPathFactory, *overrides: str):
    """The trained model and the first 200 test images and labels of the digits config."""
    store = tmp_path_factory.mktemp("models")
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                "train.epochs=4",
                f"store.dir={store}",
                "trainer.accelerator=cpu",
                "trainer.enable_progress_bar=false",
                *overrides,
            ],
        )
    model, _ = trained_model(cfg, 0, ModelStore(store), [])
    dm = datamodule(cfg, 0)
    dm.setup()
    x, y = next(iter(torch.utils.data.DataLoader(dm.test_set, batch_size=200)))
    return model, x, y
