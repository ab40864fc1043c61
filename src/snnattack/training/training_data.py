"""The data of the models a job trains, read before the checkpoint store is touched.

A model is trained under the store's file lock (:mod:`snnattack.records.store`), and a lock
file is never deleted (another job may be waiting on it), so every refusal the training's data
can give (an event recording that does not decode, a damaged frame cache, a CIFAR download
that fails or arrives corrupt) must come before the lock is taken: the job reads the data of
each model it will train first (``SplitDataModule.read_training_data``; event recordings, the
test split's included, are decoded into their frame cache, which the training and the attacks
then read, and a missing CIFAR folder is downloaded and checked). Ranks 1.. of a DDP job train
on what rank 0 read.
"""

from __future__ import annotations

from snnattack.data import datamodule
from snnattack.process.distributed import is_writer
from snnattack.records.store import ModelStore
from snnattack.settings import DataSettings, JobSettings, ModelSettings
from snnattack.training import STRATEGIES
from snnattack.training.source import wanted_models
from snnattack.training.store_key import store_key


def models_to_train(job: JobSettings, store: ModelStore) -> list[ModelSettings]:
    """The models ``job`` trains: each model it reads (:func:`wanted_models`) that ``store``
    lacks, and the models their kinds start from (``Strategy.base``, of the same seed) that it
    lacks too."""
    found = []
    for model, seed in wanted_models(job.store, job.model, job.source):
        while model is not None and not store.has(store_key(model, seed)):
            found.append(model)
            model = STRATEGIES[model.kind].base(model)
    return found


def read_training_data(models: list[ModelSettings]) -> None:
    """Reads the data of every model in ``models`` (:func:`models_to_train`; once per dataset
    and options: the seed of the training order and the batch sizes read the same samples), so
    that what the user must fix there is refused before any model is trained."""
    if not is_writer():
        return
    read: list[DataSettings] = []
    for model in models:
        data = model.data
        if any((data.name, data.params) == (done.name, done.params) for done in read):
            continue
        datamodule(data).read_training_data()
        read.append(data)
