"""A single run writes its report into its folder (``hydra.callbacks.report.single``, the
default; the tests turn it off elsewhere to save time): the event digits' job of every event
threat model gets its ASR-vs-budget table, curves and worst case, as a sweep's report does."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from harness import QUICK, QUIET, cli

from snnattack.report import write_report


@pytest.mark.slow  # trains the event digits' model (the callback alone: test_report_events.py)
def test_a_single_event_job_writes_its_report_with_the_budget_curves(
    tmp_path: Path, digits_store: Path
) -> None:
    out = tmp_path / "job"
    done = cli(
        *[q for q in QUIET if "report" not in q],
        "dataset=digits_events",
        "method=[sda,gsattack]",
        "method.sda.n_iter=2",
        "method.gsattack.steps=3",
        "boxes=[white]",
        "trainer.limit_test_batches=1",
        "checks.masking.enabled=false",
        f"store.dir={digits_store}",
        f"hydra.run.dir={out}",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = (out / "report.md").read_text()
    assert "## Event attacks: ASR against the L0 budget" in report
    assert "| white | worst case |" in report
    assert "## Raw events: ASR against the recording's events changed" in report
    assert (out / "asr_vs_l0.png").is_file() and (out / "report.html").is_file()
    assert f"report: {out / 'report.html'}" in done.stdout


def test_a_refused_single_run_gets_no_report(tmp_path: Path) -> None:
    out = tmp_path / "job"
    done = cli(
        "dataset=digits_events",
        "method=[gsattack]",
        "eps=[0]",
        f"hydra.run.dir={out}",
        cwd=tmp_path,
    )
    assert done.returncode == 2 and not out.exists()


def test_a_single_run_without_hydras_record_reports_its_command(
    tmp_path: Path, digits_store: Path
) -> None:
    """With ``hydra.output_subdir=null`` Hydra writes no ``.hydra/hydra.yaml``, and nothing
    else said a single run's command: its report read `not recorded (no Hydra record in the
    folder)`, its title the folder's name. Its ``metrics.json`` keeps the command now
    (``command``), and the report shows it as it does a run's with Hydra's record, also when
    written again later; a sweep's jobs keep none (their sweep folder says the command)."""
    out = tmp_path / "job"
    task = [*(q for q in QUICK if "report" not in q), "seed=3", f"store.dir={digits_store}"]
    hydra = [f"hydra.run.dir={out}", "hydra.output_subdir=null"]
    done = cli(*task, *hydra, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (out / ".hydra").exists()
    title = "# " + " ".join(o for o in task if not o.startswith(("trainer.", "store.")))
    command = f"Command: `{shlex.join(['python', 'run.py', *task, *hydra])}` · snnattack "
    for _ in range(2):  # the run's report, then one written again from its folder
        lines = (out / "report.md").read_text().splitlines()
        assert lines[0] == title and lines[2].startswith(command), lines[:3]
        write_report(out)
    sweep = tmp_path / "sweep"
    ran = cli("-m", *QUICK, f"store.dir={digits_store}", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert json.loads((sweep / "0" / "metrics.json").read_text())["command"] is None
