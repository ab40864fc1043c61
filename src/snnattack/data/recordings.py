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


def fingerprint(folder: Path, suffix: str) -> str | None:
    """The recordings (``*<suffix>``) below ``folder`` as a model store's key holds them:
    their paths below it and sizes, hashed (not the folder: a copy elsewhere is the same
    data; the sizes: other recordings of the same names, a denoised copy, are other data,
    told apart without reading them). None where there is none."""
    files = sorted((p.relative_to(folder).as_posix(), p) for p in folder.rglob(f"*{suffix}"))
    lines = [f"{name}\t{path.stat().st_size}" for name, path in files if path.is_file()]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest() if lines else None


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
