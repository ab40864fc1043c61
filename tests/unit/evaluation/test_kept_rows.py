"""attack.reuse and a kept row edited by hand: one whose values contradict each other or its
job's row is not copied into a later job's results, but computed again, with a warning naming
the file and the field (as a kept row that does not parse)."""

import json
import logging
from pathlib import Path

import pytest

from snnattack.attacks.ensemble import Component
from snnattack.evaluation.reuse import FOLDER, earlier_rows, remember
from snnattack.records.results import AttackRow, JobRecord
from snnattack.settings import AttackSpec

SPECS = [AttackSpec("pgd", 16 / 255, "white", {"steps": 2}), AttackSpec("sda", 0.0, "white")]
KEYS = {0: "pgd-w", 1: "sda-w"}
WORST = {"white": {"methods": ["sda/white/eps0"], "n_correct": 8, "asr": 50.0, "l0_hist": {}}}


def _row(spec: AttackSpec, **values: object) -> AttackRow:
    """A row as the evaluation writes it: 3 of 8 clean-correct samples fooled, 5 of 16
    adversarially correct."""
    written = {
        "method": spec.method,
        "eps": spec.eps,
        "eps_255": round(spec.eps * 255, 6),
        "box": spec.box,
        "grad_mode": "stbp",
        "asr": 37.5,
        "adv_acc": 31.25,
        "n_correct": 8,
        "n": 16,
    }
    return AttackRow(**{**written, **values})


def _kept(sweep: Path) -> Path:
    """A sweep folder in which job 0 kept its rows (the SDA row's successes by L0)."""
    rows = [_row(SPECS[0]), _row(SPECS[1], l0_hist={"2": 1, "5": 2})]
    record = JobRecord(clean_acc=50.0, n=16, results=rows, event_worst_case=WORST)
    remember(KEYS, SPECS, record, sweep / "0", sweep)
    return sweep


def test_rows_kept_as_the_evaluation_writes_them_are_copied(tmp_path: Path) -> None:
    earlier = earlier_rows(KEYS, SPECS, _kept(tmp_path), tmp_path / "1")
    assert earlier.rows == {
        0: _row(SPECS[0], reused_from="0"),
        1: _row(SPECS[1], l0_hist={"2": 1, "5": 2}, reused_from="0"),
    }


@pytest.mark.parametrize(
    ("position", "edit", "said"),
    [
        (0, {"asr": 40.0}, "its asr=40.0 is no whole count of its n_correct=8 samples (3.2)"),
        (0, {"adv_acc": 30.0}, "its adv_acc=30.0 is no whole count of its n=16 samples (4.8)"),
        (0, {"n_correct": 0}, "its asr=37.5 is a share of no sample (n_correct=0), not NaN"),
        (0, {"adv_acc": 100.0}, "its adv_acc=100.0 (16 of n=16) contradicts its asr=37.5"),
        (1, {"l0_hist": {"2": 1}}, "its l0_hist counts 1 successes, not the 3 samples of"),
        (0, {"method": "fgsm"}, "its method='fgsm' is not its job's 'pgd'"),
        (0, {"eps_255": 8.0}, "its eps_255=8.0 is not its job's 16.0"),
        (0, {"box": "black"}, "its box='black' is not its job's 'white'"),
        (0, {"reused_from": None}, "its reused_from=None names no job folder"),
        (0, {"n": None}, "its n=None counts no sample"),
        (0, {"n_correct": "8"}, "its n_correct='8' is not int"),
        (0, {"targeted_asr": 0.0, "n_targeted": 8}, "its targeted_asr=0.0 (n_targeted=8) is"),
    ],
)
def test_a_hand_edited_kept_row_that_contradicts_itself_or_its_job_is_computed_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, position: int, edit: dict, said: str
) -> None:
    path = _kept(tmp_path) / FOLDER / f"{KEYS[position]}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **edit}))
    with caplog.at_level(logging.WARNING, logger="snnattack.evaluation.reuse"):
        earlier = earlier_rows(KEYS, SPECS, tmp_path, tmp_path / "1")
    assert position not in earlier.rows and 1 - position in earlier.rows
    (warning,) = caplog.messages
    assert warning.startswith(f"kept row {path} is unusable ({said}")
    assert warning.endswith("): computing the row again")


AIMED = [AttackSpec("aimed", 16 / 255, "white", {"target": 2}, algorithm="pgd")]
# an ensemble with a targeted component: a targeted row too (docs/event_attacks.md)
PARTS = [
    Component(name, "stbp", "stbp", {}, "event_patch", "event_patch", params)
    for name, params in (("untargeted", {}), ("aimed", {"target": 2}))
]
ENSEMBLE_AIMED = [AttackSpec("ens", 0.0, "white", {"components": PARTS}, algorithm="ensemble")]


@pytest.mark.parametrize("specs", [AIMED, ENSEMBLE_AIMED], ids=["method", "ensemble"])
@pytest.mark.parametrize(
    ("kept", "said"),
    [
        ({"targeted_asr": 50.0, "n_targeted": 6}, None),  # 3 of 6: copied
        ({}, "its targeted_asr=None (n_targeted=None) is not a targeted row's"),  # kept before
        ({"targeted_asr": 50.0}, "its targeted_asr=50.0 (n_targeted=None) is not a targeted"),
        ({"targeted_asr": 40.0, "n_targeted": 6}, "its targeted_asr=40.0 is no whole count"),
        ({"targeted_asr": 100.0, "n_targeted": 4}, "its targeted_asr=100.0 (4 of n_targeted=4)"),
    ],
)
def test_a_targeted_rows_kept_rate_is_checked(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    specs: list[AttackSpec],
    kept: dict,
    said: str | None,
) -> None:
    """A targeted spec's kept row has its targeted rate, a whole share of ``n_targeted`` of
    no more samples than its ASR fooled (3 here); one kept without it is computed again (an
    ensemble's with a targeted component too, kept before it had a rate; an ensemble of event
    attacks is copied with its box's worst case, kept beside it)."""
    worst = {"white": {"methods": [specs[0].name], "n_correct": 8, "asr": 37.5, "l0_hist": {}}}
    record = JobRecord(
        clean_acc=50.0, n=16, results=[_row(specs[0], **kept)], event_worst_case=worst
    )
    remember({0: "aimed-w"}, specs, record, tmp_path / "0", tmp_path)
    with caplog.at_level(logging.WARNING, logger="snnattack.evaluation.reuse"):
        earlier = earlier_rows({0: "aimed-w"}, specs, tmp_path, tmp_path / "1")
    assert (0 in earlier.rows) == (said is None)
    if said is not None:
        (warning,) = caplog.messages
        assert said in warning
