"""One list of keys that do not change a result (cosmetic_keys); everything else derives from it."""

import json
from pathlib import Path

from harness import CONF, ROOT, compose, resolved
from omegaconf import OmegaConf

from snnattack.records.cosmetic import (
    COSMETIC_CHOICES,
    is_cosmetic,
    is_cosmetic_override,
    without_cosmetic,
)
from snnattack.records.results import result_spec
from snnattack.records.tracking import run_name
from snnattack.report.collect import load_jobs
from snnattack.training import SELECTION, TRAINING_VERSION
from snnattack.training.parse import model_settings
from snnattack.training.store_key import store_key


def test_entries_cover_the_keys_below_them() -> None:
    assert is_cosmetic("store.dir", ["store"]) and is_cosmetic("store", ["store"])
    assert not is_cosmetic("store_dir", ["store"]) and not is_cosmetic("lambda", ["store"])
    tree = {"a": {"b": 1, "c": 2}, "d": 3}
    assert without_cosmetic(tree, ["a.b", "d", "x.y"]) == {"a": {"c": 2}}
    assert tree == {"a": {"b": 1, "c": 2}, "d": 3}  # a copy


def test_a_choice_of_where_a_job_runs_is_cosmetic_but_not_the_keys_below_it() -> None:
    cosmetic = ["logger", "trainer.devices"]
    assert is_cosmetic_override("trainer=ddp_cpu", cosmetic)
    assert is_cosmetic_override("+trainer.devices=2", cosmetic)
    assert is_cosmetic_override("~logger", cosmetic)
    assert not is_cosmetic_override("trainer.max_epochs=3", cosmetic)
    assert not is_cosmetic_override("trainers=ddp", cosmetic)


def test_every_option_of_a_cosmetic_choice_runs_the_same_settings() -> None:
    """A group of ``COSMETIC_CHOICES`` is left out of folder and run names: each of its
    options must then give the default's store key and relaunch check (a new option that set
    ``trainer.max_epochs`` would name jobs that differ by the default's name)."""
    base = compose()
    for group in COSMETIC_CHOICES:
        options = sorted(p.stem for p in (CONF / group).glob("*.yaml"))
        assert len(options) > 1, group
        for option in options:
            chosen = compose(f"{group}={option}")
            assert result_spec(resolved(chosen), {}) == result_spec(resolved(base), {}), option
            assert store_key(model_settings(chosen), 0) == store_key(model_settings(base), 0)


def test_where_a_job_runs_names_neither_its_folder_nor_its_run() -> None:
    """``trainer=ddp_cpu`` (or cpu, gpu, ddp) changes no result: the folder of
    ``hydra.sweep.subdir=${hydra.job.override_dirname}`` and the W&B run name are those of the
    default trainer, so a relaunch on other devices finds its jobs; a trainer key that changes
    results still names both."""

    def names(*overrides: str) -> tuple[str, str]:
        cfg = compose(*overrides, hydra=True)
        task = list(cfg.hydra.overrides.task)
        return cfg.hydra.job.override_dirname, run_name(task, list(cfg.cosmetic_keys))

    assert names("lambda=0.5") == ("lambda=0.5", "lambda=0.5")
    for option in ("cpu", "gpu", "ddp", "ddp_cpu"):
        assert names(f"trainer={option}", "lambda=0.5") == names("lambda=0.5"), option
    epochs = "trainer.max_epochs=3"
    assert names("trainer=ddp_cpu", epochs) == (epochs, epochs)


def test_store_key_relaunch_check_run_name_and_report_follow_the_one_list(tmp_path: Path) -> None:
    """Make ``train.lr`` cosmetic: every consumer then leaves it out, with no other list."""
    plain, marked = compose(), compose("cosmetic_keys=[logger,train.lr]")
    lr = compose("cosmetic_keys=[logger,train.lr]", "train.lr=0.5")
    assert (
        store_key(model_settings(lr), 0)
        == store_key(model_settings(marked), 0)
        != store_key(model_settings(plain), 0)
    )
    assert result_spec(resolved(lr), {}) == result_spec(resolved(marked), {})
    assert run_name(["train.lr=0.5", "lambda=0.5"], list(lr.cosmetic_keys)) == "lambda=0.5"
    metrics = json.loads((ROOT / "tests" / "data" / "metrics_schema1.json").read_text())
    for name, value, finished in (("a", 0.1, "2026-01-01T00:00"), ("b", 0.5, "2026-01-02T00:00")):
        metrics["config"]["train"]["lr"] = value
        metrics["config"]["cosmetic_keys"] = ["train.lr"]
        metrics["finished"] = finished + ":00.000+00:00"
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(metrics))
    jobs, left = load_jobs(tmp_path)  # one experiment twice: the newer counts, once
    assert [job.name for job in jobs] == ["b"] and "train.lr" not in jobs[0].flat
    assert left == ["a repeats the settings of b, which counts (made later; the same results)"]


def test_where_a_job_runs_changes_neither_store_key_nor_relaunch_check() -> None:
    base = compose()
    moved = compose("trainer=ddp_cpu", "threads=2", "tags=[x]")
    assert store_key(model_settings(moved), 0) == store_key(model_settings(base), 0)
    assert result_spec(resolved(moved), {}) == result_spec(resolved(base), {})
    assert store_key(model_settings(compose("trainer.limit_test_batches=2")), 0) == store_key(
        model_settings(base), 0
    )
    limited = resolved(compose("trainer.limit_test_batches=2"))
    assert result_spec(limited, {}) != result_spec(resolved(base), {})


def test_data_loader_workers_key_neither_the_model_nor_the_relaunch_check() -> None:
    """A trained model does not change with ``dataset.params.num_workers`` (each sample draws
    its augmentation from its own seed, the training takes torch's draws that loaders without
    workers take): one store key at any count, as the relaunch check. An augmented training's
    key says how its samples draw: the models stored before drew otherwise."""
    base, workers = compose(), compose("dataset.params.num_workers=2")
    spec = store_key(model_settings(workers), 0)
    assert "num_workers" not in spec["dataset"]["params"]
    assert spec == store_key(model_settings(base), 0) and "augment_draws" not in spec
    assert result_spec(resolved(workers), {}) == result_spec(resolved(base), {})
    cifar = store_key(model_settings(compose("dataset=cifar10", "model=vgg11")), 0)
    assert cifar["augment_draws"] == "per sample"


def test_the_validation_batch_size_keys_the_model_where_it_decides_the_selection() -> None:
    """``eval_batch_size`` decides which samples a limited validation sees and a random
    encoding's draws, so the checkpoint selected; elsewhere it keys no model (it changes the
    validation within floating-point noise), so attacking in other batches reuses it."""

    def key(*overrides: str) -> dict:
        return store_key(model_settings(compose(*overrides)), 0)

    assert key("eval_batch_size=4") == key("eval_batch_size=64") == key()
    assert "eval_batch_size" not in key()
    for selecting in (
        ["trainer.limit_val_batches=1"],
        ["trainer.limit_val_batches=0.5"],
        ["encoding=poisson"],
        ["encoding=poisson_signed"],
    ):
        small, large = key(*selecting, "eval_batch_size=4"), key(*selecting, "eval_batch_size=64")
        assert (small["eval_batch_size"], large["eval_batch_size"]) == (4, 64), selecting
    assert key("trainer.limit_val_batches=1.0", "eval_batch_size=4") == key(
        "trainer.limit_val_batches=1.0", "eval_batch_size=64"
    )


def test_store_key_holds_a_version_id_not_the_selection_sentence() -> None:
    spec = store_key(model_settings(compose()), 0)
    assert spec["version"] == TRAINING_VERSION and SELECTION not in json.dumps(spec)


def test_a_trainer_key_that_changes_nothing_at_null_keeps_the_store_keys_before_it() -> None:
    """``trainer.gradient_clip_val`` came after models were stored: at null it leaves their
    keys as they were; set, it makes another model."""
    assert "gradient_clip_val" not in store_key(model_settings(compose()), 0)["trainer"]
    clipped = store_key(model_settings(compose("trainer.gradient_clip_val=1.0")), 0)
    assert clipped["trainer"]["gradient_clip_val"] == 1.0


def test_a_folder_per_value_leaves_out_each_cosmetic_key_a_user_sets() -> None:
    """``hydra.job.config.override_dirname.exclude_keys`` names the folders of
    ``hydra.sweep.subdir=${hydra.job.override_dirname}`` by what changes results: every
    cosmetic key with a value of its own (a node's, as ``store.dir``, by its leaf), every
    cosmetic choice (``trainer``) and no other key."""
    cfg = compose(hydra=True)
    excluded = list(cfg.hydra.job.config.override_dirname.exclude_keys)
    cosmetic = list(cfg.cosmetic_keys)
    plain = [k for k in cosmetic if not OmegaConf.is_dict(OmegaConf.select(cfg, k))]
    assert set(plain) <= set(excluded), set(plain) - set(excluded)
    assert set(COSMETIC_CHOICES) <= set(excluded)
    assert all(is_cosmetic(k, cosmetic) or k in COSMETIC_CHOICES for k in excluded)
    assert {"store.dir", "logger", "checks.memory", "checks.masking.enabled"} <= set(excluded)
