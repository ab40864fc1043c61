"""What produced a result: versions, git commit and threads, recorded beside every output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import lightning
import torch

from snnattack.package import __version__
from snnattack.process.numerics import deterministic, tf32_allowed

HERE = Path(__file__).resolve().parent  # the package's files


def git_commit(here: Path = HERE) -> str:
    """Commit of the source tree this package runs from (``here``: its files), ``+dirty`` if
    a tracked file is modified or the tree's ``src/`` or ``conf/`` holds a file git does not
    track (the package imports every module of its folders: an added attack runs), or
    ``unknown`` (an installed package, even in a virtual environment inside a checkout: its
    files are not the checkout's tracked ones)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=here, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        git("ls-files", "--error-unmatch", "--", ".")
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
        added = git("status", "--porcelain", "--untracked-files=all", "--", ":/src", ":/conf")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if changed or added else "")


# read once, when the process imports the package: the code a sweep's later jobs run is the
# code of this commit even if the tree is changed or committed to while the sweep runs
LOADED_COMMIT = git_commit()


def provenance() -> dict[str, str | int | bool]:
    """Package version, git commit (:data:`LOADED_COMMIT`), torch and Lightning versions,
    torch threads, whether CUDA may use TF32 and whether kernels are deterministic
    (``snnattack.process.numerics``), for records."""
    return {
        "version": __version__,
        "git_commit": LOADED_COMMIT,
        "torch": str(torch.__version__),
        "lightning": lightning.__version__,
        "threads": torch.get_num_threads(),
        "tf32": tf32_allowed(),
        "deterministic": deterministic(),
    }
