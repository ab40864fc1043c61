"""N-MNIST and DVS-Gesture datamodules on tiny files in their real formats, read by tonic."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import tonic
import torch
from fixtures_dvs import write_cifar10_dvs
from fixtures_events import nmnist_bytes, random_events, write_dvs_gesture, write_nmnist
from harness import compose
from tonic.io import read_mnist_file
from torch._utils import ExceptionWrapper

import snnattack.data.dvs as dvs
from snnattack.data import build_datamodule
from snnattack.data.events import to_frames
from snnattack.errors import ConfigError, DataError, WriteError
from snnattack.runtime.cli import one_line
from snnattack.training.parse import model_settings
from snnattack.training.store_key import store_key


def datamodule(name: str, root: Path, **options):
    options = {"frames": 4, "num_workers": 0, "val_size": 6000 if name == "nmnist" else 100}
    dm = build_datamodule(name, 4, 4, 0, root=str(root), **options | {"size": 16})
    dm.setup()
    return dm


def test_tonic_reads_the_40_bit_nmnist_events_written(tmp_path: Path) -> None:
    x, y, t, p = random_events(np.random.default_rng(0), 50, 34, 300_000)
    path = tmp_path / "00001.bin"
    path.write_bytes(nmnist_bytes(x, y, t, p))
    events = read_mnist_file(str(path), dtype=tonic.datasets.NMNIST.dtype)
    assert [events[k].tolist() for k in "xytp"] == [v.tolist() for v in (x, y, t, p)]


def test_nmnist_batches_are_binary_frames_with_folder_labels_and_own_test_split(
    tmp_path: Path,
) -> None:
    write_nmnist(tmp_path, per_class=2, n_events=120)
    dm = datamodule("nmnist", tmp_path)
    # the Test folder is the test split; 6000/60000 of the 20 training files validate
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (18, 2, 20)
    x, y = next(iter(dm.test_dataloader()))
    assert x.shape == (4, 4, 2, 16, 16) and set(x.unique().tolist()) == {0.0, 1.0}
    assert y.tolist() == [0, 0, 1, 1]  # files in path order, labelled by their folder
    first = dm.test_set.frames.recordings.data[0]
    events = read_mnist_file(first, dtype=tonic.datasets.NMNIST.dtype)
    expected = to_frames([events], (34, 34, 2), 4, 16, "number", "binary")[0]
    assert (x[0] == expected).all()
    cached = sorted(p.relative_to(tmp_path) for p in tmp_path.glob("NMNIST_frames_*/*/*/*.pt"))
    assert str(cached[0]) == "NMNIST_frames_T4_s16_binary_bynumber_v4/Test/0/00000.pt"


@pytest.mark.parametrize("name", ["nmnist", "dvs_gesture"])
def test_a_test_recording_named_like_a_training_one_gets_its_own_frames(
    tmp_path: Path, name: str
) -> None:
    """The fixtures number each split's files on their own, as the real archives do
    (``Train/0/00000.bin`` and ``Test/0/00000.bin``): once the training split is cached, every
    test recording is still served its own frames, and a cache of the first layout (keyed by
    class folder and stem only) beside it is never read."""
    (write_nmnist if name == "nmnist" else write_dvs_gesture)(tmp_path, per_class=2, n_events=120)
    dm = datamodule(name, tmp_path)
    train, test = dm.train_set.frames, dm.test_set.frames

    def below_split(frames) -> set[tuple[str, ...]]:
        home = Path(frames.recordings.location_on_system)
        return {Path(p).relative_to(home).parts[1:] for p in frames.recordings.data}

    assert below_split(test) <= below_split(train)  # each test file has a training namesake
    old = tmp_path / train.cache.name.removesuffix("_v4")
    for i in range(len(test)):  # the first layout's key, holding a training recording's frames
        source = Path(test.recordings.data[i])
        planted = old / source.parent.name / f"{source.stem}.pt"
        planted.parent.mkdir(parents=True, exist_ok=True)
        torch.save(torch.ones(4, 2, 16, 16), planted)
    for i in range(len(train)):
        train[i]
    recordings = dm.recordings()
    fresh = dm.framing.many([recordings.test(i) for i in range(len(test))], dm.sensor_size)
    assert all(bool((test[i][0] == fresh[i]).all()) for i in range(len(test)))
    assert {test.cached(i).relative_to(test.cache).parts[0] for i in range(len(test))} == {
        dm.splits[1]
    }


def test_dvs_gesture_frames_of_the_preprocessed_arrays_in_microseconds(tmp_path: Path) -> None:
    write_dvs_gesture(tmp_path, per_class=2, n_events=200)
    dm = datamodule("dvs_gesture", tmp_path)
    assert len(dm.test_set) == 22 and len(dm.train_set) + len(dm.val_set) == 22
    x, y = dm.test_set[0]
    path = dm.test_set.frames.recordings.data[0]
    raw = np.load(path)
    assert y == int(Path(path).stem) and x.sum() > 0
    events = np.zeros(len(raw), tonic.datasets.DVSGesture.dtype)
    for i, k in enumerate("xypt"):
        events[k] = raw[:, i] * (1000 if k == "t" else 1)
    expected = to_frames([events], (128, 128, 2), 4, 16, "number", "binary")[0]
    assert (x == expected).all()


@pytest.mark.parametrize(("name", "folder"), [("nmnist", "NMNIST"), ("dvs_gesture", "DVSGesture")])
def test_missing_recordings_are_one_data_error_naming_the_folder(
    tmp_path: Path, name: str, folder: str
) -> None:
    with pytest.raises(DataError, match=f"no {folder} recordings .* under {tmp_path / folder}"):
        datamodule(name, tmp_path)


def test_val_size_out_of_range_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"dataset.params.val_size=2000 .* 0 < val_size < 1077"):
        build_datamodule("dvs_gesture", 4, 4, 0, root=str(tmp_path), val_size=2000)


def test_a_val_size_that_leaves_no_training_recording_names_the_key_and_the_bound(
    tmp_path: Path,
) -> None:
    """It said "too few for non-empty train and validation splits" alone, naming no key:
    ``val_size`` counts out of the full dataset's 60,000, applied as a share of the files."""
    write_nmnist(tmp_path, per_class=2, n_events=120)
    options = {"root": str(tmp_path), "frames": 4, "num_workers": 0}
    with pytest.raises(DataError) as refused:
        build_datamodule("nmnist", 4, 4, 0, val_size=59_000, **options).check_files()
    assert str(refused.value) == (
        f"only 20 training recordings under {tmp_path / 'NMNIST'}: too few for "
        "non-empty train and validation splits at dataset.params.val_size=59000 (out of "
        "NMNIST's 60000, applied as a share of these 20), which leaves 0 training recordings; "
        "accepted: a val_size that leaves one, round(20*val_size/60000) < 20, or the remaining "
        "recordings copied"
    )
    build_datamodule("nmnist", 4, 4, 0, val_size=57_000, **options).check_files()


@pytest.mark.parametrize("name", ["nmnist", "dvs_gesture"])
def test_recordings_frame_as_the_test_split_and_label_the_training_split(
    tmp_path: Path, name: str
) -> None:
    """What an attack on raw events reads (``recordings()``): the test split's recordings in
    its order, framed as its frames, and the training split's recordings with their labels."""
    (write_nmnist if name == "nmnist" else write_dvs_gesture)(tmp_path, per_class=2, n_events=120)
    dm = datamodule(name, tmp_path)
    recordings = dm.recordings()
    streams = [recordings.test(i) for i in range(len(dm.test_set))]
    frames = dm.framing.many(streams, recordings.sensor_size)
    assert recordings.sensor_size == dm.dataset.sensor_size
    assert all(bool((frames[i] == dm.test_set[i][0]).all()) for i in range(len(streams)))
    assert recordings.train_labels == tuple(dm.train_set[i][1] for i in range(len(dm.train_set)))
    assert len(recordings.train(0)) > 0


@pytest.mark.parametrize(
    ("name", "foreign", "found", "accepted"),
    [
        ("nmnist", "Train/00001.bin", "a .bin file", "NMNIST/Train/<digit>/*.bin only"),
        ("nmnist", "Test/10/00001.bin", "a .bin file", "NMNIST/Test/<digit>/*.bin only"),
        ("dvs_gesture", "ibmGestureTrain/notes", "a folder", "ibmGestureTrain/user<NN>_"),
        ("dvs_gesture", "ibmGestureTest/user01_led/x.npy", "a .npy file", "<label 0 to 10>.npy"),
    ],
)
def test_a_foreign_file_or_folder_in_a_split_is_refused_naming_it(
    tmp_path: Path, name: str, foreign: str, found: str, accepted: str
) -> None:
    """Refused, not skipped: tonic would fail on it (a label from a folder's last letter, a
    folder name parsed as ``user<NN>_<lighting>``) or give it the label of the wrong folder."""
    write = write_nmnist if name == "nmnist" else write_dvs_gesture
    write(tmp_path, per_class=1, n_events=20)
    path = tmp_path / ("NMNIST" if name == "nmnist" else "DVSGesture") / foreign
    if path.suffix:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    else:
        path.mkdir()
    dm = build_datamodule(name, 4, 4, 0, root=str(tmp_path), frames=4)
    with pytest.raises(DataError) as err:
        dm.check_files()
    line = str(err.value)
    assert line.startswith(f"{path} is {found} that ") and accepted in line and "\n" not in line


@pytest.mark.parametrize(
    ("name", "gone", "classes"),
    [
        ("nmnist", "Test/9", "9"),
        ("dvs_gesture", "ibmGestureTrain/user01_fluorescent/10.npy", "10"),
    ],
)
def test_a_split_missing_a_class_is_refused_naming_it(
    tmp_path: Path, name: str, gone: str, classes: str
) -> None:
    """A split without any recording of a class (a digit folder lost in extraction) was read
    without a word: a test split missing a class biases its accuracy and ASR, a training split
    never teaches it. CIFAR10-DVS refused it already."""
    write = write_nmnist if name == "nmnist" else write_dvs_gesture
    write(tmp_path, per_class=1, n_events=20)
    folder = tmp_path / ("NMNIST" if name == "nmnist" else "DVSGesture")
    path = folder / gone
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
    dm = build_datamodule(name, 4, 4, 0, root=str(tmp_path), frames=4)
    with pytest.raises(DataError) as refused:
        dm.check_files()
    split = folder / gone.split("/")[0]
    line = str(refused.value)
    assert line.startswith(f"{split} has no recordings of the classes {classes}; ") and (
        "\n" not in line
    )


def test_an_empty_test_folder_is_refused_naming_it(tmp_path: Path) -> None:
    write_nmnist(tmp_path, per_class=1, n_events=20)
    for path in (tmp_path / "NMNIST" / "Test").rglob("*.bin"):
        path.unlink()
    dm = build_datamodule("nmnist", 4, 4, 0, root=str(tmp_path), frames=4)
    with pytest.raises(DataError, match=f"^no NMNIST recordings .* under {tmp_path}/NMNIST/Test "):
        dm.check_files()


@pytest.mark.parametrize(
    ("column", "value", "why"),
    [
        (3, np.nan, "its t column holds NaN or infinite values"),  # was cast to any integer
        (0, np.inf, "its x column holds NaN or infinite values"),
        (1, 3.5, "its y column holds fractional values"),  # was cut to 3
        (0, 65536 + 3, "its x column holds values beyond [-32768, 32767], tonic's int16"),  # 3
        (2, 7.0, "its polarities (p) are not all 0 or 1"),  # was cast to True
    ],
)
def test_a_gesture_whose_values_tonic_would_cast_is_refused_naming_it(
    tmp_path: Path, column: int, value: float, why: str
) -> None:
    """tonic casts the array into integer and bool fields: a damaged file was framed (and
    attacked) silently as other events."""
    write_dvs_gesture(tmp_path, per_class=2)
    path = tmp_path / "DVSGesture" / "ibmGestureTest" / "user01_fluorescent" / "0.npy"
    events = np.load(path)
    events[5, column] = value
    np.save(path, events)
    dm = datamodule("dvs_gesture", tmp_path)
    with pytest.raises(DataError) as refused:
        next(iter(dm.test_dataloader()))
    assert str(refused.value).startswith(f"cannot decode {path}: {why}; expected ")
    assert not list(tmp_path.glob("*_frames_*/**/*.pt"))  # nothing cached of the batch


def test_a_gesture_file_of_another_format_is_refused_without_numpys_unsafe_advice(
    tmp_path: Path,
) -> None:
    """A text file named ``.npy`` was refused with NumPy's advice to load it unsafely
    (``allow_pickle=``), a pickle's arbitrary code."""
    write_dvs_gesture(tmp_path, per_class=2)
    path = tmp_path / "DVSGesture" / "ibmGestureTest" / "user01_fluorescent" / "0.npy"
    path.write_text("x,y,p,t\n1,2,0,10\n")
    dm = datamodule("dvs_gesture", tmp_path)
    with pytest.raises(DataError) as refused:
        next(iter(dm.test_dataloader()))
    line = str(refused.value)
    assert line.startswith(f"cannot decode {path}: it is no NumPy .npy file "), line
    assert "pickle" not in line


def test_a_recording_without_events_is_refused_naming_it(tmp_path: Path) -> None:
    """A file that decodes to no events is refused, never attacked as a blank input."""
    write_dvs_gesture(tmp_path, per_class=2)
    path = tmp_path / "DVSGesture" / "ibmGestureTest" / "user01_fluorescent" / "0.npy"
    np.save(path, np.zeros((0, 4)))
    dm = datamodule("dvs_gesture", tmp_path)
    with pytest.raises(DataError) as refused:
        next(iter(dm.test_dataloader()))
    assert str(refused.value).startswith(f"cannot decode {path}: it holds no events; expected ")
    assert not list(tmp_path.glob("*_frames_*/**/*.pt"))  # nothing cached of the batch


@pytest.mark.parametrize(
    ("events", "said"), [(1, "its 1 event spans"), (100, "its 100 events span")]
)
def test_a_recording_shorter_than_its_frames_by_time_is_refused_as_such(
    tmp_path: Path, events: int, said: str
) -> None:
    """One event, or events of one timestamp, span 0 µs: framed by time every bin is 0 µs long
    and empty. It was refused as "it holds no events", though it holds them."""
    write_dvs_gesture(tmp_path, per_class=2)
    path = tmp_path / "DVSGesture" / "ibmGestureTest" / "user01_fluorescent" / "0.npy"
    np.save(path, np.tile([[3.0, 4.0, 1.0, 7.0]], (events, 1)))  # x, y, p, t (ms)
    dm = build_datamodule(
        "dvs_gesture",
        4,
        4,
        0,
        root=str(tmp_path),
        frames=4,
        size=16,
        num_workers=0,
        val_size=100,
        split_by="time",
    )
    dm.setup()
    with pytest.raises(DataError) as refused:
        next(iter(dm.test_dataloader()))
    assert str(refused.value) == (
        f"cannot frame {path}: {said} 0 µs, fewer than dataset.params.frames=4, so its bins of "
        "equal duration (dataset.params.split_by=time) are 0 µs long and hold none; accepted: "
        "dataset.params.split_by=number (bins of an equal number of events), or a dataset "
        "without the recording"
    )
    assert not list(tmp_path.glob("*_frames_*/**/*.pt"))  # nothing cached of the batch


@pytest.mark.parametrize("name", ["nmnist", "dvs_gesture", "cifar10_dvs"])
def test_an_empty_recording_file_is_refused_before_any_work(tmp_path: Path, name: str) -> None:
    """A file of 0 bytes (an extraction cut short) is found by the job's file checks."""
    if name == "nmnist":
        write_nmnist(tmp_path, per_class=1, n_events=20)
        path = tmp_path / "NMNIST" / "Train" / "3" / "00000.bin"
    elif name == "dvs_gesture":
        write_dvs_gesture(tmp_path, per_class=1)
        path = tmp_path / "DVSGesture" / "ibmGestureTrain" / "user01_fluorescent" / "5.npy"
    else:
        write_cifar10_dvs(tmp_path, per_class=1, n_events=20)
        path = tmp_path / "CIFAR10DVS" / "dog" / "cifar10_dog_0.aedat4"
    path.write_bytes(b"")
    dm = build_datamodule(name, 4, 4, 0, root=str(tmp_path), frames=4)
    with pytest.raises(DataError) as refused:
        dm.check_files()
    assert str(refused.value).startswith(f"cannot decode {path}: an empty file (0 bytes); ")


@pytest.mark.parametrize("name", ["nmnist", "dvs_gesture"])
def test_a_test_split_copied_from_the_training_split_is_refused(tmp_path: Path, name: str) -> None:
    """Every test recording a training one: trained on and attacked as unseen, without a
    word (CIFAR's batches were refused so); the fixtures' own splits, of the same names and
    sizes but other events, pass."""
    (write_nmnist if name == "nmnist" else write_dvs_gesture)(tmp_path, per_class=2, n_events=120)
    dm = build_datamodule(name, 4, 4, 0, root=str(tmp_path), frames=4)
    location = tmp_path / dm.dataset.__name__
    dm.check_files()
    train, test = (location / split for split in dm.splits)
    shutil.rmtree(test)
    shutil.copytree(train, test)
    with pytest.raises(DataError) as refused:
        dm.check_files()
    assert str(refused.value).startswith(f"{test} holds ")
    assert f"recordings as copies of those of {train} (the same names and bytes)" in str(
        refused.value
    )


def test_a_truncated_nmnist_recording_is_refused_before_any_work(tmp_path: Path) -> None:
    """A .bin file cut inside an event: read only when a batch reached it (after training
    began, or never by a limited run), with numpy's index error."""
    write_nmnist(tmp_path, per_class=1)
    path = tmp_path / "NMNIST" / "Test" / "3" / "00000.bin"
    path.write_bytes(path.read_bytes()[:7])
    dm = build_datamodule("nmnist", 4, 4, 0, root=str(tmp_path), frames=4)
    with pytest.raises(DataError) as refused:
        dm.check_files()
    assert str(refused.value).startswith(
        f"cannot decode {path}: a truncated file (7 bytes, not a whole number of 5-byte "
        "events); expected an N-MNIST .bin file"
    )


def test_a_frame_cache_write_refused_names_the_key_and_is_one_line_from_a_worker(
    tmp_path: Path, monkeypatch
) -> None:
    """A cache folder that exists but cannot be written (read-only, full) passes the job's
    checks (it may hold every frame); the write named a frame file only, and from a DataLoader
    worker PyTorch could not rebuild the WriteError: a RuntimeError, a traceback."""

    def read_only(path: Path, data: bytes) -> None:
        raise WriteError(path, "Read-only file system")

    write_nmnist(tmp_path, per_class=1, n_events=20)
    dm = datamodule("nmnist", tmp_path)
    monkeypatch.setattr(dvs, "write_atomic", read_only)
    with pytest.raises(WriteError) as info:
        dm.test_set[0]
    message = str(info.value)
    assert message.startswith(f"cannot write {dm.cache}/Test/0/00000.pt (Read-only file system; ")
    assert "dataset.params.cache_dir" in message
    try:
        raise info.value
    except WriteError:
        wrapped = ExceptionWrapper(where="in DataLoader worker process 0")
    with pytest.raises(WriteError) as again:
        wrapped.reraise()
    assert one_line(again.value) == message


def test_a_recording_out_of_time_order_gives_the_frames_of_its_events_in_time_order(
    tmp_path: Path,
) -> None:
    """Framed by time it was refused as "it holds no events" (its window was <= 0)."""
    options = {"frames": 4, "size": 16, "num_workers": 0, "val_size": 100, "split_by": "time"}
    framed = []
    for order in (1, -1):
        root = tmp_path / str(order)
        write_dvs_gesture(root, per_class=2)
        path = root / "DVSGesture" / "ibmGestureTest" / "user01_fluorescent" / "0.npy"
        np.save(path, np.load(path)[::order].copy())
        dm = build_datamodule("dvs_gesture", 4, 4, 0, root=str(root), **options)
        dm.setup("test")
        framed.append(dm.test_set[0][0])
    assert framed[0].sum() > 0
    torch.testing.assert_close(framed[1], framed[0], rtol=0, atol=0)


def flip_polarity(path: Path) -> None:
    """A recording rewritten in place with every event's polarity flipped: the same name and
    size (N-MNIST's bit 7 of each event's third byte; DVS-Gesture's ``p`` column)."""
    size = path.stat().st_size
    if path.suffix == ".bin":
        raw = np.frombuffer(path.read_bytes(), np.uint8).reshape(-1, 5).copy()
        raw[:, 2] ^= 0x80
        path.write_bytes(raw.tobytes())
    else:
        events = np.load(path)
        events[:, 2] = 1 - events[:, 2]
        np.save(path, events)
    assert path.stat().st_size == size


@pytest.mark.parametrize(
    ("name", "write", "first"),
    [
        ("nmnist", write_nmnist, "NMNIST/Train/0/00000.bin"),
        ("dvs_gesture", write_dvs_gesture, "DVSGesture/ibmGestureTrain/user01_fluorescent/0.npy"),
    ],
)
def test_the_store_key_follows_the_training_recordings_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, write, first: str
) -> None:
    """The training split is the recordings present (a share of ``val_size`` held out when
    fewer are, docs/datasets.md): a model trained on a partial extraction was reused, unsaid,
    once the rest was extracted, and one trained on other recordings of the same names (a
    denoised copy, a polarity-flipped one of the same sizes). A copy of the same files
    elsewhere keeps the key; a test recording fewer (the dataset's own test split) does not
    change it."""

    def key(root: Path) -> dict:
        monkeypatch.setenv("SNNATTACK_DATA", str(root))
        return store_key(model_settings(compose(f"dataset={name}", "model=dvs_vgg")), 0)

    one, other = tmp_path / "a", tmp_path / "b"
    write(one, per_class=2, n_events=50)
    shutil.copytree(one, other)
    assert key(one) == key(other)
    test = next(p for p in sorted(other.rglob("*Test*/**/*")) if p.is_file())
    test.unlink()
    assert key(one) == key(other)
    flipped = tmp_path / "flipped"
    shutil.copytree(one, flipped)
    for path in sorted(flipped.rglob("*Train*/**/*.*")):
        flip_polarity(path)
    assert key(flipped)["training_recordings"] != key(one)["training_recordings"]
    (other / first).write_bytes((other / first).read_bytes()[:-5])  # one event fewer
    assert key(one)["training_recordings"] != key(other)["training_recordings"]
    (other / first).unlink()
    assert key(one)["training_recordings"] != key(other)["training_recordings"]
