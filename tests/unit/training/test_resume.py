"""A killed training resumes after its last finished epoch, whether or not that epoch was the
best so far, to the uninterrupted run's weights (Poisson draws included), and its record counts
the time of every process that trained it."""

from __future__ import annotations

import csv
import signal
import time
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from harness import compose

from snnattack.data import datamodule
from snnattack.errors import CheckpointError, Preempted
from snnattack.records import provenance
from snnattack.records import store as store_module
from snnattack.records.checkpoints import load_tensors
from snnattack.records.store import CHECKPOINT, RESUME_FILE, ModelStore
from snnattack.training import classifier, fit
from snnattack.training.parse import model_settings
from snnattack.training.trained import trained_model

FAST = ["trainer.limit_train_batches=4", "trainer.enable_progress_bar=false", "train.epochs=3"]


class Killed(Exception):
    """Stands for a kill at the start of the third epoch."""


def test_a_killed_training_resumes_after_its_last_epoch_not_its_best(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(classifier, "selection_score", lambda acc, loss, n: 0.0)  # the first
    start = fit.EpochSeed.on_train_epoch_start

    def kill_at_epoch_two(self, trainer, module) -> None:
        if trainer.current_epoch == 2:
            raise Killed
        time.sleep(1.0)  # the killed process's time, which the record counts
        start(self, trainer, module)

    store = ModelStore(tmp_path)
    monkeypatch.setattr(fit.EpochSeed, "on_train_epoch_start", kill_at_epoch_two)
    with pytest.raises(Killed):
        trained_model(model_settings(compose(*FAST)), 0, store, [])
    monkeypatch.setattr(fit.EpochSeed, "on_train_epoch_start", start)
    (resume,) = store.root.glob(f"*.partial/{RESUME_FILE}")
    earlier = load_tensors(resume)["fit_seconds"]  # two epochs, each 1 s asleep
    _, record = trained_model(model_settings(compose(*FAST)), 0, store, [])
    assert record["resumed_after_epochs"] == 2 and record["best_epoch"] == 0
    assert record["train_seconds"] >= record["train_loop_seconds"] > 0
    assert record["train_seconds"] > earlier >= 2.0
    logs = [store.root / record["key"] / d / "metrics.csv" for d in ("", "resumed_after_2")]
    epochs = [
        {row["epoch"] for row in csv.DictReader(log.read_text().splitlines()) if row["epoch"]}
        for log in logs
    ]
    assert epochs == [{"0", "1"}, {"2"}]  # each process's log kept


def test_a_training_stopped_while_its_model_is_stored_resumes_to_the_same_model(
    tmp_path, monkeypatch
) -> None:
    """A job stopped (Ctrl-C, SIGTERM, kill -9) after its last epoch, while the store wrote the
    model, left a work folder with the resume file but without the best checkpoint, which the
    training had removed before the store wrote: every relaunch failed with a traceback
    (FileNotFoundError on best.ckpt). The best checkpoint now stays until the model is written
    and the resume file removed: the relaunch resumes to the uninterrupted run's model, and
    the stored folder holds no checkpoint of the training."""
    settings = model_settings(compose(*FAST))
    whole, uninterrupted = trained_model(settings, 0, ModelStore(tmp_path / "whole"), [])
    written = store_module.write_atomic

    def stopped_at_the_model(path, data) -> None:
        if path.name == CHECKPOINT:
            raise Preempted(signal.SIGINT)
        written(path, data)

    store = ModelStore(tmp_path / "stopped")
    monkeypatch.setattr(store_module, "write_atomic", stopped_at_the_model)
    with pytest.raises(Preempted):
        trained_model(settings, 0, store, [])
    monkeypatch.undo()
    resumed, record = trained_model(settings, 0, store, [])
    assert record["resumed_after_epochs"] == 3 and record["cached"] is False
    assert record["best_epoch"] == uninterrupted["best_epoch"]
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert not list(store.root.glob("*/*.ckpt")) and not list(store.root.glob("*.partial"))


def test_a_corrupt_best_checkpoint_is_one_line_naming_it_and_the_folder_to_delete(
    tmp_path, monkeypatch
) -> None:
    """A best checkpoint cut short in the work folder (the first epoch's: the selection keeps
    it) failed the training's end with torch's error (an OSError: Invalid argument), which
    named no file, at every relaunch; it is now one line naming it and what to do."""
    monkeypatch.setattr(classifier, "selection_score", lambda acc, loss, n: 0.0)  # the first
    start = fit.EpochSeed.on_train_epoch_start

    def kill_at_epoch_two(self, trainer, module) -> None:
        if trainer.current_epoch == 2:
            raise Killed
        start(self, trainer, module)

    store = ModelStore(tmp_path)
    monkeypatch.setattr(fit.EpochSeed, "on_train_epoch_start", kill_at_epoch_two)
    with pytest.raises(Killed):
        trained_model(model_settings(compose(*FAST)), 0, store, [])
    monkeypatch.setattr(fit.EpochSeed, "on_train_epoch_start", start)
    (best,) = store.root.glob("*.partial/best.ckpt")
    best.write_bytes(best.read_bytes()[:5000])
    with pytest.raises(CheckpointError) as refused:
        trained_model(model_settings(compose(*FAST)), 0, store, [])
    assert str(refused.value) == (
        f"the training's best checkpoint {best} is missing, corrupt or unreadable (a zip "
        "archive cut short: a copy or download that did not finish?); delete the folder "
        f"{best.parent} to train this model from scratch"
    )
    assert (best.parent / RESUME_FILE).exists()  # the work folder is the user's to delete


def test_the_largest_accepted_seed_trains(tmp_path) -> None:
    """Each epoch is seeded from (seed, epoch), past numpy's 2**32 for a seed of 42949 or more:
    every seed the config accepts trains (they once crashed at the first epoch)."""
    settings = model_settings(compose(*FAST[:2], "train.epochs=2"))
    _, record = trained_model(settings, 2**32 - 1, ModelStore(tmp_path), [])
    assert record["seed"] == 2**32 - 1 and record["epochs"] == 2


@pytest.mark.parametrize("workers", [0, 2])
def test_a_killed_poisson_training_resumes_to_the_uninterrupted_weights(
    tmp_path, monkeypatch, workers: int
) -> None:
    """The loader's draw of its workers' seed came from torch's generator, before the resumed
    epoch reseeded it and after in an uninterrupted run: every Poisson draw was one off. With
    workers, the resumed epoch trained on epoch 0's order: Lightning starts the loader (whose
    workers fetch their first indices at once) before it sets the sampler's epoch."""
    workers_key = f"dataset.params.num_workers={workers}"
    settings = model_settings(compose(*FAST, "encoding=poisson", workers_key))
    whole, _ = trained_model(
        model_settings(compose(*FAST, "encoding=poisson")), 0, ModelStore(tmp_path / "whole"), []
    )
    start = fit.EpochSeed.on_train_epoch_start

    def kill_at_epoch_two(self, trainer, module) -> None:
        if trainer.current_epoch == 2:
            raise Killed
        start(self, trainer, module)

    monkeypatch.setattr(fit.EpochSeed, "on_train_epoch_start", kill_at_epoch_two)
    with pytest.raises(Killed):
        trained_model(settings, 0, ModelStore(tmp_path / "killed"), [])
    monkeypatch.setattr(fit.EpochSeed, "on_train_epoch_start", start)
    resumed, record = trained_model(settings, 0, ModelStore(tmp_path / "killed"), [])
    assert record["resumed_after_epochs"] == 2
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_a_training_draws_its_random_numbers_as_the_stored_models_did(
    tmp_path, monkeypatch
) -> None:
    """The training loader takes its workers' seed from torch's generator, after each epoch's
    reseed from the second epoch on: a model trained now draws its Poisson spikes (dropout,
    random starts) as the stored ones (``TRAINING_VERSION`` 2) did, and is the same model. A
    generator of the loader's own (454f6fd) moved every such model by a draw, and the worker
    seeds of loaders with workers (CIFAR's augmentation) for good."""
    reseeded, first_steps = {}, {}
    start, step = fit.EpochSeed.on_train_epoch_start, classifier.Classifier.training_step

    def reseed(self, trainer, module) -> None:
        start(self, trainer, module)
        generator = torch.Generator().manual_seed(self.seed * 100_003 + trainer.current_epoch)
        reseeded[trainer.current_epoch] = generator

    def training_step(self, batch, index):
        if index == 0:
            first_steps[self.current_epoch] = torch.random.get_rng_state()
        return step(self, batch, index)

    monkeypatch.setattr(fit.EpochSeed, "on_train_epoch_start", reseed)
    monkeypatch.setattr(classifier.Classifier, "training_step", training_step)
    trained_model(model_settings(compose(*FAST, "encoding=poisson")), 7, ModelStore(tmp_path), [])
    assert sorted(first_steps) == [0, 1, 2]
    data = datamodule(model_settings(compose(*FAST)).data)
    data.setup("fit")
    loader = data.train_dataloader()
    assert loader.generator is None  # its workers' seed: torch's
    for epoch, generator in reseeded.items():
        for _ in range(min(epoch, 1)):  # the loader's draw, from the second epoch on
            torch.empty((), dtype=torch.int64).random_(generator=generator)
        assert torch.equal(first_steps[epoch], generator.get_state()), epoch


def made_by(monkeypatch, commit: str, version: str) -> None:
    """Fakes the code this process runs: its git commit and package version."""
    monkeypatch.setattr(provenance, "LOADED_COMMIT", commit)
    monkeypatch.setattr(provenance, "__version__", version)


def test_a_training_resumed_with_other_processes_records_every_launch(
    tmp_path, monkeypatch
) -> None:
    """A DDP training stopped on 2 processes and resumed on 1, after a commit, recorded the
    last launch's process count and code only (``world_size``, ``git_commit``): its record
    did not say how to reproduce it. Each launch is recorded with the epochs it ran, its
    processes, code and machine; the first runs here as its rank 0 would (its processes'
    count is the Trainer's, which deals the batches out)."""
    start = fit.EpochSeed.on_train_epoch_start

    def kill_at_epoch_two(self, trainer, module) -> None:
        if trainer.current_epoch == 2:
            raise Killed
        start(self, trainer, module)

    store = ModelStore(tmp_path)
    monkeypatch.setattr(fit.EpochSeed, "on_train_epoch_start", kill_at_epoch_two)
    monkeypatch.setattr(L.Trainer, "world_size", property(lambda trainer: 2))
    made_by(monkeypatch, "1" * 40 + "+dirty", "0.1.0")
    with pytest.raises(Killed):
        trained_model(model_settings(compose(*FAST)), 0, store, [])
    monkeypatch.undo()
    made_by(monkeypatch, "2" * 40, "0.2.0")
    _, record = trained_model(model_settings(compose(*FAST)), 0, store, [])
    machine = {
        "torch": str(torch.__version__),
        "threads": torch.get_num_threads(),
        "cpu_kernels": torch.backends.cpu.get_cpu_capability(),
    }
    assert record["launches"] == [
        {"epochs": [0, 2], "world_size": 2, "git_commit": "1" * 40 + "+dirty", "version": "0.1.0"}
        | machine,
        {"epochs": [2, 3], "world_size": 1, "git_commit": "2" * 40, "version": "0.2.0"} | machine,
    ]
    assert (record["git_commit"], record["version"]) == ("2" * 40, "0.2.0")  # the last launch


@pytest.mark.parametrize(
    "launches",
    [None, [{"epochs": [0, 2], "world_size": 2}]],
    ids=["no launches", "launches without their code"],
)
def test_a_resume_file_from_before_a_launch_key_leaves_it_unknown(launches) -> None:
    """A resume file from before the record's ``launches`` resumes with the epochs it ran
    recorded, their processes, code and machine unknown (None), not taken to be this
    launch's; one from before the launches' code and machine, with those unknown."""
    module = classifier.Classifier(torch.nn.Linear(3, 2), num_classes=2)
    checkpoint = {"epoch": 1} | ({"launches": launches} if launches else {})  # two epochs done
    module.on_load_checkpoint(checkpoint)
    module.trainer = SimpleNamespace(world_size=1)
    unknown = dict.fromkeys(provenance.LAUNCH)
    world_size = launches[0]["world_size"] if launches else None
    assert module.launches(3) == [
        {"epochs": [0, 2], "world_size": world_size} | unknown,
        {"epochs": [2, 3], "world_size": 1} | provenance.launch_provenance(),
    ]


def test_each_ddp_rank_draws_its_own_numbers_and_rank_zero_a_single_process_s() -> None:
    """Every DDP process was reseeded alike at each epoch, so the processes' shares of a batch
    got the same Poisson spikes and adversary starts; now each rank draws its own, and rank 0
    (a single process) the numbers of (seed, epoch) as before."""

    def draws(rank: int, epoch: int) -> torch.Tensor:
        trainer = SimpleNamespace(global_rank=rank, current_epoch=epoch, train_dataloader=None)
        trainer.progress_bar_callback, trainer.max_epochs = None, 3
        fit.EpochSeed(7).on_train_epoch_start(trainer, None)
        return torch.rand(4)

    L.seed_everything((7 * 100_003 + 1) % 2**32, verbose=False)
    single = torch.rand(4)
    assert torch.equal(draws(0, 1), single)
    assert not torch.equal(draws(1, 1), single)
    assert not torch.equal(draws(1, 1), draws(0, 2))  # no rank's epoch is another's
    assert torch.equal(draws(1, 1), draws(1, 1))


def test_a_poisson_training_trains_one_model_at_any_count_of_workers(tmp_path) -> None:
    """A loader with workers draws its workers' seed from torch's generator once, one without
    them at each pass: the training takes the draws it skips, so the Poisson spikes that follow
    (and so the trained weights) are the same at ``dataset.params.num_workers`` 0 and 2."""
    trained = [
        trained_model(
            model_settings(compose(*FAST, "encoding=poisson", f"dataset.params.num_workers={n}")),
            0,
            ModelStore(tmp_path / str(n)),
            [],
        )[0]
        for n in (0, 2)
    ]
    for (name, a), b in zip(*(m.state_dict().items() for m in trained), strict=True):
        assert torch.equal(a, b[1]), name
