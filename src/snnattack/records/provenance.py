"""What produced a result: versions, git commit, threads and CPU kernels, recorded beside every
output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import lightning
import torch

from snnattack.package import CONF_DIR, __version__
from snnattack.process.numerics import deterministic, tf32_allowed

PACKAGE = Path(__file__).resolve().parents[1]  # the package's folder
# the files the package reads from its folders: a module, a C kernel, a config
READ = {PACKAGE: ("*.py", "*.c"), CONF_DIR: ("*.yaml",)}


def git_commit(package: Path = PACKAGE, read: dict[Path, tuple[str, ...]] = READ) -> str:
    """Commit of the source tree this package runs from (``package``: its folder), ``+dirty``
    if a tracked file is modified or a file the package reads (``read``: folder -> patterns)
    is one git does not track (the package imports every module of its folders: an added
    attack runs; an editor's swap file or a job's outputs do not count), or ``unknown`` (an
    installed package, even in a virtual environment inside a checkout: its files are not
    the checkout's tracked ones)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=package, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    globs = [str(folder / pattern) for folder, patterns in read.items() for pattern in patterns]
    try:
        git("ls-files", "--error-unmatch", "--", ".")
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
        added = git("status", "--porcelain", "--untracked-files=all", "--", *globs)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if changed or added else "")


# read once, when the process imports the package: the code a sweep's later jobs run is the
# code of this commit even if the tree is changed or committed to while the sweep runs
LOADED_COMMIT = git_commit()


def provenance() -> dict[str, str | int | bool]:
    """Package version, git commit (:data:`LOADED_COMMIT`), torch and Lightning versions,
    torch threads, the instruction set of torch's CPU kernels (``cpu_kernels``: ``AVX512``,
    ``AVX2``, ``DEFAULT`` under ``ATEN_CPU_CAPABILITY=default``; they sum floats in another
    order, so one seed trains other weights), whether CUDA may use TF32 and whether kernels are
    deterministic (``snnattack.process.numerics``), for records."""
    return {
        "version": __version__,
        "git_commit": LOADED_COMMIT,
        "torch": str(torch.__version__),
        "lightning": lightning.__version__,
        "threads": torch.get_num_threads(),
        "cpu_kernels": torch.backends.cpu.get_cpu_capability(),
        "tf32": tf32_allowed(),
        "deterministic": deterministic(),
    }


# what identifies a launch's code and machine, recorded for each launch of a resumed training
LAUNCH = ("git_commit", "version", "torch", "threads", "cpu_kernels")


def launch_provenance() -> dict[str, str | int | bool]:
    """The part of :func:`provenance` that identifies this process's code (git commit, dirty or
    not, and package version) and machine (torch version, threads and CPU kernels): a training
    resumed after a commit or on another machine is reproduced from its record only with each
    launch's."""
    made = provenance()
    return {key: made[key] for key in LAUNCH}
