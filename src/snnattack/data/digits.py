"""The embedded quick-start dataset: scikit-learn's 8x8 handwritten digits (1797 images)."""

from __future__ import annotations

import lightning as L
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset


class DigitsDataModule(L.LightningDataModule):
    """Digits scaled to [0, 1], ``[1, 8, 8]``, with fixed stratified train/val/test splits.

    The test split (``test_fraction`` of all images) and the validation split
    (``val_fraction`` of the rest) are drawn once with ``split_seed``, independently of the
    training seed, so every model of a sweep sees the same test images.
    """

    def __init__(
        self,
        batch_size: int = 64,
        eval_batch_size: int = 32,
        seed: int = 0,
        test_fraction: float = 0.25,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.test_fraction, self.val_fraction = test_fraction, val_fraction
        self.split_seed, self.num_workers = split_seed, num_workers
        self.seed = seed

    def setup(self, stage: str | None = None) -> None:
        if hasattr(self, "train_set"):
            return
        digits = load_digits()
        x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
        y = torch.tensor(digits.target, dtype=torch.long)
        idx = list(range(len(y)))
        rest, test = train_test_split(
            idx, test_size=self.test_fraction, stratify=y, random_state=self.split_seed
        )
        train, val = train_test_split(
            rest, test_size=self.val_fraction, stratify=y[rest], random_state=self.split_seed
        )
        self.train_set, self.val_set, self.test_set = (
            TensorDataset(x[i], y[i]) for i in (train, val, test)
        )

    def _loader(self, dataset: TensorDataset, batch_size: int, shuffle: bool) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        return DataLoader(
            dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
            num_workers=self.num_workers,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, self.eval_batch_size, shuffle=False)
