"""Checkpoint cache: each model is trained once per distinct training configuration.

A model is stored under the hash of everything that affects its training (data, model,
neuron, encoding, recipe, trainer limits, seed). Jobs that need the same model find it there;
the first one trains it under a file lock, so parallel jobs never train it twice, and the
checkpoint is written atomically, so an interrupted job leaves nothing half-written.

Training happens in ``<key>.partial/``. A job killed mid-training leaves its resume file
there (``last.ckpt``), and the next job that needs the model continues from it; a work folder
without one is cleared. A stored model is read without taking the lock, so a read-only store
holding the needed models works. Under DDP only the writer process (rank 0) takes the lock and
writes; the other processes train alongside it and then read what it wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock
from torch import nn

from snnattack.distributed import agree, barrier, is_writer
from snnattack.errors import CheckpointError, UserError

CHECKPOINT = "model.pt"
RESUME_FILE = "last.ckpt"
LOCKS = ".locks"


def spec_key(spec: dict[str, Any]) -> str:
    """Stable short hash of a training specification (JSON, sorted keys)."""
    blob = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


class ModelStore:
    """Folder of trained models, one sub-folder per training-spec hash."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, spec: dict[str, Any]) -> Path:
        return self.root / spec_key(spec)

    def workdir(self, spec: dict[str, Any]) -> Path:
        """Where ``spec``'s model is trained (and can be resumed) before it is stored."""
        folder = self.path(spec)
        return folder.with_name(folder.name + ".partial")

    def get_or_train(
        self,
        spec: dict[str, Any],
        build: Callable[[], nn.Module],
        train: Callable[[Path], tuple[nn.Module, dict[str, Any]]],
    ) -> tuple[nn.Module, dict[str, Any]]:
        """The stored model for ``spec``, training it with ``train(workdir)`` if absent.

        ``build()`` makes an untrained model to load weights into; ``train`` returns the
        trained model and a record (validation accuracy, epochs, ...) kept beside it. A
        ``workdir`` holding :data:`RESUME_FILE` is a killed run's state for ``train`` to resume.
        """
        folder = self.path(spec)
        if agree((folder / CHECKPOINT).exists()):
            return self._cached(folder, build)
        if not is_writer():  # train alongside rank 0, then read what it stored
            train(self.workdir(spec))
            barrier()
            return self._cached(folder, build)
        self._writable()
        (self.root / LOCKS).mkdir(exist_ok=True)
        with FileLock(str(self.root / LOCKS / f"{folder.name}.lock")):
            if (folder / CHECKPOINT).exists():  # another job stored it while we waited
                return self._cached(folder, build)
            model, record = self._train(spec, folder, train)
        barrier()
        return model, {**record, "cached": False}

    def has(self, spec: dict[str, Any]) -> bool:
        """Whether ``spec``'s model is stored."""
        return (self.path(spec) / CHECKPOINT).exists()

    def check(self, specs: list[tuple[dict[str, Any], Callable[[], nn.Module]]]) -> None:
        """Loads the stored ones of ``specs`` (each with its model builder) when any of them
        must still be trained: an unusable stored model is refused before another is
        trained. When all are stored, loading them is the job's first step anyway."""
        if all(self.has(spec) for spec, _ in specs):
            return
        for spec, build in specs:
            if self.has(spec):
                self.load(self.path(spec), build())

    def _train(
        self, spec: dict[str, Any], folder: Path, train: Callable
    ) -> tuple[nn.Module, dict[str, Any]]:
        workdir = self.workdir(spec)
        resumable = (workdir / RESUME_FILE).exists()
        if not resumable:
            shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            model, record = train(workdir)
        except BaseException:
            if not (workdir / RESUME_FILE).exists():  # nothing to resume: leave no folder
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        record = {**record, "spec": spec, "key": folder.name}
        torch.save({"state_dict": model.state_dict(), "record": record}, workdir / CHECKPOINT)
        (workdir / "record.json").write_text(json.dumps(record, indent=2, default=str))
        (workdir / RESUME_FILE).unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(workdir, folder)
        return model, record

    def _writable(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-test-{os.getpid()}"
            probe.touch()
            probe.unlink()
        except OSError as err:
            raise UserError(
                f"store.dir={self.root} is not writable ({err.strerror}); a model must be trained "
                "there: choose a writable folder with store.dir=PATH"
            ) from None

    def _cached(self, folder: Path, build: Callable[[], nn.Module]) -> tuple[nn.Module, dict]:
        model = build()
        record = self.load(folder, model)
        return model, {**record, "cached": True}

    @staticmethod
    def load(folder: Path, model: nn.Module) -> dict[str, Any]:
        """Loads ``folder``'s weights into ``model`` (strictly) and returns its record."""
        path = folder / CHECKPOINT
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            state, record = payload["state_dict"], payload["record"]
        except Exception as err:  # any unreadable file is the same user-facing problem
            raise CheckpointError(
                f"checkpoint {path} is corrupt or unreadable ({type(err).__name__}); "
                f"delete the folder {folder} to retrain it"
            ) from None
        _check_trusted(path, folder, state, record)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0]
            raise CheckpointError(
                f"checkpoint {path} does not fit the configured model ({first}); "
                f"delete the folder {folder} to retrain it"
            ) from None
        return record


def _check_trusted(path: Path, folder: Path, state: dict, record: dict) -> None:
    """Refuses a readable checkpoint that is not this folder's model, or has non-finite weights.

    The folder is named after the hash of the training spec, so the record's key and the hash
    of the record's spec must both be the folder's name: another model's ``model.pt`` copied
    here (e.g. the black-box source into the target's folder) is caught.
    """
    spec = record.get("spec") if isinstance(record, dict) else None
    key = record.get("key") if isinstance(record, dict) else None
    if spec is None or key != folder.name or spec_key(spec) != folder.name:
        raise CheckpointError(
            f"checkpoint {path} holds another model (its record's key is {key!r}, not the "
            f"folder's {folder.name!r}); delete the folder {folder} to retrain it"
        )
    bad = [
        name
        for name, t in state.items()
        if torch.is_tensor(t) and t.is_floating_point() and not torch.isfinite(t).all()
    ]
    if bad:
        raise CheckpointError(
            f"checkpoint {path} has non-finite (NaN or inf) weights in {bad[0]}; delete the "
            f"folder {folder} to retrain it"
        )
