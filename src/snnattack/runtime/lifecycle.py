"""How jobs stop: SIGTERM and Ctrl-C as a clean, resumable stop; one failed job of a sweep does
not stop the others; the sweep ends, where it was launched, with its results and the failed
jobs."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from snnattack.errors import Preempted, UserError
from snnattack.records.cosmetic import settings_hash
from snnattack.records.failures import FAILURES, failures, refused_jobs_line
from snnattack.records.files import file_size, held_lock, writing
from snnattack.records.launches import (
    LAUNCHES,
    launched_overrides,
    launches,
    recorded_overrides,
)
from snnattack.records.results import JobRecord, folder_order, print_table, read_record
from snnattack.runtime.cli import discard_job_folder

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
RESEND_S = 0.01  # a stop that a garbage collection's callback swallowed is sent again after it
SUBMITIT = ".submitit"  # submitit's logs of a sweep's jobs (its launchers' submitit_folder)

log = logging.getLogger(__name__)


@contextmanager
def stops_as_preemption() -> Iterator[None]:
    """Within the block SIGTERM and SIGINT (Ctrl-C) raise :class:`Preempted` (finally-blocks
    run, files close; Lightning's own Ctrl-C handling would exit with code 1 instead). A
    process forked inside it (a DataLoader's worker, which Ctrl-C reaches too) keeps the
    signals' own meaning, which its loop expects: no traceback of each worker. One raised
    where Python ignores an exception (a finalizer or weakref callback that a garbage
    collection runs) is sent again, until it lands where it stops the process."""
    owner = os.getpid()

    def stop(signum: int, frame: object) -> None:
        if os.getpid() != owner:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Preempted(signum)

    hook = sys.unraisablehook

    def unraisable(info: Any) -> None:
        # a stop that Python printed and went on from (torch's WeakIdKeyDictionary, between a
        # sweep's jobs): sent again once this hook has returned, from another thread (a kill
        # from this one runs the handler here, in the hook, at once)
        if isinstance(info.exc_value, Preempted) and os.getpid() == owner:
            again = threading.Timer(RESEND_S, os.kill, (owner, info.exc_value.signum))
            again.daemon = True
            again.start()
            return
        hook(info)

    previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        sys.unraisablehook = hook
        for s, handler in previous.items():
            signal.signal(s, handler)


def run_results_complete(metrics: Path) -> None:
    """Notes that this process's single run holds its results complete in ``metrics`` (its
    ``metrics.json``, written, or a finished one skipped to): a stop after it cuts short only
    what follows (:func:`stop_line`). A sweep's job notes nothing: the sweep's other jobs
    are left to run."""
    global _COMPLETE
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.RUN:
        _COMPLETE = ("run", metrics.absolute())


def sweep_jobs_ended(sweep: Path) -> None:
    """Notes that every job of the sweep into ``sweep`` launched by this process has ended
    (the sweeper's launch returned): a stop in the sweep's end (its leaderboard, report,
    table) leaves no job to resume (:func:`stop_line`)."""
    global _COMPLETE
    _COMPLETE = ("sweep", sweep.absolute())


def forget_complete() -> None:
    """Forgets what an earlier run or sweep of this process held complete, as a command
    starts (the tests run several in one process)."""
    global _COMPLETE
    _COMPLETE = None


def stop_line(stop: Preempted) -> str:
    """The one line of a run or sweep stopped by ``stop`` (SIGTERM, Ctrl-C): a relaunch
    resumes it, unless its results were complete (:func:`run_results_complete`,
    :func:`sweep_jobs_ended`): then what the stop cut short, and what a relaunch still makes."""
    if _COMPLETE is None:
        return f"{stop}; relaunch the same command to resume"
    kind, path = _COMPLETE
    if kind == "sweep":
        return (
            f"{stop} after every job of the sweep had ended (results in {path}): only its end "
            "was cut short (the leaderboard, report, results table or list of failed jobs); "
            "relaunch the same command to make them (finished jobs are skipped)"
        )
    return (
        f"{stop} after the job's results were complete in {path}: only what follows them was "
        "cut short (their table and W&B logging, the report, a benchmark entry); relaunch the "
        "same command to write the report and entry and, where their W&B logging was cut "
        "short, log them (the job is skipped)"
    )


@contextmanager
def running_alone(
    output_dir: Path, finished: Callable[[], JobRecord | None]
) -> Iterator[JobRecord | None]:
    """The job in ``output_dir`` run by this launch alone: yields ``finished()`` (the relaunch
    check: the record a finished job skips to, or None where it runs), asked before the job's
    lock (:func:`job_lock`, which a finished folder thus does not gain) and, in the writing
    process (a DDP job's rank 0: its other ranks run inside it), again under it, held while the
    job runs. A second launch into the folder (two shells, a relaunch while the first runs)
    says so in one line and waits, then skips the job as a relaunch does (or runs it where the
    other launch stopped or failed). A lock of the store's kind: the system frees it when its
    process dies, so a killed launch holds none, and its file stays (another launch may be
    waiting on it) but where the job is refused (a refusal leaves its folder as it was)."""
    from snnattack.process.distributed import is_writer  # torch's: loaded once a job runs

    done = finished()
    if done is not None or not is_writer():
        yield done
        return
    path = job_lock(output_dir)
    # removed if the job is refused, the deepest first
    made = [p for p in (path, *path.parents) if output_dir in p.parents and not p.exists()]
    waiting = f"another launch is running this job in {output_dir} (it holds {path})"
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    with held_lock(path, log, f"{waiting}: waiting for it"):
        try:
            yield finished()
        except UserError:  # refused: its folder left as it was
            for p in made:
                with suppress(OSError):  # a folder another file went into stays
                    p.unlink() if p == path else p.rmdir()
            raise


def job_lock(output_dir: Path) -> Path:
    """The launch lock of the job in ``output_dir``: ``job.lock`` in the job's record folder
    (``hydra.output_subdir``: ``.hydra/job.lock`` by default), or ``.job.lock`` beside its results
    where Hydra writes none (``hydra.output_subdir=null``). A ``.hydra`` folder of its own in a
    job folder with no record there, or its record elsewhere, would be read as a job record
    (:func:`job_folders`)."""
    subdir = HydraConfig.get().output_subdir if HydraConfig.initialized() else ".hydra"
    return output_dir / subdir / "job.lock" if subdir else output_dir / ".job.lock"


def print_results(sweep_dir: Path, subdir: str | None = ".hydra") -> None:
    """One table of every job's results, printed in the launching process (also when the jobs
    ran elsewhere, e.g. on a cluster, and printed their own tables into their logs). Each
    job's swept overrides are those its record folder ``subdir`` (``hydra.output_subdir``)
    holds; where Hydra writes none (``hydra.output_subdir=null``) those the sweep's
    ``launches.jsonl`` lists for its settings (:func:`launched_overrides`)."""
    recorded = launches(sweep_dir) if subdir is None else []
    jobs = []
    for folder in job_folders(sweep_dir, subdir):
        name = folder.relative_to(sweep_dir).as_posix()
        try:
            record = read_record(folder / "metrics.json")
        except (OSError, ValueError, UserError):
            continue
        if subdir is not None:
            overrides = recorded_overrides(folder, subdir)
        else:
            overrides = launched_overrides(recorded, settings_hash(record.config), name)
        if overrides is not None:
            jobs.append((name, overrides, record))
    shared = set.intersection(*(set(o) for _, o, _ in jobs)) if jobs else set()
    rows = []
    for name, overrides, record in jobs:
        swept = " ".join(o for o in overrides if o not in shared)
        cells = {"job": name, "swept": swept, "clean %": f"{record.clean_acc:.2f}"}
        rows += [(cells, r) for r in record.results]
    print_table(f"sweep {sweep_dir}", rows)


def job_folders(sweep: Path, subdir: str | None, job: str = "run") -> list[Path]:
    """The job folders of ``sweep`` (:func:`_is_job_folder`, as the relaunch finds them: a
    killed or failed job's too), at any depth (``hydra.sweep.subdir=lam${lambda}/seed${seed}``),
    in natural order (:func:`~snnattack.records.results.folder_order`), as the report lists
    them."""
    if subdir is not None:  # nothing where sweep is no folder
        found = {p.parent for p in sweep.rglob(subdir) if p.parent != sweep and p.is_dir()}
    else:
        found = {f for f in held_folders(sweep, None, job) if _is_job_folder(f, None, job)}
    return sorted(found, key=lambda folder: folder_order(folder, sweep))


def _is_job_folder(folder: Path, subdir: str | None, job: str) -> bool:
    """Whether ``folder`` is a job's: it holds Hydra's record folder ``subdir`` or, where Hydra
    writes none (``hydra.output_subdir=null``), the job's files (``metrics.json``, the log of
    the job named ``job``, or its lock, :func:`job_lock`)."""
    if subdir is not None:
        return (folder / subdir).is_dir()
    files = ("metrics.json", f"{job}.log", ".job.lock")
    return any((folder / name).is_file() for name in files)


def held_folders(sweep: Path, subdir: str | None, job: str = "run") -> list[Path]:
    """Every folder below ``sweep`` that a job of a launch into it may write its record into:
    its job folders (:func:`_is_job_folder`; their own folders are the job's) and every other
    folder but hidden ones (``.submitit``), such as a job folder that
    holds a file of the user's and no record yet (a copied ``entry.json``): a job refused
    there leaves it as it was too."""
    found = []
    for root, inner, _ in os.walk(sweep):
        folder = Path(root)
        job_folder = folder != sweep and _is_job_folder(folder, subdir, job)
        found += [folder] if folder != sweep else []
        # a job's own folders (its logger's, its figures) hold no other job's
        inner[:] = [] if job_folder else [name for name in inner if not name.startswith(".")]
    return found


class KeptRecords(Callback):
    """Keeps what a job's folder already holds where Hydra writes a job's record (its
    ``.hydra/*.yaml``, and its log, which Hydra appends to) until the new job is accepted: Hydra
    writes them before the job starts, so a job refused in a finished job's folder would leave
    that job's results beside another job's record (:func:`restore_kept` puts them back). A
    single run's folder is kept as it starts (not by a DDP rank's process: the launching one
    keeps it); a sweep's, every folder its sweep folder holds as it starts
    (:func:`held_folders`), in the launching process, which puts back the folders of the
    launch's refused jobs and the records of its skipped ones as it ends (:meth:`put_back`),
    and undoes a launch whose every job was refused (:meth:`_undo`; :func:`refused_launch`: no
    report, one line, exit 2), as a mistake of every job refused before the first
    (:func:`~snnattack.config.validation.check_sweep`) writes nothing."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        global _KEPT, _STAMPS, _LAUNCH
        _STAMPS, _LAUNCH = {}, None
        if int(os.environ.get("LOCAL_RANK") or 0) > 0:  # Lightning's, which it runs with
            return  # hydra.output_subdir=null in the job's folder: the launching one keeps it
        folder = Path(config.hydra.run.dir).absolute()
        made = [p for p in (folder, *folder.parents) if not p.exists()]  # the deepest first
        held = _held(folder, config.hydra.output_subdir, config.hydra.job.name)
        _KEPT = {folder: {**held, **{p: False for p in made}}}
        _STAMPS = {folder: _stamp(folder / "metrics.json")}

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        restore_skipped()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        global _KEPT, _REFUSED, _STAMPS, _LAUNCH
        sweep = Path(config.hydra.sweep.dir).absolute()
        _KEPT, _REFUSED, _LAUNCH = {}, None, self
        self.sweep, self.subdir = Path(config.hydra.sweep.dir), config.hydra.output_subdir
        self.job = config.hydra.job.name
        self.made = [p for p in (sweep, *sweep.parents) if not p.exists()]  # the deepest first
        self.failures_at = file_size(sweep / FAILURES)
        self.launches_at = file_size(sweep / LAUNCHES)
        self.held = {name: (sweep / name).exists() for name in (FAILURES, LAUNCHES)}
        logs = sweep / SUBMITIT
        self.logs = set(os.listdir(logs)) if logs.is_dir() else None  # None: not there
        held = held_folders(sweep, self.subdir, self.job)
        self.folders = set(held)  # what the removal of emptied folders leaves as it was
        for folder in held:
            _KEPT[folder] = _held(folder, self.subdir, self.job)
        self.results = _STAMPS = {folder: _stamp(folder / "metrics.json") for folder in _KEPT}
        # the launch's record, which Hydra rewrites as the jobs launch: the report's command
        self.launch = sweep / "multirun.yaml"
        self.launched = self.launch.read_bytes() if self.launch.is_file() else None
        self.ended = False  # once its end put back what it kept: stopped() does not again

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        global _REFUSED
        sweep = self.sweep
        failed = self.put_back()
        # no job of this launch wrote results (each was skipped or refused): its rows' command,
        # not a refused one's
        now = {f: _stamp(f / "metrics.json") for f in job_folders(sweep.absolute(), self.subdir)}
        if self.launched is not None and all(
            self.results.get(f) == stamp for f, stamp in now.items() if stamp is not None
        ):
            self.launch.write_bytes(self.launched)
        # every job refused, each one's folder put back or gone: the launch made only records
        folders = {(sweep / job["folder"]).absolute() for job in failed}
        put_back = all(f in (_KEPT or {}) or not f.exists() for f in folders)
        if every_job_refused(sweep, failed, self.launches_at) and put_back:
            self._undo(sweep)
            _REFUSED = (sweep.absolute(), sorted(failed, key=lambda job: job["job"]))
        self.ended = True

    def put_back(self) -> list[dict[str, Any]]:
        """Puts back the folders of the launch's failed jobs and the records of the finished
        jobs it skipped, as the sweep ends or is stopped (:func:`stopped`): a job refused or
        skipped in another process (joblib's, submitit's) left its folder, and this process
        knows what each held as the sweep started. Returns the launch's failures."""
        failed = failures(self.sweep, since=self.failures_at)
        for job in failed:
            folder = self.sweep / job["folder"]
            if not restore_kept(folder):
                discard_job_folder(folder)  # the folders made above it: _remove_emptied
        _remove_emptied(self.sweep, self.folders, self.subdir, self.job)
        restore_skipped()
        return failed

    def _undo(self, sweep: Path) -> None:
        """Puts the sweep folder back as it was before this launch, whose every job was
        refused: its ``failures.jsonl`` and ``launches.jsonl`` cut back to their length (or
        gone), its ``multirun.yaml`` as it was (or gone), its jobs' submitit logs
        (``.submitit/<job id>/``) removed, and the folders it made, the sweep folder and those
        above it (``multirun/<date>/``), removed where empty."""
        for name, size in ((FAILURES, self.failures_at), (LAUNCHES, self.launches_at)):
            path = sweep / name
            if not self.held[name]:
                path.unlink(missing_ok=True)
            elif path.is_file():
                with path.open("r+b") as kept:
                    kept.truncate(size)
        if self.launched is None:
            self.launch.unlink(missing_ok=True)
        else:
            self.launch.write_bytes(self.launched)
        logs = sweep / SUBMITIT
        for name in set(os.listdir(logs)) - (self.logs or set()) if logs.is_dir() else ():
            shutil.rmtree(logs / name, ignore_errors=True)
        for folder in ([logs] if self.logs is None else []) + self.made:  # the launch's logs too
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def stopped() -> None:
    """Puts back, in the launching process stopped (Ctrl-C, SIGTERM) or ended by a bug (an
    exception that no job's guard takes as its failure: Hydra's sweeper raises a job's once
    the launch's jobs ended, before the sweep's end), what the sweep's end would have put back
    (:meth:`KeptRecords.put_back`, unless that end already did; a single run's, the record of
    a skipped finished job): such a launch never ends its callbacks."""
    if _LAUNCH is None:
        restore_skipped()
    elif not _LAUNCH.ended:
        _LAUNCH.put_back()


def restore_skipped(output_dir: Path | None = None) -> None:
    """Puts back the record of the finished job in ``output_dir`` (None: of every job folder
    the run or sweep started with) if it was skipped (its results the file they were at the
    launch, not rewritten: compared by inode, size and time, never by a clock): its record
    stays the command that made them; its log keeps the skip. A job calls it as it ends, the
    launching process as it ends or is stopped (:func:`stopped`)."""
    folders = _STAMPS if output_dir is None else {output_dir.absolute()}
    for folder in folders:
        before = _STAMPS.get(folder)
        if before is not None and _stamp(folder / "metrics.json") == before:
            restore_kept(folder, log=False)


def _remove_emptied(sweep: Path, there: set[Path], subdir: str | None, job: str) -> None:
    """Removes the empty folders that this launch made below ``sweep``, outside any job folder
    (:func:`_is_job_folder`), and those above them it made: the parents Hydra made for a nested
    job folder (``hydra.sweep.subdir=a/s${seed}``: ``a/``) of a job refused, or skipped because
    another folder of the sweep holds its results, whose process removed its folder (in a
    worker of joblib's or submitit's launcher too). A folder that was ``there`` as the launch
    started, and the tools' hidden ones (``.submitit/``), stay."""
    top = sweep.absolute()
    for folder in sorted(set(held_folders(top, subdir, job)) - there):
        while folder != top and folder not in there:
            if folder.is_symlink() or not folder.is_dir() or any(folder.iterdir()):
                break  # a link, or a folder that holds something, stays
            try:
                folder.rmdir()
            except OSError:  # another process wrote into it meanwhile
                break
            folder = folder.parent


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """A file's inode, size and modification time (``metrics.json`` is replaced whole when
    written), or None where there is none."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _held(folder: Path, subdir: str | None, job: str) -> dict[Path, bytes | int | bool]:
    """What ``folder`` holds where Hydra writes a job's record (``subdir``, None where it
    writes none: ``hydra.output_subdir=null``; the log of the job named ``job``): each
    ``.hydra`` file's bytes, the log's length, else whether the path was there. The job's
    lock (:func:`job_lock`) is not among them: :func:`running_alone` removes the one it made
    where the job is refused."""
    log = folder / f"{job}.log"
    held: dict[Path, bytes | int | bool] = {log: log.stat().st_size if log.is_file() else False}
    if subdir is not None:  # its files, then the folder itself: put back in this order
        record = folder / subdir
        for path in (record / f"{name}.yaml" for name in ("config", "hydra", "overrides")):
            held[path] = path.read_bytes() if path.is_file() else path.exists()
        held[record] = record.exists()
    return held


def every_job_refused(sweep: Path, failed: list[dict[str, Any]], launches_at: int) -> bool:
    """Whether every job of the launch into ``sweep`` (its record in ``launches.jsonl`` after
    its first ``launches_at`` bytes) was refused as a user's mistake (``failed``: the launch's
    lines of ``failures.jsonl``; a timed-out job's are not). :class:`KeptRecords` undoes such a
    launch as the sweep ends, and the benchmark's leaderboard, asked before it (Hydra ends
    its callbacks last to first), is not made: it would be a second line about nothing."""
    recorded = launches(sweep, since=launches_at)
    if len(recorded) != 1 or not failed:
        return False
    refused = {job["job"] for job in failed if job.get("refused") is True}
    return len(refused) == len(failed) and refused == set(range(len(recorded[0]["jobs"])))


def refused_launch(sweep: Path) -> list[dict[str, Any]] | None:
    """The lines of ``failures.jsonl`` of the sweep into ``sweep`` that is ending in this
    process, by job number, if every job of it was refused and :class:`KeptRecords` undid it
    (its report is not written, its summary one line); None otherwise."""
    if _REFUSED is None or _REFUSED[0] != sweep.absolute():
        return None
    return _REFUSED[1]


def launched_here() -> bool:
    """Whether this process started the run or sweep (not a joblib or submitit worker)."""
    return _KEPT is not None


# by job folder, what it held before Hydra wrote into it: a file's bytes (a log's length),
# else whether it was there; None in a process that did not start the run or sweep (a
# joblib or submitit worker)
_KEPT: dict[Path, dict[Path, bytes | int | bool]] | None = None
# the sweep that this process launched (None: a single run, a worker), which stopped() puts back
_LAUNCH: KeptRecords | None = None
# by job folder, its metrics.json's stamp (_stamp) as the run or sweep started: a job's results
# that the launch did not rewrite were skipped (restore_skipped)
_STAMPS: dict[Path, tuple[int, int, int] | None] = {}
# the sweep folder and failures of a sweep whose every job was refused, once KeptRecords
# undid it, until its summary said them
_REFUSED: tuple[Path, list[dict[str, Any]]] | None = None

# what this process's run or sweep holds complete, which a stop no longer cuts short
# (stop_line): a single run's metrics.json, or a sweep's folder once its jobs ended; None before
_COMPLETE: tuple[str, Path] | None = None

# by job folder, the refusal a callback found as the job started, until its job refuses it
_REFUSED_AT_START: dict[Path, UserError] = {}


def refuse_when_run(output_dir: Path, err: UserError) -> None:
    """Hands the refusal ``err`` of the sweep's job in ``output_dir``, found by a callback as
    the job starts (the benchmark's
    :class:`~snnattack.benchmark.callback.EntryCallback`), to the job itself
    (:func:`refused_at_start`), which refuses it as its own: recorded in ``failures.jsonl``,
    its folder put back, the sweep going on with its other jobs: Hydra calls ``on_job_start``
    outside the job's guard, where a callback's own exit would end the whole sweep."""
    _REFUSED_AT_START[output_dir.absolute()] = err


def refused_at_start(output_dir: Path) -> UserError | None:
    """The refusal a callback handed on for the job in ``output_dir``
    (:func:`refuse_when_run`), once; None if there is none."""
    return _REFUSED_AT_START.pop(output_dir.absolute(), None)


def restore_kept(output_dir: Path, log: bool = True) -> bool:
    """Puts the files that :class:`KeptRecords` found in ``output_dir`` back as they were
    (a log cut back to its length, unless ``log`` is false: a skipped job's lines stay), and
    removes the files and empty folders that were not there (a refused job leaves its folder,
    and the folders above it, as they were). Returns whether the folder stays: it was there
    before the job, or this process did not start the sweep and cannot know (the launching
    process decides as the sweep ends); if not, what Hydra made of it is the caller's to
    remove."""
    folder = output_dir.absolute()
    if _KEPT is None:
        return True
    if folder not in _KEPT or not folder.is_dir():
        return False
    for path, before in _KEPT[folder].items():
        if not log and path.suffix == ".log":
            continue
        if isinstance(before, bytes):
            path.write_bytes(before)
        elif not isinstance(before, bool) and path.is_file():
            with path.open("r+b") as kept:
                kept.truncate(before)
        elif not before and path.is_file():
            path.unlink()
        elif not before and path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return _KEPT[folder].get(folder) is not False


class SweepSummary(Callback):
    """At the end of a multirun: the results of every job its folder holds, one line per job
    of this launch that failed, exit code 2 if any (a relaunch that mends them exits 0)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.failures_at = file_size(Path(config.hydra.sweep.dir) / FAILURES)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        global _REFUSED
        sweep_dir = Path(config.hydra.sweep.dir)
        refused = refused_launch(sweep_dir)
        if refused is not None:  # undone: one line, as a mistake of every job said before them
            _REFUSED = None
            jobs = [(job["job"], job["overrides"], job["error"]) for job in refused]
            line = refused_jobs_line(jobs, "the sweep wrote nothing", "was")
            print(f"error: {line}", file=sys.stderr)
            raise SystemExit(2)
        print_results(sweep_dir, config.hydra.output_subdir)
        failed = failures(sweep_dir, since=self.failures_at)  # this launch's, not earlier ones'
        if not failed:
            return
        print(f"{len(failed)} job(s) of the sweep failed:", file=sys.stderr)
        for f in failed:
            print(f"  job {f['job']} ({' '.join(f['overrides'])}): {f['error']}", file=sys.stderr)
        raise SystemExit(2)
