"""Writers of tiny fake CIFAR-10 / CIFAR-100 folders in the official on-disk format, for tests.

The official files are Python 2 pickles of dicts whose keys and names are Python 2 ``str``
(read back as ``b"data"`` with ``encoding="bytes"``, as ``"data"`` with torchvision's
``encoding="latin1"``) and whose ``data`` is a uint8 array ``[N, 3072]`` (1024 red, then
green, then blue values per image, row-major). The writers reproduce that format with random
pixels and labels and few images; the md5s therefore differ from the official files.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


class FakeCIFAR(NamedTuple):
    """What a writer wrote: the dataset folder and its images (uint8 rows) and labels."""

    folder: Path
    train_data: np.ndarray  # [n_train, 3072], in the order of the training files
    train_labels: list[int]  # fine labels for CIFAR-100
    test_data: np.ndarray  # [n_test, 3072]
    test_labels: list[int]


class _Py2Str(bytes):
    """A byte string pickled as a Python 2 ``str``, like every key and name of the originals."""


class _Py2Pickler(pickle._Pickler):
    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_str(self, obj: _Py2Str) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)

    dispatch[_Py2Str] = _save_py2_str


def _py2(obj: Any) -> Any:
    if isinstance(obj, str):
        return _Py2Str(obj.encode("latin1"))
    if isinstance(obj, dict):
        return {_py2(key): _py2(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_py2(value) for value in obj]
    return obj


def _dump(path: Path, obj: dict) -> None:
    with open(path, "wb") as f:
        _Py2Pickler(f, protocol=2).dump(_py2(obj))


def _images(rng: np.random.Generator, n: int, n_classes: int) -> tuple[np.ndarray, list[int]]:
    data = rng.integers(0, 256, size=(n, 3 * 32 * 32), dtype=np.uint8)
    return data, rng.integers(0, n_classes, size=n).tolist()


def _filenames(prefix: str, n: int) -> list[str]:
    return [f"{prefix}_s_{i:06d}.png" for i in range(n)]


def write_cifar10(
    root: str | Path, n_train: int = 50, n_test: int = 10, seed: int = 0
) -> FakeCIFAR:
    """``<root>/cifar-10-batches-py`` with ``n_train`` images over data_batch_1..5."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    train_data, train_labels = _images(rng, n_train, 10)
    test_data, test_labels = _images(rng, n_test, 10)
    bounds = np.linspace(0, n_train, 6).astype(int)
    for b, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True), start=1):
        _dump(
            folder / f"data_batch_{b}",
            {
                "batch_label": f"training batch {b} of 5",
                "labels": train_labels[lo:hi],
                "data": train_data[lo:hi],
                "filenames": _filenames(f"train{b}", hi - lo),
            },
        )
    _dump(
        folder / "test_batch",
        {
            "batch_label": "testing batch 1 of 1",
            "labels": test_labels,
            "data": test_data,
            "filenames": _filenames("test", n_test),
        },
    )
    _dump(
        folder / "batches.meta",
        {
            "num_cases_per_batch": 10000,
            "label_names": CIFAR10_CLASSES,
            "num_vis": 3072,
        },
    )
    return FakeCIFAR(folder, train_data, train_labels, test_data, test_labels)


def write_cifar100(
    root: str | Path, n_train: int = 50, n_test: int = 10, seed: int = 0
) -> FakeCIFAR:
    """``<root>/cifar-100-python`` (files train, test, meta); coarse label = fine label // 5."""
    folder = Path(root) / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    train_data, train_labels = _images(rng, n_train, 100)
    test_data, test_labels = _images(rng, n_test, 100)
    for name, data, labels, label in (
        ("train", train_data, train_labels, "training batch 1 of 1"),
        ("test", test_data, test_labels, "testing batch 1 of 1"),
    ):
        _dump(
            folder / name,
            {
                "filenames": _filenames(name, len(data)),
                "batch_label": label,
                "fine_labels": labels,
                "coarse_labels": [y // 5 for y in labels],
                "data": data,
            },
        )
    _dump(
        folder / "meta",
        {
            "fine_label_names": [f"fine_{i:02d}" for i in range(100)],
            "coarse_label_names": [f"coarse_{i:02d}" for i in range(20)],
        },
    )
    return FakeCIFAR(folder, train_data, train_labels, test_data, test_labels)
