"""A job on N-MNIST, DVS-Gesture, CIFAR10-DVS or CIFAR checks its data folder before it writes
anything: a missing folder or empty split, a foreign file or folder end it in one line naming
the path, exit code 2, and no job folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.error import URLError

import pytest
from fixtures_cifar import write_cifar10
from fixtures_dvs import write_cifar10_dvs
from fixtures_events import write_dvs_gesture, write_nmnist

from snnattack.data import build_datamodule, cifar


def no_test_split(data: Path) -> None:
    shutil.rmtree(data / "NMNIST" / "Test")
    (data / "NMNIST" / "Test").mkdir()


def stray_bin(data: Path) -> None:
    (data / "NMNIST" / "Train" / "00001.bin").write_bytes(b"")


def lost_digit_folder(data: Path) -> None:
    shutil.rmtree(data / "NMNIST" / "Train" / "7")


def foreign_folder(data: Path) -> None:
    (data / "DVSGesture" / "ibmGestureTrain" / "notes").mkdir()


MODELS = {"nmnist": "vgg5", "dvs_gesture": "dvs_vgg", "cifar10_dvs": "dvs_vgg"}
WRITERS = {"nmnist": write_nmnist, "dvs_gesture": write_dvs_gesture}
CASES = [
    ("nmnist", lambda data: shutil.rmtree(data / "NMNIST"), "no NMNIST recordings (*.bin) under"),
    ("nmnist", no_test_split, "no NMNIST recordings (*.bin) under {data}/NMNIST/Test "),
    ("nmnist", stray_bin, "{data}/NMNIST/Train/00001.bin is a .bin file that NMNIST does not"),
    ("nmnist", lost_digit_folder, "{data}/NMNIST/Train has no recordings of the classes 7; "),
    ("dvs_gesture", foreign_folder, "{data}/DVSGesture/ibmGestureTrain/notes is a folder that"),
    ("cifar10_dvs", None, "no CIFAR10-DVS data at {data}/CIFAR10DVS "),  # no folder at all
]


def refused_untouched(done: Any, tmp_path: Path, start: str) -> None:
    """The job exited 2 with one line on stderr that starts with ``start``, and wrote neither
    its folder (``tmp_path / "out"``) nor the store (``tmp_path / "models"``)."""
    assert done.returncode == 2, done.stderr[-2000:]
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(start)
    assert not (tmp_path / "out").exists() and not (tmp_path / "models").exists()


@pytest.mark.parametrize(("dataset", "spoil", "message"), CASES)
def test_a_bad_data_folder_is_one_line_before_anything_is_written(
    cli: Callable, tmp_path: Path, dataset: str, spoil: Callable, message: str
) -> None:
    data = tmp_path / "data"
    if spoil is not None:
        WRITERS[dataset](data, per_class=1, n_events=20)
        spoil(data)
    done = cli(
        f"dataset={dataset}",
        f"model={MODELS[dataset]}",
        f"dataset.params.root={data}",
        f"store.dir={tmp_path / 'models'}",
        f"hydra.run.dir={tmp_path / 'out'}",
    )
    refused_untouched(done, tmp_path, f"error: {message.format(data=data)}")
    assert not list(data.glob("*_frames_*"))  # nothing cached either


def test_too_few_training_recordings_are_one_line_before_anything_is_written(
    cli: Callable, tmp_path: Path
) -> None:
    """Counted from the file names: found while training, it left the store's lock behind."""
    data = tmp_path / "data"
    write_nmnist(data, per_class=1, n_events=20)
    done = cli(
        "dataset=nmnist",
        "model=vgg5",
        f"dataset.params.root={data}",
        "dataset.params.val_size=59000",  # 10 recordings: 10 of them held out for validation
        f"store.dir={tmp_path / 'models'}",
        f"hydra.run.dir={tmp_path / 'out'}",
    )
    refused_untouched(done, tmp_path, f"error: only 10 training recordings under {data}/NMNIST")


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (
            lambda folder: (folder / "data_batch_2").write_bytes(b"\x80\x02}"),
            "CIFAR-10 file {folder}/data_batch_2 is corrupt or truncated",
        ),
        (lambda folder: (folder / "test_batch").unlink(), "CIFAR-10 folder {folder} is incomplete"),
    ],
)
def test_a_bad_cifar_folder_is_one_line_before_the_store_is_touched(
    cli: Callable, tmp_path: Path, spoil: Callable, message: str
) -> None:
    """CIFAR's files were read first by the training, under the store's lock: a refused job
    left ``<store.dir>/.locks/<key>.lock`` (and the store's folder) behind."""
    data = tmp_path / "data"
    folder = write_cifar10(data, n_train=10, n_test=4).folder
    spoil(folder)
    done = cli(
        "dataset=cifar10",
        "model=vgg5",
        f"dataset.params.root={data}",
        "dataset.params.download=false",
        "dataset.params.val_size=2",
        f"store.dir={tmp_path / 'models'}",
        f"hydra.run.dir={tmp_path / 'out'}",
    )
    refused_untouched(done, tmp_path, f"error: {message.format(folder=folder)}")


def undecodable_recording(dataset: str, data: Path) -> Path:
    """Garbage in place of the first training recording of ``dataset``'s splits (whole events
    by its size, so the folder check lets it pass: only decoding it finds it)."""
    module = build_datamodule(dataset, 4, 4, 0, root=str(data), num_workers=0)
    module.setup("fit")
    split = module.train_set
    path = Path(split.frames.recordings.data[split.indices[0]])
    garbage = {".aedat4": b"DVS" * 50, ".bin": b"\xff" * 50, ".npy": b"not an array"}
    path.write_bytes(garbage[path.suffix])
    return path


@pytest.mark.parametrize("dataset", ["cifar10_dvs", "nmnist", "dvs_gesture"])
def test_an_undecodable_recording_is_refused_before_the_store_is_touched(
    cli: Callable, tmp_path: Path, dataset: str
) -> None:
    """It was first decoded by the training, under the store's lock: the refused job left
    ``<store.dir>/.locks/<key>.lock`` (and the store's folder) behind, which no job may delete
    (another may be waiting on it)."""
    data = tmp_path / "data"
    {"cifar10_dvs": write_cifar10_dvs, **WRITERS}[dataset](data, per_class=2, n_events=100)
    path = undecodable_recording(dataset, data)
    done = cli(
        f"dataset={dataset}",
        f"model={MODELS[dataset]}",
        f"dataset.params.root={data}",
        "dataset.params.num_workers=0",
        "T=2",
        "train.epochs=1",
        "train.batch_size=4",
        "eval_batch_size=4",
        "threads=1",
        f"store.dir={tmp_path / 'models'}",
        f"hydra.run.dir={tmp_path / 'out'}",
    )
    refused_untouched(done, tmp_path, f"error: cannot decode {path}: ")


def offline(url: str, root: str, filename: str, **kwargs: object) -> None:
    """torchvision's download without a network."""
    raise URLError("no network")


def corrupt_download(url: str, root: str, filename: str, **kwargs: object) -> None:
    """torchvision's download extracting a folder whose second training batch is cut short."""
    folder = write_cifar10(root, n_train=10, n_test=4).folder
    (folder / "data_batch_2").write_bytes(b"\x80\x02}")


@pytest.mark.parametrize(
    ("download", "message"),
    [
        (offline, "could not download CIFAR-10 from https://"),
        (corrupt_download, "CIFAR-10 file {data}/cifar-10-batches-py/data_batch_2 is corrupt"),
    ],
)
def test_a_cifar_download_is_fetched_and_checked_before_the_store_is_touched(
    cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, download: Callable, message: str
) -> None:
    """The download (``dataset.params.download=true`` where the folder is missing) was the
    training's first work, under the store's lock: a failed or corrupt one left
    ``<store.dir>/.locks/<key>.lock`` (and the store's folder) behind."""
    monkeypatch.setattr(cifar, "download_and_extract_archive", download)
    data = tmp_path / "data"
    done = cli(
        "dataset=cifar10",
        "model=vgg5",
        f"dataset.params.root={data}",
        "dataset.params.download=true",
        "dataset.params.val_size=2",
        "dataset.params.num_workers=0",
        f"store.dir={tmp_path / 'models'}",
        f"hydra.run.dir={tmp_path / 'out'}",
    )
    refused_untouched(done, tmp_path, f"error: {message.format(data=data)}")
