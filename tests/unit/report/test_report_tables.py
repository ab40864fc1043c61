"""The report's tables and text from hand-made metrics.json files: means and spreads over
seeds beside the paper, the finding of a λ sweep, its title, its HTML, one-line failures, and the
masking, ensemble, tuning and cost tables."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures_report import hand_made_job, lambda_sweep, results_csv
from omegaconf import OmegaConf

from snnattack.errors import UserError
from snnattack.process.distributed import RANK_ENV
from snnattack.records.cosmetic import settings_hash
from snnattack.records.failures import record_failure
from snnattack.records.launches import record_launch
from snnattack.records.results import JobRecord, job_table, read_record
from snnattack.records.tracking import sweep_group
from snnattack.report import tables, write_report
from snnattack.report.__main__ import main as report_main
from snnattack.report.hydra_callback import ReportCallback
from snnattack.runtime.lifecycle import job_folders


def test_modes_never_run_beside_each_other_get_no_difference_column(tmp_path: Path) -> None:
    """Each kind of network attacked by its own gradient mode (a kinds sweep: the ANN by
    ``ann-autograd``, the SNNs by STBP) never pairs two modes in a row: a Δ column would hold
    only "–"."""
    lambda_sweep(tmp_path / "sweep", {(0.5, "stbp"): (80.0,), (1.0, "rga"): (90.0,)})
    table = write_report(tmp_path / "sweep").tables[0]
    assert [c for c in table.columns if "ASR" in c] == ["WB ASR STBP", "WB ASR RGA"]
    assert "Δ" not in table.note


def test_report_of_hand_made_jobs_shows_mean_and_std_over_seeds_beside_the_paper(
    tmp_path: Path,
) -> None:
    for i, (seed, mode, asr) in enumerate(
        [(0, "stbp", 80.0), (1, "stbp", 90.0), (0, "rga", 85.0), (1, "rga", 95.0)]
    ):
        hand_made_job(tmp_path / "sweep" / str(i), seed, mode, asr)  # no source_clean_acc: robust
    report = write_report(tmp_path / "sweep")
    table = report.tables[0]
    assert table.columns == [
        "method",
        "clean",
        "WB ASR STBP",
        "WB ASR RGA",
        "WB Δ RGA − STBP",
        "WB robust STBP",
        "WB robust RGA",
        "n",
        "seeds",
    ]  # dataset, model, T, λ, reset, encoding and ε never vary: the settings line says them
    assert table.settings.startswith("dataset = digits, model = digits_net, T = 4, λ = 1")
    ours, paper = table.rows
    assert ours == [
        "fgsm",
        "90.50 ± 0.71",
        "85.00 ± 7.07",
        "90.00 ± 7.07",
        "+5.00 ± 0.00",  # paired by seed: each seed's RGA job attacks the STBP job's model
        "10.00 ± 0.00",
        "10.00 ± 0.00",
        "100",
        "2",
    ]
    assert table.bold == {(0, 3)}  # the higher ASR
    assert paper == ["fgsm (paper)", "93.06", "86.28", "93.74", "+7.46", "–", "–", "", ""]
    rows = results_csv(tmp_path / "sweep")
    assert [(r["job"], r["seed"], r["grad_mode"], r["asr"]) for r in rows] == [
        ("0", "0", "stbp", "80.0"),
        ("1", "1", "stbp", "90.0"),
        ("2", "0", "rga", "85.0"),
        ("3", "1", "rga", "95.0"),
    ]
    assert rows[0]["source_clean_acc"] == ""
    assert (
        "| fgsm | 90.50 ± 0.71 | 85.00 ± 7.07 | **90.00 ± 7.07** | +5.00 ± 0.00 |"
        in (tmp_path / "sweep" / "report.md").read_text()
    )


def test_cells_over_fewer_seeds_than_their_row_say_so_and_are_not_ranked(tmp_path: Path) -> None:
    """A sweep with one job left out (killed, unreadable): the row's cells are means over
    different seeds, so each says how many and none is marked the highest."""
    jobs = [(0, "stbp", 80.0), (1, "stbp", 90.0), (2, "stbp", 70.0), (1, "rga", 95.0)]
    for i, (seed, mode, asr) in enumerate(jobs):
        hand_made_job(tmp_path / "sweep" / str(i), seed, mode, asr)
    table = write_report(tmp_path / "sweep").tables[0]
    ours, _ = table.rows  # ours and the paper's
    assert ours[1:] == [
        "91.00 ± 1.00",
        "80.00 ± 10.00",
        "95.00 (1 of 3 seeds)",
        "+5.00 (1 of 3 seeds)",  # paired by seed: seed 1's alone, as it says
        "10.00 ± 0.00",
        "10.00 (1 of 3 seeds)",
        "100",
        "3",
    ]
    assert table.bold == set()


def test_a_single_white_box_job_is_described_as_it_ran(tmp_path: Path) -> None:
    """One job, one gradient mode, the white box only: one ASR, not a range; no black box in
    the title; no Δ in the note."""
    hand_made_job(tmp_path / "job", 0, "stbp", 80.0)
    table = write_report(tmp_path / "job").tables[0]
    assert table.title == "Table 2: attack success rate (%), white box (WB)"
    assert table.summary == "White-box ASR is 80.00 % (robust accuracy is 10.00 %)."
    assert "Δ" not in table.note


def test_report_of_a_lambda_sweep_states_delta_robust_accuracy_n_and_its_finding(
    tmp_path: Path,
) -> None:
    lambda_sweep(
        tmp_path / "sweep",
        {
            (0.5, "stbp"): (80.0, 84.0),
            (0.5, "rga"): (88.0, 93.0),
            (1.0, "stbp"): (60.0, 70.0),
            (1.0, "rga"): (70.0, 79.0),
        },
    )
    report = write_report(tmp_path / "sweep")
    table = report.tables[0]
    assert table.columns[:1] == ["λ"] and "WB Δ RGA − STBP" in table.columns
    assert "n" in table.columns and "WB robust RGA" in table.columns
    rows = {row[0]: dict(zip(table.columns, row, strict=True)) for row in table.rows}
    assert rows["0.5"]["WB Δ RGA − STBP"] == "+8.50 ± 0.71"
    assert rows["1"]["WB Δ RGA − STBP"] == "+9.50 ± 0.71"
    assert rows["1"]["WB robust RGA"] == "22.95 ± 5.73" and rows["1"]["n"] == "100"
    assert table.summary == (
        "RGA gives a higher ASR than STBP in all 2 comparisons (RGA − STBP: +8.50 to +9.50 "
        "points, mean +9.00); 0 of 2 differences are within one standard deviation over seeds."
    )
    markdown = (tmp_path / "sweep" / "report.md").read_text()
    assert f"**Finding.** {table.summary}" in markdown
    assert "commit 0123456789ab" in markdown


def test_the_finding_names_stbp_when_stbp_wins_and_counts_differences_within_the_spread(
    tmp_path: Path,
) -> None:
    lambda_sweep(
        tmp_path / "sweep",
        {
            (0.5, "stbp"): (80.0, 84.0),
            (0.5, "rga"): (70.0, 75.0),  # RGA − STBP per seed: −10, −9
            (1.0, "stbp"): (60.0, 70.0),
            (1.0, "rga"): (62.0, 65.0),  # +2, −5: mean −1.5, std 4.95
        },
    )
    table = write_report(tmp_path / "sweep").tables[0]
    assert table.summary == (
        "STBP gives a higher ASR than RGA in all 2 comparisons (RGA − STBP: -9.50 to -1.50 "
        "points, mean -5.50); 1 of 2 differences are within one standard deviation over seeds."
    )
    stbp = table.columns.index("WB ASR STBP")
    assert table.bold == {(0, stbp), (1, stbp)}  # STBP's ASR marked in both rows


def test_the_finding_counts_wins_per_attack_when_there_are_several() -> None:
    deltas = {
        "rga": [
            ("FGSM WB", (3.0, 1.0, 2)),
            ("FGSM BB", (2.0, 3.0, 2)),  # within the spread
            ("PGD WB", (-1.0, 0.5, 2)),
            ("PGD BB", (0.5, 0.1, 2)),
        ]
    }
    assert tables.comparison_sentence(deltas, "stbp") == (
        "RGA gives a higher ASR than STBP in 3 of 4 comparisons (FGSM WB 1 of 1, FGSM BB 1 of "
        "1, PGD WB 0 of 1, PGD BB 1 of 1; RGA − STBP: -1.00 to +3.00 points, mean +1.12); 1 of "
        "4 differences are within one standard deviation over seeds."
    )


def test_report_title_and_command_come_from_hydras_record(tmp_path: Path) -> None:
    lambda_sweep(tmp_path / "sweep", {(0.5, "stbp"): (80.0,), (1.0, "stbp"): (70.0,)})
    hydra = {
        "mode": "MULTIRUN",
        "overrides": {
            "hydra": ["hydra.sweep.dir=out", "hydra.mode=MULTIRUN"],
            "task": ["store.dir=/tmp/models", "seed=0", "lambda=0.5,1.0", "tags=[v2]"],
        },
        "job": {"config_name": "digits_table2"},
        "runtime": {
            "cwd": "/repo",
            "config_sources": [  # as Hydra records them: run.py's conf/, then -cd's folder
                {"provider": "main", "path": "/repo/conf"},
                {"provider": "command-line", "path": "/repo/experiments"},
            ],
        },
    }
    (tmp_path / "sweep" / "multirun.yaml").write_text(json.dumps({"hydra": hydra}))
    report = write_report(tmp_path / "sweep")
    assert report.origin.title == "digits_table2: seed=0 lambda=0.5,1.0"
    assert report.origin.command == (
        "python run.py -m -cd experiments -cn digits_table2 store.dir=/tmp/models seed=0 "
        "lambda=0.5,1.0 'tags=[v2]' hydra.sweep.dir=out"
    )
    markdown = (tmp_path / "sweep" / "report.md").read_text()
    assert markdown.startswith("# digits_table2: seed=0 lambda=0.5,1.0\n")
    assert "· snnattack 0.1.0 · commit 0123456789ab · results of" in markdown  # what made them
    rows = results_csv(tmp_path / "sweep")
    assert {(r["version"], r["git_commit"]) for r in rows} == {("0.1.0", "0123456789abcdef0123")}
    assert report.tables[0].summary == (  # one gradient mode: nothing to compare
        "White-box ASR ranges from 70.00 to 80.00 % (robust accuracy 18.00 to 27.00 %)."
    )


def test_the_report_title_keeps_the_dataset_params_that_change_results(tmp_path: Path) -> None:
    """The title left out every ``dataset.params`` override as where the data is, so a sweep
    over another validation share or split seed was titled as the default's; it leaves out
    the overrides the config's ``cosmetic_keys`` (and the ``trainer=`` choice) call changing
    no result: where the data is read from and how, where files go."""
    lambda_sweep(tmp_path / "sweep", {(0.5, "stbp"): (80.0,), (1.0, "stbp"): (70.0,)})
    changing = ["dataset.params.val_fraction=0.2", "dataset.params.split_seed=1", "lambda=0.5,1.0"]
    where = [
        "dataset.params.root=/data",
        "dataset.params.num_workers=4",
        "dataset.threads=2",
        "trainer=cpu",
        "checks.memory=false",
    ]
    task = [changing[0], *where, *changing[1:]]
    hydra = {"mode": "MULTIRUN", "overrides": {"hydra": [], "task": task}}
    (tmp_path / "sweep" / "multirun.yaml").write_text(json.dumps({"hydra": hydra}))
    origin = write_report(tmp_path / "sweep").origin
    assert origin.title == " ".join(changing)
    assert origin.command == f"python run.py -m {' '.join(task)}"


def test_the_report_command_holds_a_swept_choices_setting_as_typed(tmp_path: Path) -> None:
    """``-m 'method=[fgsm],[pgd]' method.pgd.steps=3`` reached Hydra as ``choice(3)``
    (:func:`~snnattack.runtime.launchers.swept_choice_settings`), which the title and the
    command showed; a sweep of several values typed as ``choice(...)`` stays one."""
    lambda_sweep(tmp_path / "sweep", {(0.5, "stbp"): (80.0,), (1.0, "stbp"): (70.0,)})
    task = ["method=[fgsm],[pgd]", "method.pgd.steps=choice(3)", "method.pgd.alpha=choice(1,2)"]
    hydra = {
        "mode": "MULTIRUN",
        "overrides": {"hydra": [], "task": task},
        "job": {"config_name": "config"},
        "runtime": {"cwd": "/repo", "config_sources": []},
    }
    (tmp_path / "sweep" / "multirun.yaml").write_text(json.dumps({"hydra": hydra}))
    origin = write_report(tmp_path / "sweep").origin
    typed = "method=[fgsm],[pgd] method.pgd.steps=3 method.pgd.alpha=choice(1,2)"
    assert origin.title == typed
    assert origin.command == (
        "python run.py -m 'method=[fgsm],[pgd]' method.pgd.steps=3 'method.pgd.alpha=choice(1,2)'"
    )


def test_a_folder_of_several_sweeps_takes_its_sweeps_commands(tmp_path: Path) -> None:
    """multirun/<date>/ over a sweep and another with another λ has no record of its own: its
    report said 'not recorded (no Hydra record in the folder)'; its sweeps' records say it."""
    day = tmp_path / "2026-11-29"
    for name, lam in (("10-00-00", 0.5), ("11-00-00", 1.0)):
        lambda_sweep(day / name, {(lam, "stbp"): (80.0,)})
        hydra = {"mode": "MULTIRUN", "overrides": {"task": ["seed=0", f"lambda={lam}"]}}
        (day / name / "multirun.yaml").write_text(json.dumps({"hydra": hydra}))
    origin = write_report(day).origin
    assert origin.title == "seed=0 lambda=0.5 (+ 1 other launch in 2026-11-29)"
    assert origin.command == "python run.py -m seed=0 lambda=0.5"
    assert origin.launches_text() == (
        "Launches in its folders: 10-00-00: `python run.py -m seed=0 lambda=0.5`; "
        "11-00-00: `python run.py -m seed=0 lambda=1.0`."
    )
    assert origin.launches_text() in (day / "report.md").read_text()


def test_a_folder_of_several_sweeps_lists_every_launch_of_an_extended_one(tmp_path: Path) -> None:
    """A sweep extended into its folder (λ = 0.5, then 0.5 and 0.75) beside another: the
    folder's report listed each sweep's latest launch alone, numbered across folders (1, 2),
    so its left-out lines' ``launch 2 of 10-00-00`` named a launch it did not show, and the
    title counted one other launch of three. Each sweep's launches now, numbered within it."""
    day = tmp_path / "2026-11-29"
    for name, lam, lams in (("10-00-00", 0.5, ("0.5", "0.5,0.75")), ("11-00-00", 1.0, ("1.0",))):
        lambda_sweep(day / name, {(lam, "stbp"): (80.0,)})
        for values in lams:
            hydra = {"mode": "MULTIRUN", "overrides": {"task": ["seed=0", f"lambda={values}"]}}
            (day / name / "multirun.yaml").write_text(json.dumps({"hydra": hydra}))
            if len(lams) > 1:  # as the sweeper records each launch
                record_launch(day / name, hydra, [["seed=0", "lambda=0.5"]], [None], [None])
    origin = write_report(day).origin
    assert origin.title == "seed=0 lambda=0.5,0.75 (+ 2 other launches in 2026-11-29)"
    assert origin.launches_text() == (
        "Launches in its folders: 10-00-00: 1 `python run.py -m seed=0 lambda=0.5`, "
        "2 `python run.py -m seed=0 lambda=0.5,0.75`; "
        "11-00-00: `python run.py -m seed=0 lambda=1.0`."
    )


def test_report_html_tables_scroll_instead_of_being_clipped(tmp_path: Path) -> None:
    """Rendered in headless Chromium at 600 px: the page fits the window and the wide table
    scrolls inside its box (see docs/report.md)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    lambda_sweep(
        tmp_path / "sweep", {(lam, m): (80.0, 81.0) for lam in (0.5, 1.0) for m in ("stbp", "rga")}
    )
    page = (write_report(tmp_path / "sweep").files["html"]).read_text()
    probe = (
        "<script>addEventListener('DOMContentLoaded',()=>{const box=document.querySelector"
        "('.scroll');document.body.dataset.probe=[document.documentElement.scrollWidth,"
        "innerWidth,box.scrollWidth,box.clientWidth].join(' ')})</script>"
    )
    (tmp_path / "probe.html").write_text(page.replace("</body>", probe + "</body>"))
    dom = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=600,800",
            "--dump-dom",
            (tmp_path / "probe.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    page_width, window, table_width, box_width = map(
        int, re.search(r'data-probe="([\d ]+)"', dom)[1].split()
    )
    assert page_width <= window  # nothing sticks out of the window
    assert table_width > box_width  # the table is wider than its box: it scrolls there


def test_a_failing_report_prints_one_line_and_leaves_the_sweep_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "2026-11-23" / "x")}}})
    ReportCallback().on_multirun_end(config)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("report: not written")
    assert sweep_group(tmp_path / "2026-11-23" / "04-17-00") == "2026-11-23/04-17-00"


def test_a_single_runs_report_is_written_by_rank_0_only(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DDP job's rank 1 is a run of its own into rank 0's folder: it writes no report."""
    hand_made_job(tmp_path / "job", 0, "stbp", 80.0)
    config = OmegaConf.create({"hydra": {"run": {"dir": str(tmp_path / "job")}}})
    for name in RANK_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOCAL_RANK", "1")
    ReportCallback().on_run_end(config)
    assert capsys.readouterr().out == "" and not (tmp_path / "job" / "report.html").exists()
    monkeypatch.setenv("LOCAL_RANK", "0")
    ReportCallback().on_run_end(config)
    html = tmp_path / "job" / "report.html"
    assert capsys.readouterr().out.strip() == f"report: {html}" and html.is_file()


def test_a_wandb_block_that_does_not_resolve_still_writes_the_report_and_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep's results and local report stand; W&B's line says why it was not logged."""
    monkeypatch.delenv("SNNATTACK_UNSET_PROJECT", raising=False)
    hand_made_job(tmp_path / "sweep" / "0", 0, "stbp", 80.0)
    config = OmegaConf.create(
        {
            "hydra": {"sweep": {"dir": str(tmp_path / "sweep")}},
            "logger": {"wandb": {"project": "${oc.env:SNNATTACK_UNSET_PROJECT}"}},
        }
    )
    ReportCallback().on_multirun_end(config)
    out = capsys.readouterr().out.strip().splitlines()
    html = tmp_path / "sweep" / "report.html"
    assert len(out) == 1 and out[0].startswith(f"report: {html} (not logged to W&B: "), out
    assert "SNNATTACK_UNSET_PROJECT" in out[0] and html.is_file()


def test_report_help_says_what_it_does_in_plain_text(capsys: pytest.CaptureFixture) -> None:
    """It printed the module's reST docstring (``python -m snnattack.report DIR``: ...)."""
    with pytest.raises(SystemExit) as stop:
        report_main(["--help"])
    out = capsys.readouterr().out
    assert stop.value.code == 0 and "``" not in out
    assert "Write the report of a job or sweep folder into it." in out


def test_report_of_a_folder_without_results_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as stop:
        report_main([str(tmp_path)])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: no metrics.json under {tmp_path}; accepted: a job or sweep folder"]


def test_a_report_names_the_jobs_it_leaves_out_and_never_shows_impossible_values(
    tmp_path: Path, capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged or edited metrics.json (truncated, a rate above 100 %) and a job folder
    without one (killed, failed) are named in the report and on the console, not dropped."""
    sweep = tmp_path / "sweep"
    for i in range(4):
        hand_made_job(sweep / str(i), 0, "stbp", 80.0)
        (sweep / str(i) / ".hydra").mkdir()
    metrics = [sweep / str(i) / "metrics.json" for i in range(4)]
    metrics[1].write_text(metrics[1].read_text()[:300])
    record = json.loads(metrics[2].read_text())
    record["results"][0]["asr"] = 150.0
    metrics[2].write_text(json.dumps(record))
    metrics[3].unlink()
    with caplog.at_level("WARNING", logger="snnattack.report"):
        report = write_report(sweep)
    assert [job.name for job in report.jobs] == ["0"]
    assert report.left_out[0].startswith("1/metrics.json cannot be read (")
    assert report.left_out[1:] == [
        "2/metrics.json cannot be read (its results[0].asr=150.0 is outside [0, 100])",
        "3 has no metrics.json (the job did not finish (yet), or failed)",
    ]
    assert [r.getMessage() for r in caplog.records] == [
        f"left out of the report: {line}" for line in report.left_out
    ]
    assert f"Left out: {'; '.join(report.left_out)}." in (sweep / "report.md").read_text()
    # a single job's damaged file is named, not called missing
    with pytest.raises(SystemExit):
        report_main([str(sweep / "1")])
    assert capsys.readouterr().err.startswith(
        f"error: no metrics.json under {sweep / '1'} can be read (./metrics.json cannot be read ("
    )


def test_a_sweep_with_numbered_and_named_job_folders_is_reported(tmp_path: Path) -> None:
    """Values added to a sweep with hydra.sweep.subdir=${hydra.job.override_dirname} lie in
    named folders beside the numbered ones: all are reported, numbers first, in order, and the
    numbers in names as numbers; the sweep's summary lists them in the same order."""
    sweep = tmp_path / "sweep"
    names = ["10", "2", "lambda=0.7", "eps=[8],lambda=0.5", "seed10", "seed2", "lam0.5", "lam0.25"]
    names.append("x1²")
    for name in names:
        hand_made_job(sweep / name, 0, "stbp", 80.0)
    expected = [
        "2",
        "10",
        "eps=[8],lambda=0.5",
        "lam0.25",
        "lam0.5",
        "lambda=0.7",
        "seed2",
        "seed10",
        "x1²",  # a digit that is no number
    ]
    assert [job.name for job in write_report(sweep).jobs] == expected
    for name in names:
        (sweep / name / ".hydra").mkdir(exist_ok=True)
    assert [f.name for f in job_folders(sweep, ".hydra")] == expected


def test_a_job_refused_in_a_sweep_is_named_in_its_report(tmp_path: Path) -> None:
    """A job refused before its work has no folder left: the sweep's failures.jsonl names it,
    and the report does, with its error; a folder left without results says why too."""
    sweep = tmp_path / "sweep"
    hand_made_job(sweep / "0", 0, "stbp", 80.0)
    (sweep / "2" / ".hydra").mkdir(parents=True)
    error = "lambda=1.5 is out of range; accepted: 0 < lambda <= 1"
    record_failure(sweep, 1, sweep / "1", ["lambda=1.5"], error)
    record_failure(sweep, 2, sweep / "2", ["lambda=0.3"], "cannot decode P: it holds no events")
    expected = [
        "2 has no metrics.json (failed: cannot decode P: it holds no events)",
        f"job 1 (lambda=1.5) failed: {error}",
    ]
    assert write_report(sweep).left_out == expected
    assert f"job 1 (lambda=1.5) failed: {error}" in (sweep / "report.md").read_text()
    moved = shutil.move(sweep, tmp_path / "moved")  # the folders are named relative to it
    assert write_report(Path(moved)).left_out == expected


def test_a_job_failed_in_a_folder_without_a_record_is_named_by_its_folder(
    tmp_path: Path,
) -> None:
    """With ``hydra.output_subdir=null`` a job folder holds no ``.hydra/``: a job that failed
    in a folder left there (an earlier launch's killed job's, which it leaves as it was: its
    log and lock, no results) was named nowhere: its refusal deferred to its folder's line,
    which the report, finding job folders by their record, never wrote; a job killed in its
    folder read as never run. Both are named by their folder now, and once."""
    sweep = tmp_path / "sweep"
    hand_made_job(sweep / "0", 0, "stbp", 80.0)
    ran = settings_hash(json.loads((sweep / "0" / "metrics.json").read_text())["config"])
    for name in ("1", "2"):
        (sweep / name).mkdir()
        (sweep / name / "run.log").write_text("a killed job's log\n")
        (sweep / name / ".job.lock").write_text("")
    launch = {
        "hydra": {"overrides": {"task": ["seed=0,1,2"]}},
        "jobs": [["seed=0"], ["seed=1"], ["seed=2"]],
        "settings": [ran, "0123456789abcdef", "fedcba9876543210"],
    }
    (sweep / "launches.jsonl").write_text(json.dumps(launch) + "\n")
    error = "cannot decode P: it holds no events"
    record_failure(sweep, 1, sweep / "1", ["seed=1"], error, settings="0123456789abcdef")
    assert write_report(sweep).left_out == [
        f"1 has no metrics.json (failed: {error})",
        "2 has no metrics.json (the job did not finish (yet), or failed)",
    ]


def test_a_failed_job_mended_by_a_relaunch_with_a_cosmetic_setting_is_not_named(
    tmp_path: Path,
) -> None:
    """Its folder holds the relaunch's results: its overrides there hold threads=1, which
    changes no result, beside the failure's."""
    sweep = tmp_path / "sweep"
    hand_made_job(sweep / "0", 0, "stbp", 80.0)
    record = json.loads((sweep / "0" / "metrics.json").read_text())
    record["config"]["cosmetic_keys"] = ["threads"]
    (sweep / "0" / "metrics.json").write_text(json.dumps(record))
    (sweep / "0" / ".hydra").mkdir()
    (sweep / "0" / ".hydra" / "overrides.yaml").write_text("- seed=0\n- threads=1\n")
    record_failure(sweep, 0, sweep / "0", ["seed=0"], "CUDA out of memory")
    assert write_report(sweep).left_out == []
    record_failure(sweep, 0, sweep / "0", ["seed=3"], "held the finished job of other settings")
    assert write_report(sweep).left_out == [
        "job 0 (seed=3) failed: held the finished job of other settings"
    ]


def test_each_refusal_after_a_folders_results_is_named_and_none_before_them(
    tmp_path: Path,
) -> None:
    """A relaunch of the same values with another config file (-cn) was refused job by job,
    and the report named none: the folder's job had the same overrides. Two refusals of one
    folder named the last alone."""
    sweep = tmp_path / "sweep"
    hand_made_job(sweep / "0", 0, "stbp", 80.0, finished="2026-11-29T08:00:00.000+00:00")
    (sweep / "0" / ".hydra").mkdir()
    (sweep / "0" / ".hydra" / "overrides.yaml").write_text("- seed=0\n")
    lines = [
        ("seed=0", "CUDA out of memory", "07:00"),  # before its results: mended since
        ("seed=0", "F holds the finished job of other settings (-cn other)", "09:00"),
        ("seed=0 lambda=0.5", "F holds the finished job of other settings (lambda)", "09:30"),
    ]
    (sweep / "failures.jsonl").write_text(
        "".join(
            json.dumps(
                {"job": 0, "folder": "0", "overrides": o.split(), "error": e,
                 "time": f"2026-11-29T{t}:00.000+00:00"}
            ) + "\n"
            for o, e, t in lines
        )
    )  # fmt: skip
    assert write_report(sweep).left_out == [
        "job 0 (seed=0) failed: F holds the finished job of other settings (-cn other)",
        "job 0 (seed=0 lambda=0.5) failed: F holds the finished job of other settings (lambda)",
    ]


def test_a_folder_without_a_readable_record_still_knows_the_cosmetic_keys(
    tmp_path: Path,
) -> None:
    """With no record to say them, a relaunch's threads=1 job read as one that never ran."""
    sweep = tmp_path / "sweep"
    (sweep / "0" / ".hydra").mkdir(parents=True)
    (sweep / "0" / ".hydra" / "overrides.yaml").write_text("- seed=0\n")
    launch = {
        "hydra": {"overrides": {"task": ["seed=0", "threads=1"]}},
        "jobs": [["seed=0", "threads=1"]],
    }
    (sweep / "launches.jsonl").write_text(json.dumps(launch) + "\n")
    with pytest.raises(UserError) as refused:
        write_report(sweep)
    assert str(refused.value) == (
        f"no metrics.json under {sweep} can be read (0 has no metrics.json (the job did not "
        "finish (yet), or failed)); accepted: a job or sweep folder"
    )


def test_a_launched_job_is_known_by_its_settings_not_its_folder_or_overrides(
    tmp_path: Path,
) -> None:
    """A launch killed before its job λ=0.9 started, whose folder 1 held an earlier launch's
    results, named nothing; a job whose overrides spelt a default (seed=0), or whose folder
    the subdir names otherwise, read as never run."""
    sweep = tmp_path / "sweep"
    for i, seed in enumerate((0, 1)):
        hand_made_job(sweep / f"run_{i}", seed, "stbp", 80.0)
    ran = settings_hash(json.loads((sweep / "run_0" / "metrics.json").read_text())["config"])
    launch = {
        "hydra": {"overrides": {"task": ["seed=0,2"]}},
        "jobs": [["seed=0", "lambda=1.0"], ["lambda=0.9"]],
        "settings": [ran, "0123456789abcdef"],
    }
    (sweep / "launches.jsonl").write_text(json.dumps(launch) + "\n")
    assert write_report(sweep).left_out == [
        "job 1 (lambda=0.9) has no results in the sweep: not run (yet), or its folder was removed"
    ]
    (sweep / "2" / ".hydra").mkdir(parents=True)  # started, and killed: its folder says it
    (sweep / "2" / ".hydra" / "overrides.yaml").write_text("- lambda=0.9\n")
    assert write_report(sweep).left_out == [
        "2 has no metrics.json (the job did not finish (yet), or failed)"
    ]


def test_a_launched_job_whose_record_cannot_be_read_is_named_once(tmp_path: Path) -> None:
    """A job folder whose metrics.json is truncated is named for that, and not again as a
    launched job that was never run (or whose folder was removed): its folder is there."""
    sweep = tmp_path / "sweep"
    for i, seed in enumerate((0, 1)):
        hand_made_job(sweep / str(i), seed, "stbp", 80.0)
        (sweep / str(i) / ".hydra").mkdir()
        (sweep / str(i) / ".hydra" / "overrides.yaml").write_text(f"- seed={seed}\n")
    records = [json.loads((sweep / str(i) / "metrics.json").read_text()) for i in (0, 1)]
    launch = {
        "hydra": {"overrides": {"task": ["seed=0,1"]}},
        "jobs": [["seed=0"], ["seed=1"]],
        "settings": [settings_hash(r["config"]) for r in records],
    }
    (sweep / "launches.jsonl").write_text(json.dumps(launch) + "\n")
    damaged = sweep / "1" / "metrics.json"
    damaged.write_text(damaged.read_text()[:300])
    left_out = write_report(sweep).left_out
    assert len(left_out) == 1 and left_out[0].startswith("1/metrics.json cannot be read (")


def test_masking_flags_are_listed_per_job(tmp_path: Path) -> None:
    flagged = {
        "flagged": ["unbounded_eps"],
        "checks": [
            {"name": "zero_gradients", "flagged": False, "detail": "no"},
            {"name": "unbounded_eps", "flagged": True, "detail": "PGD at eps=1: 40.0 % ASR"},
        ],
    }
    clean = {
        "flagged": [],
        "checks": [{"name": "zero_gradients", "flagged": False, "detail": "no"}],
    }
    hand_made_job(tmp_path / "sweep" / "0", 0, "stbp", 50.0, masking=flagged)
    hand_made_job(tmp_path / "sweep" / "1", 1, "stbp", 50.0, masking=clean)
    report = write_report(tmp_path / "sweep")
    (table,) = [t for t in report.tables if t.key == "masking"]
    assert table.rows == [["0", "unbounded_eps", "PGD at eps=1: 40.0 % ASR"], ["1", "none", ""]]
    assert "1 of 2 job(s) flagged" in table.note
    assert "Gradient-masking checks" in (tmp_path / "sweep" / "report.md").read_text()
    (one,) = [t for t in write_report(tmp_path / "sweep" / "0").tables if t.key == "masking"]
    assert one.columns == ["flagged", "details"]  # one job: no column naming it "."
    assert one.rows == [["unbounded_eps", "PGD at eps=1: 40.0 % ASR"]]


def test_the_jobs_notes_are_listed_once_each_with_the_jobs_that_hold_them(
    tmp_path: Path,
) -> None:
    """Notes reached metrics.json and the console, never the report."""
    tie = "every point of attack.tune.grids.rga for fgsm/white/eps16 scored 44.44 % ASR"
    unread = "source_T=2 is not read by the black-box source of train.kind=ann"
    hand_made_job(tmp_path / "sweep" / "0", 0, "stbp", 50.0, notes=[tie, unread])
    hand_made_job(tmp_path / "sweep" / "1", 1, "stbp", 50.0, notes=[unread])
    hand_made_job(tmp_path / "sweep" / "2", 2, "stbp", 50.0)
    (table,) = [t for t in write_report(tmp_path / "sweep").tables if t.key == "notes"]
    assert table.rows == [["0", tie], ["0, 1", unread]]
    assert unread in (tmp_path / "sweep" / "report.md").read_text()
    assert unread in (tmp_path / "sweep" / "report.html").read_text()
    (one,) = [t for t in write_report(tmp_path / "sweep" / "1").tables if t.key == "notes"]
    assert one.columns == ["note"] and one.rows == [[unread]]
    assert not [t for t in write_report(tmp_path / "sweep" / "2").tables if t.key == "notes"]


def test_ensemble_and_tuning_tables_show_the_worst_case_and_the_chosen_values(
    tmp_path: Path,
) -> None:
    parts = [
        {"name": "apgd/stbp", "grad_mode": "stbp", "grad_params": {}, "first_successes": 7},
        {
            "name": "apgd/hart",
            "grad_mode": "hart",
            "grad_params": {"gamma": 0.35},
            "first_successes": 2,
            "tuned": {"params": {"gamma": 0.35}, "val_asr": 90.0, "val_n": 200},
        },
        {  # asked to be tuned, but no point scored above another: its configured parameters
            "name": "apgd/rga",
            "grad_mode": "rga",
            "grad_params": {"beta": 2.0},
            "first_successes": 0,
            "tuned": {"params": None, "val_asr": 0.0, "val_n": 200},
        },
        {  # not asked to be tuned
            "name": "apgd/pdsg",
            "grad_mode": "pdsg",
            "grad_params": {},
            "first_successes": 0,
            "tuned": None,
        },
        {  # a record written before components kept their scores: "tuned" was the request
            "name": "apgd_dlr/hart",
            "grad_mode": "hart",
            "grad_params": {"gamma": 0.5},
            "first_successes": 0,
            "tuned": True,
        },
    ]
    hand_made_job(tmp_path / "sweep" / "0", 0, "hart", 80.0)
    path = tmp_path / "sweep" / "0" / "metrics.json"
    record = json.loads(path.read_text())
    single = record["results"][0]
    # a mode's parameter the tuning left unset (None) is not shown: it read "surrogate=–"
    tuned = {"params": {"gamma": 0.4, "surrogate": None}, "val_asr": 81.5, "val_n": 200}
    single.update(tuned=tuned)
    tied = {"params": None, "val_asr": 12.5, "val_n": 200}  # every point: its configured kept
    record["results"].append({**single, "method": "pgd", "box": "black", "tuned": tied})
    record["config"]["attack"]["tune"] = {  # a grid of one's own, not the HART authors'
        "grids": {
            "hart": {"gamma": {"start": 0.2, "stop": 1.0, "step": 0.1}},
            "rga": {"beta": [2.0, 4.0], "gamma": [0.0, 0.5]},
            "stbp": {"width": [0.5], "alpha": None},  # a mode no row tuned: unsaid
        }
    }
    record["results"].append(
        {
            **single,
            "method": "ensemble",
            "grad_mode": "ensemble",
            "adv_acc": 4.0,
            "components": parts,
            "tuned": None,
        }
    )
    path.write_text(json.dumps(record))
    report = write_report(tmp_path / "sweep")
    tables = {t.key: t for t in report.tables}
    assert tables["ensemble"].rows == [
        [
            "0",
            "white",
            "48",
            "4.00",
            "10.00 (fgsm/hart)",
            "yes",
            "apgd/stbp 7, apgd/hart 2, apgd/rga 0, apgd/pdsg 0, apgd_dlr/hart 0",
        ]
    ]
    assert tables["tuning"].rows == [
        ["0", "white", "48", "hart", "fgsm", "gamma=0.4", "81.50", "200"],
        ["0", "black", "48", "hart", "pgd", "none (all tied)", "12.50", "200"],
        ["0", "white", "48", "hart", "ensemble: apgd/hart", "gamma=0.35", "90.00", "200"],
        ["0", "white", "48", "rga", "ensemble: apgd/rga", "none (all tied)", "0.00", "200"],
        ["0", "white", "48", "hart", "ensemble: apgd_dlr/hart", "gamma=0.5", "–", "–"],
    ]
    assert "on the grids of attack.tune.grids: hart: gamma 0.2..1 step 0.1; rga: beta 2, 4 × " in (
        tables["tuning"].note
    )


def test_one_modes_finding_gives_the_range_of_the_tables_cells_not_of_single_seeds(
    tmp_path: Path,
) -> None:
    """Its ends were single seeds' rows (52.20 beside a cell of 53.68): none in the table."""
    lambda_sweep(tmp_path / "sweep", {(0.5, "stbp"): (60.0, 80.0), (1.0, "stbp"): (90.0, 94.0)})
    table = write_report(tmp_path / "sweep").tables[0]
    assert table.summary.startswith("White-box ASR ranges from 70.00 to 92.00 % (robust")


def test_cost_table_shows_each_step_with_its_dense_floor(tmp_path: Path) -> None:
    cost = {
        "modes": {
            "forward": {"seconds": 0.010, "time_vs_forward": 1.0, "dense_vs_forward": 0.8},
            "stbp": {"seconds": 0.021, "time_vs_forward": 2.1, "dense_vs_forward": 1.7},
        }
    }
    hand_made_job(tmp_path / "sweep" / "0", 0, "stbp", 80.0, analyses={"cost": cost})
    table = next(t for t in write_report(tmp_path / "sweep").tables if t.key == "cost")
    floor = table.columns.index("floor × forward")
    assert table.columns[floor - 1] == "× forward"
    assert [row[floor] for row in table.rows] == ["0.80", "1.70"]
    assert "convolutions and matrix products" in table.note


def test_the_cost_sentence_counts_the_models_measured_not_the_jobs(tmp_path: Path) -> None:
    """Two attack jobs (attack=rga,stbp) measure each model: they were "4 model(s)"."""
    modes = {
        "forward": {"seconds": 0.01, "time_vs_stbp": 0.5, "memory_vs_stbp": 0.4},
        "stbp": {"seconds": 0.02, "time_vs_stbp": 1.0, "memory_vs_stbp": 1.0},
        "rga": {"seconds": 0.012, "time_vs_stbp": 0.6, "memory_vs_stbp": 0.8},
    }
    for i, (mode, key) in enumerate([("rga", "a"), ("stbp", "a"), ("rga", "b"), ("stbp", "b")]):
        models = {"target": {"key": key, "spec": {"T": key}}}
        hand_made_job(
            tmp_path / "sweep" / str(i), 0, mode, 80.0, analyses={"cost": {"modes": modes}},
            models=models,
        )  # fmt: skip
    table = next(t for t in write_report(tmp_path / "sweep").tables if t.key == "cost")
    assert table.summary == (
        "Against one STBP attack step, the forward pass takes 0.50× its time and uses 0.40× its "
        "peak memory; the RGA step takes 0.60× its time and uses 0.80× its peak memory (2 "
        "model(s) measured by 4 jobs)."
    )


def test_the_cost_sentence_gives_one_number_where_its_range_rounds_to_one(
    tmp_path: Path,
) -> None:
    """Two models' ratios that differ past the second decimal read as one (it said
    "0.93–0.93× its time"); a range where they print apart."""
    for i, (rga, memory) in enumerate([(0.931, 0.8), (0.934, 0.9)]):
        modes = {
            "stbp": {"seconds": 0.02, "time_vs_stbp": 1.0, "memory_vs_stbp": 1.0},
            "rga": {"seconds": 0.02 * rga, "time_vs_stbp": rga, "memory_vs_stbp": memory},
        }
        models = {"target": {"key": str(i), "spec": {"T": i}}}
        hand_made_job(
            tmp_path / "sweep" / str(i), 0, "rga", 80.0, analyses={"cost": {"modes": modes}},
            models=models,
        )  # fmt: skip
    table = next(t for t in write_report(tmp_path / "sweep").tables if t.key == "cost")
    assert "the RGA step takes 0.93× its time and uses 0.80–0.90× its peak memory" in table.summary


def _neurons(*lams: float) -> dict:
    """A record's target, of one LIF per λ in ``lams`` (soft reset)."""
    layers = [
        {"layer": f"{i}", "lambda": lam, "theta": 1.0, "reset": "soft"}
        for i, lam in enumerate(lams)
    ]
    return {"target": {"kind": "external", "neurons": layers}}


def test_a_models_own_neurons_set_its_lambda_and_reset_columns_not_the_unused_config(
    tmp_path: Path,
) -> None:
    # a model passed to the API (or model=external) runs its own λ and reset: the record's
    # config holds the defaults, lambda=1.0 and reset=hard, which built nothing
    for i, lams in enumerate([(0.5, 0.5), (0.9, 0.9), (0.5, 0.9)]):
        hand_made_job(tmp_path / "sweep" / str(i), 0, "stbp", 80.0 + i, models=_neurons(*lams))
    report = write_report(tmp_path / "sweep")
    rows = results_csv(tmp_path / "sweep")
    assert [(r["lambda"], r["reset"]) for r in rows] == [
        ("0.5", "soft"),
        ("0.9", "soft"),
        ("", "soft"),
    ]
    table = report.tables[0]
    assert table.columns[0] == "λ" and "reset = soft" in table.settings
    # λ per job; "–" where the layers differ (the record's title names each layer's)
    assert [row[0] for row in table.rows] == ["0.5", "0.9", "–", "1"]  # "1": the paper's row


def test_a_network_passed_to_the_api_is_named_by_its_class_in_the_model_column(
    tmp_path: Path,
) -> None:
    # its record's config says model.name=passed: the caller's network, of no config's
    # architecture; its models.target names it (a zoo model's name, else its class's)
    for i, (name, own) in enumerate([("passed", "CSNN"), ("digits_net", None)]):
        folder = tmp_path / "sweep" / str(i)
        target = {"kind": "stbp", **({"architecture": own} if own else {})}
        hand_made_job(folder, i, "stbp", 80.0, models={"target": target})
        record = json.loads((folder / "metrics.json").read_text())
        record["config"]["model"]["name"] = name
        (folder / "metrics.json").write_text(json.dumps(record))
    write_report(tmp_path / "sweep")
    assert [r["model"] for r in results_csv(tmp_path / "sweep")] == ["CSNN", "digits_net"]


def test_a_cut_short_or_edited_failures_line_is_passed_over(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    hand_made_job(sweep / "0", 0, "stbp", 80.0)
    record_failure(sweep, 1, sweep / "1", ["lambda=1.5"], "out of range")
    with open(sweep / "failures.jsonl", "a") as f:
        f.write('{"job": 2, "folder": "x"}\n[1, 2]\n')  # edited
        f.write('{"job": 4, "folder": null, "overrides": null, "error": "e"}\n')
        f.write('{"job": 3, "fold')  # cut short
    assert write_report(sweep).left_out == ["job 1 (lambda=1.5) failed: out of range"]


def test_table1_gives_the_test_samples_each_setting_was_shuffled_on(tmp_path: Path) -> None:
    """Its clean accuracy may be on fewer samples than Table 2's (``limit_batches``): n says."""
    for seed, n in [(0, 224), (1, 450)]:
        shuffle = {"clean_acc": 51.3, "shuffled_acc": 52.2, "n": n, "seed": 0, "mode": "layer"}
        hand_made_job(
            tmp_path / "sweep" / str(seed), seed, "stbp", 50.0, analyses={"shuffle": shuffle},
            models={"target": {"key": f"model{seed}"}},
        )  # fmt: skip
    (table,) = [t for t in write_report(tmp_path / "sweep").tables if t.title.startswith("Table 1")]
    (row,) = [r for r in table.rows if r[table.columns.index("models")] == "2"]
    assert row[table.columns.index("n")] == "224–450"


def test_a_setting_of_one_method_swept_over_its_jobs_is_a_column(tmp_path: Path) -> None:
    """method.pgd.steps=1,2 beside method=[fgsm],[pgd]: its jobs' rows were folded into one,
    swept by "method" alone."""
    for i, (method, params, asr) in enumerate(
        [("fgsm", {}, 50.0), ("pgd", {"steps": 1}, 60.0), ("pgd", {"steps": 2}, 70.0)]
    ):
        folder = tmp_path / "sweep" / str(i)
        hand_made_job(folder, 0, "stbp", asr)
        record = json.loads((folder / "metrics.json").read_text())
        record["config"]["method"] = {method: {"name": method, **params}}
        record["results"][0]["method"] = method
        (folder / "metrics.json").write_text(json.dumps(record))
    write_report(tmp_path / "sweep")
    rows = results_csv(tmp_path / "sweep")
    assert [(r["method"], r["method.pgd.steps"]) for r in rows] == [
        ("fgsm", ""),
        ("pgd", "1"),
        ("pgd", "2"),
    ]


def test_table_2s_rows_follow_the_numbers_of_a_sweep_extended_into_its_folder(
    tmp_path: Path,
) -> None:
    """λ = 0.9 added after 0.5 and 1.0 (its jobs numbered last) was the table's last row."""
    lambda_sweep(tmp_path / "sweep", {(0.5, "stbp"): (80.0,), (1.0, "stbp"): (90.0,)})
    lambda_sweep(tmp_path / "more", {(0.9, "stbp"): (85.0,)})
    (tmp_path / "more" / "0").rename(tmp_path / "sweep" / "2")
    table = write_report(tmp_path / "sweep").tables[0]
    assert [row[table.columns.index("λ")] for row in table.rows] == ["0.5", "0.9", "1"]


def test_a_setting_of_one_method_never_splits_another_methods_rows(tmp_path: Path) -> None:
    """method.pgd.steps=3,7 with method=[fgsm,pgd]: FGSM, which reads no PGD setting, was two
    series (one per steps value) of fewer seeds each."""
    for i, (steps, seed) in enumerate([(3, 0), (7, 0), (7, 1)]):
        folder = tmp_path / "sweep" / str(i)
        hand_made_job(folder, seed, "stbp", 50.0 + seed)
        record = json.loads((folder / "metrics.json").read_text())
        record["config"]["method"] = {
            "fgsm": {"name": "fgsm"},
            "pgd": {"name": "pgd", "steps": steps},
        }
        record["results"].append({**record["results"][0], "method": "pgd", "asr": 60.0 + steps})
        (folder / "metrics.json").write_text(json.dumps(record))
    report = write_report(tmp_path / "sweep")
    rows = results_csv(tmp_path / "sweep")
    assert [(r["method"], r["method.pgd.steps"]) for r in rows] == [
        ("fgsm", ""),
        ("pgd", "3"),
        ("fgsm", ""),
        ("pgd", "7"),
        ("fgsm", ""),
        ("pgd", "7"),
    ]
    table = report.tables[0]
    fgsm = [row for row in table.rows if row[table.columns.index("method")] == "fgsm"]
    assert len(fgsm) == 1 and fgsm[0][table.columns.index("seeds")] == "2", table.rows
    assert table.rows[0] is fgsm[0]  # as it came: a setting FGSM has not orders no row


def test_an_ensemble_and_a_method_seeded_by_the_job_pool_over_another_methods_setting_and_seeds(
    tmp_path: Path,
) -> None:
    """method.pgd.steps=3,7 and seed=0,1 beside the ensemble and Square: the ensemble's
    components run their methods' files (never method.pgd.*), so its row was split by PGD's
    steps; Square's seed is the job's (``seed: ${seed}``), so its rows were split by seed,
    and the header named method.square.seed as swept."""
    for i, (steps, seed) in enumerate([(3, 0), (7, 0), (3, 1), (7, 1)]):
        folder = tmp_path / "sweep" / str(i)
        hand_made_job(folder, seed, "stbp", 50.0 + seed)
        record = json.loads((folder / "metrics.json").read_text())
        record["config"]["method"] = {
            "pgd": {"name": "pgd", "steps": steps},
            "ensemble": {"name": "ensemble", "components": [{"attack": "stbp", "method": "apgd"}]},
            "square": {"name": "square", "seed": seed},
        }
        first = record["results"][0]
        parts = [{"name": "apgd/stbp", "grad_mode": "stbp", "first_successes": 3}]
        record["results"] = [
            {**first, "method": "pgd", "asr": 60.0 + steps},
            {**first, "method": "ensemble", "grad_mode": "ensemble", "components": parts},
            {**first, "method": "square", "grad_mode": "none", "asr": 40.0 + seed},
        ]
        (folder / "metrics.json").write_text(json.dumps(record))
    report = write_report(tmp_path / "sweep")
    rows = results_csv(tmp_path / "sweep")
    assert "method.square.seed" not in rows[0]
    assert {r["method.pgd.steps"] for r in rows if r["method"] != "pgd"} == {""}
    table = report.tables[0]
    for method in ("ensemble", "square"):
        (row,) = [row for row in table.rows if row[table.columns.index("method")] == method]
        assert row[table.columns.index("seeds")] == "2", table.rows
    assert "method.square.seed" not in (tmp_path / "sweep" / "report.md").read_text()


def test_jobs_that_differ_in_an_attack_setting_are_never_pooled_as_seeds(tmp_path: Path) -> None:
    """``attack.fold_bn=false,true`` (float rounding apart, the same rows): each job its own
    row and a column, not one mean over "seeds"."""
    for i, (fold, asr) in enumerate([(False, 42.16), (True, 41.18)]):
        folder = tmp_path / "sweep" / str(i)
        hand_made_job(folder, 0, "stbp", asr)
        record = json.loads((folder / "metrics.json").read_text())
        record["config"]["attack"]["fold_bn"] = fold
        (folder / "metrics.json").write_text(json.dumps(record))
    report = write_report(tmp_path / "sweep")
    assert [(r["attack.fold_bn"], r["asr"]) for r in results_csv(tmp_path / "sweep")] == [
        ("False", "42.16"),
        ("True", "41.18"),
    ]
    assert "41.67" not in (tmp_path / "sweep" / "report.md").read_text()
    assert len(report.jobs) == 2


@pytest.mark.slow
def test_the_report_command_reads_a_sweep_and_writes_its_report_without_lightning(
    tmp_path: Path,
) -> None:
    """``python -m snnattack.report DIR`` imported torch and Lightning (5.1 s here, 2.9 s
    without) before reading the first metrics.json, through the kinds of training and the W&B
    upload; torch is imported where a table orders the gradient modes as they registered."""
    sweep = tmp_path / "sweep"
    lambda_sweep(sweep, {(0.5, "stbp"): (80.0,), (1.0, "rga"): (90.0,)})
    code = (
        "import sys; from snnattack.report.__main__ import main; main([sys.argv[1]]); "
        "print('lightning' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(sweep)], capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[-1] == "False"
    assert (sweep / "report.md").is_file() and (sweep / "results.csv").is_file()


def test_a_difference_is_signed_never_minus_zero_and_its_seeds_are_said() -> None:
    assert tables.fmt_delta((-0.0008, 0.98, 2)) == "+0.00 ± 0.98"  # was "-0.00 ± 0.98"
    assert tables.fmt_delta((0.11, 0.79, 2)) == "+0.11 ± 0.79"  # Table 1's had no sign
    assert tables.fmt_delta((-0.94, 0.0, 1), seeds=2) == "-0.94 (1 of 2 seeds)"


def test_the_finding_says_the_differences_of_one_seed_it_cannot_judge() -> None:
    """A job left out: its row's differences (one seed) left the denominator unsaid."""
    deltas = {
        "rga": [("FGSM WB", (1.0, 2.0, 2)), ("PGD WB", (3.0, 0.5, 2)), ("FGSM BB", (2.0, 0.0, 1))]
    }
    assert tables.comparison_sentence(deltas, "stbp").endswith(
        "1 of 2 differences are within one standard deviation over seeds (1 more over one "
        "seed, with none)."
    )
    tie = {"rga": [("FGSM WB", (1.0, 2.0, 2)), ("PGD WB", (-1.0, 0.5, 2))]}
    assert "more often: 1 each of 2 (RGA − STBP: " in tables.comparison_sentence(tie, "stbp")


def test_the_findings_mean_difference_is_never_minus_zero() -> None:
    """Differences that cancel (+4.55, -4.55 as ASR floats) said their mean as -0.00."""
    asr = {"rga": (54.54545454545454, 45.45454545454545, 40.90909090909091, 40.90909090909091)}
    asr["stbp"] = (50.0, 31.818181818181817, 54.54545454545454, 45.45454545454545)  # a run's
    rows = ("FGSM WB", "FGSM BB", "PGD WB", "PGD BB")
    deltas = {"rga": [(r, (a - b, 0.0, 1)) for r, a, b in zip(rows, *asr.values(), strict=True)]}
    assert "-0.00" not in (sentence := tables.comparison_sentence(deltas, "stbp"))
    assert "RGA − STBP: -13.64 to +13.64 points, mean +0.00)" in sentence


def test_a_tuned_row_copied_from_another_job_is_listed_once_under_the_job_that_tuned_it(
    tmp_path: Path,
) -> None:
    """attack.reuse: job 1 (another PGD setting) copied job 0's tuned FGSM row; the tuning
    table listed it under both jobs, as two tunings."""
    tuned = {"params": {"gamma": 1.5}, "val_asr": 73.08, "val_n": 32}
    for i in (0, 1):
        folder = tmp_path / "sweep" / str(i)
        hand_made_job(folder, 0, "hart", 50.0)
        record = json.loads((folder / "metrics.json").read_text())
        record["results"][0].update(tuned=tuned, reused_from="/elsewhere/sweep/0" if i else None)
        (folder / "metrics.json").write_text(json.dumps(record))
    (table,) = [t for t in write_report(tmp_path / "sweep").tables if t.key == "tuning"]
    assert [row[0] for row in table.rows] == ["0"]


def test_a_white_box_comparison_repeated_by_a_sweep_over_the_source_counts_once(
    tmp_path: Path,
) -> None:
    """attack=stbp,rga × source_train=stbp,ann: the white-box cells of both rows are one
    computation (the target's), which the finding counted once per source."""
    jobs = [("stbp", "stbp", 80.0, 60.0), ("stbp", "ann", 80.0, 50.0)]
    jobs += [("rga", "stbp", 84.0, 66.0), ("rga", "ann", 84.0, 52.0)]
    for i, (mode, source, white, black) in enumerate(jobs):
        folder = tmp_path / "sweep" / str(i)
        hand_made_job(folder, 0, mode, white)
        record = json.loads((folder / "metrics.json").read_text())
        record["config"]["source_train"] = source
        row = record["results"][0]
        record["results"].append({**row, "box": "black", "asr": black})
        (folder / "metrics.json").write_text(json.dumps(record))
    table = write_report(tmp_path / "sweep").tables[0]
    ours = [row for row in table.rows if "(paper)" not in row[1]]
    assert len(ours) == 2  # a row per source, each with the same white-box cells
    assert table.summary.startswith(
        "RGA gives a higher ASR than STBP in all 3 comparisons (FGSM WB 1 of 1, FGSM BB 2 of 2"
    ), table.summary


def test_the_ensemble_is_compared_with_every_setting_of_a_swept_method(tmp_path: Path) -> None:
    """method.pgd.steps=5,50 beside the ensemble: the ensemble's rows have no PGD setting, so
    it was grouped apart from PGD and a masked ensemble (weaker than PGD-50) not flagged."""
    for i, (steps, pgd) in enumerate([(5, 40.0), (50, 10.0)]):
        folder = tmp_path / "sweep" / str(i)
        hand_made_job(folder, 0, "stbp", 50.0)
        record = json.loads((folder / "metrics.json").read_text())
        record["config"]["method"] = {
            "pgd": {"name": "pgd", "steps": steps},
            "ensemble": {"name": "ensemble", "components": [{"attack": "stbp", "method": "apgd"}]},
        }
        first = record["results"][0]
        parts = [{"name": "apgd/stbp", "grad_mode": "stbp", "first_successes": 3}]
        record["results"] = [
            {**first, "method": "pgd", "adv_acc": pgd},
            {**first, "method": "ensemble", "grad_mode": "ensemble", "adv_acc": 20.0,
             "components": parts},
        ]  # fmt: skip
        (folder / "metrics.json").write_text(json.dumps(record))
    (table,) = [t for t in write_report(tmp_path / "sweep").tables if t.key == "ensemble"]
    assert [row[3:6] for row in table.rows] == [["20.00", "10.00 (pgd/stbp)", "NO"]]


def test_each_ensemble_of_a_job_shows_its_own_first_successes_once_over_the_modes_parameters(
    tmp_path: Path,
) -> None:
    """Two ensembles in one job showed the last one's components (or none where a single
    attack came after them); a sweep over a mode's parameter (attack.params.beta), which no
    ensemble reads, showed the same ensemble once per value."""
    for i, (mode, beta, pgd) in enumerate(
        [("stbp", None, 50.0), ("rga", 2, 30.0), ("rga", 3, 45.0)]
    ):
        folder = tmp_path / "sweep" / str(i)
        hand_made_job(folder, 0, mode, 50.0)
        record = json.loads((folder / "metrics.json").read_text())
        record["config"]["attack"]["params"] = {} if beta is None else {"beta": beta}
        first = record["results"][0]
        quick = [{"name": "pgd/stbp", "grad_mode": "stbp", "first_successes": 5}]
        full = [{"name": "apgd/stbp", "grad_mode": "stbp", "first_successes": 7}]
        record["results"] = [
            {**first, "method": "ensemble_quick", "grad_mode": "ensemble", "adv_acc": 20.0,
             "components": quick},
            {**first, "method": "ensemble", "grad_mode": "ensemble", "adv_acc": 15.0,
             "components": full},
            {**first, "method": "pgd", "adv_acc": pgd},
        ]  # fmt: skip
        (folder / "metrics.json").write_text(json.dumps(record))
    (table,) = [t for t in write_report(tmp_path / "sweep").tables if t.key == "ensemble"]
    assert [row[3:] for row in table.rows] == [
        ["20.00", "30.00 (pgd/rga)", "yes", "pgd/stbp 5"],
        ["15.00", "30.00 (pgd/rga)", "yes", "apgd/stbp 7"],
    ]


def test_a_dataset_choice_swept_is_swept_alone_not_each_key_of_its_file(tmp_path: Path) -> None:
    """dataset=digits,digits_events: every dataset.* key that differs between the two files
    (dataset.in_channels, dataset.params.sensor, ...) was a results.csv column and named as
    swept in the header, and so was the encoding the event file sets; the user swept the
    dataset only. A dataset key swept within one dataset stays a column."""
    digits = {
        "name": "digits",
        "in_channels": 1,
        "encodings": ["direct", "poisson", "poisson_signed"],
        "params": {"test_fraction": 0.25},
    }
    events = {
        "name": "digits_events",
        "in_channels": 2,
        "encodings": ["frames"],
        "params": {"sensor": 16, "event_encoding": "binary", "test_fraction": 0.25},
    }
    jobs = [(digits, "direct"), (events, "frames")]
    jobs.append(({**events, "params": {**events["params"], "event_encoding": "counts"}}, "frames"))
    for i, (dataset, encoding) in enumerate(jobs):
        folder = tmp_path / "sweep" / str(i)
        hand_made_job(folder, 0, "stbp", 50.0 + i)
        record = json.loads((folder / "metrics.json").read_text())
        record["config"].update(dataset=dataset, encoding=encoding)
        (folder / "metrics.json").write_text(json.dumps(record))
    write_report(tmp_path / "sweep")
    columns = list(results_csv(tmp_path / "sweep")[0])
    assert [c for c in columns if c.startswith("dataset")] == [
        "dataset.params.event_encoding",  # swept within digits_events
        "dataset",
    ]
    header = (tmp_path / "sweep" / "report.md").read_text().splitlines()[4]
    assert header.endswith("varied: dataset.params.event_encoding, dataset (with its encoding)."), (
        header
    )
    shutil.rmtree(tmp_path / "sweep" / "2")  # the choice alone
    write_report(tmp_path / "sweep")
    assert not [c for c in results_csv(tmp_path / "sweep")[0] if c.startswith("dataset.")]
    header = (tmp_path / "sweep" / "report.md").read_text().splitlines()[4]
    assert header.endswith("varied: dataset (with its encoding)."), header


def test_a_column_that_follows_a_swept_one_is_not_named_swept_again(tmp_path: Path) -> None:
    """A white-box sweep over λ said ``swept: lambda, source_lambda``: the crafting model's λ
    (its target's) follows λ row for row, and no source was swept. A column that varies
    otherwise stays named."""
    sweep = tmp_path / "sweep"
    lambda_sweep(sweep, {(lam, "stbp"): (80.0,) for lam in (0.5, 0.7, 1.0)})
    for path in sweep.glob("*/metrics.json"):
        record = json.loads(path.read_text())
        for row in record["results"]:
            row.update(source_lambda=record["config"]["lambda"], source_T=4)
        path.write_text(json.dumps(record))
    write_report(sweep)
    header = (sweep / "report.md").read_text().splitlines()[4]
    assert header.endswith("varied: lambda."), header
    record = json.loads((sweep / "1" / "metrics.json").read_text())
    record["git_commit"], record["version"] = "fedcba9876543210fedc", "0.2.0"  # extended later
    (sweep / "1" / "metrics.json").write_text(json.dumps(record))
    write_report(sweep)
    header = (sweep / "report.md").read_text().splitlines()[4]
    assert header.endswith("varied: lambda."), header  # the code is the commit line's
    record = json.loads((sweep / "0" / "metrics.json").read_text())
    record["results"][0]["source_T"] = 8  # λ 0.5 crafted at T 8, the others at 4: its own
    (sweep / "0" / "metrics.json").write_text(json.dumps(record))
    write_report(sweep)
    header = (sweep / "report.md").read_text().splitlines()[4]
    assert header.endswith("varied: lambda, source_T."), header
    for path in sweep.glob("*/metrics.json"):  # T swept in step with λ: both named
        record = json.loads(path.read_text())
        record["config"]["T"] = {0.5: 2, 0.7: 4, 1.0: 8}[record["config"]["lambda"]]
        path.write_text(json.dumps(record))
    write_report(sweep)
    header = (sweep / "report.md").read_text().splitlines()[4]
    assert header.endswith("varied: T, lambda, source_T."), header


def test_a_source_column_that_follows_a_later_column_is_not_named_varied(tmp_path: Path) -> None:
    """``source_train=ann`` with white and black boxes said ``varied: source_kind, box``: the
    source kind differs only as the box does (a white-box row crafts on the target), but
    ``source_kind`` comes before ``box`` among the columns and was checked before it."""
    config = {"dataset": {"name": "digits"}, "model": {"name": "digits_net"}, "T": 4,
              "lambda": 1.0, "reset": "hard", "encoding": "direct", "seed": 0,
              "source_train": "ann", "attack": {"grad_mode": "stbp"}}  # fmt: skip

    def row(box: str, kind: str) -> dict:
        return {"method": "pgd", "eps_255": 8.0, "box": box, "grad_mode": "stbp", "asr": 50.0,
                "adv_acc": 45.0, "n_correct": 90, "n": 100, "target_kind": "stbp",
                "source_kind": kind}  # fmt: skip

    results = [row("white", "stbp"), row("black", "ann")]
    record = {"clean_acc": 90.0, "n": 100, "config": config, "results": results}
    (tmp_path / "metrics.json").write_text(json.dumps(record))
    write_report(tmp_path)
    header = (tmp_path / "report.md").read_text().splitlines()[4]
    assert header.endswith("varied: box."), header


def test_a_swept_source_setting_shows_each_rows_own_value_in_results_csv(
    tmp_path: Path,
) -> None:
    """``-m source_T=2,4 source_train=ann``: results.csv showed the swept config value in
    every row (a white-box row crafted on the target at T 4 read 2, a row crafted on an ANN
    source read T 2 and λ 0.5), where metrics.json and W&B hold what the row ran with."""
    sweep = tmp_path / "sweep"
    for i, source_T in enumerate((2, 4)):
        hand_made_job(sweep / str(i), 0, "stbp", 80.0)
        record = json.loads((sweep / str(i) / "metrics.json").read_text())
        record["config"] |= {"source_T": source_T, "source_lambda": 0.5}
        white = record["results"][0] | {"source_T": 4, "source_lambda": 1.0}
        black = white | {"box": "black", "source_T": None, "source_lambda": None}
        record["results"] = [white, black | {"source_kind": "ann"}]
        (sweep / str(i) / "metrics.json").write_text(json.dumps(record))
    write_report(sweep)
    rows = results_csv(sweep)
    assert [(r["box"], r["source_T"], r["source_lambda"]) for r in rows] == [
        ("white", "4", "1.0"),
        ("black", "", ""),
    ] * 2


def test_a_targeted_row_shows_its_targeted_rate_beside_its_asr(tmp_path: Path) -> None:
    """A job of an untargeted FGSM row and a targeted AE-Patch row (``targeted_asr``, over
    ``n_targeted``): Table 2 and the job's printed table show the targeted rate beside the
    ASR ("–" for the untargeted row), results.csv holds it; a record written before the
    field (the FGSM row's) reads it as null."""
    hand_made_job(tmp_path / "job", 0, "stbp", 80.0)
    path = tmp_path / "job" / "metrics.json"
    record = json.loads(path.read_text())
    aimed = {"method": "event_patch", "asr": 60.0, "targeted_asr": 50.0, "n_targeted": 80}
    record["results"].append({**record["results"][0], **aimed})
    path.write_text(json.dumps(record))
    table = write_report(tmp_path / "job").tables[0]
    at = table.columns.index("WB ASR STBP")
    assert table.columns[at + 1] == "WB targeted STBP"
    rows = {r[0]: r[at : at + 2] for r in table.rows}
    assert rows["fgsm"] == ["80.00", "–"] and rows["event_patch"] == ["60.00", "50.00"]
    assert "targeted = share of the correctly classified test samples" in table.note
    csv = {r["method"]: r for r in results_csv(tmp_path / "job")}
    assert (csv["event_patch"]["targeted_asr"], csv["event_patch"]["n_targeted"]) == ("50.0", "80")
    assert csv["fgsm"]["targeted_asr"] == ""
    done = read_record(path)
    assert done.results[0].targeted_asr is None
    printed = job_table(done)
    assert "targeted %" in printed and "50.00" in printed
    record["results"] = record["results"][:1]  # untargeted rows only: no such column
    assert "targeted" not in job_table(JobRecord.from_json(record))


def test_the_cost_table_names_a_step_that_failed_on_the_model(tmp_path: Path) -> None:
    """A gradient mode that could not run on the model (``measure_cost``'s ``error``) was
    left out of Table S2 without a word, as if it had not been asked for."""
    cost = {
        "modes": {
            "forward": {"seconds": 0.010, "time_vs_forward": 1.0},
            "stbp": {"seconds": 0.021, "time_vs_forward": 2.1},
            "rga": {"error": "ValueError: rga needs gamma (1 - lam) theta < 1"},
        }
    }
    hand_made_job(tmp_path / "sweep" / "0", 0, "stbp", 80.0, analyses={"cost": cost})
    table = next(t for t in write_report(tmp_path / "sweep").tables if t.key == "cost")
    assert [row[2] for row in table.rows] == ["forward", "stbp"]
    assert table.note.endswith(
        " Not measured, the step failed on the model: job 0 rga "
        "(ValueError: rga needs gamma (1 - lam) theta < 1)."
    )


def test_the_cost_table_says_how_each_job_measured(tmp_path: Path) -> None:
    """Table S2 gave times without the batch, device, threads or repeats they were measured
    with (the paper's are batch 32 on a GPU): shared ones are its settings line, one that
    differs between jobs a column."""
    modes = {"forward": {"seconds": 0.01}, "stbp": {"seconds": 0.02}}
    for i, device in enumerate(("cpu", "cuda:0")):
        cost = {"batch_size": 32, "repeats": 5, "device": device, "threads": 1, "modes": modes}
        hand_made_job(tmp_path / "sweep" / str(i), 0, "stbp", 80.0, analyses={"cost": cost})
    table = next(t for t in write_report(tmp_path / "sweep").tables if t.key == "cost")
    assert table.settings == "batch = 32, threads = 1, repeats = 5"
    assert table.columns[:4] == ["job", "model", "device", "step"]
    assert [row[2] for row in table.rows] == ["cpu", "cpu", "cuda:0", "cuda:0"]


def _black_row(**source: object) -> dict[str, object]:
    """A black-box FGSM row of a digits_net STBP target at T = 4, λ = 1, crafted on ``source``."""
    row = {"dataset": "digits", "model": "digits_net", "T": 4, "lambda": 1.0, "reset": "hard"}
    row |= {"encoding": "direct", "seed": 0, "method": "fgsm", "eps_255": 16.0, "box": "black"}
    row |= {"grad_mode": "stbp", "asr": 20.0, "adv_acc": 60.0, "clean_acc": 70.0, "n": 32}
    row |= {"target_kind": "stbp", "source_kind": "stbp", "source_model": "digits_net"}
    return row | {"source_lambda": 1.0, "source_T": 4} | source


@pytest.mark.parametrize(
    "sources,said",
    [
        # the target's config at another seed (the default source): nothing to say
        ([{}], None),
        ([{"source_kind": "ann", "source_lambda": None, "source_T": None}], "ann digits_net"),
        ([{"source_model": "digits_resnet", "source_T": 2}], "stbp digits_resnet (T = 2)"),
        # a swept source_train is a column; the architecture and T they share are said
        (
            [
                {"source_kind": k, "source_model": "digits_resnet", "source_T": 2, "seed": i}
                for i, k in enumerate(("conversion", "hybrid"))
            ],
            "digits_resnet (T = 2)",
        ),
        # an ANN source has no λ: the SNN source's λ was left unsaid
        (
            [
                {"source_kind": "ann", "source_lambda": None, "source_T": None},
                {"source_lambda": 0.5, "seed": 1},
            ],
            "digits_net (λ = 0.5)",
        ),
    ],
)
def test_the_settings_line_names_a_black_box_source_other_than_the_targets_config(
    sources: list[dict[str, object]], said: str | None
) -> None:
    """A table of examples crafted on an ANN or another architecture was described by the
    target's settings alone: only the report's command named the source."""
    table = tables.table2([_black_row(**s) for s in sources], [], [])
    assert table is not None
    assert table.settings.startswith("dataset = digits, model = digits_net, T = 4, λ = 1")
    if said is None:
        assert "BB source" not in table.settings
    else:
        assert table.settings.endswith(f", BB source = {said}")


def test_an_analysis_setting_swept_is_named_swept(tmp_path: Path) -> None:
    """``analysis.shuffle.mode=layer,global``: no attack row differs by it, and the header
    left it out (``varied: nothing`` where nothing else varied)."""
    sweep = tmp_path / "sweep"
    lambda_sweep(sweep, {(1.0, "stbp"): (80.0, 82.0)})
    for i, path in enumerate(sorted(sweep.glob("*/metrics.json"))):
        record = json.loads(path.read_text())
        record["config"]["analysis"] = {"shuffle": {"mode": ("layer", "global")[i % 2]}}
        path.write_text(json.dumps(record))
    write_report(sweep)
    header = (sweep / "report.md").read_text().splitlines()[4]
    assert header.endswith("varied: seed, analysis.shuffle.mode."), header


def test_analyses_run_by_some_jobs_are_named_as_the_analysis_list_not_their_keys(
    tmp_path: Path,
) -> None:
    """``analysis=[],[shuffle]``: the header named ``analysis.shuffle.mode,
    analysis.shuffle.seed``, at their defaults in every job that ran the shuffle."""
    sweep = tmp_path / "sweep"
    lambda_sweep(sweep, {(1.0, "stbp"): (80.0, 82.0)})
    for i, path in enumerate(sorted(sweep.glob("*/metrics.json"))):
        record = json.loads(path.read_text())
        ran = {"shuffle": {"mode": "layer", "seed": 0}}
        record["config"]["analysis"] = ran if i % 2 else {}
        path.write_text(json.dumps(record))
    write_report(sweep)
    header = (sweep / "report.md").read_text().splitlines()[4]
    assert header.endswith("varied: seed, analysis."), header
