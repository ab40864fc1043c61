"""Every config option composes and builds; bad values stop the run with one clear line."""

import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from harness import CONF, compose, run_py
from omegaconf import OmegaConf

from snnattack.attacks.parse import attack_specs
from snnattack.config.parse import data_settings
from snnattack.config.spelling import spelt
from snnattack.config.validation import validate
from snnattack.data import datamodule
from snnattack.errors import ConfigError
from snnattack.records.cosmetic import settings_hash
from snnattack.records.store import spec_key
from snnattack.training.parse import model_settings, source_config
from snnattack.training.store_key import store_key
from snnattack.training.trained import build_model


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml") if not p.stem.startswith("_"))


GROUP_OPTIONS = [
    (g, o) for g in ("dataset", "model", "train", "attack", "trainer", "logger") for o in options(g)
]


FITS = {
    "cifar10": "resnet17",
    "cifar100": "resnet17",
    "cifar10_dvs": "dvs_vgg",
    "nmnist": "vgg5",
    "dvs_gesture": "dvs_vgg",
    "vgg5": "cifar10",
    "vgg11_eccv": "cifar10",
    "vgg11": "cifar10",
    "vgg16": "cifar10",
    "resnet17": "cifar10",
    "resnet19": "cifar10",
    "dvs_vgg": "cifar10_dvs",
    "wrn16_4": "cifar10",
}
# options that need keys of their own (model=external: a factory, tests/external_nets.py)
NEEDS = {"external": ["model.factory._target_=external_nets.digits_net", "boxes=[white]"]}


@pytest.mark.parametrize("group,option", GROUP_OPTIONS)
def test_every_group_option_composes_and_validates(group: str, option: str) -> None:
    other = {"dataset": "model", "model": "dataset"}.get(group)
    partner = [f"{other}={FITS[option]}"] if option in FITS else []
    partner += NEEDS.get(option, [])
    cfg = compose(f"{group}={option}", *partner)
    before = _types(OmegaConf.to_container(cfg, resolve=True))
    if cfg.trainer.accelerator == "gpu" and not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="^trainer.accelerator=gpu but this machine has no"):
            validate(cfg)
    else:
        validate(cfg)
        assert _types(OmegaConf.to_container(cfg, resolve=True)) == before
    assert store_key(model_settings(cfg), 0)["seed"] == 0


@pytest.mark.parametrize("name", options("dataset"))
def test_every_dataset_builds_its_datamodule(name: str) -> None:
    cfg = compose(f"dataset={name}")
    dm = datamodule(data_settings(cfg, seed=0))
    assert dm.batch_size == cfg.train.batch_size


def test_default_config_builds_the_digits_model() -> None:
    cfg = compose()
    model = build_model(model_settings(cfg))
    assert model.T == 4 and sum(p.numel() for p in model.parameters()) == 6138


def test_method_is_a_multi_select_group() -> None:
    assert sorted(compose().method) == ["fgsm", "pgd"]
    assert list(compose("method=[pgd]").method) == ["pgd"]
    cfg = compose("method=[pgd]", "eps=[8,16]", "boxes=[white]")
    specs = attack_specs(cfg)
    assert [(s.method, round(s.eps * 255), s.box) for s in specs] == [
        ("pgd", 8, "white"),
        ("pgd", 16, "white"),
    ]
    assert specs[0].params == {
        "steps": 7,
        "alpha": None,
        "eps_per_alpha": 3.1,
        "random_start": True,
    }


def test_a_single_eps_counts_as_a_list_of_one() -> None:
    cfg = compose("eps=8", "method=[fgsm]", "boxes=[white]")
    validate(cfg)
    assert [round(s.eps * 255) for s in attack_specs(cfg)] == [8]


def test_training_spec_ignores_settings_that_do_not_change_training() -> None:
    base = store_key(model_settings(compose()), 0)
    assert (
        store_key(
            model_settings(compose("attack=rga", "eps=[8]", "eval_batch_size=4", "threads=2")), 0
        )
        == base
    )
    assert store_key(model_settings(compose("lambda=0.5")), 0) != base
    assert store_key(model_settings(compose("trainer.max_epochs=2")), 0) != base
    assert store_key(model_settings(compose()), 1) != base


def test_the_store_key_holds_the_epochs_lightning_trains() -> None:
    """``trainer.max_epochs`` set replaces ``train.epochs``, which trains nothing more: one
    model for every ``train.epochs`` under it (each was a key, and the same model trained and
    stored again), that of ``train.epochs`` at its value, whose record says the epochs it
    had."""

    def key(*overrides: str) -> dict:
        return store_key(model_settings(compose(*overrides)), 0)

    three = key("train.epochs=3")
    assert key("train.epochs=5", "trainer.max_epochs=3") == three
    assert key("train.epochs=7", "trainer.max_epochs=3") == three
    assert three["train"]["epochs"] == three["trainer"]["max_epochs"] == 3
    assert key("train.epochs=3", "trainer.max_epochs=4") != three


def test_a_hybrid_key_holds_the_epochs_its_fine_tuning_trains() -> None:
    """Under a set ``trainer.max_epochs`` the hybrid's fine-tuning trains that many epochs and
    never reads ``train.hybrid.epochs``: one model for every value of it (each was a key, the
    same model trained and stored again); without it, ``train.hybrid.epochs`` decides."""

    def key(*overrides: str) -> dict:
        return store_key(model_settings(compose("train.kind=hybrid", *overrides)), 0)

    capped = key("trainer.max_epochs=2", "train.hybrid.epochs=3")
    assert key("trainer.max_epochs=2", "train.hybrid.epochs=5") == capped
    assert capped["train"]["hybrid"]["epochs"] == 2
    assert key("train.hybrid.epochs=3") != key("train.hybrid.epochs=5")
    assert key("train.hybrid.epochs=3")["train"]["hybrid"]["epochs"] == 3


def _types(tree: Any) -> Any:
    """``tree`` with each leaf's type in its place: validation spells a number as its key's
    rule does, and the package's own values, already spelt so, keep with it every stored
    model's key and finished job's record."""
    if isinstance(tree, dict):
        return {k: _types(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_types(v) for v in tree]
    return type(tree)


def test_two_spellings_of_a_number_are_one_setting() -> None:
    """``lambda=1`` and ``lambda=1.0`` (a gradient mode's parameter as well), and
    ``train.adversary.eps=16.0`` and its default ``16``, are one model in the store: two keys
    would train it twice and count the twins as seeds. The defaults keep their spelling, and
    with it the keys of the models stored before."""
    adversary = ("train.adversary.method=pgd", "train.adversary.grad_mode=rga")
    given = [
        compose("lambda=1", "train.lr=1", "+train.adversary.params.gamma=1", *adversary),
        compose(
            "lambda=1.0",
            "train.lr=1.0",
            "+train.adversary.params.gamma=1.0",
            "train.adversary.eps=16.0",
            *adversary,
        ),
    ]
    for cfg in given:
        validate(cfg)
    ints, floats = (store_key(model_settings(cfg), 0) for cfg in given)
    assert ints == floats
    assert ints["neuron"]["lambda"] == 1.0 and isinstance(ints["neuron"]["lambda"], float)
    assert isinstance(ints["train"]["adversary"]["params"]["gamma"], float)
    assert ints["train"]["adversary"]["eps"] == 16 and floats["train"]["adversary"]["eps"] == 16
    assert isinstance(floats["train"]["adversary"]["eps"], int)
    counts = compose("T=8", "trainer.limit_train_batches=1")  # integer keys keep their integers
    validate(counts)
    assert counts["T"] == 8 and counts.trainer.limit_train_batches == 1
    assert isinstance(counts.trainer.limit_train_batches, int)


# lambda=1 (and train.lr=1) set plainly and by interpolations; the black-box source of another
# kind, the hybrid's base conversion and its fine-tuning recipe each resolve it anew
INTERPOLATED = [
    (["lambda=1"], ["+kinds.l=1", "lambda=${kinds.l}"]),
    (
        ["lambda=1", "train.kind=hybrid", "source_train=conversion"],
        ["+kinds.l=1", "lambda=${kinds.l}", "train.kind=hybrid", "source_train=conversion"],
    ),
    (
        ["lambda=1", "train.lr=1"],
        ["+kinds.lambda.stbp=1", "lambda='${kinds.lambda.${train.kind}}'", "train.lr=${lambda}"],
    ),
]


@pytest.mark.parametrize("plain,interpolated", INTERPOLATED, ids=lambda o: " ".join(o))
def test_a_number_set_by_an_interpolation_is_spelt_as_one_set_plainly(
    plain: list[str], interpolated: list[str]
) -> None:
    """``+kinds.l=1 lambda=${kinds.l}`` runs the model that ``lambda=1`` runs: one store key,
    not a second model trained, and one record (``lambda: 1.0``; the report tells ``1`` from
    ``1.0``). Validation spells a number set plainly in the config, where an interpolation
    stays one; the resolved trees that keys are made of spell both (``spelling.spelt``). A
    model stored before keeps its key (``lambda=1``'s, on a CPU, seed 0)."""
    given = [compose("trainer=cpu", *overrides) for overrides in (plain, interpolated)]
    for cfg in given:
        validate(cfg)
    # the store's folder names: a dict of lambda 1 equals one of 1.0, their JSON does not
    targets = [spec_key(store_key(model_settings(cfg), 0)) for cfg in given]
    sources = [spec_key(store_key(model_settings(source_config(cfg)), 1)) for cfg in given]
    assert targets[0] == targets[1] and sources[0] == sources[1]
    records = [spelt(cfg) for cfg in given]
    assert [(type(r["lambda"]), type(r["train"]["lr"])) for r in records] == [(float, float)] * 2
    # one hash of what runs: a sweep's launch and a refusal, spelt either way, name one record
    assert settings_hash(records[0]) == settings_hash(records[1])
    if plain == ["lambda=1"]:
        assert targets[0] == "9478b7f1dda9da60"
        assert settings_hash(records[0]) == "343742d16bc51132"  # as before the lookups were emptied


@pytest.mark.parametrize(
    "override,key",
    [
        ("lambda=1.5", "lambda"),
        ("lambda=0", "lambda"),
        ("T=0", "T"),
        ("T=2.5", "T"),
        ("theta=-1", "theta"),
        ("reset=sideways", "reset"),
        ("eps=[-8]", "eps"),
        ("encoding=morse", "encoding"),
        ("boxes=[grey]", "boxes"),
        ("train.epochs=0", "train.epochs"),
        ("encoding=poisson dataset=cifar10_dvs", "encoding"),
        ("dataset=cifar10_dvs T=10 dataset.params.frames=5", "dataset.params.frames"),
    ],
)
def test_out_of_range_values_name_the_key(override: str, key: str) -> None:
    with pytest.raises(ConfigError, match=f"^{key}="):
        validate(compose(*override.split()))


def test_bad_value_exits_nonzero_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    """In a real child process: the exit code the shell sees (the rest run run.py in-process)."""
    proc = run_py(
        "lambda=1.5", f"hydra.run.dir={tmp_path}/out", f"store.dir={tmp_path}/models", cwd=tmp_path
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: lambda=1.5 is out of range; accepted: 0 < lambda <= 1"
    )
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "models").exists()
    assert not list(tmp_path.rglob("metrics.json"))


def test_validate_refuses_to_run_before_every_kind_declared_its_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A kind declares the rules of its keys when its package is imported (``config/`` imports
    none of them): without one, a wrong value could pass, so validation refuses to run."""
    monkeypatch.delitem(sys.modules, "snnattack.analysis")
    with pytest.raises(RuntimeError, match=r"snnattack\.analysis is not imported"):
        validate(compose())
