"""An event dataset's recordings as an attack on raw events reads them.

The frames a network reads lose what a raw-event attack changes: the events' order and
timestamps, and the sensor's resolution (:mod:`snnattack.data.events`). An attack on the
recordings themselves (GSAttack, ``gsattack``) is handed, per test batch, the batch's
recordings (tonic's structured arrays, fields ``x``, ``y``, ``t``, ``p``), how they become
frames (the dataset's :class:`~snnattack.data.events.Framing` and sensor size), and
recordings of the training split to draw insertion candidates from (never the test split).
Every event datamodule gives its :class:`Recordings` (``recordings()``); the Python API
builds them from the event streams a user passes (docs/interop.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from snnattack.data.events import Framing
from snnattack.errors import DataError


@dataclass(frozen=True)
class Recordings:
    """The test split's recordings by index in the split, and the training recordings."""

    sensor_size: tuple[int, int, int]  # (width, height, polarities), tonic's order
    framing: Framing
    test: Callable[[int], np.ndarray]  # the test split's recording i
    train: Callable[[int], np.ndarray]  # the training split's recording i
    train_labels: tuple[int, ...]

    def batch(self, indices: Sequence[int]) -> RecordedBatch:
        """The recordings of the test samples ``indices`` (one batch, in its order)."""
        return RecordedBatch(tuple(self.test(int(i)) for i in indices), self)


@dataclass(frozen=True)
class RecordedBatch:
    """One test batch's recordings, and where insertion candidates come from."""

    streams: tuple[np.ndarray, ...]
    source: Recordings
    # what the attack changed per sample, ``[B, 4]``: events inserted, deleted, flipped in
    # polarity, and the clean recording's events (set by the attack; zeros where it failed)
    changes: list = field(default_factory=list, compare=False)

    def donor(self, label: int, rng: np.random.Generator) -> np.ndarray | None:
        """A training recording of class ``label`` drawn with ``rng`` (None if none has it)."""
        of_class = np.flatnonzero(np.asarray(self.source.train_labels) == label)
        if not len(of_class):
            return None
        return self.source.train(int(of_class[rng.integers(len(of_class))]))


def undecodable(path: str | Path, why: object, expected: str) -> DataError:
    """The refusal of the recording file ``path``: ``why`` it does not decode, and ``expected``,
    what a recording is and how to get it again."""
    return DataError(f"cannot decode {path}: {why}; expected {expected}")


# how many recordings a fingerprint reads bytes of (spread evenly over the sorted list), and
# how many bytes it reads at each end of each: a few MiB, whatever the dataset's size
SAMPLED = 64
WINDOW = 64 * 1024


def fingerprint(folder: Path, suffix: str, sampled: int = SAMPLED) -> str | None:
    """The recordings (``*<suffix>``) below ``folder`` as a model store's key holds them,
    hashed: every one's path below it and size, and the bytes of ``sampled`` of them.

    Not the folder: a copy elsewhere is the same data. The sizes: other recordings of the same
    names (a denoised copy) are other data, told apart without reading them. The bytes (the
    first and last :data:`WINDOW` of each of ``sampled`` recordings spread evenly over the
    sorted paths, the first and last among them; of every one where there are no more): a
    copy written in place at the same sizes (denoised, polarity-flipped, time-shifted, a
    re-recording) is other data too, and changes every recording, the sampled ones with them.

    The trade-off: the stat of every file that the paths and sizes took already, and a few MiB
    read whatever the dataset's size (of CIFAR10-DVS's 10,000 recordings, 64 files; 10,000
    small files, local disk, warm cache: 0.26 s against 0.21 s, where the ends of every file
    took 0.58 s and an open and a read per file, round trips on a network file system). So one
    recording alone replaced by another of its size, outside the sample, keeps the key
    (docs/datasets.md). A recording that cannot be read is hashed as such: its decoding
    refuses it. ``sampled=0``: the paths and sizes alone, as keys made before 2026-12-06 held
    them. None where there is none."""
    named = sorted((p.relative_to(folder).as_posix(), p) for p in folder.rglob(f"*{suffix}"))
    files = [(name, path) for name, path in named if path.is_file()]
    if not files:
        return None
    picked = _spread(len(files), sampled)
    lines = []
    for i, (name, path) in enumerate(files):
        size = path.stat().st_size
        lines.append(f"{name}\t{size}" + (f"\t{_ends(path, size)}" if i in picked else ""))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _spread(n: int, k: int) -> set[int]:
    """``k`` of the indices ``0..n-1`` spread evenly, both ends among them (all if ``k >= n``)."""
    if k >= n:
        return set(range(n))
    if k <= 1:
        return set(range(k))
    return {j * (n - 1) // (k - 1) for j in range(k)}


def _ends(path: Path, size: int) -> str:
    """The hash of the first and last :data:`WINDOW` bytes of ``path`` (all of a smaller
    file), or that it could not be read."""
    try:
        with path.open("rb") as f:
            head = f.read(WINDOW)
            tail = b""
            if size > WINDOW:
                f.seek(max(WINDOW, size - WINDOW))
                tail = f.read(WINDOW)
    except OSError as error:
        return f"unreadable: {error.strerror}"
    return hashlib.sha256(head + b"|" + tail).hexdigest()


def check_size(path: Path, expected: str, event_bytes: int = 1) -> None:
    """Refuses a recording file of 0 bytes, or not a whole number of events of
    ``event_bytes`` each (an extraction or a copy cut short), before any work."""
    size = path.stat().st_size if path.is_file() else None
    if size == 0:
        raise undecodable(path, "an empty file (0 bytes)", expected)
    if size is not None and size % event_bytes:
        why = f"a truncated file ({size} bytes, not a whole number of {event_bytes}-byte events)"
        raise undecodable(path, why, expected)


def read(recordings: Sequence, index: int, path: str, expected: str) -> np.ndarray:
    """Recording ``index`` of a tonic dataset built without a transform (stored at ``path``),
    as its event array; a recording that does not decode is refused naming its file."""
    try:
        events, _ = recordings[index]
    except Exception as error:
        raise undecodable(path, error, expected) from error
    return events
