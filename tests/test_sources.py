"""Black-box sources other than the target's twin: another λ, T or architecture, recorded in
every result row, and refused where they cannot work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from snnattack.config import validate
from snnattack.errors import ConfigError
from snnattack.source import source_config
from snnattack.training.spec import training_spec

ROOT = Path(__file__).resolve().parents[1]


def composed(*overrides: str):
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def test_source_settings_change_only_the_source() -> None:
    cfg = composed(
        "dataset=cifar10", "model=vgg11", "source_model=vgg16", "source_lambda=0.5", "source_T=8"
    )
    source = source_config(cfg)
    assert (source.model.name, source["lambda"], source.T) == ("vgg16", 0.5, 8)
    assert (cfg.model.name, cfg["lambda"], cfg.T) == ("vgg11", 1.0, 4)
    assert source.trainer.max_epochs == cfg.train.epochs  # interpolations still resolve
    spec = training_spec(source, 1000)
    assert spec["model"]["name"] == "vgg16" and spec["neuron"]["lambda"] == 0.5
    assert source_config(composed()) is not None and training_spec(
        source_config(composed()), 0
    ) == training_spec(composed(), 0)


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["source_model=vgg11"], "source_model=vgg11 does not fit dataset=digits"),
        (
            ["dataset=cifar10_dvs", "model=dvs_vgg", "source_T=4"],
            "source_T=4 has no meaning for encoding=frames",
        ),
        (["source_lambda=1.5"], "source_lambda=1.5 is out of range"),
        (["source_model=vgg12"], "source_model='vgg12' is unknown"),
    ],
)
def test_bad_source_settings_are_refused(overrides, message) -> None:
    with pytest.raises(ConfigError, match="^" + message):
        validate(composed(*overrides))


def test_a_source_at_another_leak_and_t_is_trained_and_recorded(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "source_lambda=0.5",
            "source_T=6",
            "boxes=[black]",
            "method=[fgsm]",
            "eps=[32]",
            "train.epochs=1",
            "trainer.enable_progress_bar=false",
            f"store.dir={tmp_path}/models",
            f"hydra.run.dir={tmp_path}/out",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert m["models"]["source"]["spec"]["neuron"]["lambda"] == 0.5
    assert m["models"]["source"]["spec"]["neuron"]["T"] == 6
    assert m["models"]["target"]["spec"]["neuron"]["lambda"] == 1.0
    (row,) = m["results"]
    assert (row["box"], row["source_lambda"], row["source_T"], row["source_model"]) == (
        "black",
        0.5,
        6,
        "digits_net",
    )
