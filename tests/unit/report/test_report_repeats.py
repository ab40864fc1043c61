"""A job run twice in the folders of one report (a sweep extended into its own folder, a
folder set aside and the job run again, ``threads=2``) is one experiment: counted once, the
newer, and the other named, never pooled as two runs of one seed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fixtures_report import hand_made_job, results_csv

from snnattack.errors import WriteError
from snnattack.records.files import write_all
from snnattack.report import write_report

SPEC = {"model": {"name": "digits_net"}, "seed": 0}  # a store-trained target's spec


def job(folder: Path, seed: int, asr: float, age: int, lam: float = 1.0, **extra) -> None:
    """A job at λ = ``lam`` of a store-trained target (by its spec), whose metrics.json is
    ``age`` s old."""
    spec = {**SPEC, "seed": seed, "neuron": {"lambda": lam}}
    models = {"target": {"spec": spec, "weights": "params:ab"}}
    hand_made_job(folder, seed, "stbp", asr, lam, **{"models": models, **extra})
    stamp = 1_800_000_000 - age
    os.utime(folder / "metrics.json", (stamp, stamp))


def test_a_job_repeated_with_its_results_is_counted_once_and_named(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    job(sweep / "0", 0, 80.0, age=30)
    job(sweep / "1", 1, 90.0, age=20)
    job(sweep / "2", 0, 80.0, age=10)  # job 0 again: the sweep extended into its folder
    report = write_report(sweep)
    assert [j.name for j in report.jobs] == ["1", "2"]
    assert len(results_csv(sweep)) == 2  # one row per experiment, not seed 0's twice
    line = "0 repeats the settings of 2, which counts (made later; the same results)"
    assert report.left_out == [line]
    assert line in (sweep / "report.md").read_text()
    assert report.tables[0].rows[0][2].startswith("85.00 ± 7.07")  # seeds 0 and 1, once each


def test_a_parent_folder_of_sweeps_counts_each_setting_and_seed_once(tmp_path: Path) -> None:
    """``report multirun/<date>/`` over a sweep of seeds 0-2 and its rerun, extended with
    λ = 0.9, at another commit: seed 2's numbers changed. Pooled, each seed of λ = 1 was two
    runs, seed 2's cell an average of two codes; counted once, the newer, the older named
    beside the folder that counts."""
    day, old, new = tmp_path / "2026-11-29", "a" * 40, "b" * 40
    for seed, asr in enumerate((80.0, 85.0, 60.0)):
        job(day / "10-00-00" / str(seed), seed, asr, age=90 - seed, git_commit=old)
    for i, (lam, seed) in enumerate((lam, s) for lam in (1.0, 0.9) for s in range(3)):
        asr = 80.0 + 5 * seed if lam == 1.0 else 70.0
        job(day / "11-00-00" / str(i), seed, asr, age=60 - i, lam=lam, git_commit=new)
    report = write_report(day)
    assert [j.name for j in report.jobs] == [f"11-00-00/{i}" for i in range(6)]
    assert len(results_csv(day)) == 6  # one row per (λ, seed), not λ = 1's seeds twice
    codes = f"of commit {old[:12]} and {new[:12]}"
    assert report.left_out == [
        f"10-00-00/{seed} repeats the settings of 11-00-00/{seed}, which counts (made later; "
        f"{same} results, {codes})"
        for seed, same in enumerate(("the same", "the same", "other"))
    ]
    lam_1 = next(row for row in report.tables[0].rows if row[:2] == ["1", "fgsm"])
    clean, asr, *_, seeds = lam_1[2:]
    assert (clean, asr, seeds) == ("91.00 ± 1.00", "85.00 ± 5.00", "3")  # seeds 0-2 once each


def test_a_job_repeated_on_other_processes_has_the_same_results(tmp_path: Path) -> None:
    """A DDP job's mean norm differs from one process's in its 16th digit (its sums added in
    another order): the same results, not other ones."""
    for name, age, l2 in (("0", 20, 0.8428763796771901), ("1", 10, 0.8428763796771902)):
        job(tmp_path / name, 0, 80.0, age=age)
        path = tmp_path / name / "metrics.json"
        record = json.loads(path.read_text())
        record["results"][0]["l2"] = l2
        path.write_text(json.dumps(record))
        os.utime(path, (1_800_000_000 - age,) * 2)
    assert write_report(tmp_path).left_out == [
        "0 repeats the settings of 1, which counts (made later; the same results)"
    ]


def test_a_job_repeated_with_other_results_counts_the_newer_and_says_so(tmp_path: Path) -> None:
    """Rerun after a change of code, the two were averaged into one seed's cell."""
    old, new = "a" * 40, "b" * 40 + "+dirty"
    job(tmp_path / "0", 0, 60.0, age=20, git_commit=old)
    job(tmp_path / "0.old", 0, 89.0, age=30, git_commit=old)
    job(tmp_path / "1", 0, 80.0, age=10, git_commit=new)
    report = write_report(tmp_path)
    assert [j.name for j in report.jobs] == ["1"]
    other = f"other results, of commit {old[:12]} and {new[:12]}+dirty"  # as the header says
    assert report.left_out == [
        f"0 repeats the settings of 1, which counts (made later; {other})",
        f"0.old repeats the settings of 1, which counts (made later; {other})",
    ]
    assert report.tables[0].rows[0][2] == "80.00"  # the newer job's, not a mean of three


def test_jobs_of_other_models_under_one_config_are_each_counted(tmp_path: Path) -> None:
    """Networks passed to the Python API share its config, and a file's target its spec
    only where the file says how it was trained: only a known model makes a repeat."""
    passed = {"target": {"kind": "stbp", "class": "my.Net", "architecture": "Net"}}
    hand_made_job(tmp_path / "a", 0, "stbp", 80.0, models=passed)
    hand_made_job(tmp_path / "b", 0, "stbp", 70.0, models=passed)
    job(tmp_path / "c", 0, 80.0, age=10)
    job(tmp_path / "d", 0, 80.0, age=5, models={"target": {"weights": "params:cd"}})
    report = write_report(tmp_path)
    assert [j.name for j in report.jobs] == ["a", "b", "c", "d"] and not report.left_out


def test_the_job_that_counts_is_the_one_its_record_says_finished_last(tmp_path: Path) -> None:
    """A copy or a checkout sets a file's time: the record's own time decides, and two
    finished at the same time (a folder copied) count the later folder, as the line says."""
    job(tmp_path / "a", 0, 60.0, age=10, finished="2026-11-29T08:00:00.000+00:00")
    job(tmp_path / "b", 0, 80.0, age=20, finished="2026-11-28T08:00:00.000+00:00")
    report = write_report(tmp_path)
    assert [j.name for j in report.jobs] == ["a"]
    assert report.left_out == [
        "b repeats the settings of a, which counts (made later; other results)"
    ]
    assert report.origin.date == "2026-11-29 08:00 UTC"  # its results', not its file's copy
    job(tmp_path / "c", 0, 60.0, age=30, finished="2026-11-29T08:00:00.000+00:00")
    assert write_report(tmp_path).left_out == [
        "a repeats the settings of c, which counts (made at the same time, the later "
        "folder; the same results)",
        "b repeats the settings of c, which counts (made later; other results)",
    ]


def test_a_record_whose_time_says_none_is_ordered_by_its_file(tmp_path: Path) -> None:
    """An edited ``finished`` stopped the whole report."""
    job(tmp_path / "a", 0, 60.0, age=10, finished="yesterday")
    job(tmp_path / "b", 0, 60.0, age=20, finished=5)
    assert write_report(tmp_path).left_out == [
        "b repeats the settings of a, which counts (made later; the same results)"
    ]


def test_a_refused_report_file_leaves_the_reports_other_files_as_they_were(
    tmp_path: Path,
) -> None:
    """The three files are written as one: a report.md that could not be written (a folder
    in its place) left results.csv rewritten beside the previous report.html."""
    sweep = tmp_path / "sweep"
    hand_made_job(sweep / "0", 0, "stbp", 80.0)
    write_report(sweep)
    before = {name: (sweep / name).read_bytes() for name in ("results.csv", "report.html")}
    (sweep / "report.md").unlink()
    (sweep / "report.md").mkdir()
    hand_made_job(sweep / "1", 1, "stbp", 60.0)  # a job more: each file would change
    with pytest.raises(WriteError, match="report.md"):
        write_report(sweep)
    assert {name: (sweep / name).read_bytes() for name in before} == before
    assert not list(sweep.glob("*.tmp"))
    (sweep / "report.md").rmdir()
    write_report(sweep)
    assert (sweep / "results.csv").read_bytes() != before["results.csv"]


def test_a_file_in_a_written_files_folders_place_is_said_as_not_a_directory(
    tmp_path: Path,
) -> None:
    """The sweep's row cache under a file named ``.rows``: mkdir's "File exists" named the
    file's own path as if it were there (and the set's cleanup left no temporary file)."""
    (tmp_path / ".rows").write_text("a file")
    with pytest.raises(WriteError) as refused:
        write_all({tmp_path / ".rows" / "key.json": "{}", tmp_path / "other.json": "{}"})
    assert str(refused.value).startswith(f"cannot write {tmp_path}/.rows/key.json (Not a dir")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".rows"]


def test_a_time_extension_sweep_keeps_an_ensemble_row_per_te(tmp_path: Path) -> None:
    """-m attack.time_extension=1,2 with method=[pgd, ensemble]: the TE=2 ensemble was dropped
    and the TE=1 one compared with TE=2's PGD, said weaker than a single attack ("NO")."""
    for te, pgd, ensemble in ((1, 40.0, 30.0), (2, 20.0, 12.0)):
        folder = tmp_path / f"te{te}"
        hand_made_job(folder, 0, "stbp", 0.0)
        record = json.loads((folder / "metrics.json").read_text())
        record["config"]["attack"]["time_extension"] = te
        base = {**record["results"][0], "time_extension": te, "eps_255": 16.0}
        record["results"] = [
            {**base, "method": "pgd", "adv_acc": pgd, "asr": 100 - pgd},
            {**base, "method": "ensemble", "grad_mode": "ensemble", "adv_acc": ensemble,
             "asr": 100 - ensemble, "components": [{"name": "pgd/stbp", "first_successes": 5}]},
        ]  # fmt: skip
        (folder / "metrics.json").write_text(json.dumps(record))
    (table,) = [t for t in write_report(tmp_path).tables if t.title == "Worst-case ensemble"]
    assert [row[3:5] for row in table.rows] == [
        ["30.00", "40.00 (pgd/stbp)"],
        ["12.00", "20.00 (pgd/stbp)"],
    ]
