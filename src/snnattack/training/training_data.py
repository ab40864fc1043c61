"""The data of the models a job trains, read before the checkpoint store is touched.

A model is trained under the store's file lock (:mod:`snnattack.records.store`), which is never
deleted (another job may wait on it), so every refusal the training's data can give (a
recording that does not decode, a damaged frame cache, a failed or corrupt CIFAR download)
must come before: the job first reads the data of each model it will train
(``SplitDataModule.read_training_data``: recordings, the test split's included, decoded into
the frame cache the training and attacks read), only the batches the trainings keep
(:class:`snnattack.data.base.Reads`). Ranks 1.. of a DDP job train on what rank 0 read.
"""

from __future__ import annotations

from dataclasses import replace

from snnattack.data import datamodule
from snnattack.data.base import Reads
from snnattack.process.distributed import is_writer
from snnattack.records.store import ModelStore
from snnattack.settings import DataSettings, JobSettings, ModelSettings
from snnattack.training import STRATEGIES
from snnattack.training.source import wanted_models
from snnattack.training.store_key import store_key


def models_to_train(job: JobSettings, store: ModelStore) -> list[ModelSettings]:
    """The models ``job`` trains: each model it reads (:func:`wanted_models`) that ``store``
    lacks, and the models their kinds start from (``Strategy.base``, of the same seed) that it
    lacks too; each with the seed it trains with as its data's (``data.seed``, the order of its
    training batches, as its training's datamodule has it)."""
    found = []
    for model, seed in wanted_models(job.store, job.model, job.source):
        while model is not None and not store.has(store_key(model, seed)):
            found.append(replace(model, data=replace(model.data, seed=seed)))
            model = STRATEGIES[model.kind].base(model)
    return found


def reads(model: ModelSettings) -> Reads:
    """What ``model``'s training reads of its data (:func:`models_to_train`'s, seeded), and
    its job's attacks of the test split: the batches of its trainer's ``limit_*_batches`` over
    its epochs (``trainer.max_epochs``), those of the recipe it is fitted with (a hybrid
    model's fine-tuning, ``ModelSettings.fine_tuning``)."""
    fitted = model.fine_tuning or model
    trainer = fitted.tree["trainer"]
    return Reads(
        batch_size=fitted.data.batch_size,
        eval_batch_size=fitted.data.eval_batch_size,
        seed=model.data.seed,
        epochs=trainer["max_epochs"],
        train=trainer.get("limit_train_batches"),
        val=trainer.get("limit_val_batches"),
        test=trainer.get("limit_test_batches"),
    )


def read_training_data(models: list[ModelSettings]) -> None:
    """Reads the data of every model in ``models`` (:func:`models_to_train`; once per dataset
    and options, what each model reads of it: :func:`reads`), so that what the user must fix
    there is refused before any model is trained."""
    if not is_writer():
        return
    read: list[tuple[DataSettings, list[Reads]]] = []
    for model in models:
        data = model.data
        done = next((r for d, r in read if (d.name, d.params) == (data.name, data.params)), None)
        if done is None:
            read.append((data, [reads(model)]))
        else:
            done.append(reads(model))
    for data, each in read:
        datamodule(data).read_training_data(each)
