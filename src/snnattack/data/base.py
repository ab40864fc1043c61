"""The loader plumbing every datamodule shares: train/val/test splits to DataLoaders."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset


class SplitDataModule(L.LightningDataModule):
    """A datamodule whose ``setup`` makes ``train_set``, ``val_set`` and ``test_set``.

    Training batches are shuffled with a generator seeded by ``seed`` (the data order is part
    of a reproducible run); validation and test batches keep their order.
    """

    train_set: Dataset
    val_set: Dataset
    test_set: Dataset

    def __init__(self, batch_size: int, eval_batch_size: int, seed: int, num_workers: int) -> None:
        super().__init__()
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.seed, self.num_workers = seed, num_workers

    def _loader(self, dataset: Dataset, batch_size: int, shuffle: bool) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        return DataLoader(
            dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
            num_workers=self.num_workers, persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, self.eval_batch_size, shuffle=False)
