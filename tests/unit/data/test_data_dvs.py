"""CIFAR10-DVS datamodule on tiny genuine .aedat4 fixtures: frames, splits, cache, errors."""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import tonic.datasets.cifar10dvs
import torch
from fixtures_dvs import write_aedat4, write_cifar10_dvs
from harness import RunsCode, compose
from omegaconf import OmegaConf
from tonic.io import read_aedat4

from snnattack.data import build_datamodule
from snnattack.data.base import EpochShuffleSampler, Reads
from snnattack.data.dvs import CIFAR10DVS, CIFAR10DVSDataModule
from snnattack.data.events import to_frames
from snnattack.errors import DataError, WriteError
from snnattack.training.parse import model_settings
from snnattack.training.store_key import store_key

FRAMES, SIZE = 4, 16
CLASSES = CIFAR10DVS.classes


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_cifar10_dvs(tmp_path, per_class=2, n_events=300, seed=0)
    return tmp_path


def datamodule(root: Path, **options) -> CIFAR10DVSDataModule:
    options = {
        "batch_size": 4,
        "eval_batch_size": 4,
        "seed": 0,
        "frames": FRAMES,
        "size": SIZE,
        "num_workers": 0,
        **options,
    }
    dm = CIFAR10DVSDataModule(root=str(root), **options)
    dm.setup()
    return dm


def cache_files(dm: CIFAR10DVSDataModule) -> list[Path]:
    return sorted(p for p in dm.cache.rglob("*") if p.is_file())


def test_tonic_reads_fixture_recordings_with_folder_labels(tmp_path: Path) -> None:
    t = 1_000 + np.array([0, 5, 5, 900])
    x, y, p = np.array([0, 127, 3, 64]), np.array([127, 0, 9, 64]), np.array([1, 0, 1, 0])
    events = read_aedat4(str(write_aedat4(tmp_path / "one.aedat4", t, x, y, p)))
    assert events["t"].tolist() == t.tolist() and events["x"].tolist() == x.tolist()
    assert events["y"].tolist() == y.tolist() and events["p"].tolist() == p.astype(bool).tolist()

    written = write_cifar10_dvs(tmp_path / "set", per_class=2, n_events=50)
    recordings = CIFAR10DVS(str(tmp_path / "set"))
    assert recordings.data == sorted(str(path) for path in written)
    assert recordings.targets == [CLASSES[Path(f).parent.name] for f in recordings.data]
    assert len(recordings[0][0]) == 50


def test_events_become_area_resized_counts_clipped_at_count_scale() -> None:
    dtype = np.dtype([("t", np.uint64), ("x", np.uint16), ("y", np.uint16), ("p", bool)])
    events = np.zeros(400, dtype)
    events["t"], events["x"], events["p"] = np.arange(400) * 2500, 127, True
    # 4 equal time bins hold 100, 100, 100, 99 events (tonic drops the last event) at one
    # sensor pixel; area resizing 128 -> 16 averages 8x8 sensor pixels
    frames = to_frames([events], CIFAR10DVS.sensor_size, 4, 16, count_scale=2.0)[0]
    expected = torch.zeros(4, 2, 16, 16)
    expected[:, 1, 0, 15] = torch.tensor([100, 100, 100, 99]) / 64 / 2.0
    torch.testing.assert_close(frames, expected)
    saturated = to_frames([events], CIFAR10DVS.sensor_size, 4, 16, count_scale=1.0)[0]
    assert saturated[:, 1, 0, 15].tolist() == [1.0] * 4 and saturated.sum() == 4


def test_batches_are_unit_box_frames_with_folder_labels(root: Path) -> None:
    dm = datamodule(root)
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (4, FRAMES, 2, SIZE, SIZE) and x.dtype == torch.float32
    assert y.dtype == torch.long
    x, y = next(iter(dm.test_dataloader()))
    assert 0 < x.sum() and x.min() >= 0 and x.max() <= 1
    folders = [Path(dm.test_set.frames.recordings.data[i]).parent.name for i in dm.test_set.indices]
    assert y.tolist() == [CLASSES[name] for name in folders]


def test_splits_are_disjoint_deterministic_and_scaled_to_the_file_count(root: Path) -> None:
    dm = datamodule(root)
    train, val, test = dm.train_set.indices, dm.val_set.indices, dm.test_set.indices
    assert (len(train), len(val), len(test)) == (16, 2, 2)  # 20 files: 9000/900 of 10000
    assert sorted(train + val + test) == list(range(20))
    again = datamodule(root, seed=5)  # the training seed does not move the splits
    assert (again.train_set.indices, again.val_set.indices) == (train, val)
    other = datamodule(root, split_seed=1)
    assert other.test_set.indices != test


def test_random_flips_only_on_training_frames(root: Path) -> None:
    dm = datamodule(root)
    cached = dm.train_set.frames
    plain = cached[dm.train_set.indices[0]][0]
    draws = [dm.train_set[0][0] for _ in range(16)]
    assert any(torch.equal(d, plain) for d in draws)
    assert any(torch.equal(d, plain.flip(-1)) for d in draws)
    assert not torch.equal(plain, plain.flip(-1))
    for split in (dm.val_set, dm.test_set):
        plain = cached[split.indices[0]][0]
        assert all(torch.equal(split[0][0], plain) for _ in range(8))
    unaugmented = datamodule(root, augment=False).train_set
    assert all(
        torch.equal(unaugmented[0][0], unaugmented.frames[unaugmented.indices[0]][0])
        for _ in range(8)
    )


def test_second_epoch_reads_frames_from_cache(root: Path, monkeypatch) -> None:
    calls = []
    reader = tonic.datasets.cifar10dvs.read_aedat4
    monkeypatch.setattr(
        tonic.datasets.cifar10dvs, "read_aedat4", lambda path: calls.append(path) or reader(path)
    )
    dm = datamodule(root)
    loaders = (dm.train_dataloader, dm.val_dataloader, dm.test_dataloader)
    first = [batch for loader in loaders for batch in loader()]
    assert len(calls) == 20 and len(set(calls)) == 20
    assert [p.suffix for p in cache_files(dm)] == [".pt"] * 20  # no temporary files left
    second = [batch for loader in loaders[1:] for batch in loader()]
    assert len(calls) == 20
    for (x1, y1), (x2, y2) in zip(first[-2:], second, strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)


@pytest.mark.parametrize("damage", ["truncated", "no_events"])
def test_corrupt_recording_raises_data_error_naming_it(root: Path, damage: str) -> None:
    path = root / "CIFAR10DVS" / "cat" / "cifar10_cat_1.aedat4"
    content = path.read_bytes()
    if damage == "no_events":
        none = np.zeros(0, dtype=np.int64)
        write_aedat4(path, none, none, none, none)
    else:
        path.write_bytes(content[: len(content) // 2])
    dm = datamodule(root)
    with pytest.raises(DataError, match=str(path)) as refused:
        dm.train_set.frames[dm.test_set.frames.recordings.data.index(str(path))]
    if damage == "no_events":
        assert str(refused.value) == (
            f"cannot decode {path}: it holds no events; expected an AEDAT4 event recording: "
            "extract it again from its class zip"
        )
    assert cache_files(dm) == []


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        ("not_aedat", "the file does not contain AEDAT4 data (wrong magic number)"),
        (
            "small_sensor",
            "its header declares a 64 x 64 sensor, smaller than the DVS128's 128 x 128 of "
            "CIFAR10-DVS (its events would fill one corner of every frame)",
        ),
        (
            "large_sensor",
            "its header declares a 346 x 260 sensor, larger than the DVS128's 128 x 128 of "
            "CIFAR10-DVS (another camera's scene, cut to a corner)",
        ),
    ],
)
def test_a_recording_whose_header_is_not_cifar10_dvs_is_refused_with_the_folder(
    root: Path, damage: str, why: str
) -> None:
    """Checked with the folder, before any recording is decoded (a test recording was found
    only after the training); a smaller sensor's recording was framed without a word as the
    top-left corner of the DVS128's pixels, and so was a larger one's (a DAVIS346) whose
    events all lie within 128 x 128."""
    path = root / "CIFAR10DVS" / "cat" / "cifar10_cat_1.aedat4"
    sensors = {"small_sensor": (64, 64), "large_sensor": (346, 260)}
    if damage == "not_aedat":
        path.write_bytes(b"#!AER-DAT2.0\r\n" + bytes(800))
    else:
        t, xy = 1_000 + np.arange(50) * 100, np.arange(50) % 64
        write_aedat4(path, t, xy, xy, np.arange(50) % 2, sensor=sensors[damage])
    dm = CIFAR10DVSDataModule(root=str(root), batch_size=4, eval_batch_size=4, seed=0)
    with pytest.raises(DataError) as refused:
        dm.check_files()
    assert str(refused.value) == (
        f"cannot decode {path}: {why}; expected an AEDAT4 event recording: extract it again "
        "from its class zip"
    )
    assert not dm.cache.exists()


def test_the_training_data_read_before_training_are_decoded_once(root: Path, monkeypatch) -> None:
    """Read before the store's lock is taken, every training, validation and test recording
    is decoded into the cache, from which the training's and the attacks' loaders then read
    them."""
    calls = []
    reader = tonic.datasets.cifar10dvs.read_aedat4
    monkeypatch.setattr(
        tonic.datasets.cifar10dvs, "read_aedat4", lambda path: calls.append(path) or reader(path)
    )
    dm = datamodule(root)
    dm.read_training_data()
    read = len(dm.train_set) + len(dm.val_set) + len(dm.test_set)
    assert len(calls) == len(set(calls)) == read == 20
    assert len(cache_files(dm)) == read
    training = datamodule(root)  # the training's own datamodule, as it makes one
    assert [
        batch
        for loader in (training.train_dataloader, training.val_dataloader, training.test_dataloader)
        for batch in loader()
    ]
    assert len(calls) == read


def test_a_recording_that_does_not_decode_is_refused_by_the_readers_workers(root: Path) -> None:
    dm = datamodule(root, num_workers=1)
    path = Path(dm.val_set.frames.recordings.data[dm.val_set.indices[-1]])
    path.write_bytes(b"DVS" * 50)
    with pytest.raises(DataError, match=f"cannot decode {path}: "):
        dm.read_training_data()


def test_a_truncated_test_recording_is_refused_with_the_training_data(root: Path) -> None:
    """Its header reads, so the folder's check passes it; it was decoded only by the attacks'
    test loader, after the whole training. Read with the training data, it stops the job
    before the store's lock is taken and before any training step."""
    dm = datamodule(root)
    path = Path(dm.test_set.frames.recordings.data[dm.test_set.indices[0]])
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    dm.check_files()  # the header is whole
    with pytest.raises(DataError, match=f"^cannot decode {path}: .*; expected an AEDAT4 event"):
        dm.read_training_data()


def truncate(path: Path) -> Path:
    """``path`` cut in half: its header reads (the folder's check passes it), its events do
    not decode."""
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    return path


def test_a_limited_run_reads_ahead_only_the_batches_it_reads(root: Path, monkeypatch) -> None:
    """A smoke test (``trainer.limit_*_batches=1``) does not wait for every recording to
    decode: the preflight reads the batches the limits keep (the first shuffled training
    batch of each epoch, the first validation and test batches), a recording among them that
    does not decode is still refused there, one outside them does not stop it, and the
    training's limited loaders then decode nothing again."""
    calls = []
    reader = tonic.datasets.cifar10dvs.read_aedat4
    monkeypatch.setattr(
        tonic.datasets.cifar10dvs, "read_aedat4", lambda path: calls.append(path) or reader(path)
    )
    dm = datamodule(root, eval_batch_size=1)
    limited = Reads(batch_size=4, eval_batch_size=1, seed=0, epochs=1, train=1, val=1, test=1)
    first = list(EpochShuffleSampler(len(dm.train_set), 0))[:4]  # epoch 0's first batch
    unread = next(i for i in range(len(dm.train_set)) if i not in first)
    truncate(Path(dm.train_set.frames.recordings.data[dm.train_set.indices[unread]]))
    dm.read_training_data([limited])
    assert len(calls) == len(cache_files(dm)) == 4 + 1 + 1
    training = datamodule(root, eval_batch_size=1)  # the training's own datamodule
    for loader in (training.train_dataloader, training.val_dataloader, training.test_dataloader):
        next(iter(loader()))  # the one batch each limit keeps
    assert len(calls) == 6
    # two epochs draw two first batches; a share keeps int(share x batches) of them
    assert limited.train_samples(16) == set(first)
    twice = replace(limited, epochs=2, train=0.25).train_samples(16)
    assert set(first) < twice and len(twice) <= 8
    bad = truncate(Path(dm.train_set.frames.recordings.data[dm.train_set.indices[first[-1]]]))
    with pytest.raises(DataError, match=f"cannot decode {bad}: "):
        datamodule(root, eval_batch_size=1).read_training_data([limited])


def test_interrupted_cache_write_leaves_no_file(root: Path, monkeypatch) -> None:
    def half_then_full(self: Path, data: bytes) -> None:
        with open(self, "wb") as file:
            file.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    dm = datamodule(root)
    monkeypatch.setattr(Path, "write_bytes", half_then_full)
    with pytest.raises(
        WriteError, match=r"cannot write .*\.pt \(No space left on device; the frame cache, dataset"
    ):
        dm.train_set[0]
    assert cache_files(dm) == []  # neither half a cache file nor its temporary one


def test_missing_root_or_class_folders_raise_data_error(tmp_path: Path, root: Path) -> None:
    with pytest.raises(DataError, match=r"no CIFAR10-DVS data at .*nowhere.*dataset.params.root"):
        datamodule(tmp_path / "nowhere")
    for recording in (root / "CIFAR10DVS" / "frog").iterdir():
        recording.unlink()
    with pytest.raises(DataError, match="no .aedat4 recordings for the classes frog"):
        datamodule(root)
    write_cifar10_dvs(root, per_class=1)
    folder = root / "CIFAR10DVS"
    stray = (folder / "cat" / "cifar10_cat_0.aedat4").rename(folder / "x.aedat4")
    with pytest.raises(DataError, match=f"{stray} lies outside the class folders"):
        datamodule(root)
    stray.unlink()
    (folder / "airplane").rename(folder / "airplanes")  # a class folder renamed: named as such
    with pytest.raises(DataError) as refused:
        datamodule(root)
    assert str(refused.value).startswith(
        f"{folder / 'airplanes'}/cifar10_airplane_0.aedat4 lies outside the class folders "
    ) and str(refused.value).endswith(
        "accepted: <class> one of airplane, automobile, bird, cat, deer, dog, frog, horse, "
        "ship, truck"
    )


def test_too_few_recordings_for_the_splits_are_refused_by_the_file_check(root: Path) -> None:
    """Counted from the file names before any work, not once the training read the data."""
    dm = CIFAR10DVSDataModule(4, 4, 0, str(root), val_size=100, num_workers=0)
    with pytest.raises(DataError, match=f"only 20 recordings under {root / 'CIFAR10DVS'}: too few"):
        dm.check_files()
    assert not dm.cache.exists()


@pytest.mark.parametrize(
    ("sizes", "left"),
    [
        ({"val_size": 100}, "0 validation and 2 test"),  # few files: val_size rounds to none
        ({"train_size": 16, "val_size": 4}, "0 training, 0 validation and 20 test"),  # as counts
    ],
)
def test_too_few_recordings_name_the_sizes_and_what_they_leave(
    root: Path, sizes: dict[str, int], left: str
) -> None:
    """It said ``too few for non-empty train, validation and test splits`` alone, and
    errors.md's fix, a smaller ``val_size``, empties the validation split further: the sizes
    count out of the full 10,000 recordings, which the line now says with what they leave."""
    dm = CIFAR10DVSDataModule(4, 4, 0, str(root), num_workers=0, **sizes)
    with pytest.raises(DataError) as refused:
        dm.check_files()
    said = str(refused.value)
    assert f"train_size={dm.train_size} and val_size={dm.val_size} (out of" in said
    assert left in said
    assert "0 < round(20*val_size/10000) < round(20*train_size/10000) < 20" in said


def _plant(dm, frames: torch.Tensor) -> Path:
    """A cache file of the first recording holding ``frames``, recorded as decoded from it."""
    source = Path(dm.test_set.frames.recordings.data[0])
    path = dm.cache / source.parent.name / f"{source.stem}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    stat = source.stat()
    torch.save({"frames": frames, "source": [stat.st_size, stat.st_mtime_ns]}, path)
    return path


def test_cached_frames_with_wrong_frame_count_raise_data_error(root: Path) -> None:
    dm = datamodule(root)
    stale = _plant(dm, torch.zeros(FRAMES + 1, 2, SIZE, SIZE))
    with pytest.raises(
        DataError,
        match=rf"{stale} have shape \[5, 2, 16, 16\].*expected "
        r"\[4, 2, 16, 16\]: 4 time bins",
    ):
        dm.train_set.frames[0]
    longer = datamodule(root, frames=FRAMES + 1)  # another T caches in another folder
    assert longer.cache != dm.cache and longer.train_set[0][0].shape[0] == FRAMES + 1


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 0.0])  # 0: no event
def test_cached_frames_of_values_no_recording_gives_raise_data_error(
    root: Path, value: float
) -> None:
    dm = datamodule(root)
    edited = _plant(dm, torch.full((FRAMES, 2, SIZE, SIZE), value))
    with pytest.raises(DataError, match=rf"{edited} hold values that no recording gives"):
        dm.train_set.frames[0]


def test_cached_frames_of_another_dtype_raise_data_error(root: Path) -> None:
    """A cache file of float64 counts crashed the training's first batch with a traceback."""
    dm = datamodule(root)
    edited = _plant(dm, torch.ones(FRAMES, 2, SIZE, SIZE, dtype=torch.float64))
    with pytest.raises(DataError, match=rf"{edited} are torch.float64, not the float32"):
        dm.train_set.frames[0]


def test_a_recording_changed_since_it_was_cached_is_decoded_again(root: Path) -> None:
    """Frames cached of a damaged recording are not served once the recording is replaced
    (re-extracted, repaired): they were another file's."""
    dm = datamodule(root)
    fresh = dm.train_set.frames[0][0].clone()  # decoded and cached
    damaged = _plant(dm, torch.ones(FRAMES, 2, SIZE, SIZE))  # as if decoded from a bad copy
    source = Path(dm.test_set.frames.recordings.data[0])
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10**9))
    assert torch.equal(dm.train_set.frames[0][0], fresh)  # decoded again, not the plant
    assert torch.equal(torch.load(damaged, weights_only=True)["frames"], fresh)  # cached anew


def test_an_empty_frame_cache_file_is_refused_saying_so(root: Path) -> None:
    """A cache file cut to nothing (a full disk, a copy stopped): its line says why."""
    dm = datamodule(root)
    source = Path(dm.test_set.frames.recordings.data[0])
    empty = dm.cache / source.parent.name / f"{source.stem}.pt"
    empty.parent.mkdir(parents=True)
    empty.write_bytes(b"")
    with pytest.raises(DataError) as err:
        dm.train_set.frames[0]
    assert str(err.value) == (
        f"cannot read the cached frames {empty} (an empty file); delete the file to decode its "
        "recording again"
    )


def test_a_planted_frame_cache_file_is_refused_naming_it_and_never_runs(root: Path) -> None:
    dm = datamodule(root)
    source = Path(dm.test_set.frames.recordings.data[0])
    planted = dm.cache / source.parent.name / f"{source.stem}.pt"
    planted.parent.mkdir(parents=True)
    marker = root / "code-ran"
    torch.save({"frames": RunsCode(marker)}, planted)
    with pytest.raises(DataError, match=rf"^cannot read the cached frames {planted} \(needs "
                       r"posix\.system, which is not a tensor or plain value"):  # fmt: skip
        dm.train_set.frames[0]
    assert not marker.exists()


def test_dataset_config_builds_the_datamodule(root: Path, monkeypatch) -> None:
    monkeypatch.setenv("SNNATTACK_DATA", str(root))
    cfg = compose("dataset=cifar10_dvs", "T=3")
    assert cfg.encoding == "frames" and cfg.dataset.encodings == ["frames"]
    params = {**OmegaConf.to_container(cfg.dataset.params, resolve=True), "num_workers": 0}
    assert params["root"] == str(root) and params["frames"] == 3
    dm = build_datamodule(cfg.dataset.name, 2, 2, 0, **params)
    dm.setup()
    x, y = next(iter(dm.val_dataloader()))
    assert x.shape == (2, 3, cfg.dataset.in_channels, 48, 48) and y.shape == (2,)


def test_recordings_frame_as_the_test_split_and_label_the_training_split(root: Path) -> None:
    """What an attack on raw events reads (``recordings()``): the test split's recordings in
    its order, framed as its frames, and the training split's recordings with their labels."""
    dm = datamodule(root, event_encoding="binary")
    recordings = dm.recordings()
    streams = [recordings.test(i) for i in range(len(dm.test_set))]
    frames = dm.framing.many(streams, recordings.sensor_size)
    assert all(bool((frames[i] == dm.test_set[i][0]).all()) for i in range(len(streams)))
    labels = tuple(dm.train_set.frames.recordings.targets[i] for i in dm.train_set.indices)
    assert recordings.train_labels == labels and len(recordings.train(0)) > 0


def test_the_store_key_follows_the_set_of_recordings_the_test_split_is_drawn_over(
    tmp_path: Path, monkeypatch
) -> None:
    """The split is a permutation of the recordings present: with one deleted (or a partial
    extraction completed) another is drawn, and a model stored from the old one was reused
    and tested on recordings it was trained on. A copy of the same files elsewhere keeps the
    key; other bytes at the same names and sizes (a denoised or re-recorded copy), another
    size, one recording fewer change it."""

    def key(root: Path) -> dict:
        monkeypatch.setenv("SNNATTACK_DATA", str(root))
        return store_key(model_settings(compose("dataset=cifar10_dvs", "model=dvs_vgg")), 0)

    first, copy = tmp_path / "a", tmp_path / "b"
    write_cifar10_dvs(first, per_class=3, n_events=50)
    shutil.copytree(first, copy)
    assert key(first) == key(copy) and len(key(first)["recordings"]) == 64
    rewritten = tmp_path / "c"
    shutil.copytree(first, rewritten)
    for path in sorted(rewritten.rglob("*.aedat4")):  # every recording's bytes, not its size
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    assert sorted(p.stat().st_size for p in rewritten.rglob("*.aedat4")) == sorted(
        p.stat().st_size for p in first.rglob("*.aedat4")
    )
    assert key(rewritten)["recordings"] != key(first)["recordings"]
    recording = copy / "CIFAR10DVS" / "cat" / "cifar10_cat_1.aedat4"
    recording.write_bytes(recording.read_bytes() + b"\0")  # another recording of its name
    assert key(copy)["recordings"] != key(first)["recordings"]
    recording.unlink()
    assert key(copy)["recordings"] != key(first)["recordings"]
