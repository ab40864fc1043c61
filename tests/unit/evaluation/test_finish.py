"""The core's step after the rows (``evaluation/finish.py``): every rank's record gets each
row's kinds and the worst cases copied from the sweep; rank 0 alone hands it to ``keep`` and
then keeps its rows for the sweep's later jobs, so that a job whose ``keep`` fails
(``metrics.json`` unwritable) leaves no row for them to copy."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from harness import QUICK, compose
from torch import nn

from snnattack.evaluation.finish import finished_record
from snnattack.evaluation.reuse import FOLDER, Earlier, SweepRows
from snnattack.preparation.config import job_settings
from snnattack.records.results import AttackRow, JobRecord

COPIED_WORST = {"white": {"methods": ["sda/white/eps0"], "n_correct": 4, "l0_hist": {}}}


def _finished(tmp_path: Path, rank_zero: bool) -> tuple[JobRecord, list[dict[str, Any]]]:
    """A one-row record of a job of a sweep finished with ``rank_zero`` (no analysis selected,
    so the test data are never read), and what ``keep`` saw of it."""
    settings = job_settings(compose(*QUICK, "boxes=[white]"))
    specs = list(settings.specs)
    spec = specs[0]
    row = AttackRow(
        method=spec.method,
        eps=spec.eps,
        eps_255=round(spec.eps * 255, 6),
        box=spec.box,
        grad_mode="stbp",
        asr=0.0,
        adv_acc=100.0,
        n_correct=4,
        n=4,
    )
    record = JobRecord(clean_acc=100.0, n=4, results=[row])
    folder = tmp_path / "sweep"
    sweep = SweepRows({0: "key"}, specs, folder, folder / "1", Earlier({}, COPIED_WORST))
    kept: list[dict[str, Any]] = []

    def keep(finished: JobRecord) -> None:
        kept.append(
            {
                "target_kind": finished.results[0].target_kind,
                "worst": finished.event_worst_case,
                "rows kept before": (folder / FOLDER).exists(),
            }
        )

    models = {"target": {"kind": "stbp"}, "source": None}
    evaluator: Any = SimpleNamespace(examples=[[]])  # save_examples off: nothing is saved
    finished = finished_record(
        record, evaluator, settings, nn.Linear(2, 2), None, models, sweep, folder / "1", keep,
        rank_zero=rank_zero,
    )  # fmt: skip
    return finished, kept


@pytest.mark.parametrize("rank_zero", [True, False])
def test_every_rank_gets_kinds_and_copied_worst_cases_rank_0_keeps_then_remembers(
    tmp_path: Path, rank_zero: bool
) -> None:
    finished, kept = _finished(tmp_path, rank_zero)
    assert finished.results[0].target_kind == "stbp"
    assert finished.event_worst_case == COPIED_WORST
    rows = sorted(p.name for p in (tmp_path / "sweep" / FOLDER).glob("*.json"))
    if rank_zero:
        assert kept == [{"target_kind": "stbp", "worst": COPIED_WORST, "rows kept before": False}]
        assert rows == ["key.json"]
    else:
        assert kept == [] and rows == []
