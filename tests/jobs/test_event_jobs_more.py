"""Jobs on the embedded event digits with sparsefool, spike_grad, event_patch, gsattack (raw
events) and gsattack_frames: one row per box at eps 0, the events changed per success (and
the recordings' events changed), white and black box."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.mark.slow
def test_the_event_attacks_fool_the_event_digits_white_and_black_box(run_job: Callable) -> None:
    record = run_job(
        "dataset=digits_events",
        "method=[sparsefool,spike_grad,event_patch,gsattack,gsattack_frames]",
        "method.event_patch.area=0.1",
        "method.gsattack.steps=20",
        "method.gsattack_frames.steps=20",
        "eps=[16]",
        "boxes=[white,black]",
        "trainer.limit_test_batches=1",
    )
    rows = {(r["method"], r["box"]): r for r in record["results"]}
    assert len(rows) == 10 and all(r["eps_255"] == 0 for r in rows.values())
    for method in ("sparsefool", "spike_grad", "gsattack", "gsattack_frames"):
        assert rows[method, "white"]["asr"] > 90  # whole-input attacks, white box
    assert rows["event_patch", "white"]["asr"] > rows["event_patch", "black"]["asr"] > 0
    sparse = rows["sparsefool", "white"]
    assert 0 < sparse["l0_mean"] < rows["spike_grad", "white"]["l0_mean"]
    assert sparse["inserted_mean"] + sparse["deleted_mean"] == pytest.approx(sparse["l0_mean"])
    raw = rows["gsattack", "white"]["recording"]
    assert raw["changed_mean"] == pytest.approx(
        raw["inserted_mean"] + raw["deleted_mean"] + raw["flipped_mean"]
    )
