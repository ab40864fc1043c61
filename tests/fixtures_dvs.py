"""Tiny CIFAR10-DVS look-alikes: genuine ``.aedat4`` recordings written with dv-processing.

``write_cifar10_dvs(root)`` lays files out as the extracted dataset is laid out,
``<root>/CIFAR10DVS/<class>/cifar10_<class>_<i>.aedat4``, so tonic reads them as the real thing.
"""

from __future__ import annotations

from pathlib import Path

import dv_processing as dv
import numpy as np
from tonic.datasets import CIFAR10DVS

SENSOR = (128, 128)  # DVS128 resolution (x, y), as tonic's CIFAR10DVS.sensor_size
START_US = 1_600_000_000_000_000  # a realistic absolute timestamp (µs since the epoch)
DURATION_US = 1_200_000  # ~1.2 s per recording, like the real dataset


def write_aedat4(
    path: str | Path,
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    p: np.ndarray,
    sensor: tuple[int, int] = SENSOR,
) -> Path:
    """One event-only ``.aedat4`` file at ``path`` whose header declares ``sensor`` (x, y);
    ``t`` (µs) must be non-decreasing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    store = dv.EventStore()
    for event in zip(t.tolist(), x.tolist(), y.tolist(), p.tolist(), strict=True):
        store.push_back(int(event[0]), int(event[1]), int(event[2]), bool(event[3]))
    config = dv.io.MonoCameraWriter.EventOnlyConfig("DVS128", sensor)
    writer = dv.io.MonoCameraWriter(str(path), config)
    writer.writeEvents(store)
    del writer  # the writer finishes the file when it is destroyed; it has no close()
    return path


def write_cifar10_dvs(
    root: str | Path, per_class: int = 2, n_events: int = 300, seed: int = 0
) -> list[Path]:
    """``per_class`` random recordings of ``n_events`` events for each of the 10 classes."""
    rng = np.random.default_rng(seed)
    written = []
    for name in CIFAR10DVS.classes:
        for i in range(per_class):
            t = START_US + np.sort(rng.integers(0, DURATION_US, n_events))
            x, y = rng.integers(0, SENSOR[0], n_events), rng.integers(0, SENSOR[1], n_events)
            p = rng.integers(0, 2, n_events)
            path = Path(root) / "CIFAR10DVS" / name / f"cifar10_{name}_{i}.aedat4"
            written.append(write_aedat4(path, t, x, y, p))
    return written
