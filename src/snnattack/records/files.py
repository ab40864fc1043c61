"""Writing the files a job keeps: atomically, and a refused write as one line naming the file.

A full disk, a read-only folder or a missing permission raises an ``OSError`` that often names
no file (a failed ``write`` or ``close``) or a temporary one (fsspec's, inside Lightning's
checkpointing). :func:`writing` turns it into a :class:`~snnattack.errors.WriteError` naming
the destination, and :func:`write_atomic` writes a temporary file beside the destination and
renames it over, so a reader never sees half a file and a failed write leaves the previous
file as it was. A file that processes append lines to (a sweep's ``failures.jsonl``) is read
from where a launch began (:func:`file_size`, :func:`lines_after`).
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from snnattack.errors import WriteError


def write_error(path: str | os.PathLike, err: OSError) -> WriteError:
    """The one line for ``err``, raised while writing ``path``."""
    return WriteError(path, err.strerror or str(err))


@contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Within the block, the file system's refusal of a write becomes a :class:`WriteError`
    naming ``path``, the file (or folder) being written."""
    try:
        yield
    except OSError as err:
        raise write_error(path, err) from None


def write_atomic(path: Path, data: str | bytes) -> None:
    """Writes ``data`` (text as UTF-8) to ``path`` atomically, creating its folder; a failed
    write (:class:`WriteError` naming ``path``) leaves the previous file and no temporary one."""
    write_all({path: data})


def write_all(files: Mapping[Path, str | bytes]) -> None:
    """Writes each of ``files`` (path: data) atomically, and the set as one: each is staged
    beside its path before any is renamed over, so a failed write (:class:`WriteError` naming
    its path: a full disk, a folder in a file's place) leaves every previous file as it was
    and no temporary one (a report's results.csv was rewritten where its report.md failed)."""
    staged: dict[Path, Path] = {}
    try:
        for path, data in files.items():
            with writing(path):
                if path.is_dir():  # renamed over, it fails after the others are
                    raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except FileExistsError:  # a file in the folder's place
                    raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)) from None
                staged[path] = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # per process
                if isinstance(data, bytes):
                    staged[path].write_bytes(data)
                else:
                    staged[path].write_text(data)
        for path, tmp in staged.items():
            with writing(path):
                os.replace(tmp, path)
    except BaseException:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
        raise


def file_size(path: Path) -> int:
    """How many bytes ``path`` holds (0 where there is none): where what is appended from now
    on begins (a launch's own lines of a sweep's ``failures.jsonl`` and ``launches.jsonl``)."""
    return path.stat().st_size if path.is_file() else 0


def lines_after(path: Path, since: int = 0) -> list[str]:
    """The lines of ``path`` after its first ``since`` bytes (:func:`file_size` as a launch
    started); none where there is no file to read."""
    try:
        with path.open("rb") as f:
            f.seek(since)
            return f.read().decode(errors="replace").splitlines()
    except OSError:
        return []


@contextmanager
def held_lock(lock_file: Path, log: logging.Logger, waiting: str) -> Iterator[None]:
    """Holds the file lock ``lock_file`` (one the system frees when its process dies). Where
    another process holds it (a job training a model: hours, at a paper's scale), logs
    ``waiting`` to ``log`` before waiting, or the job would wait without a line. A lock file
    that cannot be opened (a folder in its place, another user's file in a shared store) is a
    :class:`~snnattack.errors.WriteError` naming it: the job's own failure, not a traceback
    that stops a sweep."""
    lock = FileLock(str(lock_file))
    with writing(lock_file):
        try:
            lock.acquire(timeout=0)
        except Timeout:
            log.info(waiting)
            lock.acquire()
    try:
        yield
    finally:
        lock.release()
