"""The jobs of a report's folder that left no result, a line each: a job folder without a
``metrics.json`` (killed, failed), a job a sweep refused (its ``failures.jsonl``), and a job
a launch listed that no folder holds (its ``launches.jsonl``: not run yet, the sweep stopped
before it, or its folder was removed). Each is named in the report, never dropped silently.

A job is known by its overrides but those that do not change its results (the records'
``cosmetic_keys``: a relaunch with ``threads=1`` skips the finished jobs it repeats), within
its own sweep folder (a report over several sweeps matches none across them); a refusal in a
folder that holds results is named where it came after them (a relaunch of other values, or
of another config file, into numbered folders)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from snnattack.records.cosmetic import is_cosmetic
from snnattack.records.failures import FAILURES, failures
from snnattack.records.launches import LAUNCHES, launches, numbered
from snnattack.records.moments import moment
from snnattack.records.results import folder_order


def _overrides(folder: Path) -> list[str] | None:
    """The overrides of the job in ``folder`` (Hydra's ``.hydra/overrides.yaml``), None if
    unreadable."""
    try:
        listed = yaml.safe_load((folder / ".hydra" / "overrides.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return None
    return listed if isinstance(listed, list) and all(isinstance(o, str) for o in listed) else None


def unfinished(root: Path, cosmetic: Sequence[str], made: Mapping[Path, float | None]) -> list[str]:
    """A line for each job under ``root`` that left no result (see the module); ``cosmetic``
    are the keys whose overrides do not tell two jobs apart, ``made`` when each job folder's
    results were made (its record's ``finished``), which a later refusal there came after."""

    def key(overrides: list[str] | None) -> tuple[str, ...] | None:
        if overrides is None:
            return None
        kept = (o for o in overrides if not is_cosmetic(o.lstrip("+~").split("=")[0], cosmetic))
        return tuple(sorted(kept))

    def named(folder: Path) -> str:
        return str(folder.relative_to(root)) if folder != root else "."

    order = lambda p: folder_order(p, root)  # noqa: E731
    folders = sorted((h.parent for h in root.rglob(".hydra")), key=order)
    done = {f: (f / "metrics.json").exists() for f in folders}
    held = {f: key(_overrides(f)) for f in folders}
    sweeps = sorted(
        {p.parent for name in (FAILURES, LAUNCHES) for p in root.rglob(name)}, key=order
    )
    refused = {s: [f for f in failures(s) if "folder" in f] for s in sweeps}
    failed: dict[Path, dict[str, Any]] = {}  # a folder's last failure, of any sweep under root
    for sweep in sweeps:
        failed.update({(sweep / f["folder"]).resolve(): f for f in refused[sweep]})
    lines = []
    for folder in folders:
        if not done[folder]:
            why = failed.get(folder.resolve())
            why = f"failed: {why['error']}" if why else "the job did not finish, or failed"
            lines.append(f"{named(folder)} has no metrics.json ({why})")
    for sweep in sweeps:
        own = [f for f in folders if f.is_relative_to(sweep)]
        ran = {held[f] for f in own if done[f]}  # the sweep's jobs with a result
        where = "" if sweep == root else f" of {named(sweep)}"
        said = set()
        for f in refused[sweep]:
            folder = (sweep / f["folder"]).resolve()
            if folder.exists() and not (folder / "metrics.json").exists():
                continue  # its folder's line says why
            # refused before its work, its folder removed or kept with other results: after
            # those results were made (a refusal's time), else where no job of its overrides ran
            after, before = moment(f.get("time")), made.get(folder)
            if after is not None and before is not None and folder.exists():
                left = after > before
            else:
                left = key(f["overrides"]) not in ran
            if left and (key(f["overrides"]), f["error"]) not in said:
                said.add((key(f["overrides"]), f["error"]))
                overrides = " ".join(f["overrides"])
                lines.append(f"job {f['job']}{where} ({overrides}) failed: {f['error']}")
        accounted = {*(held[f] for f in own), *(key(f["overrides"]) for f in refused[sweep])}
        recorded = launches(sweep)
        for k, launch in zip(numbered(recorded), recorded, strict=True):
            which = where if len(set(numbered(recorded))) == 1 else f" of launch {k}{where}"
            for num, job in enumerate(launch["jobs"]):
                if key(job) not in accounted:
                    accounted.add(key(job))
                    lines.append(
                        f"job {num}{which} ({' '.join(job)}) has no folder: not run (yet), or "
                        "its folder was removed"
                    )
    return lines
