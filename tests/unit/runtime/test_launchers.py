"""The launchers' settings that run a sweep other than it says, refused before any job
(:mod:`snnattack.runtime.launchers`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from snnattack.errors import ConfigError
from snnattack.package import CONF_DIR
from snnattack.runtime import cli
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
