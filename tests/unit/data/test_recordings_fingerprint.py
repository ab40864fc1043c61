"""What a model store's key holds of an event dataset's recordings
(:func:`snnattack.data.recordings.fingerprint`): their names, sizes and a sample of their bytes."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np

from snnattack.data.recordings import SAMPLED, WINDOW, _spread, fingerprint


def write_recordings(folder: Path, n: int, size: int, seed: int = 0) -> list[Path]:
    """``n`` recordings of ``size`` random bytes, two classes' folders, sorted by name."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"class{i % 2}" / f"rec_{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
        paths.append(path)
    return paths


def polarity_flipped(path: Path) -> None:
    """``path`` rewritten in place, every byte's top bit flipped (as N-MNIST's polarity): the
    same name and size, other events."""
    data = np.frombuffer(path.read_bytes(), np.uint8)
    path.write_bytes((data ^ 0x80).tobytes())


def test_equal_names_and_sizes_of_other_bytes_are_other_recordings(tmp_path: Path) -> None:
    """A denoised, polarity-flipped or time-shifted copy written at the same sizes, or a
    re-recording, kept the key: a model trained on one was reused for the other, unsaid."""
    one, other = tmp_path / "one", tmp_path / "other"
    write_recordings(one, 10, 300, seed=0)
    write_recordings(other, 10, 300, seed=1)  # recorded again: same names, same sizes
    assert fingerprint(one, ".bin") != fingerprint(other, ".bin")
    flipped = tmp_path / "flipped"
    shutil.copytree(one, flipped)
    for path in sorted(flipped.rglob("*.bin")):
        polarity_flipped(path)
    assert fingerprint(one, ".bin") != fingerprint(flipped, ".bin")


def test_a_copy_elsewhere_is_the_same_recordings(tmp_path: Path) -> None:
    """Not the folder: the same files copied elsewhere (another mount, another user's root)
    keep the key, and so reuse the model trained on them."""
    one = tmp_path / "one"
    write_recordings(one, 3 * SAMPLED, 2 * WINDOW + 100)
    shutil.copytree(one, tmp_path / "copy" / "nested")
    assert fingerprint(one, ".bin") == fingerprint(tmp_path / "copy" / "nested", ".bin")
    assert fingerprint(tmp_path / "empty", ".bin") is None


def test_every_recording_of_a_large_dataset_rewritten_changes_the_key(tmp_path: Path) -> None:
    """More recordings than the sample (CIFAR10-DVS's 10,000): a copy rewritten as a whole
    changes every recording, the sampled ones too, and ends: a change at a file's end, past
    the first window, is read."""
    one, flipped = tmp_path / "one", tmp_path / "flipped"
    write_recordings(one, 2 * SAMPLED + 7, 40)
    shutil.copytree(one, flipped)
    for path in sorted(flipped.rglob("*.bin")):
        polarity_flipped(path)
    assert fingerprint(one, ".bin") != fingerprint(flipped, ".bin")
    (last,) = write_recordings(tmp_path / "big", 1, 3 * WINDOW)
    before = fingerprint(tmp_path / "big", ".bin")
    data = bytearray(last.read_bytes())
    data[-1] ^= 1  # the last event's polarity: the same size, the end read
    last.write_bytes(bytes(data))
    assert fingerprint(tmp_path / "big", ".bin") != before


def test_the_sample_is_spread_over_the_sorted_recordings_both_ends_among_them() -> None:
    spread = _spread(10_000, SAMPLED)
    assert len(spread) == SAMPLED and {0, 9_999} <= spread
    gaps = np.diff(sorted(spread))
    assert gaps.max() - gaps.min() <= 1
    assert _spread(5, SAMPLED) == set(range(5)) and _spread(5, 0) == set()


def test_sampled_0_is_the_names_and_sizes_alone_as_keys_before_held_them(tmp_path: Path) -> None:
    """Model files made before 2026-12-06 hold this fingerprint: the check of a file's
    recordings compares it (training/trained.py)."""
    paths = write_recordings(tmp_path, 4, 10)
    lines = sorted(f"{p.relative_to(tmp_path).as_posix()}\t10" for p in paths)
    old = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    assert fingerprint(tmp_path, ".bin", sampled=0) == old != fingerprint(tmp_path, ".bin")
