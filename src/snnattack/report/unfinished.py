"""The jobs of a report's folder that left no result, a line each: a job folder without a
``metrics.json`` (killed, failed, or still running), a job a sweep refused (its
``failures.jsonl``) whose settings have no results in the sweep, and a job a launch listed
whose settings have none (its ``launches.jsonl``: not run yet, the sweep stopped before it,
or its folder was removed). Each is named in the report, never dropped silently.

Within its own sweep folder (a report over several sweeps matches none across them), a job
is known by what it runs (its settings' hash, as its record's is, however its overrides
spelt them); where a line does not hold one (its config read what only its launch sets, or
an earlier version wrote it), by its overrides but those that do not change results (the
``cosmetic_keys``, and the choice of where it runs: ``trainer=``) and the time of its refusal
against the results its folder holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from snnattack.records.cosmetic import is_cosmetic_override
from snnattack.records.failures import FAILURES, failures
from snnattack.records.launches import (
    LAUNCHES,
    launched_overrides,
    launches,
    numbered,
    recorded_overrides,
)
from snnattack.records.moments import moment
from snnattack.records.results import folder_order
from snnattack.runtime.lifecycle import job_folders


def unfinished(
    root: Path,
    cosmetic: Sequence[str],
    made: Mapping[Path, float | None],
    settings: Mapping[Path, str],
) -> list[str]:
    """A line for each job under ``root`` that left no result (see the module). Of each job
    folder with a readable record: when its results were made (``made``) and the hash of its
    settings (``settings``; a folder whose ``metrics.json`` is not among them has its own line,
    that it cannot be read, and no launch's); ``cosmetic`` are the keys whose overrides do not
    tell two jobs apart."""

    def key(overrides: list[str] | None) -> tuple[str, ...] | None:
        if overrides is None:
            return None
        return tuple(sorted(o for o in overrides if not is_cosmetic_override(o, cosmetic)))

    order = lambda p: folder_order(p, root)  # noqa: E731
    sweeps = sorted(
        {p.parent for name in (FAILURES, LAUNCHES) for p in root.rglob(name)}, key=order
    )
    recorded = {sweep: launches(sweep) for sweep in sweeps}
    # a job's folder holds Hydra's record of it (.hydra); a sweep's, where Hydra writes none
    # (hydra.output_subdir=null), the job's files (its log, its lock), as its relaunch finds it
    found = {h.parent for h in root.rglob(".hydra")}
    found |= {f for sweep in sweeps for f in job_folders(sweep, None)}
    folders = sorted(found, key=order)
    done = {f: (f / "metrics.json").exists() for f in folders}

    def overrides(folder: Path) -> list[str] | None:
        """The overrides of ``folder``'s job: its record's, else its launch's (the nearest
        sweep's, by its settings where it has results, else by its number)."""
        if (folder / ".hydra").is_dir():
            return recorded_overrides(folder)
        around = [s for s in sweeps if folder.is_relative_to(s)]
        sweep = max(around, key=lambda s: len(s.parts), default=None)
        if sweep is None:
            return None
        name = folder.relative_to(sweep).as_posix()
        return launched_overrides(recorded[sweep], settings.get(folder.resolve()), name)

    held = {f: key(overrides(f)) for f in folders}  # each folder's job, by its overrides
    refused = {s: [f for f in failures(s) if "folder" in f] for s in sweeps}
    # a folder's last failure, of any sweep under root
    last = {(sweep / f["folder"]).resolve(): f for sweep in sweeps for f in refused[sweep]}
    lines = []
    for folder in folders:
        if not done[folder]:
            why = last.get(folder.resolve())
            why = f"failed: {why['error']}" if why else "the job did not finish (yet), or failed"
            lines.append(f"{folder.relative_to(root)} has no metrics.json ({why})")
    for sweep in sweeps:
        own = [f for f in folders if f.is_relative_to(sweep)]
        ran = {held[f] for f in own if done[f]}
        hashes = {h for folder, h in settings.items() if folder.is_relative_to(sweep.resolve())}
        numbers = numbered(recorded[sweep])
        several = len(set(numbers)) > 1
        where = "" if sweep == root else f" of {sweep.relative_to(root)}"
        launched = {  # (job number, overrides) -> the launches that listed it
            (num, tuple(job)): n
            for n, launch in zip(numbers, recorded[sweep], strict=True)
            for num, job in enumerate(launch["jobs"])
        }
        said = set()
        for f in refused[sweep]:
            folder = (sweep / f["folder"]).resolve()
            if folder.exists() and not (folder / "metrics.json").exists():
                continue  # its folder's line says why
            if f.get("settings") is not None:
                left = f["settings"] not in hashes  # no job of its settings has results
            else:  # a line written before it held them: its overrides, then its time
                after, before = moment(f.get("time")), made.get(folder)
                later = after is not None and before is not None and after > before
                left = key(f["overrides"]) not in ran or (folder.exists() and later)
            seen = (f.get("settings") or key(f["overrides"]), f["error"])
            if left and seen not in said:
                said.add(seen)
                n = launched.get((f["job"], tuple(f["overrides"])))
                which = f" of launch {n}" if several and n is not None else ""
                overrides = " ".join(f["overrides"])
                lines.append(f"job {f['job']}{which}{where} ({overrides}) failed: {f['error']}")
        accounted = {held[f] for f in own} | {key(f["overrides"]) for f in refused[sweep]}
        refusals = {f.get("settings") for f in refused[sweep]}
        # said by their folders: no metrics.json, or one that cannot be read (load_jobs's line)
        pending = {held[f] for f in own if not done[f] or f.resolve() not in settings}
        for n, launch in zip(numbers, recorded[sweep], strict=True):
            which = f" of launch {n}{where}" if several else where
            for num, (job, runs) in enumerate(zip(launch["jobs"], launch["settings"], strict=True)):
                if runs is not None:  # results of its settings in the sweep, or its refusal
                    missing = runs not in hashes | refusals and key(job) not in pending
                else:  # a launch that could not say: its overrides, as a folder holds them
                    missing = key(job) not in accounted
                once = runs if runs is not None else key(job)
                if missing and once not in said:  # one job's settings said once
                    said.add(once)
                    lines.append(
                        f"job {num}{which} ({' '.join(job)}) has no results in the sweep: not "
                        "run (yet), or its folder was removed"
                    )
    return lines
