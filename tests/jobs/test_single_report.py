"""A single run writes its report into its folder (``hydra.callbacks.report.single``, the
default; the tests turn it off elsewhere to save time): the event digits' job of every event
threat model gets its ASR-vs-budget table, curves and worst case, as a sweep's report does."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import QUIET, cli


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
