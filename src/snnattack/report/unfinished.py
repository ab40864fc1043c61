"""The jobs of a report's folder that left no result, a line each: a job folder without a
``metrics.json`` (killed, failed), a job a sweep refused (its ``failures.jsonl``), and a job
a launch listed that no folder holds (its ``launches.jsonl``: the sweep stopped before it, or
its folder was removed). Each is named in the report, never dropped silently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from snnattack.records.failures import FAILURES, failures
from snnattack.records.launches import LAUNCHES, launches
from snnattack.records.results import folder_order


def _key(overrides: list[str]) -> tuple[str, ...]:
    """A job by its overrides, whatever their order."""
    return tuple(sorted(overrides))


def _overrides(folder: Path) -> tuple[str, ...] | None:
    """The overrides of the job in ``folder`` (Hydra's ``.hydra/overrides.yaml``), None if
    unreadable."""
    try:
        listed = yaml.safe_load((folder / ".hydra" / "overrides.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return None
    ok = isinstance(listed, list) and all(isinstance(o, str) for o in listed)
    return _key(listed) if ok else None


def _failures(root: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Each failed job that the sweep folders under ``root`` recorded, with the folder it
    names (lines written before they named it are passed over)."""
    return [
        ((p.parent / f["folder"]).resolve(), f)
        for p in sorted(root.rglob(FAILURES))
        for f in failures(p.parent)
        if "folder" in f
    ]


def unfinished(root: Path) -> list[str]:
    """A line for each job under ``root`` that left no result: see the module."""

    def named(folder: Path) -> str:
        return str(folder.relative_to(root)) if folder != root else "."

    folders = sorted((h.parent for h in root.rglob(".hydra")), key=lambda p: folder_order(p, root))
    done = {f: (f / "metrics.json").exists() for f in folders}
    held = {f: _overrides(f) for f in folders}
    ran = {held[f] for f in folders if done[f]}  # jobs with a result, wherever they ran
    failed = _failures(root)
    latest = {folder: f for folder, f in failed}  # a folder's last failure
    lines = []
    for folder in folders:
        if not done[folder]:
            why = latest.get(folder.resolve())
            why = f"failed: {why['error']}" if why else "the job did not finish, or failed"
            lines.append(f"{named(folder)} has no metrics.json ({why})")
    for folder, f in latest.items():
        # refused before its work: its folder removed, or kept with another job's results
        left = not folder.exists() or (folder / "metrics.json").exists()
        if left and _key(f["overrides"]) not in ran:
            lines.append(f"job {f['job']} ({' '.join(f['overrides'])}) failed: {f['error']}")
    accounted = {*held.values(), *(_key(f["overrides"]) for _, f in failed)}
    for path in sorted(root.rglob(LAUNCHES)):
        recorded = launches(path.parent)
        where = "" if path.parent == root else f" of {named(path.parent)}"
        for k, launch in enumerate(recorded, 1):
            which = where if len(recorded) == 1 else f" of launch {k}{where}"
            for num, job in enumerate(launch["jobs"]):
                if _key(job) not in accounted:
                    accounted.add(_key(job))
                    lines.append(
                        f"job {num}{which} ({' '.join(job)}) never ran: no folder holds it (the "
                        "sweep stopped before it, or its folder was removed)"
                    )
    return lines
