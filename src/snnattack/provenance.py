"""What produced a result: package version and git commit, recorded beside every output."""

from __future__ import annotations

import subprocess
from pathlib import Path

from snnattack import __version__


def git_commit() -> str:
    """Commit of the source tree this package runs from (``+dirty`` if modified), or ``unknown``."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=here, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def provenance() -> dict[str, str]:
    """``{"version": ..., "git_commit": ...}`` for result records."""
    return {"version": __version__, "git_commit": git_commit()}
