"""Whether a folder a job writes can be written, asked before any work.

Kept apart from :mod:`snnattack.config.preflight` (which loads torch) so that ``run.py``'s
checks of the command line (:func:`snnattack.runtime.cli.check_hydra_folders`) can ask it of
the job and sweep folders before Hydra makes them.
"""

from __future__ import annotations

import os
from pathlib import Path

from snnattack.errors import ConfigError


def writable(path: Path, what: str, must_exist: bool = True, read_only_ok: bool = True) -> None:
    """Refuses a folder that cannot be written or, if absent, created.

    An existing folder with ``must_exist=False`` (the store) passes: a read-only store may
    hold every model a job needs; with ``read_only_ok=False`` (a job folder, made if absent
    and written if there) it must be writable too. A folder on a filesystem that stores no
    files (``/proc``, ``/sys``) is refused whoever runs the job: root's ``os.access`` says it
    is writable.
    """
    probe = path
    while not must_exist and not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.is_dir() and not _stores_files(probe):
        raise ConfigError(
            f"{what}={str(path)!r} cannot be written ({probe} is on a filesystem that stores "
            "no files, as /proc and /sys); accepted: a folder on a writable filesystem"
        )
    if not must_exist and read_only_ok and probe == path and path.is_dir():
        return
    if probe.is_dir() and os.access(probe, os.W_OK | os.X_OK):
        return
    raise ConfigError(
        f"{what}={str(path)!r} cannot be written ({probe} is not a folder this "
        "user can write); accepted: a writable folder"
    )


def _stores_files(folder: Path) -> bool:
    """Whether ``folder`` lies on a filesystem with storage: the kernel's own (proc, sysfs,
    cgroup) report none (``statvfs``: 0 blocks). True where ``statvfs`` is not (Windows) or
    cannot say."""
    if not hasattr(os, "statvfs"):
        return True
    try:
        return os.statvfs(folder).f_blocks > 0
    except OSError:
        return True
