"""Every paper preset trains a step and attacks a batch through run.py on real-format fixtures."""

from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_cifar import write_cifar10, write_cifar100
from fixtures_dvs import write_cifar10_dvs
from harness import CONF, FIXTURE_RUN, compose

from snnattack.attacks.parse import attack_specs, eps_values

PRESETS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
# the default suite trains and attacks one preset on the fixtures (the lightest model); the
# others (VGG-11/16 ~1 min each here, ResNet-19 and the DVS VGG ~10x that) run with -m slow
DEFAULT_RUN = "cifar10_resnet17"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_cifar10(root)
    write_cifar100(root)
    write_cifar10_dvs(root, per_class=4)  # 4 test recordings: two batches
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


# batches of 2 (the paper's networks at full size are the cost here: ResNet-19 and the DVS VGG
# took minutes a test with batches of 4); what the presets set is checked by composing them
SMALL = {"train.batch_size": 2, "eval_batch_size": 2, "checks.masking.probe_size": 2}


def preset_overrides(preset: str) -> list[str]:
    """``experiment=PRESET`` cut to one epoch of 2 batches and one test batch of 2 fixtures."""
    cifar = (
        []
        if preset.startswith("cifar10dvs")
        else ["dataset.params.val_size=10", "dataset.params.download=false"]
    )
    run = [o for o in FIXTURE_RUN if o.partition("=")[0] not in SMALL]
    return [
        f"experiment={preset}",
        *run,
        *(f"{key}={value}" for key, value in SMALL.items()),
        *cifar,
    ]


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_asks_for_fgsm_and_pgd_at_8_in_both_boxes_after_200_epochs(preset: str) -> None:
    cfg = compose(f"experiment={preset}")
    assert cfg.train.epochs == 200 and cfg.train.lr == 0.1
    assert {(s.method, s.box) for s in attack_specs(cfg)} == {
        (m, b) for m in ("fgsm", "pgd") for b in ("white", "black")
    }
    assert list(eps_values(cfg)) == [8]


@pytest.mark.parametrize(
    "preset",
    [pytest.param(p, marks=[] if p == DEFAULT_RUN else [pytest.mark.slow]) for p in PRESETS],
)
def test_preset_trains_a_step_and_attacks_a_batch_on_fixtures(
    preset: str, data_root: Path, run_job: Callable
) -> None:
    """One model, FGSM white box: the preset's data, model and training run end to end."""
    metrics = run_job(
        *preset_overrides(preset),
        "method=[fgsm]",
        "boxes=[white]",
        env={"SNNATTACK_DATA": str(data_root)},
    )
    cfg = metrics["config"]
    assert cfg["trainer"]["max_epochs"] == 1 and cfg["trainer"]["limit_train_batches"] == 2
    assert metrics["n"] == SMALL["eval_batch_size"]  # one test batch
    assert [(r["method"], r["box"], r["eps_255"]) for r in metrics["results"]] == [
        ("fgsm", "white", 8)
    ]
    assert metrics["models"]["target"]["epochs"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS)
def test_preset_runs_every_attack_of_the_paper_on_fixtures(
    preset: str, data_root: Path, run_job: Callable
) -> None:
    """Both attacks in both boxes (PGD cut to 2 of its steps: its settings are composed above)."""
    metrics = run_job(
        *preset_overrides(preset), "method.pgd.steps=2", env={"SNNATTACK_DATA": str(data_root)}
    )
    assert {(r["method"], r["box"]) for r in metrics["results"]} == {
        (m, b) for m in ("fgsm", "pgd") for b in ("white", "black")
    }
    assert all(r["eps_255"] == 8 for r in metrics["results"])
