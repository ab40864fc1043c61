"""The data of the models a job trains are read before the store is touched: which models
those are (the unstored ones and the models their kinds start from), each dataset read once."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import compose

from snnattack.data.base import Reads, SplitDataModule
from snnattack.preparation.config import job_settings
from snnattack.records.store import CHECKPOINT, ModelStore
from snnattack.settings import JobSettings, ModelSettings
from snnattack.training.store_key import store_key
from snnattack.training.training_data import models_to_train, read_training_data


def stored(store: ModelStore, model: ModelSettings, seed: int) -> None:
    """``model`` of ``seed`` as the store finds it (its checkpoint file's presence)."""
    folder = store.path(store_key(model, seed))
    folder.mkdir(parents=True)
    (folder / CHECKPOINT).touch()


def hybrid(tmp_path: Path, *overrides: str) -> tuple[JobSettings, ModelStore]:
    job = job_settings(compose("train.kind=hybrid", *overrides, f"store.dir={tmp_path}"))
    return job, ModelStore(job.store.dir)


def test_the_models_trained_are_the_unstored_ones_and_the_models_they_start_from(
    tmp_path: Path,
) -> None:
    job, store = hybrid(tmp_path, "boxes=[white]")
    assert [m.kind for m in models_to_train(job, store)] == ["hybrid", "conversion", "ann"]
    stored(store, job.model.base.base, job.store.seed)  # its ANN: converted, not trained
    assert [m.kind for m in models_to_train(job, store)] == ["hybrid", "conversion"]
    stored(store, job.model, job.store.seed)  # a stored model's bases are not read
    assert models_to_train(job, store) == []


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The datasets whose training data are read, by name, in order."""
    read: list[str] = []

    def record(module: SplitDataModule, reads: object = None) -> None:
        read.append(type(module).__name__)

    monkeypatch.setattr(SplitDataModule, "read_training_data", record)
    return read


def test_each_dataset_is_read_once_before_any_model_is_trained(
    tmp_path: Path, reads: list[str]
) -> None:
    """The target, its bases and the black-box source train on one dataset: read once. A
    store holding every model reads none."""
    job, store = hybrid(tmp_path, "boxes=[white,black]")
    read_training_data(models_to_train(job, store))
    assert reads == ["DigitsDataModule"]
    for model, seed in ((job.model, job.store.seed), (job.source, job.store.source_seed)):
        stored(store, model, seed)
    read_training_data(models_to_train(job, store))
    assert reads == ["DigitsDataModule"]
    assert not (tmp_path / ".locks").exists()


def test_the_trainer_limits_and_seeds_of_each_model_reach_its_datamodule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A smoke test (``trainer.limit_train_batches=2``) reads ahead the batches its trainings
    and attacks read, not a whole dataset: each model's limits, batch sizes, epochs and the
    seed it trains with (the target's, the source's) reach the dataset's one read."""
    given: list[tuple[Reads, ...]] = []
    monkeypatch.setattr(
        SplitDataModule, "read_training_data", lambda module, reads=None: given.append(reads)
    )
    job, store = hybrid(
        tmp_path,
        "boxes=[white,black]",
        "train.epochs=3",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=0.5",
        "trainer.limit_test_batches=1",
    )
    read_training_data(models_to_train(job, store))
    (each,) = given
    data = job.data
    limits = {"train": 2, "val": 0.5, "test": 1}
    for seed in (job.store.seed, job.store.source_seed):
        # the ANN and the conversion train for train.epochs, the hybrid fine-tunes for its own
        for epochs in (job.model.tree["train"]["hybrid"]["epochs"], 3, 3):
            batches = {"batch_size": data.batch_size, "eval_batch_size": data.eval_batch_size}
            assert Reads(**batches, seed=seed, epochs=epochs, **limits) in each
    assert len(each) == 6 and job.store.seed != job.store.source_seed


def test_ranks_other_than_the_writer_read_nothing(
    tmp_path: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """They train on what rank 0 read, which it decoded into the frame cache."""
    monkeypatch.setenv("RANK", "1")
    read_training_data(models_to_train(*hybrid(tmp_path)))
    assert reads == []
