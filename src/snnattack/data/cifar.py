"""CIFAR-10 / CIFAR-100 datamodules on torchvision's datasets, with the paper's augmentation.

Images are served in [0, 1] without normalisation (the model normalises inside, so attacks
work in pixel space). The validation split is carved from the 50k training images with a
fixed ``split_seed``; the official test batch is used for final numbers only.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset
from torchvision import transforms
from torchvision.datasets import CIFAR10, CIFAR100
from torchvision.datasets.utils import download_and_extract_archive

from snnattack.data.base import Reads, SplitDataModule, register
from snnattack.data.transforms import Cutout
from snnattack.errors import ConfigError, DataError
from snnattack.values import integer

# what unpickling a corrupt, truncated or foreign file raises inside torchvision's loader
_UNREADABLE = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    ImportError,
)


# every class or function the pickle of a CIFAR file names (numpy arrays as numpy 1 and 2,
# Python 2 and 3 pickle them); anything else is a pickle that would run code
_FILE_GLOBALS = {
    (f"numpy.{core}.{module}", name)
    for core in ("core", "_core")
    for module, name in (
        ("multiarray", "_reconstruct"),
        ("multiarray", "scalar"),
        ("numeric", "_frombuffer"),
    )
} | {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}


class _RefusedPickle(pickle.UnpicklingError):
    """A CIFAR file whose pickle names a class or function no CIFAR file holds."""


class _FileUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR file with numpy arrays and plain values only: it never runs code."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _FILE_GLOBALS:
            raise _RefusedPickle(f"{module}.{name}")
        return super().find_class(module, name)


# (path, size, mtime) of the files read safely: their images (0: the meta file) and a digest of
# each image's pixels
_checked: dict[tuple[str, int, int], tuple[int, frozenset[bytes]]] = {}


def _digests(data: np.ndarray) -> frozenset[bytes]:
    """A short digest of each image (row) of ``data``: which images two batches share."""
    return frozenset(hashlib.blake2b(row.tobytes(), digest_size=8).digest() for row in data)


def _unpickled(path: Path) -> object:
    with open(path, "rb") as f:
        return _FileUnpickler(f, encoding="latin1").load()


class _CheckedFiles:
    """Mixin for torchvision's CIFAR classes: presence check instead of md5, DataError on failure.

    torchvision accepts only files with the official md5s (a bare RuntimeError otherwise); with
    every md5 None its check is "every file is present", so re-pickled or subsampled copies
    (the test fixtures) load too, while the downloaded archive is still md5-checked. A missing
    folder or file, a failed download and an unreadable file each raise one :class:`DataError`
    naming the path and the fix.
    """

    title: str  # dataset name in messages
    classes_count: int  # its labels are 0 .. classes_count - 1
    label_key: str  # the key of a batch's labels (CIFAR-100's: its fine labels)
    # set by torchvision's classes
    base_folder: str
    train_list: list[list[str | None]]
    test_list: list[list[str | None]]
    meta: dict[str, str | None]
    url: str
    filename: str
    tgz_md5: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Sets every md5 of the subclass's files (torchvision's lists) to None."""
        super().__init_subclass__(**kwargs)
        cls.train_list = [[name, None] for name, _ in cls.train_list]
        cls.test_list = [[name, None] for name, _ in cls.test_list]
        cls.meta = {**cls.meta, "md5": None}

    def __init__(
        self,
        root: str | Path,
        train: bool = True,
        transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        folder = Path(root).expanduser() / self.base_folder
        if download:
            self.fetch(root)
        self._refuse_missing(folder)
        for path in self._read(folder, train):
            self._check(path)
        try:
            super().__init__(root, train=train, transform=transform)  # type: ignore[call-arg]
        except _UNREADABLE as err:  # a file changed since it was checked
            bad = next((p for p in self._read(folder, train) if not self._readable(p)), folder)
            raise self._refused(bad, f"is corrupt or truncated ({err!r})") from err

    @classmethod
    def fetch(cls, root: str | Path) -> None:
        """Downloads the folder below ``root`` where any of its files is missing."""
        folder = Path(root).expanduser() / cls.base_folder
        if cls._missing(folder):
            cls._download(folder.parent)

    @classmethod
    def check_folder(cls, root: str | Path, download: bool) -> int | None:
        """Checks every file of both splits as :meth:`_check` does, before a job writes
        anything (:meth:`_CIFARDataModule.check_files`); the number of training images. None
        where files are missing and ``download`` fetches them: the download is the job's
        first work, and its files are checked as they are read."""
        folder = Path(root).expanduser() / cls.base_folder
        if download and cls._missing(folder):
            cls._refuse_file_root(folder.parent)
            return None
        cls._refuse_missing(folder)
        for path in cls._read(folder, train=False):
            cls._check(path)
        n_train = sum(cls._check(path) for path in cls._read(folder, train=True))
        cls.refuse_copies(folder)
        return n_train

    @classmethod
    def _read(cls, folder: Path, train: bool) -> list[Path]:
        """The files torchvision's loader reads for the split."""
        batches = cls.train_list if train else cls.test_list
        return [folder / name for name, _ in batches] + [folder / cls.meta["filename"]]

    @classmethod
    def _check(cls, path: Path) -> int:
        """The images of ``path`` (0: the meta file), read without running code before
        torchvision's loader runs whatever a planted file names (``pickle.load``); a file that
        does not unpickle, or holds what no file of this dataset has (:meth:`_problem`), is
        refused naming it. An unchanged file is read once per process (the preflight, then the
        datamodule's three openings of the training split; a batch takes about 0.2 s)."""
        return cls._checked_entry(path)[0]

    @classmethod
    def _checked_entry(cls, path: Path) -> tuple[int, frozenset[bytes]]:
        """:meth:`_check`'s images of ``path`` and the digests of its images (none: meta)."""
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key in _checked:
            return _checked[key]
        try:
            entry = _unpickled(path)
            problem = cls._problem(path, entry)
        except _RefusedPickle as err:
            raise DataError(
                f"{cls.title} file {path} needs {err}, which no {cls.title} file holds: "
                "refused without loading it (a pickle that would run code); delete it and "
                "set dataset.params.download=true to download it again"
            ) from None
        except _UNREADABLE as err:
            empty = stat.st_size == 0  # EOFError('Ran out of input') named no cause
            problem = "is empty (0 bytes)" if empty else f"is corrupt or truncated ({err!r})"
        if problem is not None:
            raise cls._refused(path, problem)
        meta = path.name == cls.meta["filename"]
        _checked[key] = (0, frozenset()) if meta else (len(entry["data"]), _digests(entry["data"]))
        return _checked[key]

    @classmethod
    def refuse_copies(cls, folder: Path) -> None:
        """Refuses a batch of which more than half the images are in the training batches
        before it (one copied over another): a test batch's robustness would be that of what
        the model learned, not of unseen images, and a training batch's images would be
        trained on twice and sit in the validation split, drawn from the training images, as
        unseen ones (a few exact duplicates are the real data's)."""
        train = [folder / name for name, _ in cls.train_list]
        seen: frozenset[bytes] = frozenset()
        for i, path in enumerate(train):
            before = f"the training batches before it ({', '.join(p.name for p in train[:i])})"
            why = "whose images would be trained on twice and validated on as unseen"
            cls._refuse_copy(path, seen, before, why)
            seen |= cls._checked_entry(path)[1]
        every = f"the training batches ({', '.join(p.name for p in train)})"
        for name, _ in cls.test_list:
            why = "on which a test would measure what the model learned"
            cls._refuse_copy(folder / name, seen, every, why)

    @classmethod
    def _refuse_copy(cls, path: Path, seen: frozenset[bytes], held: str, why: str) -> None:
        """Refuses ``path`` where more than half its images are among ``seen``, the images
        that ``held`` names; ``why`` says what such a copy would do."""
        count, rows = cls._checked_entry(path)
        shared = len(rows & seen)
        if 2 * shared > count:
            raise cls._refused(
                path,
                f"holds {shared} of its {count} images in {held}: a copy of training data, {why}",
            )

    @classmethod
    def _names(cls) -> list[str]:
        return [f[0] for f in cls.train_list + cls.test_list] + [cls.meta["filename"]]

    @classmethod
    def _missing(cls, folder: Path) -> list[str]:
        return [name for name in cls._names() if not (folder / name).is_file()]

    @classmethod
    def _refuse_missing(cls, folder: Path) -> None:
        """Refuses a ``folder`` without every file of the dataset, naming the missing."""
        missing = cls._missing(folder)
        if not missing:
            return
        if folder.is_dir():
            problem = f"{cls.title} folder {folder} is incomplete: missing {', '.join(missing)}"
        else:
            problem = f"{cls.title} not found: no folder {folder}"
        raise DataError(
            f"{problem} (expected {', '.join(cls._names())} in it); set "
            "dataset.params.download=true to fetch it, or dataset.params.root to the folder "
            f"holding a complete {cls.base_folder}/"
        )

    @classmethod
    def _refuse_file_root(cls, root: Path) -> None:
        """Refuses a ``root`` to download into that is a file (its cleanup would raise)."""
        if root.exists() and not root.is_dir():
            raise DataError(
                f"dataset.params.root={root} is a file; accepted: a folder to download "
                f"{cls.title} into (or that holds it, with dataset.params.download=false)"
            )

    @classmethod
    def _download(cls, root: Path) -> None:
        """Downloads and extracts the archive into ``root``; a failed download removes what it
        created (the archive's part, the folders), so the next run starts as this one did."""
        cls._refuse_file_root(root)
        made = [p for p in (root, *root.parents) if not p.exists()]
        archive = root / cls.filename
        partial = not archive.exists()
        try:
            download_and_extract_archive(cls.url, str(root), filename=cls.filename, md5=cls.tgz_md5)
        except (OSError, RuntimeError) as err:
            if partial:
                archive.unlink(missing_ok=True)
            for folder in made:  # the deepest first; one that holds anything stays
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
            raise DataError(
                f"could not download {cls.title} from {cls.url} into {root} ({err!r}); "
                f"fetch {cls.filename} by hand, extract it into {root} and set "
                "dataset.params.download=false"
            ) from err

    @classmethod
    def _refused(cls, path: Path, problem: str) -> DataError:
        """The refusal of the file ``path`` of this dataset, which ``problem`` says is bad."""
        return DataError(
            f"{cls.title} file {path} {problem}; delete it and set "
            "dataset.params.download=true to download it again"
        )

    def _readable(self, path: Path) -> bool:
        """Whether ``path`` unpickles into what torchvision's loader expects of it."""
        try:
            return self._problem(path, _unpickled(path)) is None
        except _UNREADABLE:
            return False

    @classmethod
    def _problem(cls, path: Path, entry: Any) -> str | None:
        """What is wrong with ``entry``, the unpickled ``path``, as a file of this dataset (None
        if nothing): the label names of the meta file; a batch's uint8 rows of 3072 pixels
        (at least one), one label each, in 0 .. classes - 1; a dict of other keys, or no dict,
        is a file of another dataset."""
        meta = path.name == cls.meta["filename"]
        keys = (cls.meta["key"],) if meta else ("data", cls.label_key)
        if not isinstance(entry, dict):
            return (
                f"holds a {type(entry).__name__}, not the dict of {' and '.join(map(repr, keys))}"
            )
        if missing := [k for k in keys if k not in entry]:  # a file of another dataset
            held = ", ".join(repr(k) for k in list(entry)[:4]) or "no keys"
            return f"holds no {missing[0]!r} (its keys: {held}; a file of another dataset?)"
        if meta:
            names = entry[cls.meta["key"]]
            ok = isinstance(names, list) and len(names) == cls.classes_count
            return None if ok else f"holds no list of {cls.classes_count} label names"
        data = entry["data"]
        labels = np.asarray(entry[cls.label_key])  # CIFAR-100's own: a CIFAR-10 file has none
        if isinstance(data, np.ndarray) and not data.size:  # its empty labels read as float64
            return (
                f"holds no images (data of shape {list(data.shape)}), where a batch holds uint8 "
                "rows of 3 x 32 x 32 pixels, one label each"
            )
        if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2):
            kind = getattr(data, "dtype", type(data).__name__)
            return f"holds data of {kind}, not uint8 rows of 3 x 32 x 32 pixels"
        if data.shape[1] != 3 * 32 * 32:
            return f"holds rows of {data.shape[1]} values, not 3 x 32 x 32 pixels"
        if labels.dtype.kind not in "iu" or labels.ndim != 1:  # text, floats, nested lists
            return (
                f"holds labels of {labels.dtype} in shape {list(labels.shape)}, not one class "
                f"index in 0 .. {cls.classes_count - 1} per image"
            )
        if len(labels) != len(data):
            return f"holds {len(labels)} labels for {len(data)} images"
        outside = labels[(labels < 0) | (labels >= cls.classes_count)]
        if outside.size:
            return f"holds the label {outside[0]}, outside 0 .. {cls.classes_count - 1}"
        return None


class CheckedCIFAR10(_CheckedFiles, CIFAR10):
    """torchvision's CIFAR10 reading ``<root>/cifar-10-batches-py`` (see :class:`_CheckedFiles`)."""

    title = "CIFAR-10"
    classes_count = 10
    label_key = "labels"


class CheckedCIFAR100(_CheckedFiles, CIFAR100):
    """torchvision's CIFAR100 reading ``<root>/cifar-100-python`` (fine labels)."""

    title = "CIFAR-100"
    classes_count = 100
    label_key = "fine_labels"


class _CIFARDataModule(SplitDataModule):
    """CIFAR in [0, 1], ``[3, 32, 32]``: train / validation (carved from train) / test splits.

    The validation split is ``val_size`` training images drawn once with ``split_seed``
    (independent of the training ``seed``), so every model of a sweep selects checkpoints on
    the same images. Training images are augmented (random crop with ``crop_padding``,
    horizontal flip, Cutout) when ``augment``; validation and test images never are.
    """

    dataset_cls: type[CheckedCIFAR10]

    def __init__(
        self,
        batch_size: int = 64,
        eval_batch_size: int = 32,
        seed: int = 0,
        root: str = "data",
        download: bool = True,
        val_size: int = 5000,
        split_seed: int = 0,
        augment: bool = True,
        crop_padding: int = 4,
        cutout_holes: int = 1,
        cutout_length: int = 16,
        num_workers: int = 2,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed, num_workers)
        for key, value, low in (  # the config's rules refuse these first: a direct caller's
            ("val_size", val_size, 1),
            ("crop_padding", crop_padding, 0),
            ("cutout_holes", cutout_holes, 0),
            ("cutout_length", cutout_length, 0),
        ):
            integer(low).check(f"dataset.params.{key}", value)
        self.root, self.download = root, download
        self.val_size, self.split_seed = val_size, split_seed
        self.augment, self.crop_padding = augment, crop_padding
        self.cutout_holes, self.cutout_length = cutout_holes, cutout_length

    def check_files(self) -> None:
        """Refuses a missing, corrupt or foreign file of either split and a ``val_size`` that
        leaves no training image, before a job writes anything (:meth:`_CheckedFiles.
        check_folder`); with ``download`` a missing folder is the job's to download."""
        n_train = self.dataset_cls.check_folder(self.root, self.download)
        if n_train is not None:
            self._check_val_size(n_train)

    def read_training_data(self, reads: Sequence[Reads] | None = None) -> None:
        """Downloads a missing folder (``download``) before the store's lock is taken and
        checks what arrived as :meth:`check_files` checks a present folder (every file,
        ``val_size``): a failed download or a bad file is refused before any model is trained.
        Whatever ``reads`` limits, the folder is whole: a split's archive is one download."""
        self.fetch_missing()
        self.check_files()

    def fetch_missing(self) -> None:
        if self.download:
            self.dataset_cls.fetch(self.root)

    def prepare_data(self) -> None:
        for train in (True, False):
            self.dataset_cls(self.root, train=train, download=self.download)

    def setup(self, stage: str | None = None) -> None:
        if hasattr(self, "train_set"):
            return
        train_source = self.dataset_cls(self.root, train=True, transform=self._train_transform())
        n_train = len(train_source)
        self._check_val_size(n_train)
        generator = torch.Generator().manual_seed(self.split_seed)
        order = torch.randperm(n_train, generator=generator).tolist()
        val_source = self.dataset_cls(self.root, train=True, transform=transforms.ToTensor())
        self.train_set = Subset(train_source, order[self.val_size :])
        self.val_set = Subset(val_source, order[: self.val_size])
        self.test_set = self.dataset_cls(self.root, train=False, transform=transforms.ToTensor())
        self.dataset_cls.refuse_copies(Path(self.root).expanduser() / self.test_set.base_folder)

    def _check_val_size(self, n_train: int) -> None:
        """Refuses a validation split that leaves no training image of the ``n_train``."""
        if self.val_size >= n_train:
            raise ConfigError(
                f"dataset.params.val_size={self.val_size} must be smaller than the {n_train} "
                f"training images of {self.dataset_cls.title} in {self.root}"
            )

    def _train_transform(self) -> Callable:
        if not self.augment:
            return transforms.ToTensor()
        return transforms.Compose(
            [
                transforms.RandomCrop(32, padding=self.crop_padding),
                transforms.RandomHorizontalFlip(),
                transforms.ToTensor(),
                Cutout(self.cutout_holes, self.cutout_length),
            ]
        )


@register("cifar10", order=20)
class CIFAR10DataModule(_CIFARDataModule):
    """CIFAR-10 from ``<root>/cifar-10-batches-py`` (downloaded there when ``download``)."""

    dataset_cls = CheckedCIFAR10
    FACTS = MappingProxyType({"num_classes": 10, "in_channels": 3, "image_size": 32})


@register("cifar100", order=30)
class CIFAR100DataModule(_CIFARDataModule):
    """CIFAR-100 (100 fine labels) from ``<root>/cifar-100-python``."""

    dataset_cls = CheckedCIFAR100
    FACTS = MappingProxyType({"num_classes": 100, "in_channels": 3, "image_size": 32})
