"""A job folder's record as a run ends (:class:`snnattack.runtime.lifecycle.KeptRecords`):
a skipped finished job keeps the record of the command that made its results; a run that
wrote new results keeps its own, whatever the files' clocks say."""

from __future__ import annotations

import os
import signal
import time
import weakref
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from snnattack.errors import Preempted
from snnattack.records.failures import failures, record_failure
from snnattack.records.launches import record_launch
from snnattack.runtime import lifecycle


@pytest.fixture(autouse=True)
def _process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the callback keeps is the process's: put back after each test (in-process jobs
    of other tests read it: :func:`~snnattack.runtime.lifecycle.launched_here`)."""
    monkeypatch.setattr(lifecycle, "_KEPT", None)
    monkeypatch.setattr(lifecycle, "_REFUSED", None)
    monkeypatch.setattr(lifecycle, "_STAMPS", {})
    monkeypatch.setattr(lifecycle, "_LAUNCH", None)


def _config(folder: Path, subdir: str | None = ".hydra"):
    return OmegaConf.create(
        {"hydra": {"run": {"dir": str(folder)}, "output_subdir": subdir, "job": {"name": "run"}}}
    )


def _finished(folder: Path) -> None:
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("- eps=[32]\n")
    (folder / "metrics.json").write_text('{"results": []}')


def _hydra_writes(folder: Path) -> None:
    """What Hydra writes as the new run starts: its own record."""
    (folder / ".hydra" / "overrides.yaml").write_text("- eps=[16]\n")


def test_a_skipped_job_keeps_the_record_of_the_command_that_made_its_results(
    tmp_path: Path,
) -> None:
    _finished(tmp_path / "job")
    kept = lifecycle.KeptRecords()
    kept.on_run_start(_config(tmp_path / "job"))
    _hydra_writes(tmp_path / "job")
    kept.on_run_end(_config(tmp_path / "job"))  # the job skipped: metrics.json untouched
    assert (tmp_path / "job" / ".hydra" / "overrides.yaml").read_text() == "- eps=[32]\n"


def test_a_run_that_rewrote_its_results_keeps_its_record_whatever_the_clock_says(
    tmp_path: Path,
) -> None:
    """A file system whose times lag the host's (NFS, a coarse clock) once made rewritten
    results look older than the run, and the old command's record came back."""
    job = tmp_path / "job"
    _finished(job)
    kept = lifecycle.KeptRecords()
    kept.on_run_start(_config(job))
    _hydra_writes(job)
    new = job / "metrics.tmp"
    new.write_text('{"results": [1]}')
    os.replace(new, job / "metrics.json")  # written as the job writes it: a new file
    os.utime(job / "metrics.json", (0, 0))  # a clock far behind
    kept.on_run_end(_config(job))
    assert (job / ".hydra" / "overrides.yaml").read_text() == "- eps=[16]\n"


def test_a_skipped_job_of_a_stopped_sweep_keeps_the_record_of_its_results(
    tmp_path: Path,
) -> None:
    """A relaunch (``threads=2``) stopped (Ctrl-C, SIGTERM, kill -9) after it skipped finished
    jobs never ended its callbacks, which alone put their records back: the finished jobs
    kept the relaunch's overrides beside results another command made. A skipped job's
    record now comes back as the job ends, and the launching process puts back the others'
    as it is stopped; a job that wrote new results keeps its own."""
    sweep = tmp_path / "sweep"
    for job in ("0", "1", "2"):
        _finished(sweep / job)
    config = OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(sweep)}, "output_subdir": ".hydra", "job": {"name": "run"}}}
    )
    lifecycle.KeptRecords().on_multirun_start(config)
    _hydra_writes(sweep / "0")
    lifecycle.restore_skipped(sweep / "0")  # job 0 skipped, in this process: as it ends
    assert (sweep / "0" / ".hydra" / "overrides.yaml").read_text() == "- eps=[32]\n"
    _hydra_writes(sweep / "1")  # skipped in a worker process
    _hydra_writes(sweep / "2")
    new = sweep / "2" / "metrics.tmp"
    new.write_text('{"results": [1]}')
    os.replace(new, sweep / "2" / "metrics.json")  # job 2 ran again
    lifecycle.stopped()  # the launch stopped: no on_multirun_end
    assert (sweep / "1" / ".hydra" / "overrides.yaml").read_text() == "- eps=[32]\n"
    assert (sweep / "2" / ".hydra" / "overrides.yaml").read_text() == "- eps=[16]\n"


def test_a_job_refused_in_a_worker_of_a_stopped_sweep_leaves_the_folder_as_it_was(
    tmp_path: Path,
) -> None:
    """A job refused in a joblib worker, in a finished job's folder, leaves the folder to the
    launching process, which put it back only as the sweep ended: stopped (Ctrl-C, SIGTERM)
    before, the finished results lay beside the refused job's record. The stop puts it back."""
    sweep = tmp_path / "sweep"
    _finished(sweep / "0")
    config = OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(sweep)}, "output_subdir": ".hydra", "job": {"name": "run"}}}
    )
    lifecycle.KeptRecords().on_multirun_start(config)
    _hydra_writes(sweep / "0")
    record_failure(sweep, 0, sweep / "0", ["eps=[16]"], "E", refused=True)  # the worker's
    lifecycle.stopped()
    assert (sweep / "0" / ".hydra" / "overrides.yaml").read_text() == "- eps=[32]\n"


def test_a_sweep_put_back_as_it_ended_is_not_put_back_again_by_a_later_stop_or_bug(
    tmp_path: Path,
) -> None:
    """A stop or a bug (:func:`~snnattack.command.main`) after the sweep's end put back its
    folders (in the report or table, or in a later command of the same process) put them
    back a second time, over what a job wrote there since: the record of the job refused
    there, kept as the sweep started, over a later job's own."""
    sweep = tmp_path / "sweep"
    _finished(sweep / "0")
    config = OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(sweep)}, "output_subdir": ".hydra", "job": {"name": "run"}}}
    )
    kept = lifecycle.KeptRecords()
    kept.on_multirun_start(config)
    _hydra_writes(sweep / "0")
    record_failure(sweep, 0, sweep / "0", ["eps=[16]"], "E", refused=True)  # the worker's
    kept.on_multirun_end(config)
    assert (sweep / "0" / ".hydra" / "overrides.yaml").read_text() == "- eps=[32]\n"
    (sweep / "0" / ".hydra" / "overrides.yaml").write_text("- eps=[8]\n")  # a later job's
    lifecycle.stopped()
    assert (sweep / "0" / ".hydra" / "overrides.yaml").read_text() == "- eps=[8]\n"


def test_a_ddp_ranks_process_in_the_jobs_folder_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lightning starts each DDP rank (its ``LOCAL_RANK`` 1, 2, ...) with
    ``hydra.output_subdir=null`` in the job's folder: the process that launched the job keeps
    its record (this one once raised a TypeError, which Hydra printed as a warning in each
    rank). A user's single run with ``hydra.output_subdir=null`` is no rank: it keeps its
    folder (its log), which a refusal puts back."""
    _finished(tmp_path / "job")
    monkeypatch.setenv("LOCAL_RANK", "1")
    kept = lifecycle.KeptRecords()
    kept.on_run_start(_config(tmp_path / "job", subdir=None))
    assert not lifecycle.launched_here()
    kept.on_run_end(_config(tmp_path / "job", subdir=None))
    assert (tmp_path / "job" / ".hydra" / "overrides.yaml").read_text() == "- eps=[32]\n"
    monkeypatch.delenv("LOCAL_RANK")
    kept.on_run_start(_config(tmp_path / "job", subdir=None))
    (tmp_path / "job" / "run.log").write_text("the refused job's line\n")
    assert lifecycle.launched_here() and lifecycle.restore_kept(tmp_path / "job")
    assert not (tmp_path / "job" / "run.log").exists()


def test_a_refused_job_of_a_nested_sweep_folder_gets_its_record_back(tmp_path: Path) -> None:
    """``hydra.sweep.subdir=a/s${seed}``: the finished job two levels down is kept too."""
    job = tmp_path / "sweep" / "a" / "s0"
    _finished(job)
    config = OmegaConf.create(
        {
            "hydra": {
                "sweep": {"dir": str(tmp_path / "sweep")},
                "output_subdir": ".hydra",
                "job": {"name": "run"},
            }
        }
    )
    kept = lifecycle.KeptRecords()
    kept.on_multirun_start(config)
    _hydra_writes(job)
    assert lifecycle.restore_kept(job)  # as a refused job's does
    assert (job / ".hydra" / "overrides.yaml").read_text() == "- eps=[32]\n"


@pytest.mark.parametrize("wrote", [False, True])
def test_a_launch_that_wrote_no_results_leaves_the_sweeps_command_as_it_was(
    tmp_path: Path, wrote: bool
) -> None:
    """A relaunch whose jobs were all refused (or skipped) once re-titled the report with its
    own command (Hydra rewrites ``multirun.yaml`` as it launches)."""
    sweep = tmp_path / "sweep"
    _finished(sweep / "0")
    (sweep / "multirun.yaml").write_text("eps=[16]\n")
    config = OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(sweep)}, "output_subdir": ".hydra", "job": {"name": "run"}}}
    )
    kept = lifecycle.KeptRecords()
    kept.on_multirun_start(config)
    (sweep / "multirun.yaml").write_text("eps=[32]\n")  # Hydra's, as it launches
    if wrote:
        _finished(sweep / "1")  # a new job's results
    kept.on_multirun_end(config)
    assert (sweep / "multirun.yaml").read_text() == ("eps=[32]\n" if wrote else "eps=[16]\n")


@pytest.mark.parametrize("refused", [True, False], ids=["refused", "timed_out"])
def test_only_a_launch_whose_every_job_was_refused_is_undone(tmp_path: Path, refused: bool) -> None:
    """Every job refused as a user's mistake: the launch's records and submitit's logs go
    with the folders it made. A job stopped otherwise (submitit's timeout, whose training a
    relaunch resumes) keeps them: its failure is the report's and the relaunch's to read."""
    sweep = tmp_path / "multirun" / "day" / "sweep"
    config = OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(sweep)}, "output_subdir": ".hydra", "job": {"name": "run"}}}
    )
    kept = lifecycle.KeptRecords()
    kept.on_multirun_start(config)
    sweep.mkdir(parents=True)
    (sweep / "multirun.yaml").write_text("eps=[32]\n")  # Hydra's, as it launches
    record_launch(sweep, {}, [["seed=0"]], [None], [None])
    record_failure(sweep, 0, sweep / "0", ["seed=0"], "E", refused=refused)
    (sweep / ".submitit" / "123").mkdir(parents=True)  # the job's log (submitit's launchers)
    (sweep / ".submitit" / "123" / "123_0_log.err").write_text("error: E\n")
    kept.on_multirun_end(config)
    assert (lifecycle.refused_launch(sweep) is not None) == refused
    assert (tmp_path / "multirun").exists() == (not refused)
    if not refused:
        assert [f["error"] for f in failures(sweep)] == ["E"]


@pytest.mark.parametrize("earlier", [False, True], ids=["new_sweep", "earlier_sweep"])
def test_a_refused_launch_of_nested_job_folders_leaves_no_folder_it_made(
    tmp_path: Path, earlier: bool
) -> None:
    """``hydra.sweep.subdir=a/s${seed}``, every job refused: Hydra made ``a/`` above each job
    folder, which the refused job's folder removal left behind, empty (a new sweep's folder
    stayed, holding it, though "the sweep wrote nothing"); a folder there before the launch
    (an earlier job's ``b/``, an empty ``c/`` or ``.submitit/``) stays."""
    sweep = tmp_path / "multirun" / "sweep"
    if earlier:
        _finished(sweep / "b" / "s9")
        (sweep / "c").mkdir()
        (sweep / ".submitit").mkdir()  # emptied: the launch's logs go, it stays
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    config = OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(sweep)}, "output_subdir": ".hydra", "job": {"name": "run"}}}
    )
    kept = lifecycle.KeptRecords()
    kept.on_multirun_start(config)
    jobs = [["seed=0"], ["seed=1"]]
    sweep.mkdir(parents=True, exist_ok=True)
    record_launch(sweep, {}, jobs, [None, None], [None, None])
    for num, job in enumerate(jobs):
        folder = sweep / "a" / f"s{num}"
        (folder / ".hydra").mkdir(parents=True)  # Hydra's, then the refused job's removal
        lifecycle.discard_job_folder(folder)
        record_failure(sweep, num, folder, job, "E", refused=True)
        (sweep / ".submitit" / f"{num}").mkdir(parents=True)  # the job's log (submitit's)
    kept.on_multirun_end(config)
    assert lifecycle.refused_launch(sweep) is not None
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_a_sweep_without_record_folders_puts_back_its_refused_jobs_folders(
    tmp_path: Path,
) -> None:
    """``hydra.output_subdir=null``: Hydra writes no record folder, and a job folder is one
    holding the job's files (``metrics.json``, its log). The callback once joined the null
    record folder to each path (a TypeError that Hydra printed as a warning as the sweep
    ended), and put nothing back: a job refused in a finished job's folder left its lines in
    the log, and a new nested one left the folder Hydra made above it (``a/``). Both are now
    as they were, as with the default ``.hydra`` record folder."""
    sweep = tmp_path / "sweep"
    (sweep / "0").mkdir(parents=True)
    (sweep / "0" / "metrics.json").write_text('{"results": []}')
    (sweep / "0" / "run.log").write_text("the finished job\n")
    (sweep / "c").mkdir()  # empty, there before the launch

    def tree() -> dict[Path, str | None]:
        return {
            p.relative_to(tmp_path): p.read_text() if p.is_file() else None
            for p in tmp_path.rglob("*")
        }

    before = tree()
    config = OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(sweep)}, "output_subdir": None, "job": {"name": "run"}}}
    )
    kept = lifecycle.KeptRecords()
    kept.on_multirun_start(config)
    jobs = [["seed=0"], ["seed=1"]]
    record_launch(sweep, {}, jobs, [None, None], [None, None])
    with (sweep / "0" / "run.log").open("a") as log:  # Hydra's log of the refused job
        log.write("refused\n")
    record_failure(sweep, 0, sweep / "0", jobs[0], "E", refused=True)
    new = sweep / "a" / "s1"  # hydra.sweep.subdir=a/s${seed}
    new.mkdir(parents=True)
    (new / "run.log").write_text("refused\n")
    lifecycle.discard_job_folder(new)  # the refused job's removal of what Hydra wrote
    record_failure(sweep, 1, new, jobs[1], "E", refused=True)
    kept.on_multirun_end(config)
    assert lifecycle.refused_launch(sweep) is not None
    assert tree() == before


def test_a_skipped_nested_job_leaves_no_folder_its_launch_made(tmp_path: Path) -> None:
    """``hydra.sweep.subdir=a/s${seed}``, a job skipped because another folder of the sweep
    holds its results (``FinishedElsewhere``): its process removed its job folder, in a worker
    too, and left ``a/``, which Hydra made for it, empty. The launch leaves the sweep folder
    as one that made no new results: ``a/`` goes; a new job's folder (its empty logger folder
    too), an empty folder there before the launch and the tools' hidden ones stay."""
    sweep = tmp_path / "sweep"
    _finished(sweep / "s0")  # the results the skipped job finds
    (sweep / "c").mkdir()  # empty, there before the launch
    config = OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(sweep)}, "output_subdir": ".hydra", "job": {"name": "run"}}}
    )
    kept = lifecycle.KeptRecords()
    kept.on_multirun_start(config)
    record_launch(sweep, {}, [["seed=0"], ["seed=1"]], [None, None], [None, None])
    skipped = sweep / "a" / "b" / "s0"
    (skipped / ".hydra").mkdir(parents=True)  # Hydra's, then the skip's removal
    lifecycle.discard_job_folder(skipped)
    _finished(sweep / "a" / "s1")  # a job of the launch that ran: a/ holds it
    (sweep / "a" / "s1" / "csv").mkdir()
    (sweep / ".submitit").mkdir()
    kept.on_multirun_end(config)
    assert not (sweep / "a" / "b").exists()
    assert (sweep / "a" / "s1" / "csv").is_dir() and (sweep / "c").is_dir()
    assert (sweep / ".submitit").is_dir()
    # every job skipped: no folder of the launch's stays
    kept.on_multirun_start(config)
    (sweep / "x" / "s0" / ".hydra").mkdir(parents=True)
    lifecycle.discard_job_folder(sweep / "x" / "s0")
    kept.on_multirun_end(config)
    assert not (sweep / "x").exists()


def test_a_stop_that_lands_in_a_garbage_collections_callback_still_stops() -> None:
    """Ctrl-C between a sweep's jobs often landed in a weakref callback that a garbage
    collection ran (torch's WeakIdKeyDictionary), where Python prints the exception ("Exception
    ignored in ...") and goes on: the sweep ran its next jobs and exited 0. The stop is now
    sent again once the callback has returned, and stops the process."""

    class Thing:
        pass

    thing = Thing()
    with pytest.raises(Preempted) as stopped, lifecycle.stops_as_preemption():
        # the signal's handler runs inside the callback (os.kill checks for signals at once)
        gone = weakref.ref(thing, lambda _: os.kill(os.getpid(), signal.SIGTERM))
        del thing
        assert gone() is None
        time.sleep(5)  # the stop interrupts it
    assert stopped.value.signum == signal.SIGTERM
