"""The embedded quick-start dataset: scikit-learn's 8x8 handwritten digits (1797 images)."""

from __future__ import annotations

import math
from types import MappingProxyType

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import TensorDataset

from snnattack.data.base import SplitDataModule, register
from snnattack.errors import ConfigError

IMAGES, CLASSES = 1797, 10  # load_digits(): its images and classes


def check_splits(test_fraction: float, val_fraction: float) -> None:
    """Refuses split fractions that leave a split of the digits fewer images than classes
    (a stratified split needs one of each): scikit-learn's error came after the job began."""
    test = math.ceil(test_fraction * IMAGES)  # as train_test_split counts them
    val = math.ceil(val_fraction * (IMAGES - test))
    train = IMAGES - test - val
    if min(train, val, test) < CLASSES:
        raise ConfigError(
            f"dataset.params.test_fraction={test_fraction} and dataset.params.val_fraction="
            f"{val_fraction} leave {train} training, {val} validation and {test} test images "
            f"of the {IMAGES} digits; accepted: fractions that leave each split at least "
            f"{CLASSES} (one per class), e.g. the defaults 0.25 and 0.1"
        )


@register("digits", order=10)
class DigitsDataModule(SplitDataModule):
    """Digits in [0, 1], ``[1, 8, 8]``, with fixed stratified splits (:func:`split_indices`)."""

    TEST_SPLIT = ("test_fraction", "split_seed")
    FACTS = MappingProxyType({"num_classes": CLASSES, "in_channels": 1, "image_size": 8})

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
        super().__init__(batch_size, eval_batch_size, seed, num_workers)
        check_splits(test_fraction, val_fraction)
        self.test_fraction, self.val_fraction = test_fraction, val_fraction
        self.split_seed = split_seed

    def setup(self, stage: str | None = None) -> None:
        if hasattr(self, "train_set"):
            return
        digits = load_digits()
        x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
        y = torch.tensor(digits.target, dtype=torch.long)
        splits = split_indices(y, self.test_fraction, self.val_fraction, self.split_seed)
        self.train_set, self.val_set, self.test_set = (TensorDataset(x[i], y[i]) for i in splits)


def split_indices(
    y: torch.Tensor, test_fraction: float, val_fraction: float, seed: int
) -> tuple[list[int], list[int], list[int]]:
    """The digits' train, validation and test indices: ``test_fraction`` of all held out for
    testing, ``val_fraction`` of the rest for checkpoint selection, both stratified by ``y``
    and drawn with ``seed`` alone, so that every model of a sweep sees the same test digits."""
    idx = list(range(len(y)))
    rest, test = train_test_split(idx, test_size=test_fraction, stratify=y, random_state=seed)
    train, val = train_test_split(rest, test_size=val_fraction, stratify=y[rest], random_state=seed)
    return train, val, test
