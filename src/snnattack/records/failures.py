"""A sweep's failed jobs, ``<sweep dir>/failures.jsonl``: a line per job refused during a
sweep (its number, folder, overrides and the one-line error), appended by the job wherever it
runs and read where the sweep ends (its summary) and by the report. Every launch into the
folder appends; a launch reads its own lines from the size the file had when it started."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from snnattack.records.files import lines_after
from snnattack.records.moments import now

FAILURES = "failures.jsonl"
REQUIRED = {"job", "overrides", "error"}  # what every line holds, whichever version wrote it
SHOWN = 2  # the other refusals a refused sweep's line shows besides its first job's


def record_failure(
    sweep_dir: Path,
    job: int,
    folder: Path,
    overrides: list[str],
    message: str,
    settings: str | None = None,
    refused: bool = False,
) -> None:
    """Appends one failed job of a sweep (its number, its folder relative to the sweep folder,
    which may be copied or moved, when: :func:`~snnattack.records.moments.now`, what it
    would have run: :func:`~snnattack.records.cosmetic.settings_hash`, None where its config
    does not resolve, and whether it was ``refused`` as a user's mistake (its folder put back),
    rather than stopped, as by submitit's timeout) to ``<sweep_dir>/failures.jsonl``: a launch
    whose every job was refused is undone as it ends
    (:class:`~snnattack.runtime.lifecycle.KeptRecords`)."""
    where = os.path.relpath(folder.absolute(), sweep_dir.absolute())
    line = json.dumps(
        {
            "job": job,
            "folder": where,
            "overrides": overrides,
            "error": message,
            "time": now(),
            "settings": settings,
            "refused": refused,
        }
    )
    with open(sweep_dir / FAILURES, "a") as f:  # one short append: atomic across processes
        f.write(line + "\n")


def failures(sweep_dir: Path, since: int = 0) -> list[dict[str, Any]]:
    """The failed jobs recorded in ``sweep_dir`` after its first ``since`` bytes (a launch's
    own: an earlier launch into the same folder recorded the lines before); a line that is
    not a record (cut short, edited) is passed over."""
    lines = lines_after(sweep_dir / FAILURES, since)
    return [record for line in lines if (record := _record(line)) is not None]


def _record(line: str) -> dict[str, Any] | None:
    """The failed job ``line`` records (its ``folder`` absent in lines written before they
    named it), None if it records none."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or not REQUIRED <= record.keys():
        return None
    overrides, error, folder = record["overrides"], record["error"], record.get("folder", "")
    if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
        return None
    return record if isinstance(error, str) and isinstance(folder, str) else None


def refused_jobs_line(refused: list[tuple[int, list[str], str]], outcome: str, verb: str) -> str:
    """The one line of a sweep whose every job is refused (each job's number, overrides and
    refusal, by job number): the first job's refusal, the sweep's ``outcome``, and the other
    jobs' refusals where they differ (the first few), each with the jobs it refuses. Said
    before the first job (:func:`~snnattack.config.validation.check_sweep`: ``is``) and where
    every job refused itself as it ran, the sweep then left as it was
    (:class:`~snnattack.runtime.lifecycle.KeptRecords`: ``was``)."""
    num, overrides, line = refused[0]
    jobs: dict[str, list[int]] = {}  # each refusal and the jobs it refuses
    for n, _, why in refused:
        jobs.setdefault(why, []).append(n)
    others = [f"{_numbered(ns)}: {why}" for why, ns in jobs.items() if why != line]
    if len(others) > SHOWN:  # one line: the first few, then how many more
        others[SHOWN:] = [f"and {len(others) - SHOWN} more"]
    return (
        f"job {num} ({' '.join(overrides)}): {line}; {outcome}: every one of its "
        f"{len(refused)} jobs {verb} refused"
        + (f" (refused otherwise: {'; '.join(others)})" if others else "")
    )


def _numbered(jobs: list[int]) -> str:
    """The ascending job numbers ``jobs`` in few words, runs as ranges: ``job 1``, ``jobs 1-3,
    7`` (a refusal of 20 jobs of a sweep named in one short phrase)."""
    runs: list[list[int]] = []
    for n in jobs:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    spelt = [str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs]
    return f"job{'s' if len(jobs) > 1 else ''} {', '.join(spelt)}"
