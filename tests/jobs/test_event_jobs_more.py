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


@pytest.mark.slow
def test_a_job_fits_the_universal_attacks_on_validation_data_and_applies_them(
    run_job: Callable,
) -> None:
    record = run_job(
        "dataset=digits_events",
        "method=[event_patch_universal,sparsefool_universal]",
        "method.event_patch_universal.area=0.1",
        "method.event_patch_universal.epochs=2",
        "method.sparsefool_universal.max_hamming_distance=50",
        "method.sparsefool_universal.rounds=1",
        "attack.tune.val_size=64",
        "boxes=[white,black]",
        "trainer.limit_test_batches=2",
    )
    rows = {(r["method"], r["box"]): r for r in record["results"]}
    assert len(rows) == 4 and all(r["eps_255"] == 0 for r in rows.values())
    for box in ("white", "black"):
        flips = rows["sparsefool_universal", box]
        assert flips["asr"] > 20 and flips["l0_mean"] == flips["l0_median"] == 50  # one set
        assert rows["event_patch_universal", box]["l0_mean"] <= 2 * 2 * 2 * 4  # its window
    assert "random_flips_stronger" not in record["masking"]["flagged"]


@pytest.mark.slow
def test_a_job_of_random_targets_finishes_with_its_masking_checks(run_job: Callable) -> None:
    """``target: random`` (GSAttack's paper protocol) aims every sample at a class: the
    masking checks hold no random flips against it (they once read the target as a number and
    crashed after the attacks)."""
    record = run_job(
        "dataset=digits_events",
        "method=[gsattack]",
        "method.gsattack.target=random",
        "method.gsattack.steps=5",
        "boxes=[white]",
        "trainer.limit_test_batches=1",
        "checks.masking.probe_size=8",
    )
    (row,) = record["results"]
    assert row["method"] == "gsattack" and row["n_correct"] > 0
    # its targeted rate: a drawn class is never the true one, so every clean-correct sample
    # is aimed at one; those put in it are fooled ones
    assert row["n_targeted"] == row["n_correct"] and 0 <= row["targeted_asr"] <= row["asr"]
    assert (
        record["masking"]["checks"] and "random_flips_stronger" not in record["masking"]["flagged"]
    )
