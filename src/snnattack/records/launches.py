"""A sweep folder's launches, ``<sweep dir>/launches.jsonl``: a line per launch into the
folder (its command, as Hydra records it, and each job's overrides), appended by the sweeper
before its first job. Hydra's ``multirun.yaml`` keeps the latest launch alone: a sweep
extended into its folder, or relaunched with other values, read as if the latest launch had
made every job, and a job that never started (the sweep killed before it) left no trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from snnattack.records.files import lines_after

LAUNCHES = "launches.jsonl"


def record_launch(
    sweep_dir: Path,
    hydra: dict[str, Any],
    jobs: list[list[str]],
    settings: list[str | None],
    folders: list[str | None],
) -> None:
    """Appends a launch into ``sweep_dir``: its command (``hydra``: :func:`launch_command`),
    its ``jobs``' overrides, by job number, what each runs (``settings``:
    :func:`~snnattack.records.cosmetic.settings_hash`) and its folder in ``sweep_dir``
    (``folders``, ``hydra.sweep.subdir`` resolved); None where its launch could not say."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"hydra": hydra, "jobs": jobs, "settings": settings, "folders": folders})
    with open(sweep_dir / LAUNCHES, "a") as f:  # one append per launch, from its launching process
        f.write(line + "\n")


def launch_command(hydra: dict[str, Any], mode: str) -> dict[str, Any]:
    """The parts of Hydra's node ``hydra`` (a plain container, unresolved) that say a launch's
    command (``mode``: ``RUN`` or ``MULTIRUN``), laid out as ``multirun.yaml`` holds them: what
    a sweep's :func:`record_launch` and a single run's ``metrics.json`` (``command``) keep for
    the report to rebuild the command (:mod:`snnattack.report.origin`)."""
    return {
        "mode": mode,
        "overrides": hydra["overrides"],
        "job": {"config_name": hydra["job"]["config_name"]},
        "runtime": {
            "config_sources": hydra["runtime"]["config_sources"],
            "cwd": hydra["runtime"]["cwd"],
        },
    }


def launches(sweep_dir: Path, since: int = 0) -> list[dict[str, Any]]:
    """The launches recorded in ``sweep_dir`` after its first ``since`` bytes (a launch's
    own: :func:`~snnattack.records.files.file_size` as it started), oldest first; a line
    that is not one (cut short, edited) is passed over."""
    lines = lines_after(sweep_dir / LAUNCHES, since)
    return [launch for line in lines if (launch := _launch(line)) is not None]


def recorded_overrides(folder: Path, subdir: str = ".hydra") -> list[str] | None:
    """The overrides of the job in ``folder`` as Hydra recorded them in its record folder
    ``subdir`` (``hydra.output_subdir``: ``.hydra/overrides.yaml``); None if unreadable. Where
    Hydra writes no record (``hydra.output_subdir=null``) a sweep's launches say them
    (:func:`launched_overrides`)."""
    try:
        listed = yaml.safe_load((folder / subdir / "overrides.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return None
    return listed if isinstance(listed, list) and all(isinstance(o, str) for o in listed) else None


def launched_overrides(
    recorded: list[dict[str, Any]], settings: str | None, name: str
) -> list[str] | None:
    """The overrides of a job of a sweep whose Hydra wrote no record of it
    (``hydra.output_subdir=null``), from the sweep's launches ``recorded`` (:func:`launches`):
    those the latest launch listed for a job of the job's ``settings`` (the hash its record's
    config has, :func:`~snnattack.records.cosmetic.settings_hash`, as the report matches a
    launch's jobs to their results), the one whose folder is ``name`` (the job folder's path
    in the sweep) where several jobs ran them (a sweep over ``threads``, a cosmetic key). A job
    that left no results (``settings`` None: killed, or failed) is known by its folder alone:
    the latest launch's job of that folder. Where a launch did not record a job's folder (it
    read ``job.id``, or an earlier version wrote the launch), the job's number stands for it
    (Hydra's default, ``hydra.sweep.subdir=${hydra.job.num}``). None where no launch says
    (it could not hash its jobs' settings, or the folder is named otherwise)."""
    for launch in reversed(recorded):
        listed = zip(launch["jobs"], launch["settings"], launch["folders"], strict=True)
        jobs = [
            (str(num) if folder is None else folder, job)
            for num, (job, runs, folder) in enumerate(listed)
            if settings is None or runs == settings
        ]
        by_folder = next((job for folder, job in jobs if folder == name), None)
        if by_folder is not None:
            return by_folder
        if settings is not None and jobs:
            return jobs[0][1]
    return None


def numbered(recorded: list[dict[str, Any]]) -> list[int]:
    """Each launch's number among the distinct commands of ``recorded`` (1 for the first
    command, a relaunch of it 1 again, from whichever folder): the report's numbers of
    launches."""

    def command(launch: dict[str, Any]) -> str:  # where it was typed aside (the cwd)
        hydra = launch["hydra"]
        runtime = hydra.get("runtime") if isinstance(hydra.get("runtime"), dict) else {}
        said = {**hydra, "runtime": {**runtime, "cwd": None}}
        return json.dumps(said, sort_keys=True, default=str)

    commands: dict[str, int] = {}
    for launch in recorded:
        commands.setdefault(command(launch), len(commands) + 1)
    return [commands[command(launch)] for launch in recorded]


def _launch(line: str) -> dict[str, Any] | None:
    try:
        launch = json.loads(line)
    except ValueError:
        return None
    if not isinstance(launch, dict) or not isinstance(launch.get("hydra"), dict):
        return None
    jobs = launch.get("jobs")
    if not isinstance(jobs, list) or not all(
        isinstance(job, list) and all(isinstance(o, str) for o in job) for job in jobs
    ):
        return None
    for key in ("settings", "folders"):  # each job's, None where the launch could not say
        said = launch.get(key)
        if not isinstance(said, list) or len(said) != len(jobs):
            said = [None] * len(jobs)
        launch[key] = [v if isinstance(v, str) else None for v in said]
    return launch
