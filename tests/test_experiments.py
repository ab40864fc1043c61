"""Every paper preset trains a step and attacks a batch through run.py on real-format fixtures."""

from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_cifar import write_cifar10, write_cifar100
from fixtures_dvs import write_cifar10_dvs
from harness import CONF

PRESETS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
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
    preset: str, data_root: Path, run_job: Callable
) -> None:
    cifar = (
        []
        if preset.startswith("cifar10dvs")
        else ["dataset.params.val_size=10", "dataset.params.download=false"]
    )
    metrics = run_job(
        f"experiment={preset}",
        *LIMITS,
        *cifar,
        "train.batch_size=4",
        "eval_batch_size=4",
        "dataset.params.num_workers=0",
        env={"SNNATTACK_DATA": str(data_root)},
    )
    cfg = metrics["config"]
    assert cfg["train"]["epochs"] == 200 and cfg["train"]["lr"] == 0.1
    assert cfg["trainer"]["max_epochs"] == 1 and cfg["trainer"]["limit_train_batches"] == 2
    assert metrics["n"] == 4  # one test batch
    assert {(r["method"], r["box"]) for r in metrics["results"]} == {
        (m, b) for m in ("fgsm", "pgd") for b in ("white", "black")
    }
    assert all(r["eps_255"] == 8 for r in metrics["results"])
    assert metrics["models"]["target"]["epochs"] == 1
