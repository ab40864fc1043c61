"""The launchers' settings that run a sweep other than it says, refused before any job, and
a job that ran past its launcher's time limit, a failure of its own
(:mod:`snnattack.runtime.launchers`)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import harness
import pytest
from omegaconf import DictConfig

import snnattack.job
from snnattack.errors import ConfigError
from snnattack.package import CONF_DIR
from snnattack.runtime import cli, lifecycle
from snnattack.runtime.launchers import check_local_tasks

SWEEP = ["-m", "lambda=0.5,1.0"]


def _no_job() -> None:
    raise AssertionError("a job ran")


@pytest.mark.parametrize("launcher", ["submitit_local", "local_submitit"])
def test_local_submitit_tasks_above_one_are_refused_before_any_job(
    launcher: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """submitit's local executor started the whole job in each of the 2 tasks: each job ran
    twice at once into its folder, both writing its metrics.json."""
    monkeypatch.chdir(tmp_path)
    argv = [*SWEEP, f"hydra/launcher={launcher}", "hydra.launcher.tasks_per_node=2"]
    monkeypatch.setattr(sys, "argv", ["run.py", *argv])
    with pytest.raises(SystemExit) as stop:
        cli.main(_no_job, CONF_DIR)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1
    assert err.startswith(
        f"error: hydra.launcher.tasks_per_node=2 runs each job 2 times at once with "
        f"hydra/launcher={launcher} (submitit's local executor "
    )
    assert "accepted: hydra.launcher.tasks_per_node=1" in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_an_experiment_files_local_tasks_are_refused_too(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "defaults:\n  - config\n  - override hydra/launcher: local_submitit\n  - _self_\n"
        "hydra:\n  mode: MULTIRUN\n  launcher:\n    tasks_per_node: 3\n"
        "  sweeper:\n    params:\n      lambda: 0.5,1.0\n"
    )
    with pytest.raises(ConfigError, match="tasks_per_node=3 runs each job 3 times"):
        check_local_tasks(["-cd", str(tmp_path), "-cn", "mine"], CONF_DIR)


@pytest.mark.parametrize(
    "argv",
    [
        [*SWEEP, "hydra/launcher=local_submitit", "hydra.launcher.tasks_per_node=1"],
        [*SWEEP, "hydra/launcher=local_submitit"],  # its file's 1
        # on SLURM the tasks are a DDP job's ranks (trainer=ddp, docs/running.md)
        [*SWEEP, "hydra/launcher=slurm", "hydra.launcher.tasks_per_node=2"],
        # no sweep: the launcher runs nothing
        ["hydra/launcher=local_submitit", "hydra.launcher.tasks_per_node=2"],
    ],
)
def test_one_local_task_and_the_clusters_tasks_are_accepted(argv: list[str]) -> None:
    check_local_tasks(argv, CONF_DIR)


def test_a_job_past_submitits_time_limit_fails_alone_and_the_sweep_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """submitit's signal handler raises ``UncompletedJobError`` inside a job that ran past
    ``timeout_min`` once its requeues are spent; Hydra's run of the job caught it and its
    sweeper raised it after the last job: a traceback and exit code 1, no report, no
    summary. It is now that job's failure: one line, listed, the others' results reported.
    (The basic launcher runs the jobs here, in this process, so the error can be planted.)"""
    submitit_utils = pytest.importorskip("submitit.core.utils")
    monkeypatch.setattr(lifecycle, "_KEPT", None)  # the launching process's, put back after
    real = snnattack.job.run

    def run(cfg: DictConfig, output_dir: Path) -> None:
        if cfg["lambda"] == 0.5:
            raise submitit_utils.UncompletedJobError(
                "Job not requeued because: timed-out too many times."
            )
        real(cfg, output_dir)

    monkeypatch.setattr(snnattack.job, "run", run)
    sweep = tmp_path / "sweep"
    done = harness.cli(
        *harness.QUICK, "-m", "lambda=0.5,1.0", "boxes=[white]", "trainer.limit_test_batches=1",
        f"store.dir={tmp_path}/models", f"hydra.sweep.dir={sweep}", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("  job 0 (")]
    assert len(said) == 1 and "lambda=0.5" in said[0]
    assert said[0].endswith(
        "the job ran past its launcher's limit (submitit: Job not requeued because: timed-out "
        "too many times); accepted: a larger hydra.launcher.timeout_min, or the same command "
        "relaunched, which skips the finished jobs and resumes this one's training after its "
        "last finished epoch"
    )
    assert (sweep / "1" / "metrics.json").is_file()  # the other job ran
    report = (sweep / "report.md").read_text()  # its log: submitit's (.submitit/<id>/)
    assert (
        "Left out: job 0 (" in report
        and ") failed: the job ran past its launcher's limit" in report
    )


def _parallel_sweep_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, core: Any, pool: type
) -> list[str]:
    """The ``error:`` lines of a two-job sweep under ``hydra/launcher=parallel`` whose joblib
    pool is ``pool`` (joblib's launcher module ``core``), which ends it in exit code 3 and
    no traceback."""
    monkeypatch.setattr(lifecycle, "_KEPT", None)
    monkeypatch.setattr(core, "Parallel", pool)
    done = harness.cli(
        *harness.QUICK, "-m", "lambda=0.5,1.0", "hydra/launcher=parallel",
        f"store.dir={tmp_path}/models", f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    return [line for line in done.stderr.splitlines() if line.startswith("error:")]


def test_a_killed_joblib_worker_ends_the_sweep_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A joblib worker killed while it ran a job (the machine's out-of-memory killer) ended
    the sweep in joblib's ``TerminatedWorkerError`` traceback, exit code 1; it is now one
    line that says to relaunch, exit code 3, as a lost DDP rank. (joblib's pool is stood in
    for by one that loses its worker: the launcher and the sweeper around it are the real
    ones.)"""
    core = pytest.importorskip("hydra_plugins.hydra_joblib_launcher._core")
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    class KilledPool:
        def __init__(self, **kwargs: object) -> None:
            pass

        def __call__(self, jobs: object) -> list[object]:
            raise TerminatedWorkerError(
                "A worker process managed by the executor was unexpectedly terminated. ...\n"
                "The exit codes of the workers are {SIGKILL(-9)}\nDetailed tracebacks ..."
            )

    assert _parallel_sweep_lines(tmp_path, monkeypatch, core, KilledPool) == [
        "error: a worker process of the sweep's joblib launcher stopped (SIGKILL(-9): the "
        "machine's out-of-memory killer, or a kill -9), and joblib stopped the jobs running "
        "beside it; relaunch the same command to resume (finished jobs are skipped, a "
        "training resumes after its last finished epoch)"
    ]


@pytest.mark.parametrize(("signum", "name"), [(15, "SIGTERM"), (2, "SIGINT")])
def test_a_joblib_worker_stopped_alone_ends_the_sweep_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, name: str
) -> None:
    """A signal sent to one joblib worker alone (``kill`` of its pid) stops its job quietly,
    as a stopped launch's workers stop, in ``SystemExit(128 + n)``, which joblib raised again
    in the launching process: the sweep ended without a line, exit code 143 as if it had
    been stopped itself. It is now one line naming the worker's signal, exit code 3, as a
    killed worker. (joblib's pool is stood in for by one that raises the worker's exit as
    joblib does, its cause the worker's traceback.)"""
    core = pytest.importorskip("hydra_plugins.hydra_joblib_launcher._core")
    from joblib.externals.loky.process_executor import _RemoteTraceback

    class StoppedPool:
        def __init__(self, **kwargs: object) -> None:
            pass

        def __call__(self, jobs: object) -> list[object]:
            raise SystemExit(128 + signum) from _RemoteTraceback("Traceback ...")

    assert _parallel_sweep_lines(tmp_path, monkeypatch, core, StoppedPool) == [
        f"error: a worker process of the sweep's joblib launcher was stopped by {name} while "
        "it ran a job, and joblib stopped the jobs running beside it; relaunch the same "
        "command to resume (finished jobs are skipped, a training resumes after its last "
        "finished epoch)"
    ]


def test_a_killed_submitit_task_ends_the_sweep_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A submitit task killed while it ran a job (``kill -9``, Slurm's out-of-memory kill)
    left no result, and the launcher's wait for it raised ``UncompletedJobError`` in the
    launching process: a traceback, exit code 1. It is now one line naming the job, its state
    and its log, exit code 3. (The launcher's wait is stood in for by submitit's error, as it
    raised it for a task killed here.)"""
    launcher = pytest.importorskip("hydra_plugins.hydra_submitit_launcher.submitit_launcher")
    from submitit.core.utils import UncompletedJobError

    log = tmp_path / "sweep" / ".submitit" / "32261" / "32261_0"

    def killed(self: object, job_overrides: object, initial_job_idx: int) -> list[object]:
        raise UncompletedJobError(
            f"Job 32261 (task: 0) with path {log}_result.pkl\nhas not produced any output "
            f"(state: FINISHED)\nNo error stream produced. Look at stdout: {log}_log.out\n"
        )

    monkeypatch.setattr(lifecycle, "_KEPT", None)
    monkeypatch.setattr(launcher.BaseSubmititLauncher, "launch", killed)
    done = harness.cli(
        *harness.QUICK, "-m", "lambda=0.5,1.0", "hydra/launcher=local_submitit",
        "hydra.launcher.gpus_per_node=0",
        f"store.dir={tmp_path}/models", f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert said == [
        "error: submitit's job 32261 (task 0) stopped without its result (killed, e.g. out of "
        f"memory; submitit's state: FINISHED; its log: {log}_log.out); the sweep's other jobs "
        "run on, their results in its folder once they end; then relaunch the same command to "
        "resume (finished jobs are skipped, a training resumes after its last finished epoch)"
    ]


def test_a_stopped_launch_stops_its_submitit_local_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM of a ``local_submitit`` sweep's launching process ended it (exit code 143) while
    the jobs submitit's local executor had started from it ran on: a relaunch started each
    again beside its running one, in one folder. Now each job's controller is sent SIGTERM
    (which it forwards to its tasks: a stopped job, resumable) before the launch ends. (A
    sleeping process stands in for a controller; the launch is stopped as it waits.)"""
    launcher = pytest.importorskip("hydra_plugins.hydra_submitit_launcher.submitit_launcher")
    from submitit.local import local

    from snnattack.errors import Preempted

    controllers: list[subprocess.Popen] = []

    def start_controller(**kwargs: object) -> subprocess.Popen:
        controllers.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))
        return controllers[-1]

    def launch(self: object, job_overrides: object, initial_job_idx: int) -> list[object]:
        local.start_controller(folder=tmp_path)  # submitit's executor starting a job
        raise Preempted(signal.SIGTERM)  # the launch stopped while it waits for the job

    monkeypatch.setattr(lifecycle, "_KEPT", None)
    monkeypatch.setattr(local, "start_controller", start_controller)
    monkeypatch.setattr(launcher.BaseSubmititLauncher, "launch", launch)
    try:
        done = harness.cli(
            *harness.QUICK, "-m", "lambda=0.5,1.0", "hydra/launcher=local_submitit",
            "hydra.launcher.gpus_per_node=0",
            f"store.dir={tmp_path}/models", f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 143, done.stderr[-2000:]
        assert [c.poll() for c in controllers] == [-signal.SIGTERM]  # stopped, not left running
    finally:
        for c in controllers:
            c.kill()
            c.wait()
