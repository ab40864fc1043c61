"""Hydra's launchers and sweepers on the command line: the keys each choice takes, the counts
joblib and submitit fail on, and the basic sweeper's every-override-to-every-job, each refused in
one line before any job or folder (:func:`snnattack.runtime.cli.main`)."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import yaml
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, OverrideType
from hydra.core.plugins import Plugins
from hydra.errors import HydraException

from snnattack.errors import ConfigError, Preempted, WorkerLost
from snnattack.runtime.command_line import (
    choice_names,
    chosen_groups,
    file_hydra,
    multirun,
    parsed_overrides,
    with_file_sweep,
)
from snnattack.values import as_typed, is_int


def sweeper_of(argv: list[str], conf_dir: Path) -> str:
    """The sweeper a run chooses: the command line's ``hydra/sweeper=``, else the ``-cn``
    file's defaults' (``- override hydra/sweeper: basic``), else the package's ``choice``."""
    chosen = chosen_groups(argv, conf_dir).get("hydra/sweeper") or {"choice"}
    return str(next(iter(chosen)))


def check_basic_sweep(argv: list[str], conf_dir: Path) -> None:
    """Refuses, with ``hydra/sweeper=basic`` (the command line's, or the ``-cn`` file's
    defaults') and ``-m``, a setting of one method (analysis) that some jobs of a swept
    ``method=`` (``analysis=``) choose and others do not (``-m hydra/sweeper=basic
    'method=[fgsm],[pgd]' method.pgd.steps=3``): Hydra's basic sweeper gives every override to
    every job, and the FGSM job's refusal would stop the whole sweep (the project's sweeper,
    the default, gives it only to the jobs that choose its method)."""
    if sweeper_of(argv, conf_dir) != "basic" or not multirun(argv, conf_dir):
        return
    overrides = parsed_overrides(argv)
    jobs: dict[str, list[list[str]]] = {}  # each swept group's choices, a list per job
    for override in overrides:
        value = override.value()
        if override.key_or_group in ("method", "analysis") and isinstance(value, ChoiceSweep):
            jobs[override.key_or_group] = [
                [str(n) for n in v] if isinstance(v, list) else [str(v)] for v in value.list
            ]
    for override in overrides:
        found = re.fullmatch(r"(method|analysis)\.([^.]+)\..+", override.key_or_group)
        if found is None or override.is_delete() or found.group(1) not in jobs:
            continue
        group, key = found.groups()
        lacking = [c for c in jobs[group] if key not in c]
        if lacking and len(lacking) < len(jobs[group]):
            raise ConfigError(
                f"{override.input_line} goes to every job with hydra/sweeper=basic (Hydra's "
                f"own), and the jobs of {group}=[{','.join(lacking[0])}] hold no {key}; "
                f"accepted: hydra/sweeper=choice (the default), which gives it only to the "
                f"jobs whose {group}= holds {key}"
            )


def swept_choice_settings(argv: list[str], conf_dir: Path) -> list[str]:
    """``argv`` with each setting of a method (analysis) that a job of a swept ``method=``
    (``analysis=``, on the command line or in the ``-cn`` file's sweep) chooses made a sweep
    of its one value (``analysis.shuffle.mode=neuron`` beside ``-m 'analysis=[shuffle],[cost]'``
    becomes ``analysis.shuffle.mode=choice(neuron)``), for the project's sweeper to give only
    to the jobs that choose it. Hydra composes the sweep's own config from the defaults first
    and applies every plain setting there, where one of a choice the defaults do not hold
    (``analysis`` holds none, ``method`` fgsm and pgd) refuses the whole sweep; a sweep's
    values it leaves to the jobs. A null setting, which no ``choice(...)`` holds, becomes
    ``++key=null`` (:data:`FORCED`), which Hydra's compose adds there, and the sweeper gives
    the jobs that choose it as typed. Run after the checks, which read the command as typed;
    ``argv`` as it is with ``hydra/sweeper=basic`` or without ``-m``."""
    FORCED.clear()  # this command's alone (the tests run several in one process)
    if sweeper_of(argv, conf_dir) == "basic" or not multirun(argv, conf_dir):
        return argv
    swept: dict[str, set[str]] = {}  # each swept group's choices, over all its jobs
    for override in parsed_overrides(with_file_sweep(argv, conf_dir)):  # the -cn file's too
        value = override.value()
        if override.key_or_group in ("method", "analysis") and isinstance(value, ChoiceSweep):
            swept[override.key_or_group] = set(choice_names(value))
    if not swept:
        return argv
    parser, out = OverridesParser.create(), []
    for word in argv:
        out.append(word)
        found = re.fullmatch(r"(method|analysis)\.([^.=]+)\.[^=]+=(.+)", word, re.DOTALL)
        if found is None or found.group(2) not in swept.get(found.group(1), set()):
            continue
        try:
            (override,) = parser.parse_overrides([word])
        except HydraException:
            continue  # Hydra says why, as before
        if override.type != OverrideType.CHANGE or override.is_sweep_override():
            continue
        key, _, text = word.partition("=")
        if override.value() is None:
            out[-1] = f"++{word}"
            FORCED.add(key)
        else:
            out[-1] = f"{key}=choice({text})"
    return out


def typed_setting(word: str) -> str:
    """``word`` as the command line typed it where :func:`swept_choice_settings` made it a
    sweep of its one value (``method.pgd.steps=choice(3)``: ``method.pgd.steps=3``), for the
    command a report shows; any other word as it is."""
    found = re.fullmatch(r"((?:method|analysis)\.[^.=]+\.[^=]+)=choice\((.*)\)", word, re.DOTALL)
    if found is None:
        return word
    try:
        (override,) = OverridesParser.create().parse_overrides([word])
    except HydraException:
        return word
    value = override.value()
    one = isinstance(value, ChoiceSweep) and len(value.list) == 1  # choice(1,2) sweeps two
    return f"{found.group(1)}={found.group(2)}" if one else word


# the keys of the null settings that :func:`swept_choice_settings` gave Hydra with ``++``: the
# project's sweeper (hydra_plugins.snnattack_sweeper, in this process) gives each as typed
FORCED: set[str] = set()


# the launchers' counts (joblib's, submitit's), with what each accepts: joblib and submitit
# take any integer and fail at the sweep's start with a traceback (n_jobs=0: "has no
# meaning", tasks_per_node=0: a job without paths), after its folder was written
LAUNCHER_COUNTS = {
    "n_jobs": (lambda n: n != 0, "an integer other than 0 (jobs at once; -1 = one per core)"),
    **{
        key: (lambda n: n >= 1, "an integer >= 1")
        for key in ("timeout_min", "tasks_per_node", "nodes", "cpus_per_task", "array_parallelism")
    },
    "gpus_per_node": (lambda n: n >= 0, "an integer >= 0"),
}


# a launcher's keys that it reads at one value only, with why (the sweep's record said the other)
LAUNCHER_FIXED = {
    "backend": ("loky", "Hydra's joblib launcher runs loky whatever it says"),
}


def check_launcher_counts(argv: list[str]) -> None:
    """Refuses a launcher's count of :data:`LAUNCHER_COUNTS` on the command line that is no
    integer (Hydra's line names no accepted value) or that the launcher would fail on, and a
    key of :data:`LAUNCHER_FIXED` at another value than the one read, in one line before any
    job or folder."""
    for override in parsed_overrides(argv):
        found = re.fullmatch(r"hydra\.launcher\.(\w+)", override.key_or_group)
        value = override.value()
        if found is None or override.is_sweep_override():
            continue
        if found[1] in LAUNCHER_FIXED and value != (read := LAUNCHER_FIXED[found[1]])[0]:
            raise ConfigError(
                f"{override.key_or_group}={value} is not read: {read[1]}; accepted: {read[0]}, "
                f"or no {override.key_or_group}"
            )
        if found[1] not in LAUNCHER_COUNTS:
            continue
        fits, accepted = LAUNCHER_COUNTS[found[1]]
        if value is None or (isinstance(value, str) and "${" in value):  # Hydra's, or resolved
            continue
        if not is_int(value):
            raise ConfigError(
                f"{override.key_or_group}={as_typed(value)} is not an integer; accepted: {accepted}"
            )
        if abs(value) > 2**31 - 1:  # a C int: joblib's semaphores raise an OverflowError
            raise ConfigError(
                f"{override.key_or_group}={as_typed(value)} is out of range (beyond "
                f"±(2**31 - 1), the largest count the launchers take); accepted: {accepted}"
            )
        if not fits(value):
            raise ConfigError(
                f"{override.key_or_group}={value} is out of range; accepted: {accepted}"
            )


def choice_chain(
    group: str, name: str, conf_dir: Path, seen: frozenset = frozenset()
) -> dict[str, dict | None]:
    """``hydra/<group>=<name>`` and the choices its ``conf/hydra/<group>/`` file's defaults
    name, each in turn (``local_submitit`` is ``submitit_local``'s), with each one's file
    (None: the package has none, a plugin's schema)."""
    file = conf_dir / "hydra" / group / f"{name}.yaml"
    tree = yaml.safe_load(file.read_text()) if file.is_file() and name not in seen else None
    chain = {name: tree if isinstance(tree, dict) else None}
    for entry in (tree.get("defaults") or []) if isinstance(tree, dict) else []:
        if isinstance(entry, str) and entry != "_self_":
            chain |= choice_chain(group, entry, conf_dir, seen | {name})
    return chain


def check_local_tasks(argv: list[str], conf_dir: Path) -> None:
    """Refuses, in a sweep on submitit's local executor (``hydra/launcher=submitit_local`` or
    the package's ``local_submitit``), ``hydra.launcher.tasks_per_node`` above 1 (the command
    line's, else the ``-cn`` file's): that executor starts every task with the whole job, each
    writing the job's ``metrics.json`` into its one folder. A DDP job starts its own processes
    there (``trainer=ddp``); on SLURM the tasks are DDP's ranks (``hydra/launcher=slurm``,
    docs/running.md)."""
    if not multirun(argv, conf_dir):
        return
    names = chosen_groups(argv, conf_dir).get("hydra/launcher") or set()
    if len(names) != 1 or not isinstance(name := next(iter(names)), str):
        return
    if "submitit_local" not in choice_chain("launcher", name, conf_dir):
        return
    launcher = file_hydra(argv, conf_dir).get("launcher")
    tasks = launcher.get("tasks_per_node") if isinstance(launcher, dict) else None
    for override in parsed_overrides(argv):
        if override.key_or_group == "hydra.launcher.tasks_per_node":
            tasks = override.value()
    if is_int(tasks) and tasks > 1:
        raise ConfigError(
            f"hydra.launcher.tasks_per_node={tasks} runs each job {tasks} times at once with "
            f"hydra/launcher={name} (submitit's local executor starts the whole job in every "
            "task, into one folder); accepted: hydra.launcher.tasks_per_node=1 (a DDP job "
            "starts its own processes: trainer=ddp, with hydra.launcher.gpus_per_node = the "
            "GPUs it takes)"
        )


def check_hydra_added(argv: list[str], conf_dir: Path) -> None:
    """Refuses ``+hydra.launcher.<param>=...`` (``++``, ``hydra.sweeper``) where the chosen
    launcher (sweeper) has no ``param``: Hydra adds the key, which that launcher never reads
    (``+hydra.launcher.partition=gpu`` on the basic launcher runs every job here), in the line
    of the same setting without ``+`` (:func:`hydra_param_line`), before any job. A choice
    this cannot read (a plugin not installed, a file of the user's folders) is left alone."""
    chosen = chosen_groups(argv, conf_dir)
    for override in parsed_overrides(argv):
        found = re.fullmatch(r"hydra\.(launcher|sweeper)\.([^.]+).*", override.key_or_group)
        if found is None or not (override.is_add() or override.is_force_add()):
            continue
        group, param = found.groups()
        names = chosen.get(f"hydra/{group}") or {"basic"}  # Hydra's default launcher
        if len(names) != 1 or (name := next(iter(names))) not in hydra_choices(group, conf_dir):
            continue  # a choice this cannot read
        if param not in hydra_choice_keys(group, name, conf_dir):
            raise ConfigError(hydra_param_refusal(group, param, conf_dir))


def hydra_choice_keys(group: str, name: str, conf_dir: Path) -> set:
    """The keys that ``hydra/<group>=<name>`` sets: a plugin's schema (Hydra's config store),
    or a file of ``conf/hydra/<group>/`` with the keys of the choices its defaults name."""
    Plugins.instance()  # the plugins register their schemas when Hydra discovers them
    schemas = ConfigStore.instance().repo.get("hydra", {}).get(group, {})
    keys: set = set()
    for choice, tree in choice_chain(group, name, conf_dir).items():
        stored = schemas.get(f"{choice}.yaml")
        if stored is not None:
            keys |= set(stored.node.keys())
        elif tree is not None:
            keys |= set(tree) - {"defaults"}
    return keys


def hydra_param_line(err: HydraException, conf_dir: Path) -> str | None:
    """``hydra.launcher.partition=gpu`` where the chosen launcher has no ``partition`` (the
    basic one: ``hydra/launcher=slurm`` left out), with the choices that take it: Hydra's
    advice, a ``+``, would add a key that the launcher never reads. None for other errors."""
    found = re.search(r"Could not override 'hydra\.(launcher|sweeper)\.([^.']+)'", str(err))
    if found is None or "not in" not in str(err.__cause__):
        return None
    return hydra_param_refusal(*found.groups(), conf_dir)


def hydra_choices(group: str, conf_dir: Path) -> set[str]:
    """The choices of ``hydra/<group>``: the plugins' (Hydra's config store) and
    ``conf/hydra/<group>/``'s files."""
    Plugins.instance()  # the plugins register their schemas when Hydra discovers them
    stored = ConfigStore.instance().repo.get("hydra", {}).get(group, {})
    names = {n.removesuffix(".yaml") for n in stored}
    return names | {f.stem for f in (conf_dir / "hydra" / group).glob("*.yaml")}


def hydra_param_refusal(group: str, param: str, conf_dir: Path) -> str:
    """The line for ``hydra.<group>.<param>`` that the chosen ``hydra/<group>`` lacks: the
    choices that take it, or that none does."""
    names = hydra_choices(group, conf_dir)
    have = sorted(n for n in names if param in hydra_choice_keys(group, n, conf_dir))
    if not have:
        return (
            f"hydra.{group}.{param} is not a key of any hydra/{group}; accepted: a key of the "
            f"chosen one (python run.py --cfg hydra shows hydra.{group})"
        )
    return (
        f"hydra.{group}.{param} is not a key of the chosen hydra/{group} (it is one of "
        f"hydra/{group}={', '.join(have)}); accepted: hydra/{group}=<one of {', '.join(have)}> "
        "with it"
    )


def timed_out_line(err: BaseException, launcher: Any) -> str | None:
    """The one line for submitit's end of a job that ran past its launcher's ``timeout_min``
    (``UncompletedJobError``: "Job not requeued because: timed-out too many times", raised
    inside the job by submitit's signal handler once its requeues are spent,
    ``hydra/launcher=local_submitit``, ``slurm``), None for any other error: that job's
    failure alone, not the sweep's."""
    kind = type(err)
    if kind.__name__ != "UncompletedJobError" or not kind.__module__.startswith("submitit"):
        return None
    limit = launcher.get("timeout_min") if hasattr(launcher, "get") else None
    ran = f"hydra.launcher.timeout_min={limit}" if limit is not None else "its launcher's limit"
    return (
        f"the job ran past {ran} (submitit: {str(err).strip().rstrip('.')}); accepted: a "
        "larger hydra.launcher.timeout_min, or the same command relaunched, which skips the "
        "finished jobs and resumes this one's training after its last finished epoch"
    )


RESUME = (
    "relaunch the same command to resume (finished jobs are skipped, a training resumes after "
    "its last finished epoch)"
)


def worker_lost(err: BaseException) -> WorkerLost | None:
    """The launcher's error for a process of the sweep that stopped while it ran a job,
    raised in the launching process, as :class:`WorkerLost`; None for any other error.
    joblib's ``TerminatedWorkerError`` (a worker of ``hydra/launcher=parallel`` or
    ``joblib`` killed: out of memory) names the workers' exit codes (``SIGKILL(-9)``);
    submitit's ``UncompletedJobError`` for a task that left no result (``local_submitit``,
    ``slurm``: killed) names the job, its state and its log. A job's own errors never come
    this way: Hydra's run of the job returns them. But a worker's job stopped by a signal sent
    to that worker alone (``kill`` of its pid: SIGTERM, SIGINT) ends, quiet as a stopped
    launch's workers are, in ``SystemExit(128 + n)``, which joblib raises again here (its
    cause the worker's traceback): the launching process, not stopped itself, ended in it
    without a line, exit code 143 as if it had been; it names the signal as the worker's."""
    kind = type(err)
    cause = type(err.__cause__)
    if (
        isinstance(err, SystemExit)
        and err.code in (128 + signal.SIGTERM, 128 + signal.SIGINT)
        and cause.__module__.startswith("joblib")
    ):
        name = signal.Signals(int(err.code) - 128).name
        return WorkerLost(
            f"a worker process of the sweep's joblib launcher was stopped by {name} while it "
            f"ran a job, and joblib stopped the jobs running beside it; {RESUME}"
        )
    if kind.__name__ == "TerminatedWorkerError" and kind.__module__.startswith("joblib"):
        found = re.search(r"exit codes of the workers are \{(.+?)\}", str(err))
        codes = found.group(1) if found else "exit code unknown"
        why = ": the machine's out-of-memory killer, or a kill -9" if "SIGKILL" in codes else ""
        return WorkerLost(
            f"a worker process of the sweep's joblib launcher stopped ({codes}{why}), and "
            f"joblib stopped the jobs running beside it; {RESUME}"
        )
    if kind.__name__ == "UncompletedJobError" and kind.__module__.startswith("submitit"):
        found = re.search(  # submitit's words for a task that left no result (killed)
            r"Job (\S+) \(task: (\d+)\) with path (\S+)_result\.pkl\s+has not produced any output "
            r"\(state: ([^)]*)\)",
            str(err),
        )
        if found is None:
            return None
        job, task, path, state = found.groups()
        return WorkerLost(
            f"submitit's job {job} (task {task}) stopped without its result (killed, e.g. out "
            f"of memory; submitit's state: {state}; its log: {path}_log.out); the sweep's other "
            f"jobs run on, their results in its folder once they end; then {RESUME}"
        )
    return None


STOP_WAIT_S = 60.0  # how long a stopped launch waits for its local jobs to stop (s)


@contextmanager
def local_jobs_stop_with_the_launch() -> Iterator[None]:
    """Within the block, a stop of the launching process (SIGTERM, Ctrl-C: :class:`Preempted`)
    stops the jobs that submitit's local executor started from it (``local_submitit``,
    ``submitit_local``) before it ends: each job's controller is sent SIGTERM, which it
    forwards to its tasks, so each job stops as a stopped job does (resumable), and the
    launch waits up to :data:`STOP_WAIT_S` for them (without it they run on, beside a
    relaunch's). submitit's function that starts a controller is wrapped to know them."""
    from submitit.local import local

    started: list[subprocess.Popen] = []
    start = local.start_controller

    def recorded(*args: Any, **kwargs: Any) -> subprocess.Popen:
        process = start(*args, **kwargs)
        started.append(process)
        return process

    local.start_controller = recorded
    try:
        yield
    except Preempted:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # its controller forwards it to its tasks
        deadline = time.monotonic() + STOP_WAIT_S
        for process in started:
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        raise
    finally:
        local.start_controller = start
