"""Tiny N-MNIST and DVS-Gesture look-alikes in their real on-disk formats, read by tonic.

``write_nmnist(root)`` writes ``<root>/NMNIST/{Train,Test}/<digit>/<i>.bin`` in N-MNIST's 40-bit
event format; ``write_dvs_gesture(root)`` writes tonic's preprocessed
``<root>/DVSGesture/{ibmGestureTrain,ibmGestureTest}/user<NN>_<lighting>/<label>.npy``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def nmnist_bytes(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray) -> bytes:
    """Events as N-MNIST stores them: 5 bytes each, x, y, then the polarity in bit 7 of the
    third byte and a 23-bit timestamp (µs) in the rest (Orchard et al.'s ``eventvision.py``)."""
    raw = np.zeros((len(t), 5), dtype=np.uint8)
    raw[:, 0], raw[:, 1] = x, y
    raw[:, 2] = (p.astype(np.uint32) << 7) | ((t >> 16) & 0x7F)
    raw[:, 3], raw[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    return raw.tobytes()


def random_events(rng: np.random.Generator, n: int, side: int, duration: int) -> tuple:
    """``n`` events (x, y, t, p) on a ``side``-pixel sensor over ``duration``, sorted by t."""
    t = np.sort(rng.integers(0, duration, n))
    return rng.integers(0, side, n), rng.integers(0, side, n), t, rng.integers(0, 2, n)


def write_nmnist(root: str | Path, per_class: int = 2, n_events: int = 200, seed: int = 0) -> None:
    """``per_class`` random recordings of ``n_events`` per digit in each split (300 ms, 34x34)."""
    rng = np.random.default_rng(seed)
    for split in ("Train", "Test"):
        for digit in range(10):
            folder = Path(root) / "NMNIST" / split / str(digit)
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                x, y, t, p = random_events(rng, n_events, 34, 300_000)
                (folder / f"{i:05d}.bin").write_bytes(nmnist_bytes(x, y, t, p))


def write_dvs_gesture(
    root: str | Path, per_class: int = 2, n_events: int = 300, seed: int = 0
) -> None:
    """``per_class`` random gestures of ``n_events`` per class and split, one user folder each
    (x, y, p, t in ms, as tonic's preprocessed arrays hold them; 128x128)."""
    rng = np.random.default_rng(seed)
    for split in ("ibmGestureTrain", "ibmGestureTest"):
        for user in range(per_class):
            folder = Path(root) / "DVSGesture" / split / f"user{user + 1:02d}_fluorescent"
            folder.mkdir(parents=True, exist_ok=True)
            for label in range(11):
                x, y, t, p = random_events(rng, n_events, 128, 6_000)
                np.save(folder / f"{label}.npy", np.stack([x, y, p, t], axis=1).astype(np.float64))
