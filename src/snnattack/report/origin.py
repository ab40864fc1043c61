"""Where a report's numbers come from: the command that ran the sweep, its code and date.

Hydra records each launch: a sweep folder holds ``multirun.yaml`` (the composed config with
its ``hydra`` node: the latest launch's), a single job's folder ``.hydra/hydra.yaml``; the
sweeper keeps every launch into a sweep folder (``launches.jsonl``), and a single run's
``metrics.json`` the same parts of its node (``command``: where Hydra writes no record,
``hydra.output_subdir=null``). They name the config file (``-cn``), its folder (``-cd``) and the
command-line overrides, from which the command and the report's title are rebuilt. The code
is the jobs' ``version`` and ``git_commit`` (``metrics.json``), the date when the newest
results were made (their ``finished``).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from snnattack.records.cosmetic import is_cosmetic_override
from snnattack.records.launches import launches, numbered
from snnattack.report.collect import Job, jobs_cosmetic, made_at, short_commit
from snnattack.runtime.launchers import typed_setting


@dataclass(frozen=True)
class Origin:
    """The title, command, commits and date of a report."""

    title: str
    command: str
    commits: tuple[str, ...]
    date: str
    versions: tuple[str, ...] = ()
    # the commands launched into the folder, numbered from 1, where they are several (a sweep
    # extended or relaunched there with other values); or, for a folder that holds several
    # sweeps (``below``), those launched into each
    launches: tuple[str, ...] = ()
    below: tuple[str, ...] = ()  # each launch's sweep folder, relative to the report's

    def launches_text(self) -> str:
        """The line that lists :attr:`launches`, numbered from 1 (empty where none); those
        of several sweeps by folder, numbered within their folder where it had several, as
        the report's left-out lines number them (``job 1 of launch 2 of <folder>``)."""
        if not self.launches:
            return ""
        if self.below:
            said = []
            for folder in dict.fromkeys(self.below):
                own = [
                    f"`{c}`" for c, b in zip(self.launches, self.below, strict=True) if b == folder
                ]
                if len(own) > 1:
                    own = [f"{n} {c}" for n, c in enumerate(own, 1)]
                said.append(f"{folder}: {', '.join(own)}")
            return f"Launches in its folders: {'; '.join(said)}."
        commands = "; ".join(f"{n} `{c}`" for n, c in enumerate(self.launches, 1))
        return f"Launches into this folder: {commands}."

    def code_text(self) -> str:
        """The package's versions and the commits, shortened (:func:`short_commit`), each
        ``unknown`` where no job recorded one."""
        short = [short_commit(c) for c in self.commits]
        versions = ", ".join(self.versions) or "unknown"
        return f"snnattack {versions} · commit {', '.join(short) or 'unknown'}"

    def line(self) -> str:
        """One line for the top of the report: command, package version, commit(s), date."""
        return f"`{self.command}` · {self.code_text()} · results of {self.date}"


def _hydra_node(folder: Path) -> dict | None:
    """The ``hydra`` node Hydra recorded for ``folder`` (a sweep or a single job); where it
    wrote none of a single run (``hydra.output_subdir=null``), the parts that say its command,
    which its ``metrics.json`` keeps (``command``)."""
    for path in (folder / "multirun.yaml", folder / ".hydra" / "hydra.yaml"):
        try:
            node = yaml.safe_load(path.read_text()).get("hydra")
        except (OSError, yaml.YAMLError, AttributeError):
            continue
        if isinstance(node, dict):
            return node
    try:
        node = json.loads((folder / "metrics.json").read_text()).get("command")
    except (OSError, ValueError, AttributeError):
        return None
    return node if isinstance(node, dict) else None


def _config_dir(hydra: dict) -> str | None:
    """The ``-cd`` folder (relative to the launch folder when below it): Hydra records it as
    the config source of provider ``command-line`` (``main`` is run.py's own ``conf/``)."""
    sources = (hydra.get("runtime") or {}).get("config_sources") or []
    given = next((s.get("path") for s in sources if s.get("provider") == "command-line"), None)
    if not given:
        return None
    cwd = (hydra.get("runtime") or {}).get("cwd")
    try:
        return str(Path(given).relative_to(cwd)) if cwd else given
    except ValueError:
        return given


def _command(hydra: dict, folder: Path, cosmetic: Sequence[str]) -> tuple[str, str]:
    """The title and the command of the launch Hydra's node ``hydra`` records: the title
    leaves out the overrides that change no result (``cosmetic``, the config's
    ``cosmetic_keys``, and the ``trainer=`` choice: where files go, where the data is read
    from and how), the command keeps every one."""
    overrides = hydra.get("overrides") or {}
    task = [typed_setting(str(o)) for o in overrides.get("task") or []]
    name = (hydra.get("job") or {}).get("config_name") or "config"
    what = [o for o in task if not is_cosmetic_override(o, cosmetic)]
    title = " ".join(what) or ("defaults" if hydra else folder.name)
    words = ["python", "run.py"]
    if hydra.get("mode") == "MULTIRUN" or (folder / "multirun.yaml").exists():
        words.append("-m")
    if name != "config":
        cd = _config_dir(hydra)
        words += [*(["-cd", cd] if cd else []), "-cn", name]
        title = name + (f": {' '.join(what)}" if what else "")
    hydra_overrides = [o for o in overrides.get("hydra") or [] if not o.startswith("hydra.mode=")]
    words += [*task, *hydra_overrides]
    command = shlex.join(words) if hydra else "not recorded (no Hydra record in the folder)"
    return title, command


def _recorded_below(folder: Path, jobs: list[Job]) -> list[Path]:
    """The folders below ``folder`` whose Hydra record says what ran its jobs, in the jobs'
    order: each job's sweep (the nearest folder above it that holds ``multirun.yaml``), else
    the job's own folder (a single run's)."""
    found: dict[Path, None] = {}
    for job in jobs:
        path = folder / job.name
        ups = [p for p in (path, *path.parents) if p != folder and p.is_relative_to(folder)]
        sweep = next((p for p in ups if (p / "multirun.yaml").is_file()), path)
        if sweep != folder and _hydra_node(sweep) is not None:
            found[sweep] = None
    return list(found)


def _launched(folder: Path, cosmetic: Sequence[str]) -> tuple[str, ...]:
    """The distinct commands launched into the sweep ``folder`` (its ``launches.jsonl``), in
    the order :func:`~snnattack.records.launches.numbered` numbers them; empty where it
    recorded none."""
    recorded = launches(folder)
    distinct = {n: launch["hydra"] for n, launch in zip(numbered(recorded), recorded, strict=True)}
    return tuple(_command(distinct[n], folder, cosmetic)[1] for n in sorted(distinct))


def origin(folder: Path, jobs: list[Job]) -> Origin:
    """What produced the report of ``folder``: its title, command (and every command
    launched into it, where several were: :mod:`snnattack.records.launches`), commits and
    date. A folder without a record of its own that holds sweeps or single runs
    (``multirun/<date>/`` over a sweep and its rerun) takes theirs: the first one's title and
    command, and each one's launches listed (every command an extended sweep's records)."""
    cosmetic = jobs_cosmetic(jobs)
    own = _hydra_node(folder)
    title, command = _command(own or {}, folder, cosmetic)
    commands = _launched(folder, cosmetic)
    below: tuple[str, ...] = ()
    if len(commands) > 1:
        others = len(commands) - 1
        title += f" (+ {others} other launch{'es' if others > 1 else ''})"
    else:
        commands = ()
    if own is None and (sweeps := _recorded_below(folder, jobs)):
        title, command = _command(_hydra_node(sweeps[0]) or {}, sweeps[0], cosmetic)
        # each sweep's launches (an extended one's every command), else its record's command
        each = {
            s: _launched(s, cosmetic) or (_command(_hydra_node(s) or {}, s, cosmetic)[1],)
            for s in sweeps
        }
        if (others := sum(map(len, each.values())) - 1) > 0:
            title += f" (+ {others} other launch{'es' if others > 1 else ''} in {folder.name})"
            commands = tuple(c for said in each.values() for c in said)
            below = tuple(str(s.relative_to(folder)) for s, said in each.items() for _ in said)
    commits = tuple(dict.fromkeys(str(j.record.git_commit) for j in jobs if j.record.git_commit))
    versions = tuple(dict.fromkeys(str(j.record.version) for j in jobs if j.record.version))
    stamps = [made_at(j, folder) for j in jobs]
    newest = datetime.fromtimestamp(max(stamps, default=0), timezone.utc)
    date = newest.strftime("%Y-%m-%d %H:%M UTC") if stamps else "unknown"
    return Origin(title, command, commits, date, versions, commands, below)
