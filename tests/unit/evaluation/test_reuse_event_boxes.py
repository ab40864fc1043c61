"""attack.reuse and the worst case over a box's event attacks: a job copies a box's event rows
together with the worst case over them, or computes them all again; never a worst case over
only the rows it computed (which would drop the copied ones from it)."""

import json
from pathlib import Path

import pytest

from snnattack.attacks.ensemble import Component
from snnattack.evaluation.reuse import FOLDER, _own, earlier_rows, origin, remember
from snnattack.records.results import AttackRow, JobRecord
from snnattack.settings import AttackSpec

SPECS = [
    AttackSpec("sda", 0.0, "white"),
    AttackSpec("spike_grad", 0.0, "white"),
    AttackSpec("pgd", 16 / 255, "white", {"steps": 2}),
    AttackSpec("sda", 0.0, "black"),
]
KEYS = {0: "sda-w", 1: "spike-w", 2: "pgd-w", 3: "sda-b"}
WORST = {
    "white": {
        "methods": ["sda/white/eps0", "spike_grad/white/eps0"],
        "n_correct": 8,
        "asr": 50.0,
        "l0_hist": {"3": 4},
    },
    "black": {"methods": ["sda/black/eps0"], "n_correct": 8, "asr": 25.0, "l0_hist": {"9": 2}},
}


def _row(spec: AttackSpec, asr: float) -> AttackRow:
    return AttackRow(
        method=spec.method,
        eps=spec.eps,
        eps_255=round(spec.eps * 255, 6),  # as the evaluation writes it
        box=spec.box,
        grad_mode="stbp",
        asr=asr,
        adv_acc=50.0,
        n_correct=8,
        n=16,
    )


def _kept(tmp_path: Path) -> Path:
    """A sweep folder in which job 0 kept its rows and its worst cases."""
    record = JobRecord(
        clean_acc=50.0,
        n=16,
        results=[_row(s, 12.5 * i) for i, s in enumerate(SPECS)],  # i of 8 fooled
        event_worst_case=WORST,
    )
    remember(KEYS, SPECS, record, tmp_path / "0", tmp_path)
    return tmp_path


def test_a_job_with_the_same_event_rows_copies_them_with_their_worst_cases(
    tmp_path: Path,
) -> None:
    earlier = earlier_rows(KEYS, SPECS, _kept(tmp_path), tmp_path / "1")
    assert sorted(earlier.rows) == [0, 1, 2, 3]
    assert earlier.worst == {box: {**worst, "reused_from": "0"} for box, worst in WORST.items()}
    # the job's own worst cases (none: it computed no event row) and the copies, boxes in order
    assert list(earlier.worst_cases({}, SPECS)) == ["white", "black"]


def test_a_box_of_which_one_event_row_changed_computes_all_its_event_rows_again(
    tmp_path: Path,
) -> None:
    changed = {**KEYS, 1: "spike-w-other-settings"}
    earlier = earlier_rows(changed, SPECS, _kept(tmp_path), tmp_path / "1")
    assert sorted(earlier.rows) == [2, 3]  # SDA white box is computed beside spike_grad
    assert list(earlier.worst) == ["black"]
    computed = {"white": {**WORST["white"], "asr": 62.5}}
    assert earlier.worst_cases(computed, SPECS) == {
        "white": computed["white"],
        "black": {**WORST["black"], "reused_from": "0"},
    }


def test_a_box_whose_worst_case_is_not_kept_computes_its_event_rows_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _kept(tmp_path)
    for worst in (folder / ".rows").glob("worst-*.json"):
        worst.write_text("{}")  # unusable: said, and computed again
    earlier = earlier_rows(KEYS, SPECS, folder, tmp_path / "1")
    assert sorted(earlier.rows) == [2] and earlier.worst == {}
    assert "is unusable (not a worst case): computing the box's event rows again" in caplog.text


def test_a_copied_worst_case_is_not_kept_again_by_the_job_that_copied_it(
    tmp_path: Path,
) -> None:
    folder = _kept(tmp_path)
    earlier = earlier_rows(KEYS, SPECS, folder, tmp_path / "1")
    copied = JobRecord(
        clean_acc=50.0,
        n=16,
        results=[earlier.rows[i] for i in range(4)],
        event_worst_case=earlier.worst_cases({}, SPECS),
    )
    remember(KEYS, SPECS, copied, tmp_path / "1", folder)
    assert earlier_rows(KEYS, SPECS, folder, tmp_path / "1").worst == earlier.worst  # still job 0's


def test_a_job_whose_results_were_removed_computes_again_what_it_had_kept(
    tmp_path: Path,
) -> None:
    """Its metrics.json removed to replace its results, a job copied its own kept rows and
    named itself as the job that computed them."""
    earlier = earlier_rows(KEYS, SPECS, _kept(tmp_path), tmp_path / "0")
    assert earlier.rows == {} and earlier.worst == {}


def test_a_job_of_a_moved_sweep_computes_again_what_it_had_kept_in_its_old_place(
    tmp_path: Path,
) -> None:
    """The sweep's folder copied elsewhere (or reached through a link), a job whose results
    were removed took its kept rows for another job's: its folder is known by its path within
    the sweep."""
    _kept(tmp_path / "ran")  # reused_from: .../ran/0
    moved = tmp_path / "moved"
    (tmp_path / "ran").rename(moved)
    assert earlier_rows(KEYS, SPECS, moved, moved / "0").rows == {}
    assert sorted(earlier_rows(KEYS, SPECS, moved, moved / "1").rows) == [0, 1, 2, 3]
    link = tmp_path / "link"
    link.symlink_to(moved)
    assert earlier_rows(KEYS, SPECS, link, link / "0").rows == {}


def test_a_kept_row_names_its_job_by_its_path_within_the_sweep_which_a_moved_sweep_keeps(
    tmp_path: Path,
) -> None:
    """``reused_from`` is the computing job's folder within the sweep folder (``0``), not an
    absolute path that a moved or copied sweep would leave pointing at the old place; rows
    kept by older code under an absolute path are still known by its end."""
    _kept(tmp_path / "ran")
    moved = tmp_path / "moved"
    (tmp_path / "ran").rename(moved)
    rows = earlier_rows(KEYS, SPECS, moved, moved / "1").rows
    assert {row.reused_from for row in rows.values()} == {"0"}
    for path in (moved / FOLDER).glob("*.json"):  # as older code kept them
        path.write_text(json.dumps({**json.loads(path.read_text()), "reused_from": "/old/0"}))
    assert earlier_rows(KEYS, SPECS, moved, moved / "0").rows == {}
    assert sorted(earlier_rows(KEYS, SPECS, moved, moved / "1").rows) == [0, 1, 2, 3]


@pytest.mark.parametrize("job", ["0", "lam0.5/seed0", ".", "../outside"])
def test_a_job_knows_its_own_kept_rows_by_what_they_say_of_it(tmp_path: Path, job: str) -> None:
    """What a kept row says of the job that computed it (``origin``) and how a job finds its
    own rows again (``_own``) are one computation of its folder within the sweep: a job nested
    below the sweep, the sweep's own folder, one outside it; another job's rows are not its."""
    sweep = tmp_path / "sweep"
    (sweep / "1").mkdir(parents=True)
    mine = sweep / job
    mine.mkdir(parents=True, exist_ok=True)
    made = origin(mine, sweep)
    assert made == (str(mine) if job.startswith("..") else job)
    own = _own(mine, sweep)
    assert own(made) and not own(origin(sweep / "1", sweep)) and not own(None)


def test_an_ensemble_of_event_attacks_is_one_of_its_box_s_event_rows(tmp_path: Path) -> None:
    """An ensemble of event attacks only joins its box's worst case, so it is copied with the
    box's other event rows or computed with them: its components' settings changed, the SDA
    row beside it is computed again too (not copied with a worst case that left the new
    ensemble's samples out)."""
    parts = [Component("sda/stbp", "stbp", "stbp", {}, "sda", "sda", {})]
    specs = [
        AttackSpec("sda", 0.0, "white"),
        AttackSpec("ensemble", 0.0, "white", {"components": parts}, algorithm="ensemble"),
    ]
    keys = {0: "sda-w", 1: "ens-w"}
    worst = {**WORST["white"], "methods": ["sda/white/eps0", "ensemble/white/eps0"]}
    record = JobRecord(
        clean_acc=50.0,
        n=16,
        results=[_row(s, 12.5) for s in specs],
        event_worst_case={"white": worst},
    )
    remember(keys, specs, record, tmp_path / "0", tmp_path)
    same = earlier_rows(keys, specs, tmp_path, tmp_path / "1")
    assert sorted(same.rows) == [0, 1] and same.worst == {"white": {**worst, "reused_from": "0"}}
    changed = earlier_rows({**keys, 1: "ens-w-other"}, specs, tmp_path, tmp_path / "1")
    assert changed.rows == {} and changed.worst == {}


def test_a_job_listing_the_event_rows_in_another_order_copies_them_with_their_worst_case(
    tmp_path: Path,
) -> None:
    """``method=[spike_grad,sda]`` after ``[sda,spike_grad]``: a row's draws derive from its
    name, not its position, so its key holds no position, and the worst case is kept under
    its rows' keys as a set; it names the rows in the copying job's order. Before, the worst
    case was kept under its rows' keys in their order, not found, and every event row of the
    box was computed again."""
    folder = _kept(tmp_path)
    order = [1, 0, 3, 2]  # white: spike_grad before sda, pgd last
    specs, keys = [SPECS[i] for i in order], {j: KEYS[i] for j, i in enumerate(order)}
    earlier = earlier_rows(keys, specs, folder, tmp_path / "1")
    assert sorted(earlier.rows) == [0, 1, 2, 3]
    assert [earlier.rows[j].method for j in range(4)] == ["spike_grad", "sda", "sda", "pgd"]
    white = {**WORST["white"], "methods": ["spike_grad/white/eps0", "sda/white/eps0"]}
    assert earlier.worst == {
        "white": {**white, "reused_from": "0"},
        "black": {**WORST["black"], "reused_from": "0"},
    }
