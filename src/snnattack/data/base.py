"""The registry of datamodules, and the loader plumbing every datamodule shares: train/val/test
splits to DataLoaders.

A dataset is one module of this package: a :class:`SplitDataModule` subclass (a
LightningDataModule whose ``setup`` makes the three splits, with the facts and files a job
checks before any work) decorated with ``@register("<name>", order=...)`` (its
``dataset.name`` and its place in listings); the package imports every module, so the dataset
is one module and its ``conf/dataset/<name>.yaml``.

Two samplers make runs reproducible across resumption and process counts:

- training batches are shuffled with a permutation drawn from ``(seed, epoch)``, so an epoch
  has the same order whether or not the run was resumed before it;
- under DDP, validation and test batches are the *same batches* as in a single process, dealt
  out whole to the processes (batch ``i`` to rank ``i mod world_size``): no sample is padded in
  twice or dropped, and a batch's random draws (seeded by its global index) do not depend on
  how many processes share the work. A process left without a batch of its own (fewer
  batches than processes) loads the first batch as *padding*, which the steps skip
  (:func:`is_padding`): Lightning refuses a process with an empty loader, and every process
  must reach the metrics' synchronisation at the epoch's end.

``trainer.limit_val_batches`` and ``limit_test_batches`` apply to the whole split, in one
process as under DDP: a share ``f`` keeps ``int(f x batches)`` batches (at least one), the
count Lightning documents.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from snnattack.process.workers import quiet_lost_receiver
from snnattack.registry import Registry

Split = TypeVar("Split", bound="SplitDataModule")
# filled by this package's modules
DATAMODULES: Registry[type[SplitDataModule]] = Registry()


def register(name: str, /, *, order: float = 0.0) -> Callable[[type[Split]], type[Split]]:
    """Decorator: the datamodule class ``name``, which must be a :class:`SplitDataModule` (a
    plain LightningDataModule lacks what a job reads of a dataset: ``FACTS``,
    ``check_files``, the splits' loaders); another class is refused as the module loads."""

    def add(cls: type[Split]) -> type[Split]:
        if not (isinstance(cls, type) and issubclass(cls, SplitDataModule)):
            raise TypeError(
                f"@register({name!r}) of snnattack.data decorates {cls!r}, not a subclass of "
                "snnattack.data.base.SplitDataModule, whose splits, check_files and FACTS a "
                "job reads (docs/architecture.md, 'Where a new feature goes')"
            )
        DATAMODULES.enter(name, cls, order)
        return cls

    return add


class EpochShuffleSampler(Sampler[int]):
    """A random permutation per epoch, drawn from ``(seed, epoch)`` (Lightning sets the epoch)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=generator).tolist())

    def __len__(self) -> int:
        return self.n


class SampleDraws(Sampler[tuple[int, int]]):
    """The indices of an epoch's ``order`` (:class:`EpochShuffleSampler`), each with the seed of
    its sample's random draws (an augmentation's crop, flip and Cutout), from ``(seed, epoch,
    index)``: the sampler runs in the main process, which knows the epoch, so a sample's draws
    are the same whichever process loads it and however many workers there are
    (:class:`SeededSamples` draws them)."""

    def __init__(self, order: EpochShuffleSampler) -> None:
        self.order = order

    def set_epoch(self, epoch: int) -> None:
        self.order.set_epoch(epoch)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        base = (self.order.seed * 100_003 + self.order.epoch) * 1_000_003
        return ((i, (base + i) % 2**63) for i in self.order)

    def __len__(self) -> int:
        return len(self.order)


class SeededSamples(Dataset):
    """A training split whose samples draw their randomness (torchvision's transforms, Cutout, a
    flip: torch's CPU generator) from the seed :class:`SampleDraws` gives each, and leave that
    generator as it was: a worker's generator (seeded per worker) or the main process's (which
    a random encoding and dropout draw from next) no longer decides them, so a trained model
    does not change with ``dataset.params.num_workers``."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, item: tuple[int, int]) -> object:
        index, seed = item
        cpu = torch.default_generator
        kept = cpu.get_state()
        cpu.manual_seed(seed)
        try:
            return self.dataset[index]
        finally:
            cpu.set_state(kept)


class WholeBatchSampler(DistributedSampler):
    """Ordered evaluation without padding (module docstring): rank ``r`` gets global batches
    ``r, r + W, ...`` of the first ``max_batches`` of the whole split (Lightning's
    ``limit_*_batches`` would apply per process and change the union), or else ``padding``."""

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        num_replicas: int,
        rank: int,
        max_batches: int | None = None,
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False)
        n = len(dataset)  # type: ignore[arg-type]
        batches = [range(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
        if max_batches is not None:
            batches = batches[:max_batches]
        mine = batches[rank::num_replicas]
        self.padding = not mine and bool(batches)
        self.indices = [i for b in (batches[:1] if self.padding else mine) for i in b]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def is_padding(loader: object) -> bool:
    """Whether ``loader`` (this process's evaluation loader) holds only a padding batch, which
    a step skips so that no sample counts twice (see :class:`WholeBatchSampler`)."""
    return bool(getattr(getattr(loader, "sampler", None), "padding", False))


def global_batch_limit(limit: int | float | None, n_batches: int) -> int | None:
    """Lightning's ``limit_*_batches`` (count or share) as a number of batches of the split."""
    if limit is None or (isinstance(limit, float) and limit >= 1.0):
        return None
    if isinstance(limit, float):
        return max(int(limit * n_batches), 1 if limit > 0 else 0)
    return int(limit)


def first_batches(n: int, batch_size: int, limit: int | float | None) -> range:
    """The samples (positions in a split of ``n``) of the first batches of ``batch_size`` that
    ``limit`` (a count of batches, a share of them, None: all) keeps, as
    :func:`global_batch_limit` counts them."""
    kept = global_batch_limit(limit, math.ceil(n / batch_size))
    return range(n if kept is None else min(kept * batch_size, n))


@dataclass(frozen=True)
class Reads:
    """What one model's training reads of a datamodule's splits, and its job's attacks of the
    test split: the trainer's ``limit_train_batches``, ``limit_val_batches`` and
    ``limit_test_batches`` (``train``, ``val``, ``test``: a count of batches, a share of them,
    None: all) of batches of ``batch_size`` (training) and ``eval_batch_size``, over
    ``epochs`` epochs whose orders ``seed`` draws (:class:`EpochShuffleSampler`). A
    datamodule whose samples are slow to read the first time reads ahead these only
    (:meth:`SplitDataModule.read_training_data`), not a whole dataset for a smoke test."""

    batch_size: int
    eval_batch_size: int
    seed: int
    epochs: int = 1
    train: int | float | None = None
    val: int | float | None = None
    test: int | float | None = None

    def train_samples(self, n: int) -> set[int]:
        """The samples of a training split of ``n`` that the limited epochs draw: the first
        batches of each epoch's shuffled order (all of them where nothing is limited). Under DDP
        Lightning deals each order out to the processes in turns, so their first batches
        together are the first of the order here (fewer where ``batch_size`` does not divide
        among them)."""
        kept = first_batches(n, self.batch_size, self.train)
        if len(kept) == n:
            return set(kept)
        drawn: set[int] = set()
        sampler = EpochShuffleSampler(n, self.seed)
        for epoch in range(self.epochs):
            sampler.set_epoch(epoch)
            drawn.update(list(sampler)[: len(kept)])
        return drawn

    def eval_samples(self, n: int, stage: str) -> range:
        """The samples of the ``stage`` (val or test) split of ``n`` that its limit keeps: the
        first batches, in order (:class:`WholeBatchSampler`)."""
        return first_batches(n, self.eval_batch_size, getattr(self, stage))


class SplitDataModule(L.LightningDataModule):
    """A datamodule whose ``setup`` makes ``train_set``, ``val_set`` and ``test_set``.

    ``batch_size`` is the *global* training batch: under DDP each of W processes loads
    ``batch_size / W`` samples a step, so the recipe is the same at any process count.
    """

    train_set: Dataset
    val_set: Dataset
    test_set: Dataset
    # the params (dataset.params) that decide which samples the test split holds: a model
    # trained at other values may have trained on this test split's samples (none: an
    # official test set)
    TEST_SPLIT: tuple[str, ...] = ()
    # the dataset's keys that are facts of its data, not settings (dataset.num_classes, ...):
    # another value would fail, or attack a 20-way network on 10 classes (none: a user's data)
    FACTS: Mapping[str, int] = MappingProxyType({})

    @staticmethod
    def input_form(params: Mapping[str, object]) -> dict[str, object]:
        """The ``params`` (its ``dataset.params``) that decide the values of the model's
        inputs, as a model trained on them saw them: at others it would run on inputs it never
        saw (none here: a sample is the dataset's own)."""
        return {}

    @staticmethod
    def drawn_over(params: Mapping[str, object], contents: bool = True) -> str | None:
        """A fingerprint of the files that the test split is drawn over, where it depends on
        which are present (``params``: its ``dataset.params``), which the model store's key
        holds: another set draws another test split, which may hold a stored model's training
        samples. ``contents=False``: of their names and sizes alone, as model files made before
        2026-12-06 hold it (:func:`~snnattack.data.recordings.fingerprint`). None: a test split
        the data fix (an official test set, a seeded draw over data of fixed size)."""
        return None

    @classmethod
    def trained_over(cls, params: Mapping[str, object]) -> str | None:
        """A fingerprint of the files that the training split is drawn from, where it is the
        files present (a partial extraction trains on fewer), which the model store's key
        holds: a model trained on some of them is not the model of all. None: training data
        of fixed size, or files the test split's :meth:`drawn_over` fingerprints already."""
        return None

    def __init__(self, batch_size: int, eval_batch_size: int, seed: int, num_workers: int) -> None:
        super().__init__()
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.seed, self.num_workers = seed, num_workers

    def check_files(self) -> None:
        """Refuses missing or foreign data files in one line naming the path, before a job
        writes anything (:func:`snnattack.config.validation.validate`). Nothing to check by
        default: the data are embedded."""

    def fetch_missing(self) -> None:
        """Downloads what :meth:`check_files` leaves to a download (``download: true`` and a
        folder missing), as a sweep does once before its jobs. Nothing by default: the data
        are embedded, or not to be downloaded."""

    def read_training_data(self, reads: Sequence[Reads] | None = None) -> None:
        """Fetches and reads once what the training reads that :meth:`check_files` could not
        check (files still to download, recordings still to decode), so that a bad one is
        refused before the checkpoint store's lock is taken
        (:func:`snnattack.training.training_data.read_training_data`); ``reads``: what the
        trainings read (None: every sample of every split), so that a limited run (a smoke
        test's ``trainer.limit_train_batches=2``) reads ahead no more. Nothing by default: the
        data are embedded."""

    def _world(self) -> tuple[int, int]:
        trainer = self.trainer
        return (1, 0) if trainer is None else (trainer.world_size, trainer.global_rank)

    def _next_epoch(self) -> int:
        """The epoch the trainer's fit loop runs next (what Lightning hands the sampler's
        ``set_epoch``; 0 outside a fit): Lightning starts the training loader before it sets
        that epoch, and a loader with workers draws its first batches' indices as it starts."""
        trainer = self.trainer
        return 0 if trainer is None else trainer.fit_loop.epoch_progress.current.processed

    def _dataloader(self, dataset: Dataset, batch_size: int, sampler: Sampler) -> DataLoader:
        trainer = self.trainer
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            # batches for a CUDA device: from page-locked host memory Lightning's copy to the
            # GPU runs asynchronously, off the training step's critical path
            pin_memory=trainer is not None and trainer.strategy.root_device.type == "cuda",
            worker_init_fn=quiet_lost_receiver,
        )

    def _eval_loader(self, dataset: Dataset, stage: str) -> DataLoader:
        """The ``stage`` (val or test) split's loader for this process, limited by the
        trainer's ``limit_<stage>_batches`` over the whole split. A share is resolved on the
        trainer to its count of batches, which Lightning's loop then leaves as it is: it would
        otherwise take the share a second time, of this process's batches."""
        world, rank = self._world()
        n_batches = math.ceil(len(dataset) / self.eval_batch_size)  # type: ignore[arg-type]
        key = f"limit_{stage}_batches"
        limit = global_batch_limit(getattr(self.trainer, key, None), n_batches)
        if limit is not None:
            setattr(self.trainer, key, limit)
        sampler = WholeBatchSampler(dataset, self.eval_batch_size, world, rank, limit)
        return self._dataloader(dataset, self.eval_batch_size, sampler)

    def train_dataloader(self) -> DataLoader:
        world, _ = self._world()
        order = EpochShuffleSampler(len(self.train_set), self.seed)  # type: ignore[arg-type]
        order.set_epoch(self._next_epoch())
        batch = max(self.batch_size // world, 1)
        return self._dataloader(SeededSamples(self.train_set), batch, SampleDraws(order))

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader(self.val_set, "val")

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader(self.test_set, "test")
