"""Every paper preset trains a step and attacks a batch through run.py on real-format fixtures."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_cifar import write_cifar10, write_cifar100
from fixtures_dvs import write_cifar10_dvs

ROOT = Path(__file__).resolve().parents[1]
PRESETS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))
LIMITS = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_cifar10(root)
    write_cifar100(root)
    write_cifar10_dvs(root, per_class=4)  # 4 test recordings: one full batch
    return root


def test_presets_cover_the_paper_settings() -> None:
    assert {
        "cifar10_vgg11",
        "cifar10_vgg16",
        "cifar10_resnet17",
        "cifar100_vgg11",
        "cifar100_resnet17",
        "cifar10dvs_vgg",
    } <= set(PRESETS)


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_trains_and_attacks_on_fixtures(
    preset: str, data_root: Path, tmp_path: Path
) -> None:
    cifar = (
        []
        if preset.startswith("cifar10dvs")
        else ["dataset.params.val_size=10", "dataset.params.download=false"]
    )
    cmd = [
        sys.executable,
        str(ROOT / "run.py"),
        f"experiment={preset}",
        *LIMITS,
        *cifar,
        "train.batch_size=4",
        "eval_batch_size=4",
        "dataset.params.num_workers=0",
        "trainer.enable_progress_bar=false",
        f"store.dir={tmp_path}/models",
        f"hydra.run.dir={tmp_path}/out",
    ]
    env = {**os.environ, "SNNATTACK_DATA": str(data_root)}
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    cfg = metrics["config"]
    assert cfg["train"]["epochs"] == 200 and cfg["train"]["lr"] == 0.1
    assert cfg["trainer"]["max_epochs"] == 1 and cfg["trainer"]["limit_train_batches"] == 2
    assert metrics["n"] == 4  # one test batch
    assert {(r["method"], r["box"]) for r in metrics["results"]} == {
        (m, b) for m in ("fgsm", "pgd") for b in ("white", "black")
    }
    assert all(r["eps_255"] == 8 for r in metrics["results"])
    assert metrics["models"]["target"]["epochs"] == 1
