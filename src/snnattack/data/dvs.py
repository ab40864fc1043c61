"""CIFAR10-DVS event recordings as cached frame tensors (through tonic).

Data. ``tonic.datasets.CIFAR10DVS`` reads the extracted dataset, laid out as
``<root>/CIFAR10DVS/<class>/*.aedat4`` (10 classes, 1000 recordings each, DVS128 sensor,
128x128 pixels, 2 polarities). Nothing is downloaded here; :func:`check_layout` says how to
get the files when they are missing.

Frames (:mod:`snnattack.data.events`; by default ``split_by=time``, ``event_encoding=scaled``).
Each recording is cut into ``frames`` equal time bins of event counts ``[frames, 2, 128,
128]`` (polarity 0 = OFF, 1 = ON), resized to ``size x size`` with *area* interpolation: an
output pixel is the mean count of the sensor pixels it covers, so every event contributes and
the unit stays "events per sensor pixel per bin" (bilinear downsampling by 128/48 would skip
pixels and alias).

Threat model for attacks on frames. Frames are event counts, not intensities; the reference
code clips perturbed count frames to [0, 1], which destroys every bin holding more than one
event and gives ε no meaning. Here the network input is ``x = min(c, count_scale) /
count_scale`` with ``c`` the resized count, so the [0, 1] box that the attacks enforce (they
clamp to [0, 1]) is exactly the valid range, from no events up to the saturation count, and an
L∞ radius ε means ``ε · count_scale`` events per pixel and bin (eps=8, i.e. 8/255, is 0.25
events at count_scale=8). Perturbations may be fractional: as usual for frame-based DVS
attacks, adversarial frames need not be realisable as integer event streams.

Choice of ``count_scale`` (a config value, 8 by default). CIFAR10-DVS recordings hold on the
order of 2e5 events, i.e. 2e5 / (10 bins · 2 polarities · 128²) ≈ 0.6 events per pixel and
bin on average (area resizing keeps the mean); events crowd on the object's edges, where the
mean over the ≈ 7 sensor pixels of one 48x48 pixel still reaches a few events per bin. A
saturation count of 8 is estimated to clip well under 1 % of the bins while typical inputs
stay near 0.08. This is an estimate that could not be measured here: run once with
``count_scale=1000`` and take 1000 times the 99.9th percentile of the training frames to
set it from the data. With fewer frames each bin holds more events: scale it by 10/frames.

Splits. The complete dataset (10,000 recordings), in path order (:class:`Extracted`), is split
9000/1000 train/test by a permutation seeded with ``split_seed``, and ``val_size`` recordings of
the train part are held out for checkpoint selection; the test part serves final numbers only.
With fewer files (a partial copy, test fixtures) the same fractions are used (``train_size/
10000``, ``val_size/10000``). Training batches are augmented by random horizontal flips only;
heavier event augmentations of some DVS recipes (translation, rotation, cutout) are not done.

Cache. Decoding ``.aedat4`` is slow, so each framed recording is stored once, atomically,
under ``<cache_dir>/CIFAR10DVS_frames_T{frames}_s{size}_c{count_scale}_v4/`` (every setting
that changes the frames, and the layout: :func:`cache_folder`) at its path relative to the
dataset's folder (:class:`CachedFrames`), and later epochs only load it. A cached tensor is
served only if it holds ``frames`` time bins of ``2 x size x size`` and its recording is
unchanged since it was decoded (else the recording is decoded again).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import Any

import aedat
import tonic
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from snnattack.data.base import Reads, SplitDataModule, register
from snnattack.data.events import Framing, TooShort, framed_form
from snnattack.data.recordings import (
    SAMPLED,
    Recordings,
    check_size,
    fingerprint,
    read,
    undecodable,
)
from snnattack.errors import ConfigError, DataError, WriteError
from snnattack.process.workers import quiet_lost_receiver
from snnattack.records.checkpoints import load_tensors, torch_bytes
from snnattack.records.files import write_atomic

FULL_SIZE = 10_000  # recordings in the complete dataset (1000 per class)
# the frame caches' layout, in their folder names: a cache of another layout is never read
CACHE_LAYOUT = "v4"
# what a recording is, and the fix of one that does not decode
EXPECTED = "an AEDAT4 event recording: extract it again from its class zip"

log = logging.getLogger(__name__)


def check_layout(root: str | Path) -> Path:
    """The folder ``<root>/CIFAR10DVS`` after checking that it holds one folder per class."""
    location = Path(root).expanduser() / "CIFAR10DVS"
    if not location.is_dir():
        raise DataError(
            f"no CIFAR10-DVS data at {location} (dataset.params.root={root}); it is not "
            f"downloaded automatically here. Get CIFAR10DVS.zip ({CIFAR10DVS.url}), or let tonic "
            f"download it with `python -c \"import tonic; tonic.datasets.CIFAR10DVS('{root}')\"`, "
            f"and extract it and its ten class zips so that the recordings lie at "
            f"{location}/<class>/*.aedat4 for the classes {', '.join(CIFAR10DVS.classes)}"
        )
    for path in sorted(location.rglob("*.aedat4")):  # first: a renamed class folder is named
        if path.parent.parent != location or path.parent.name not in CIFAR10DVS.classes:
            raise DataError(
                f"{path} lies outside the class folders {location}/<class>/; tonic labels a "
                "recording by the name of its folder: move or delete it; accepted: <class> one "
                f"of {', '.join(CIFAR10DVS.classes)}"
            )
        check_size(path, EXPECTED)
        if path.is_file():  # tonic lists files only
            check_header(path)
    missing = [c for c in CIFAR10DVS.classes if not any((location / c).glob("*.aedat4"))]
    if missing:
        raise DataError(
            f"{location} has no .aedat4 recordings for the classes {', '.join(missing)}; "
            f"expected {location}/<class>/*.aedat4 (extract each class zip, e.g. airplane.zip, "
            f"inside {location})"
        )
    return location


def check_header(path: Path) -> None:
    """Refuses a recording whose AEDAT4 header does not read (another format, a file cut
    inside it), declares no event stream, or declares a sensor other than the DVS128's: a
    smaller sensor's events would be framed without a word as one corner of the scene, a larger
    one's (a DAVIS346's) too where they keep to its top-left 128 x 128 pixels. Reads the header
    only (about 0.1 ms a file), before any recording is decoded."""
    try:
        streams = aedat.Decoder(str(path)).id_to_stream().values()
    except Exception as error:  # the decoder's RuntimeError naming what it could not read
        raise undecodable(path, error, EXPECTED) from error
    sizes = [(s["width"], s["height"]) for s in streams if s["type"] == "events"]
    if not sizes:
        raise undecodable(path, "its header declares no event stream", EXPECTED)
    width, height, _ = CIFAR10DVS.sensor_size
    (declared_width, declared_height), *_ = sizes
    declared = f"its header declares a {declared_width} x {declared_height} sensor"
    dvs128 = f"the DVS128's {width} x {height} of CIFAR10-DVS"
    if declared_width < width or declared_height < height:
        why = f"{declared}, smaller than {dvs128} (its events would fill one corner of every frame)"
    elif (declared_width, declared_height) != (width, height):
        why = f"{declared}, larger than {dvs128} (another camera's scene, cut to a corner)"
    else:
        return
    raise undecodable(path, why, EXPECTED)


class Extracted:
    """Mixin for tonic's dataset classes: extracted files only (never a download), in path order.

    The classes keep tonic's names because tonic derives the data folder from them
    (``<save_to>/<class name>``). tonic's own existence check wants the downloaded archive
    next to the extracted files and starts a download otherwise; an extracted copy without the
    archive (or a small test copy) must not trigger that, so the datamodule checks the layout
    itself. tonic lists files in the file system's order, which varies between machines;
    sorting them keeps the seeded splits identical everywhere.
    """

    data: list[str]
    targets: list[int]

    def __init__(self, save_to: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(save_to, *args, **kwargs)  # type: ignore[call-arg]
        order = sorted(range(len(self.data)), key=self.data.__getitem__)
        self.data = [self.data[i] for i in order]
        self.targets = [self.targets[i] for i in order]

    def _check_exists(self) -> bool:
        return True


class CIFAR10DVS(Extracted, tonic.datasets.CIFAR10DVS):
    """tonic's CIFAR10DVS over extracted files (:class:`Extracted`; :func:`check_layout` checks
    them). A recording without events is refused saying so (tonic fails joining its no event
    packets)."""

    def __getitem__(self, index: int) -> tuple[object, int]:
        try:
            return super().__getitem__(index)
        except ValueError as error:  # numpy's, joining the event packets of a file with none
            if not any(aedat.Decoder(self.data[index])):
                raise ValueError("it holds no events") from error
            raise


def cache_folder(cache_dir: str | None, root: str, name: str, framing: Framing) -> Path:
    """The frame cache of the dataset ``name`` framed by ``framing``: under ``cache_dir``
    (``root`` if None), named by the dataset, every setting that changes the frames and the
    cache's layout (:data:`CACHE_LAYOUT`)."""
    parent = Path(cache_dir if cache_dir is not None else root).expanduser()
    return parent / f"{name}_frames_{framing.key}_{CACHE_LAYOUT}"


class CachedFrames(Dataset):
    """Framed recordings ``([frames, 2, size, size] float, label)`` of a tonic dataset, cached
    on disk: one file per recording, at its path relative to the dataset's folder
    (``recordings.location_on_system``; the split folder included), so that no two recordings
    share a file. A recording without events (an emptied file) is refused, never attacked as a
    blank input."""

    def __init__(
        self,
        recordings: tonic.Dataset,
        frames: int,
        size: int,
        cache: Path,
        expected: str = EXPECTED,
    ) -> None:
        self.recordings, self.frames, self.size, self.cache = recordings, frames, size, cache
        self.expected = expected  # what a recording is, and the fix of one that does not decode

    def __len__(self) -> int:
        return len(self.recordings)

    def cached(self, index: int) -> Path:
        """The cache file of recording ``index``."""
        source = Path(self.recordings.data[index])
        relative = source.relative_to(self.recordings.location_on_system)
        return (self.cache / relative).with_suffix(".pt")

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        source = Path(self.recordings.data[index])
        path = self.cached(index)
        stat = source.stat()  # the recording's size and time: a re-extracted file is another
        identity = [stat.st_size, stat.st_mtime_ns]
        if path.exists():
            try:
                kept = load_tensors(path)  # a planted pickle is refused, never run
            except Exception as error:
                why = str(error) or type(error).__name__  # an empty file's EOFError says nothing
                why = "an empty file" if path.stat().st_size == 0 else why
                why = why.split("\n")[0]  # torch's advice to load unsafely is not ours
                raise DataError(
                    f"cannot read the cached frames {path} ({why}); delete the "
                    "file to decode its recording again"
                ) from error
            if not isinstance(kept, dict) or set(kept) != {"frames", "source"}:
                raise DataError(
                    f"the cached frames {path} are not a {{frames, source}} record; delete the "
                    "file to decode its recording again"
                )
            if kept["source"] == identity:
                self._check(kept["frames"], path)
                return kept["frames"], self.recordings.targets[index]
        # decoded afresh, also where the recording changed since it was cached (re-extracted,
        # repaired): its frames would be another file's
        try:
            x, _ = self.recordings[index]
        except TooShort as error:  # it decodes: the framing cannot cut it
            raise error.named(source) from error
        except Exception as error:
            raise undecodable(source, error, self.expected) from error
        if not x.any():  # every event counts in some bin: a damaged or emptied file
            raise undecodable(source, "it holds no events", self.expected)
        try:
            write_atomic(path, torch_bytes({"frames": x, "source": identity}))
        except WriteError as err:  # a full disk, a read-only cache the preflight let pass
            raise WriteError(
                path, f"{err.reason}; the frame cache, dataset.params.cache_dir (null: its root)"
            ) from None
        return x, self.recordings.targets[index]

    def _check(self, x: object, path: Path) -> None:
        """Refuses a cached tensor that is not float32 ``[frames, 2, size, size]`` of event
        counts (finite, >= 0, not all 0): a damaged or edited file would be attacked silently."""
        shape = list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        expected = [self.frames, 2, self.size, self.size]
        if isinstance(x, torch.Tensor) and x.dtype != torch.float32:
            raise DataError(
                f"the cached frames {path} are {x.dtype}, not the float32 this project writes; "
                "delete the file to decode its recording again"
            )
        if shape != expected:
            raise DataError(
                f"the cached frames {path} have shape {shape} ([time bins, polarities, H, W]), "
                f"expected {expected}: {self.frames} time bins (dataset.params.frames, which "
                "must equal the model's T); delete the file to decode its recording again"
            )
        if not (torch.isfinite(x).all() and (x >= 0).all() and x.any()):
            raise DataError(
                f"the cached frames {path} hold values that no recording gives (NaN, infinite or "
                "negative event counts, or no event at all); delete the file to decode its "
                "recording again"
            )


class FrameSplit(Dataset):
    """The recordings ``indices`` of ``frames``, randomly flipped left-right if ``flip``."""

    def __init__(self, frames: CachedFrames, indices: list[int], flip: bool) -> None:
        self.frames, self.indices, self.flip = frames, indices, flip

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x, label = self.frames[self.indices[i]]
        if self.flip and torch.rand(()) < 0.5:
            x = x.flip(-1)
        return x, label


class FramedRecordings(SplitDataModule):
    """A datamodule of the event recordings of a tonic ``dataset`` served as cached frames
    (:class:`FrameSplit` s of :class:`CachedFrames`): CIFAR10-DVS here, N-MNIST and DVS-Gesture
    in :mod:`snnattack.data.recorded`."""

    input_form = staticmethod(framed_form)
    dataset: type[Extracted]
    expected: str  # what a recording is, and the fix of one that does not decode
    train_set: FrameSplit
    val_set: FrameSplit
    test_set: FrameSplit
    cache: Path  # the frame cache (:func:`cache_folder`)

    @property
    def sensor_size(self) -> tuple[int, int, int]:
        """The sensor's (width, height, polarities)."""
        return self.dataset.sensor_size

    def cached_frames(self, **split: bool) -> CachedFrames:
        """The recordings of ``dataset`` (``split``: its tonic options, ``train``) as frames."""
        to_frames = partial(self.framing, sensor_size=self.sensor_size)
        recordings = self.dataset(self.root, transform=to_frames, **split)
        f = self.framing
        return CachedFrames(recordings, f.frames, f.size, self.cache, self.expected)

    def raw_splits(self) -> tuple[Extracted, Extracted]:
        """The datasets (no transform) that the test and training splits index: tonic's."""
        return self.dataset(self.root, train=False), self.dataset(self.root, train=True)

    def recordings(self) -> Recordings:
        """The recordings of the test and training splits, decoded when read (an attack on
        raw events reads them: :mod:`snnattack.data.recordings`)."""
        self.setup()
        test, train = self.raw_splits()
        shown, kept = self.test_set.indices, self.train_set.indices
        return Recordings(
            self.sensor_size,
            self.framing,
            lambda i: read(test, shown[i], test.data[shown[i]], self.expected),
            lambda i: read(train, kept[i], train.data[kept[i]], self.expected),
            tuple(train.targets[i] for i in kept),
        )

    def read_training_data(self, reads: Sequence[Reads] | None = None) -> None:
        """Decodes the recordings of the splits that ``reads`` read (None: every one) into the
        frame cache with the loaders' workers (a cached one is read and checked), so that a
        recording that does not decode or a damaged cache file is refused before the store's
        lock is taken and any training step. Only the batches the trainer's ``limit_*_batches``
        keep are read ahead (:class:`Reads`); any other is decoded when first read."""
        self.setup("fit")
        splits = {"train": self.train_set, "val": self.val_set, "test": self.test_set}
        chosen = {stage: range(len(split)) for stage, split in splits.items()}
        if reads is not None:
            chosen = {
                "train": set().union(*(r.train_samples(len(self.train_set)) for r in reads)),
                "val": set().union(*(r.eval_samples(len(self.val_set), "val") for r in reads)),
                "test": set().union(*(r.eval_samples(len(self.test_set), "test") for r in reads)),
            }
        n = sum(len(positions) for positions in chosen.values())
        total = sum(len(split) for split in splits.values())
        limited = (
            " (the batches that trainer.limit_train_batches, limit_val_batches and "
            "limit_test_batches keep; the others are decoded when first read)"
        )
        log.info(
            "reading %s training, validation and test recordings into %s%s",
            f"{n} of the {total}" if n < total else f"the {total}",
            self.cache,
            limited if n < total else "",
        )
        for stage, split in splits.items():
            loader = DataLoader(
                Subset(split.frames, [split.indices[i] for i in sorted(chosen[stage])]),
                batch_size=None,  # one recording at a time, as it is cached
                num_workers=self.num_workers,
                worker_init_fn=quiet_lost_receiver,
            )
            for _ in loader:
                pass


@register("cifar10_dvs", order=40)
class CIFAR10DVSDataModule(FramedRecordings):
    """CIFAR10-DVS frames ``[B, frames, 2, size, size]`` with fixed splits (module docstring:
    the layout, the frames, ``count_scale``'s threat model, the splits, the cache)."""

    FACTS = MappingProxyType({"num_classes": 10, "in_channels": 2})
    dataset = CIFAR10DVS
    expected = EXPECTED

    TEST_SPLIT = ("train_size", "split_seed")

    def __init__(
        self,
        batch_size: int,
        eval_batch_size: int,
        seed: int,
        root: str,
        frames: int = 10,
        size: int = 48,
        train_size: int = 9000,
        split_seed: int = 0,
        val_size: int = 900,
        augment: bool = True,
        count_scale: float = 8.0,
        split_by: str = "time",
        event_encoding: str = "scaled",
        cache_dir: str | None = None,
        num_workers: int = 2,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed, num_workers)
        if not 0 < val_size < train_size < FULL_SIZE:
            raise ConfigError(
                f"dataset.params val_size={val_size}, train_size={train_size} are "
                f"out of range; accepted: 0 < val_size < train_size < {FULL_SIZE}"
            )
        self.framing = Framing(frames, size, split_by, event_encoding, count_scale)
        self.framing.check_sensor(CIFAR10DVS.sensor_size)
        self.root, self.frames, self.size = root, frames, size
        self.train_size, self.val_size, self.split_seed = train_size, val_size, split_seed
        self.augment = augment
        self.cache = cache_folder(cache_dir, root, "CIFAR10DVS", self.framing)

    @staticmethod
    def drawn_over(params: Mapping[str, object], contents: bool = True) -> str | None:
        """The recordings' :func:`~snnattack.data.recordings.fingerprint`: the test split is
        a seeded permutation of those present (module docstring, Splits), so adding or
        deleting one draws another (``contents=False``: of their names and sizes alone, as
        model files made before 2026-12-06 hold it). None where the folder is missing: the
        data's check refuses it."""
        location = Path(str(params["root"])).expanduser() / "CIFAR10DVS"
        if not location.is_dir():
            return None
        return fingerprint(location, ".aedat4", sampled=SAMPLED if contents else 0)

    def check_files(self) -> None:
        """Refuses a missing or misplaced recording (:func:`check_layout`), and too few
        recordings for the splits (counted from the file names, before any is decoded or the
        store's lock taken)."""
        location = check_layout(self.root)
        self.split_counts(len(list(location.rglob("*.aedat4"))), location)

    def split_counts(self, n: int, location: Path) -> tuple[int, int]:
        """The training split's end and the validation recordings of ``n`` recordings under
        ``location`` (module docstring, Splits), refusing too few for three non-empty splits.
        The refusal names the sizes and what they leave of the ``n``: ``train_size`` and
        ``val_size`` count out of the full dataset's recordings, so with few files a larger
        ``val_size`` (never a smaller one) gives the validation split its first recording."""
        n_train = round(n * self.train_size / FULL_SIZE)
        n_val = round(n * self.val_size / FULL_SIZE)
        if not 0 < n_val < n_train < n:
            raise DataError(
                f"only {n} recordings under {location}: too few for non-empty train, "
                f"validation and test splits at dataset.params.train_size={self.train_size} "
                f"and val_size={self.val_size} (out of CIFAR10-DVS's {FULL_SIZE}, applied as "
                f"shares of these {n}), which leave {n_train - n_val} training, {n_val} "
                f"validation and {n - n_train} test recordings; accepted: sizes that leave "
                f"each split one, 0 < round({n}*val_size/{FULL_SIZE}) < "
                f"round({n}*train_size/{FULL_SIZE}) < {n}, or the remaining recordings copied"
            )
        return n_train, n_val

    def setup(self, stage: str | None = None) -> None:
        if hasattr(self, "train_set"):
            return
        location = check_layout(self.root)
        cached = self.cached_frames()
        n = len(cached)
        n_train, n_val = self.split_counts(n, location)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.split_seed)).tolist()
        self.val_set = FrameSplit(cached, order[:n_val], flip=False)
        self.train_set = FrameSplit(cached, order[n_val:n_train], flip=self.augment)
        self.test_set = FrameSplit(cached, order[n_train:], flip=False)

    def raw_splits(self) -> tuple[CIFAR10DVS, CIFAR10DVS]:
        """The dataset, which both splits index."""
        raw = CIFAR10DVS(self.root)
        return raw, raw
