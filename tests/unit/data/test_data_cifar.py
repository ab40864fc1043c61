"""CIFAR-10/100 datamodules on tiny fake folders written in the official pickle format."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
from fixtures_cifar import FakeCIFAR, write_cifar10, write_cifar100
from harness import CONF, RunsCode
from omegaconf import OmegaConf

import snnattack.data.cifar as cifar
from snnattack.data import build_datamodule
from snnattack.data.cifar import CIFAR10DataModule, CIFAR100DataModule
from snnattack.data.transforms import Cutout
from snnattack.errors import ConfigError, DataError


def _module(cls: type = CIFAR10DataModule, **kwargs: object) -> CIFAR10DataModule:
    options = {"download": False, "val_size": 10, "num_workers": 0, "eval_batch_size": 4}
    return cls(**{**options, **kwargs})


def _pixels(rows: np.ndarray) -> torch.Tensor:
    """Official uint8 rows ``[N, 3072]`` as the [0, 1] tensors ``[N, 3, 32, 32]`` served."""
    return torch.from_numpy(rows.reshape(-1, 3, 32, 32)).float() / 255


@pytest.fixture(scope="module")
def fake10(tmp_path_factory: pytest.TempPathFactory) -> FakeCIFAR:
    return write_cifar10(tmp_path_factory.mktemp("c10"), n_train=50, n_test=10)


@pytest.fixture(scope="module")
def fake100(tmp_path_factory: pytest.TempPathFactory) -> FakeCIFAR:
    return write_cifar100(tmp_path_factory.mktemp("c100"), n_train=30, n_test=8)


def test_fixture_files_have_the_official_keys_and_types(fake10, fake100):
    def load(path: Path) -> dict:
        with open(path, "rb") as f:  # the reader on the CIFAR website
            return pickle.load(f, encoding="bytes")

    batch = load(fake10.folder / "data_batch_1")
    assert set(batch) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert batch[b"data"].dtype == np.uint8 and batch[b"data"].shape == (10, 3072)
    assert batch[b"batch_label"] == b"training batch 1 of 5"
    assert load(fake10.folder / "batches.meta")[b"label_names"][0] == b"airplane"
    train = load(fake100.folder / "train")
    assert set(train) == {b"filenames", b"batch_label", b"fine_labels", b"coarse_labels", b"data"}
    assert train[b"data"].shape == (30, 3072) and train[b"fine_labels"] == fake100.train_labels
    meta = load(fake100.folder / "meta")
    assert len(meta[b"fine_label_names"]) == 100 and len(meta[b"coarse_label_names"]) == 20


def test_cifar10_serves_test_images_pixel_exactly_in_unit_range(fake10):
    dm = _module(root=str(fake10.folder.parent))
    dm.prepare_data()
    dm.setup("fit")
    x, y = next(iter(dm.test_dataloader()))
    assert x.shape == (4, 3, 32, 32) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() <= 1
    assert torch.equal(x, _pixels(fake10.test_data[:4]))
    assert y.tolist() == fake10.test_labels[:4]
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (40, 10, 10)


def test_cifar100_serves_fine_labels(fake100):
    dm = _module(CIFAR100DataModule, root=str(fake100.folder.parent), val_size=6)
    dm.setup("fit")
    x, y = next(iter(dm.test_dataloader()))
    assert torch.equal(x, _pixels(fake100.test_data[:4]))
    assert y.tolist() == fake100.test_labels[:4]
    assert dm.test_set.classes[0] == "fine_00"
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (24, 6, 8)


def test_validation_split_is_disjoint_sized_and_fixed(fake10):
    root = str(fake10.folder.parent)
    first, second, other = _module(root=root), _module(root=root), _module(root=root, split_seed=1)
    for dm in (first, second, other):
        dm.setup("fit")
    train, val = first.train_set.indices, first.val_set.indices
    assert len(val) == 10 and not set(train) & set(val)
    assert sorted(train + val) == list(range(50))
    assert (second.train_set.indices, second.val_set.indices) == (train, val)
    assert other.val_set.indices != val


def test_augmentation_applies_to_the_training_split_only(fake10):
    # a Cutout square of side 64 covers any 32x32 image whatever its centre: all zeros
    dm = _module(root=str(fake10.folder.parent), crop_padding=0, cutout_length=64)
    dm.setup("fit")
    train_x, _ = dm.train_set[0]
    assert not train_x.any()
    val_x, val_y = dm.val_set[3]
    index = dm.val_set.indices[3]
    assert torch.equal(val_x, _pixels(fake10.train_data[index])[0])
    assert val_y == fake10.train_labels[index]
    plain = _module(root=str(fake10.folder.parent), augment=False)
    plain.setup("fit")
    x, y = plain.train_set[0]
    index = plain.train_set.indices[0]
    assert torch.equal(x, _pixels(fake10.train_data[index])[0])
    assert y == fake10.train_labels[index]


def test_cutout_zeroes_one_square_clipped_at_the_borders():
    for _ in range(20):
        out = Cutout(holes=1, length=8)(torch.ones(3, 40, 40))
        rows = (out[0] == 0).any(1).nonzero().flatten()
        cols = (out[0] == 0).any(0).nonzero().flatten()
        height, width = len(rows), len(cols)
        assert torch.equal(out[0], out[1]) and torch.equal(out[0], out[2])
        assert int((out[0] == 0).sum()) == height * width  # one filled rectangle
        assert rows[-1] - rows[0] + 1 == height and cols[-1] - cols[0] + 1 == width
        inside = 0 < rows[0] and rows[-1] < 39 and 0 < cols[0] and cols[-1] < 39
        assert height <= 8 and width <= 8 and (not inside or height == width == 8)
    assert not Cutout(holes=1, length=8)(torch.ones(3, 4, 4)).any()
    assert torch.equal(Cutout(holes=0, length=8)(torch.ones(3, 8, 8)), torch.ones(3, 8, 8))


def test_missing_dataset_without_download_names_the_folder_and_the_fix(tmp_path):
    with pytest.raises(DataError) as info:
        _module(root=str(tmp_path)).prepare_data()
    message = str(info.value)
    assert str(tmp_path / "cifar-10-batches-py") in message and "data_batch_5" in message
    assert "dataset.params.download=true" in message and "dataset.params.root" in message


@pytest.mark.parametrize(
    "change,problem",
    [
        (lambda e: {**e, "labels": [12, *e["labels"][1:]]}, "holds the label 12, outside 0 .. 9"),
        (lambda e: {**e, "labels": [-1, *e["labels"][1:]]}, "holds the label -1, outside 0 .. 9"),
        (lambda e: {**e, "labels": e["labels"][:-1]}, "holds 1 labels for 2 images"),
        (
            lambda e: {**e, "data": e["data"].astype(np.float64)},
            "holds data of float64, not uint8 rows of 3 x 32 x 32 pixels",
        ),
        (  # was "holds labels of float64 in shape [0]": an empty list's array
            lambda e: {**e, "data": e["data"][:0], "labels": []},
            "holds no images (data of shape [0, 3072]), where a batch holds uint8 rows of "
            "3 x 32 x 32 pixels, one label each",
        ),
        (  # was loaded as a batch of no images
            lambda e: {**e, "data": e["data"][:0], "labels": np.zeros(0, np.int64)},
            "holds no images (data of shape [0, 3072]), where a batch holds uint8 rows of "
            "3 x 32 x 32 pixels, one label each",
        ),
        (
            lambda e: {**e, "data": np.zeros(0, np.uint8), "labels": []},
            "holds no images (data of shape [0]), where a batch holds uint8 rows of "
            "3 x 32 x 32 pixels, one label each",
        ),
    ],
    ids=[
        "label-12",
        "label--1",
        "fewer-labels",
        "float-pixels",
        "no-images",
        "no-images-int",
        "no-rows",
    ],
)
def test_a_batch_of_impossible_contents_is_named_before_any_training(tmp_path, change, problem):
    """Labels outside the classes, fewer labels than images or float pixels loaded without a
    word and failed as tracebacks later (a label in the test batch: after training)."""
    fake = write_cifar10(tmp_path, n_train=10, n_test=4)
    path = fake.folder / "data_batch_2"
    with path.open("rb") as f:
        entry = pickle.load(f, encoding="latin1")
    path.write_bytes(pickle.dumps(change(entry)))
    with pytest.raises(DataError) as info:
        _module(root=str(tmp_path), val_size=2).setup("fit")
    assert str(info.value).startswith(f"CIFAR-10 file {path} {problem}; delete it")


def test_a_cifar100_fine_label_beyond_its_100_classes_is_named(tmp_path):
    fake = write_cifar100(tmp_path, n_train=10, n_test=4)
    path = fake.folder / "test"
    with path.open("rb") as f:
        entry = pickle.load(f, encoding="latin1")
    path.write_bytes(pickle.dumps({**entry, "fine_labels": [150, *entry["fine_labels"][1:]]}))
    with pytest.raises(DataError, match="holds the label 150, outside 0 .. 99"):
        _module(CIFAR100DataModule, root=str(tmp_path), val_size=2).setup("test")


@pytest.mark.parametrize(
    "labels,message",
    [
        (["cat", "dog", "cat", "dog"], "holds labels of <U3 in shape [4], not one class index"),
        ([[3], [7], [1], [0]], "holds labels of int64 in shape [4, 1], not one class index"),
    ],
)
def test_labels_that_are_not_class_indices_are_named(tmp_path, labels, message):
    """Text or nested labels passed the file's check and crashed the first batch."""
    fake = write_cifar10(tmp_path, n_train=10, n_test=4)
    path = fake.folder / "test_batch"
    with path.open("rb") as f:
        entry = pickle.load(f, encoding="latin1")
    path.write_bytes(pickle.dumps({**entry, "labels": labels}))
    with pytest.raises(DataError, match=re.escape(message)):
        _module(root=str(tmp_path), val_size=2).setup("test")


def test_a_cifar10_batch_where_cifar100_is_read_is_refused(tmp_path):
    """CIFAR-10's file has no fine labels: it was read as CIFAR-100's, its 10 classes of 100."""
    fake10, fake100 = write_cifar10(tmp_path, n_train=10, n_test=4), write_cifar100(tmp_path)
    (fake100.folder / "test").write_bytes((fake10.folder / "test_batch").read_bytes())
    with pytest.raises(DataError) as info:
        _module(CIFAR100DataModule, root=str(tmp_path), val_size=2).setup("test")
    assert str(info.value).startswith(
        f"CIFAR-100 file {fake100.folder / 'test'} holds no 'fine_labels' (its keys: "
    )


def test_incomplete_folder_names_the_missing_files(tmp_path):
    fake = write_cifar100(tmp_path, n_train=10, n_test=4)
    (fake.folder / "meta").unlink()
    with pytest.raises(DataError, match="incomplete: missing meta") as info:
        _module(CIFAR100DataModule, root=str(tmp_path), val_size=2).setup("fit")
    assert str(fake.folder) in str(info.value)


@pytest.mark.parametrize(
    "damage,problem",
    [
        ("truncate", "is corrupt or truncated (UnpicklingError("),
        ("garbage", "is corrupt or truncated (UnpicklingError("),
        ("wrong_content", "holds no 'labels' (its keys: 'data'; a file of another dataset?)"),
        # these read as "corrupt or truncated (KeyError('data'))" and "(TypeError(...))"
        ("other_keys", "holds no 'data' (its keys: 'images', 'targets'; a file of another"),
        ("a_list", "holds a list, not the dict of 'data' and 'labels'"),
        ("empty", "is empty (0 bytes)"),
    ],
)
def test_corrupt_batch_file_names_the_file(tmp_path, damage, problem):
    """An empty file read as "corrupt or truncated (EOFError('Ran out of input'))"."""
    fake = write_cifar10(tmp_path, n_train=10, n_test=4)
    path = fake.folder / "data_batch_3"
    raw = path.read_bytes()
    damaged = {
        "truncate": raw[: len(raw) // 2],
        "garbage": b"\x00not a pickle" * 10,
        "wrong_content": pickle.dumps({"data": [1, 2, 3]}),
        "other_keys": pickle.dumps({"images": [1, 2, 3], "targets": [0, 1, 2]}),
        "a_list": pickle.dumps([1, 2, 3]),
        "empty": b"",
    }[damage]
    path.write_bytes(damaged)
    with pytest.raises(DataError) as info:
        _module(root=str(tmp_path), val_size=2).setup("fit")
    assert str(info.value).startswith(f"CIFAR-10 file {path} {problem}")
    assert str(info.value).endswith(
        "; delete it and set dataset.params.download=true to download it again"
    )


COPIES = [  # (the file copied over, what the refusal says of it)
    (  # ``cp data_batch_1 test_batch``: every robustness was measured on training images
        "test_batch",
        "holds 2 of its 2 images in the training batches (data_batch_1, data_batch_2, "
        "data_batch_3, data_batch_4, data_batch_5): a copy of training data, on which a test "
        "would measure what the model learned",
    ),
    (  # ``cp data_batch_1 data_batch_2``: the validation split, drawn from the training
        # images, held copies of images the model trained on (selected and tuned on them)
        "data_batch_2",
        "holds 2 of its 2 images in the training batches before it (data_batch_1): a copy of "
        "training data, whose images would be trained on twice and validated on as unseen",
    ),
]


@pytest.mark.parametrize(("copied", "problem"), COPIES, ids=[c[0] for c in COPIES])
def test_a_batch_copied_from_a_training_batch_is_refused_naming_it(tmp_path, copied, problem):
    """Accepted before: the preflight and the datamodule both refuse it now."""
    fake = write_cifar10(tmp_path, n_train=10, n_test=4)
    (fake.folder / copied).write_bytes((fake.folder / "data_batch_1").read_bytes())
    line = (
        f"CIFAR-10 file {fake.folder / copied} {problem}; delete it and set "
        "dataset.params.download=true to download it again"
    )
    for step in ("check_files", "setup"):
        with pytest.raises(DataError) as info:
            getattr(_module(root=str(tmp_path), val_size=2), step)()
        assert str(info.value) == line


def test_failed_download_names_the_url_and_leaves_nothing(tmp_path, monkeypatch):
    def offline(url: str, root: str, filename: str, **kwargs: object) -> None:
        Path(root).mkdir(parents=True)  # as torchvision: the folder, then part of the archive
        (Path(root) / filename).write_bytes(b"part of the archive")
        raise URLError("no network")

    (tmp_path / "kept.txt").write_text("mine")
    monkeypatch.setattr(cifar, "download_and_extract_archive", offline)
    with pytest.raises(DataError, match="could not download CIFAR-100 from https://"):
        _module(CIFAR100DataModule, root=str(tmp_path / "a" / "data"), download=True).prepare_data()
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]


def test_a_root_that_is_a_file_is_refused_naming_the_key(tmp_path, monkeypatch):
    """Downloading into a file failed, and the cleanup's own error escaped (two lines, the
    root's key unnamed)."""
    monkeypatch.setattr(cifar, "download_and_extract_archive", lambda *a, **k: pytest.fail())
    (tmp_path / "data").write_text("not a folder")
    with pytest.raises(DataError, match=r"^dataset.params.root=\S+/data is a file; accepted: a"):
        _module(root=str(tmp_path / "data"), download=True).prepare_data()
    assert (tmp_path / "data").read_text() == "not a folder"


def test_val_size_must_leave_training_images(fake10):
    with pytest.raises(ConfigError, match="val_size=50 must be smaller than the 50"):
        _module(root=str(fake10.folder.parent), val_size=50).setup("fit")
    with pytest.raises(ConfigError) as err:
        _module(root=str(fake10.folder.parent), cutout_length=-1)
    assert str(err.value) == (
        "dataset.params.cutout_length=-1 is out of range; accepted: an integer >= 0"
    )


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_config_params_build_the_registered_datamodule(name, monkeypatch, fake10, fake100):
    fake = {"cifar10": fake10, "cifar100": fake100}[name]
    monkeypatch.setenv("SNNATTACK_DATA", str(fake.folder.parent))
    cfg = OmegaConf.load(CONF / "dataset" / f"{name}.yaml")
    params = OmegaConf.to_container(cfg.params, resolve=True)
    params.update(download=False, val_size=5, num_workers=0)
    dm = build_datamodule(cfg.name, 8, 4, 0, **params)
    dm.setup("fit")
    assert len(dm.test_set.classes) == cfg.num_classes
    assert dm.test_set[0][0].shape == (cfg.in_channels, 32, 32)


def test_a_planted_batch_file_is_refused_naming_it_and_never_runs(tmp_path):
    fake = write_cifar10(tmp_path, n_train=10, n_test=4)
    path, marker = fake.folder / "data_batch_2", tmp_path / "code-ran"
    path.write_bytes(pickle.dumps({"data": RunsCode(marker), "labels": []}, protocol=2))
    with pytest.raises(DataError) as info:
        _module(root=str(tmp_path), val_size=2).setup("fit")
    assert str(info.value) == (
        f"CIFAR-10 file {path} needs posix.system, which no CIFAR-10 file holds: refused "
        "without loading it (a pickle that would run code); delete it and set "
        "dataset.params.download=true to download it again"
    )
    assert not marker.exists()


def test_check_files_reads_every_file_of_both_splits_before_any_work(tmp_path, monkeypatch):
    """A job's preflight: a corrupt file of either split, a val_size of every training image
    and a missing folder are refused before the job takes the store's lock to train."""
    fake = write_cifar10(tmp_path, n_train=10, n_test=4)
    _module(root=str(tmp_path), val_size=2).check_files()
    with pytest.raises(ConfigError, match="val_size=10 must be smaller than the 10 training"):
        _module(root=str(tmp_path), val_size=10).check_files()
    (fake.folder / "test_batch").write_bytes(b"\x00not a pickle")
    with pytest.raises(DataError, match=f"^CIFAR-10 file {fake.folder / 'test_batch'} is corrupt"):
        _module(root=str(tmp_path), val_size=2).check_files()
    with pytest.raises(DataError, match="not found: no folder"):
        _module(root=str(tmp_path / "none")).check_files()
    # with download=true a missing folder is the job's to download: nothing is fetched here
    monkeypatch.setattr(cifar, "download_and_extract_archive", lambda *a, **k: pytest.fail())
    _module(root=str(tmp_path / "none"), download=True).check_files()
    assert not (tmp_path / "none").exists()


def test_augmented_batches_are_the_same_at_any_count_of_workers(fake10):
    """Each training sample draws its crop, flip and Cutout from its own seed (its index and
    the epoch's): the batches are the same whichever process loads them, and torch's generator
    in the main process (a random encoding's, dropout's) is left as it was."""

    def epochs(workers: int) -> list[torch.Tensor]:
        dm = _module(root=str(fake10.folder.parent), num_workers=workers, batch_size=8)
        dm.setup("fit")
        loader = dm.train_dataloader()
        drawn = []
        for epoch in range(2):
            loader.sampler.set_epoch(epoch)
            torch.manual_seed(epoch)
            drawn += [x for x, _ in loader]
            if not workers:  # the main process drew the loader's seed and nothing else
                expected = torch.Generator().manual_seed(epoch)
                torch.empty((), dtype=torch.int64).random_(generator=expected)
                assert torch.equal(torch.get_rng_state(), expected.get_state())
        return drawn

    without, with_workers = epochs(0), epochs(2)
    assert len(without) == len(with_workers) == 2 * 5
    assert all(torch.equal(a, b) for a, b in zip(without, with_workers, strict=True))
    assert not torch.equal(without[0], without[5])  # each epoch draws anew
