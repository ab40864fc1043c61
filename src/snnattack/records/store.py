"""Checkpoint cache: each model is trained once per distinct training configuration.

A model is stored under the hash of everything that affects its training (data, model,
neuron, encoding, recipe, trainer limits, seed, the data loader's workers, the validation's
batch size where it decides the checkpoint selected: ``snnattack.training.store_key``). Jobs
that need the same model find it there; the first one trains it under a file lock, so parallel
jobs never train it twice, and the checkpoint is written atomically, so an interrupted job
leaves nothing half-written. A lock file is never deleted (another job may be waiting on it):
a job reads its training data before the lock is taken
(:mod:`snnattack.training.training_data`), so that a user's mistake found there leaves the
store as it was.

Training happens in ``<key>.partial/``. A job killed mid-training leaves its resume file
there (``last.ckpt``), and the next job that needs the model continues from it (the folder
stays until one does, or the user removes it); a work folder without one is cleared, by the
next training of any key where no job holds its lock. The training's checkpoints (its best one
too, which a resume reads back) are removed only once the model is written, the resume file
first, so a job stopped while the model is stored resumes too. A resume file is read as tensors
only (a shared store is writable by others): one that would run code is refused, and a corrupt
one is set aside as ``<key>.corrupt.ckpt`` with a warning and the training restarts. A stored
model is read without taking the lock, so a read-only store holding the needed models works. Its
record (``record.json``, and inside ``model.pt``) holds the digest of the weights written, which a
load compares with the weights read: a file whose tensors changed on disk is refused. Under
DDP only the writer process (rank 0) takes the lock and writes; the other processes train
alongside it, once it has set the work folder up, and then read what it wrote.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from torch import nn

from snnattack.errors import CheckpointError, UserError
from snnattack.process.distributed import agree, barrier, is_writer
from snnattack.records.checkpoints import (
    RefusedFile,
    check_stored_weights,
    load_tensors,
    require_finite,
    torch_bytes,
    unreadable,
    weights_id,
)
from snnattack.records.files import held_lock, write_atomic, write_error

CHECKPOINT = "model.pt"
RESUME_FILE = "last.ckpt"
LOCKS = ".locks"
# how the file system refuses a write: a full disk or quota, a read-only one, no permission
REFUSED_WRITE = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)

log = logging.getLogger(__name__)


def spec_key(spec: dict[str, Any]) -> str:
    """Stable short hash of a training specification (JSON, sorted keys)."""
    blob = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


class ModelStore:
    """Folder of trained models, one sub-folder per training-spec hash. ``key`` is the
    caller's name for ``root`` (a config key, an argument), which its messages give; a
    ``~`` in it is the user's home, as a shell reads it."""

    def __init__(self, root: str | os.PathLike, key: str = "store.dir") -> None:
        self.root, self.key = Path(root).expanduser(), key

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
            if not agree(False):  # rank 0's finding under the lock (below)
                # rank 0 has set its work folder up: a corrupt resume file set aside, a stale
                # folder removed (else this rank could read the file rank 0 is moving away)
                barrier()
                train(self.workdir(spec))
                barrier()
            return self._cached(folder, build)
        self._writable()
        (self.root / LOCKS).mkdir(exist_ok=True)
        lock_file, workdir = self.root / LOCKS / f"{folder.name}.lock", self.workdir(spec)
        waiting = f"another job is training this model into {workdir} (it holds {lock_file})"
        with held_lock(lock_file, log, f"{waiting}: waiting to read it"):
            # another job stored it while we waited: every rank hears it, so none trains or
            # waits at a barrier that rank 0 would not reach
            if agree((folder / CHECKPOINT).exists()):
                return self._cached(folder, build)
            model, record = self._train(spec, folder, train, ready=barrier)
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
        self,
        spec: dict[str, Any],
        folder: Path,
        train: Callable,
        ready: Callable[[], None] = lambda: None,
    ) -> tuple[nn.Module, dict[str, Any]]:
        """Trains ``spec``'s model into its work folder and stores it in ``folder``;
        ``ready()`` runs once the work folder is set up, before the training reads it (under
        DDP the barrier the other ranks wait at before they read it)."""
        workdir = self.workdir(spec)
        if not self._resumable(folder, workdir):
            shutil.rmtree(workdir, ignore_errors=True)
        self._clear_abandoned()
        try:
            workdir.mkdir(parents=True, exist_ok=True)
            ready()
            model, record = train(workdir)
        except OSError as err:
            self._cleared(workdir)
            raise _training_write_error(err, workdir) from None
        except BaseException:
            self._cleared(workdir)
            raise
        record = {**record, "spec": spec, "key": folder.name, "weights": weights_id(model)}
        payload = torch_bytes({"state_dict": model.state_dict(), "record": record})
        write_atomic(workdir / CHECKPOINT, payload)
        write_atomic(workdir / "record.json", json.dumps(record, indent=2, default=str))
        # the resume file first: a resume never runs without the best checkpoint it reads back
        (workdir / RESUME_FILE).unlink(missing_ok=True)
        # the training's Lightning checkpoints, and a write a killed job never renamed (kill -9)
        for left in (*workdir.glob("*.ckpt"), *workdir.glob("*.tmp")):
            left.unlink()
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(workdir, folder)
        return model, record

    def _clear_abandoned(self) -> None:
        """Removes the other keys' work folders that hold no resume file, each under its lock
        where no job holds it (a training in its first epoch has no resume file yet): a job
        killed (``kill -9``, out of memory) before its first epoch ended, or while it stored
        the model, left one, whose settings may never run again (one with a resume file stays:
        docs/running.md says how to remove it)."""
        for workdir in self.root.glob("*.partial"):
            if (workdir / RESUME_FILE).exists() or not workdir.is_dir():
                continue
            lock = FileLock(
                str(self.root / LOCKS / f"{workdir.name.removesuffix('.partial')}.lock")
            )
            try:
                lock.acquire(timeout=0)
            except (Timeout, OSError):  # a job trains it (this one too), or no lock can be had
                continue
            try:
                self._cleared(workdir)
            finally:
                lock.release()

    @staticmethod
    def _cleared(workdir: Path) -> None:
        """Removes a failed training's work folder unless it holds a resume file."""
        if not (workdir / RESUME_FILE).exists():
            shutil.rmtree(workdir, ignore_errors=True)

    @staticmethod
    def _resumable(folder: Path, workdir: Path) -> bool:
        """Whether ``workdir`` holds a resume file to continue from: one that would run code is
        refused (:class:`CheckpointError`), a corrupt one (a truncated copy, a disk that filled)
        set aside beside the work folder, as the module docstring says."""
        resume = workdir / RESUME_FILE
        if not resume.exists():
            return False
        try:
            int(load_tensors(resume)["epoch"])
            return True
        except RefusedFile as err:
            raise CheckpointError(
                f"resume file {resume} {err}; delete it to train this model from scratch"
            ) from None
        except Exception as err:  # truncated, empty, not a checkpoint: set aside and restart
            aside = folder.with_name(f"{folder.name}.corrupt.ckpt")
            os.replace(resume, aside)
            log.warning(
                "resume file %s is corrupt (%s): moved to %s, training restarts from scratch",
                resume,
                type(err).__name__,
                aside,
            )
            return False

    def _writable(self) -> None:
        """Refuses a store folder that cannot be written, naming it by :attr:`key` and what
        stands in its way (a file in its place or a folder's above it: mkdir's error does not)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-test-{os.getpid()}"
            probe.touch()
            probe.unlink()
        except OSError as err:
            above = next((p for p in self.root.parents if p.is_file()), None)
            if self.root.is_file():
                why = "is a file, not a folder"
            elif above is not None:
                why = f"lies under {above}, which is a file, not a folder"
            else:
                why = f"is not writable ({err.strerror})"
            raise UserError(
                f"{self.key}={self.root} {why}; a model must be trained there; accepted: a "
                f"folder on a writable filesystem ({self.key}=PATH)"
            ) from None

    def _cached(self, folder: Path, build: Callable[[], nn.Module]) -> tuple[nn.Module, dict]:
        model = build()
        record = self.load(folder, model)
        return model, {**record, "cached": True}

    @staticmethod
    def load(folder: Path, model: nn.Module) -> dict[str, Any]:
        """Loads ``folder``'s weights into ``model`` (strictly) and returns its record, refusing
        a file that is not the model its folder names, whose weights are not finite, or are
        not those stored (:func:`~snnattack.records.checkpoints.check_stored_weights`)."""
        path, fix = folder / CHECKPOINT, f"delete the folder {folder} to retrain it"
        try:
            payload = load_tensors(path)
            state, record = payload["state_dict"], payload["record"]
        except RefusedFile as err:
            raise CheckpointError(f"checkpoint {path} {err}; {fix}") from None
        except Exception as err:  # any unreadable file is the same user-facing problem
            raise CheckpointError(
                f"checkpoint {path} is corrupt or unreadable ({unreadable(path, err)}); {fix}"
            ) from None
        # the folder is named after its spec's hash, as the record's key and spec must be:
        # another model's ``model.pt`` copied here (the black-box source's) is refused
        spec = record.get("spec") if isinstance(record, dict) else None
        key = record.get("key") if isinstance(record, dict) else None
        if spec is None or key != folder.name or spec_key(spec) != folder.name:
            raise CheckpointError(
                f"checkpoint {path} holds another model (its record's key is {key!r}, not the "
                f"folder's {folder.name!r}); {fix}"
            )
        require_finite(state, f"checkpoint {path}", fix)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0]
            raise CheckpointError(
                f"checkpoint {path} does not fit the configured model ({first}); {fix}"
            ) from None
        check_stored_weights(model, record, f"checkpoint {path}", fix)
        return record


def _training_write_error(err: OSError, workdir: Path) -> OSError | UserError:
    """``err`` raised while training into ``workdir`` as one line naming what was written:
    the destination of a refused write (fsspec's checkpoint is a temporary file moved to its
    place, the destination being the error's second file name), or the work folder where the
    error named no file (a failed ``write``: the training writes only there). Other errors
    (another folder's, a missing file) are returned as they are."""
    destination = err.filename2 or err.filename
    destination = workdir if destination is None else destination
    if err.errno in REFUSED_WRITE and Path(destination).is_relative_to(workdir):
        return write_error(destination, err)
    return err
