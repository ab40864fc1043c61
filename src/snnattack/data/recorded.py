"""N-MNIST and DVS-Gesture: recorded event datasets with their own train/test split, through
tonic, as cached frames.

Data. Nothing is downloaded here (tonic's own classes would start a download when their
archive is missing); the extracted files are read where tonic's classes read them:

- N-MNIST (``tonic.datasets.NMNIST``, ATIS sensor 34x34): ``<root>/NMNIST/Train/<digit>/*.bin``
  and ``<root>/NMNIST/Test/<digit>/*.bin``, each file the 40-bit event format of Orchard et
  al. (2015): x, y, a polarity bit and a 23-bit timestamp in µs;
- DVS-Gesture (``tonic.datasets.DVSGesture``, DVS128 sensor 128x128, 11 classes):
  ``<root>/DVSGesture/ibmGestureTrain/user<NN>_<lighting>/<label>.npy`` and
  ``ibmGestureTest/...``, tonic's preprocessed version: one ``[N, 4]`` array (x, y, p, t in
  ms) per gesture, the recordings already cut at the labels.

Frames and their values follow ``dataset.params`` (:class:`snnattack.data.events.Framing`:
``frames``, ``size``, ``split_by``, ``event_encoding``, ``count_scale``) and are cached once per
recording under ``<cache_dir or root>/<NAME>_frames_<framing key>_v4/``, at its path relative
to ``<root>/<NAME>`` (``Train/0/00000.pt``: the split is part of the key; ``dvs.CachedFrames``).

Splits. The datasets' own test split serves final numbers only; ``val_size`` recordings of the
training split, drawn with ``split_seed``, are held out for checkpoint selection (a share of the
files when fewer are present: ``val_size`` of the complete training split's size).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
import tonic
import torch

from snnattack.data.base import register
from snnattack.data.dvs import Extracted, FramedRecordings, FrameSplit, cache_folder
from snnattack.data.events import Framing
from snnattack.data.recordings import check_size, fingerprint
from snnattack.errors import ConfigError, DataError


class NMNIST(Extracted, tonic.datasets.NMNIST):
    """tonic's N-MNIST over extracted files (it keeps tonic's name: tonic derives the folder)."""


NPY = b"\x93NUMPY"  # the first bytes of a .npy file


class DVSGesture(Extracted, tonic.datasets.DVSGesture):
    """tonic's DVS-Gesture over extracted files (tonic's name, for the same reason). A
    recording whose values tonic's integer and bool event fields would change silently is
    refused (:func:`check_gesture`): a damaged file would be framed and attacked as another."""

    def __getitem__(self, index: int) -> tuple[object, int]:
        with open(self.data[index], "rb") as f:  # else NumPy advises loading it unsafely
            if f.read(len(NPY)) != NPY:
                raise ValueError("it is no NumPy .npy file (its first bytes are another format's)")
        check_gesture(np.load(self.data[index]))
        return super().__getitem__(index)


PIXEL = np.iinfo(np.int16)  # tonic's type of DVS-Gesture's x and y
COMPARED = 16  # recordings of a test split read to tell a copy of the training split


def check_gesture(events: np.ndarray) -> None:
    """Refuses a preprocessed DVS-Gesture array that is not ``[N, 4]`` numbers (x, y, p, t),
    or whose values tonic casts into others: NaN or infinite ones (to arbitrary integers),
    fractional pixels, pixels beyond int16 (wrapped), polarities other than 0 and 1 (to
    True)."""
    if events.ndim != 2 or events.shape[1] != 4 or events.dtype.kind not in "iuf":
        raise ValueError(f"it is an array of {events.dtype} of shape {list(events.shape)}")
    for column, name in enumerate("xypt"):
        values = events[:, column]
        if not np.isfinite(values).all():
            raise ValueError(f"its {name} column holds NaN or infinite values")
        if name != "t" and (values != np.floor(values)).any():
            raise ValueError(f"its {name} column holds fractional values")
        if name in "xy" and ((values < PIXEL.min) | (values > PIXEL.max)).any():
            raise ValueError(  # wrapped, they fall inside the sensor as another scene
                f"its {name} column holds values beyond [{PIXEL.min}, {PIXEL.max}], tonic's int16"
            )
    if not set(np.unique(events[:, 2]).tolist()) <= {0, 1}:
        raise ValueError("its polarities (p) are not all 0 or 1")


class RecordedEvents(FramedRecordings):
    """Frames ``[B, frames, 2, size, size]`` of a recorded event dataset (module docstring).

    A subclass names its tonic class, its split folders, the recordings' file suffix, the
    size of the complete training split and what to do when a file does not decode.
    """

    splits: tuple[str, str]  # the training and test folders below <root>/<dataset name>/
    suffix: str
    layout: str  # the regular expression of a recording's path below its split folder, the
    # label a group of it named `label`
    folders: str | None  # that of a folder below a split folder, where tonic parses their names
    accepted: str  # the layout below a split folder, in words
    full_train: int  # recordings of the complete training split
    event_bytes = 1  # the bytes of one event in a recording file (1: its size is not checked)

    def __init__(
        self,
        batch_size: int,
        eval_batch_size: int,
        seed: int,
        root: str,
        frames: int = 10,
        size: int = 34,
        split_by: str = "number",
        event_encoding: str = "binary",
        count_scale: float = 8.0,
        val_size: int = 1000,
        split_seed: int = 0,
        cache_dir: str | None = None,
        num_workers: int = 2,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed, num_workers)
        if not 0 < val_size < self.full_train:
            raise ConfigError(
                f"dataset.params.val_size={val_size} is out of range; accepted: "
                f"0 < val_size < {self.full_train}"
            )
        self.framing = Framing(frames, size, split_by, event_encoding, count_scale)
        self.framing.check_sensor(self.dataset.sensor_size)
        self.root, self.val_size, self.split_seed = root, val_size, split_seed
        self.cache = cache_folder(cache_dir, root, self.dataset.__name__, self.framing)

    @classmethod
    def trained_over(cls, params: Mapping[str, object]) -> str | None:
        """The training recordings' :func:`~snnattack.data.recordings.fingerprint`; None
        where none is present: the data's check refuses it."""
        folder = Path(str(params["root"])).expanduser() / cls.dataset.__name__ / cls.splits[0]
        return fingerprint(folder, cls.suffix)

    def check_files(self) -> None:
        """Refuses missing or foreign files before any work (:meth:`check_layout`)."""
        self.check_layout()

    def check_layout(self) -> Path:
        """The dataset's folder after checking that both splits hold recordings, each where
        tonic reads its label from (``layout``), and no folder that tonic would misread
        (``folders``): a foreign file or folder is refused naming it, never skipped, since
        tonic would fail on it or give it a wrong label; that each split holds every class (a
        lost class folder would bias the test numbers or leave a class untaught); and that the
        training split holds enough recordings for its validation split (:meth:`val_count`)."""
        location = Path(self.root).expanduser() / self.dataset.__name__
        for split in self.splits:
            folder = location / split
            if not any(folder.rglob(f"*{self.suffix}")):
                raise DataError(
                    f"no {self.dataset.__name__} recordings (*{self.suffix}) under "
                    f"{folder} (dataset.params.root={self.root}); it is not downloaded here: "
                    f"extract {self.dataset.train_filename}, {self.dataset.test_filename} into "
                    f"{location} so that it holds {' and '.join(self.splits)} (docs/datasets.md)"
                )
            labels = set()
            for path in sorted(folder.rglob("*")):
                relative = path.relative_to(folder).as_posix()
                recording = re.fullmatch(self.layout, relative)
                if self.folders and path.is_dir() and not re.fullmatch(self.folders, relative):
                    found = "a folder"
                elif path.suffix == self.suffix and not recording:
                    found = f"a {self.suffix} file"
                else:
                    if recording:
                        check_size(path, self.expected, self.event_bytes)
                        labels.add(int(recording["label"]))
                    continue
                raise DataError(
                    f"{path} is {found} that {self.dataset.__name__} does not have; accepted: "
                    f"{folder}/{self.accepted} only: move or delete it"
                )
            missing = sorted(set(range(self.FACTS["num_classes"])) - labels)
            if missing:
                raise DataError(
                    f"{folder} has no recordings of the classes {', '.join(map(str, missing))}; "
                    f"expected {folder}/{self.accepted} for every class: extract "
                    f"{self.dataset.train_filename}, {self.dataset.test_filename} again "
                    f"(docs/datasets.md)"
                )
        self.val_count(len(list((location / self.splits[0]).rglob(f"*{self.suffix}"))), location)
        self._refuse_copied_test(location)
        return location

    def _refuse_copied_test(self, location: Path) -> None:
        """Refuses a test split of which more than half the recordings are the training
        split's under the same names (one folder copied over the other): a test would measure
        what the model learned. Paths and sizes are compared, then the bytes of up to
        :data:`COMPARED` such pairs, so no split is read whole."""
        train, test = (location / split for split in self.splits)
        tests = sorted(test.rglob(f"*{self.suffix}"))
        pairs = [(p, train / p.relative_to(test)) for p in tests]
        alike = [(a, b) for a, b in pairs if b.is_file() and a.stat().st_size == b.stat().st_size]
        if 2 * len(alike) <= len(tests):
            return
        sample = alike[:: max(len(alike) // COMPARED, 1)][:COMPARED]
        if all(a.read_bytes() == b.read_bytes() for a, b in sample):
            raise DataError(
                f"{test} holds {len(alike)} of its {len(tests)} recordings as copies of those "
                f"of {train} (the same names and bytes): a copy of training data, on which a "
                "test would measure what the model learned; accepted: the dataset's own test "
                f"recordings: extract {self.dataset.test_filename} again (docs/datasets.md)"
            )

    def val_count(self, n: int, location: Path) -> int:
        """The validation recordings held out of ``n`` training recordings under ``location``,
        refusing too few recordings for both splits: counted from the file names, before
        any recording is decoded or the store's lock taken."""
        n_val = max(round(n * self.val_size / self.full_train), 1)
        if not n_val < n:
            full = f"{self.dataset.__name__}'s {self.full_train}"
            raise DataError(
                f"only {n} training recordings under {location}: too few for non-empty "
                f"train and validation splits at dataset.params.val_size={self.val_size} (out "
                f"of {full}, applied as a share of these {n}), which leaves {n - n_val} "
                f"training recordings; accepted: a val_size that leaves one, "
                f"round({n}*val_size/{self.full_train}) < {n}, or the remaining recordings "
                "copied"
            )
        return n_val

    def setup(self, stage: str | None = None) -> None:
        if hasattr(self, "train_set"):
            return
        location = self.check_layout()
        train, test = self.cached_frames(train=True), self.cached_frames(train=False)
        n = len(train)
        n_val = self.val_count(n, location)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.split_seed)).tolist()
        self.val_set = FrameSplit(train, order[:n_val], flip=False)
        self.train_set = FrameSplit(train, order[n_val:], flip=False)
        self.test_set = FrameSplit(test, list(range(len(test))), flip=False)


@register("nmnist", order=50)
class NMNISTDataModule(RecordedEvents):
    """N-MNIST (60,000 training and 10,000 test recordings of 34x34 saccades)."""

    dataset = NMNIST
    FACTS = MappingProxyType({"num_classes": 10, "in_channels": 2})
    splits = ("Train", "Test")
    suffix = ".bin"
    layout = r"(?P<label>[0-9])/[^/]+\.bin"
    folders = None  # tonic reads the .bin files only, labelled by their folder's last character
    accepted = "<digit>/*.bin"
    full_train = 60_000
    expected = "an N-MNIST .bin file (40-bit events): extract it again from train.zip or test.zip"
    event_bytes = 5


@register("dvs_gesture", order=60)
class DVSGestureDataModule(RecordedEvents):
    """DVS-Gesture (tonic's 1,077 training and 264 test gestures of 11 classes)."""

    dataset = DVSGesture
    FACTS = MappingProxyType({"num_classes": 11, "in_channels": 2})
    splits = ("ibmGestureTrain", "ibmGestureTest")
    suffix = ".npy"
    layout = r"user[0-9]+_[^/]+/(?P<label>10|[0-9])\.npy"
    folders = r"user[0-9]+_[^/]+"  # tonic parses every folder's name as user<NN>_<lighting>
    accepted = "user<NN>_<lighting>/<label 0 to 10>.npy"
    full_train = 1_077
    expected = (
        "tonic's preprocessed DVS-Gesture array ([N, 4]: x, y, p, t in ms): extract it again "
        "from ibmGestureTrain.tar.gz or ibmGestureTest.tar.gz"
    )
