"""The report's event-attack parts from hand-made records: ASR at each L0 budget per event
attack and the per-sample worst case (table and curves), and the clean / adversarial frames of
each attack with the events it inserted and deleted marked."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from test_report_figures import drawn_axes

from snnattack.evaluation.examples import save
from snnattack.records.results import AttackRow
from snnattack.report import write_report
from snnattack.report.events import Curve, budgets, example_of
from snnattack.report.hydra_callback import ReportCallback


def _row(method: str, grad: str, asr: float, hist: dict | None, **extra) -> dict:
    return {
        "method": method,
        "eps_255": 0.0 if hist is not None else 16.0,
        "box": "white",
        "grad_mode": grad,
        "asr": asr,
        "adv_acc": 100 - asr,
        "n_correct": 10,
        "l0_hist": hist,
        **extra,
    }


def event_job(folder: Path, examples: str | None = None) -> None:
    """A job with two event attacks (successes at L0 2, 5 and at 1, 8), their worst case per
    sample, and an L-infinity row."""
    folder.mkdir(parents=True)
    record = {
        "clean_acc": 100.0,
        "n": 10,
        "config": {
            "dataset": {"name": "digits_events"},
            "model": {"name": "digits_net"},
            "T": 2,
            "lambda": 1.0,
            "reset": "soft",
            "seed": 0,
            "attack": {"grad_mode": "stbp", "l0_thresholds": [200, 800]},
        },
        "results": [
            _row("sda", "stbp", 50.0, {"2": 3, "5": 2}, examples=examples),
            _row("spike_grad", "stbp", 50.0, {"1": 1, "8": 4}),
            _row("pgd", "stbp", 40.0, None),
        ],
        "event_worst_case": {
            "white": {
                "methods": ["sda/white/eps0", "spike_grad/white/eps0"],
                "n_correct": 10,
                "asr": 70.0,
                "l0_hist": {"1": 1, "2": 3, "5": 2, "8": 1},
            }
        },
    }
    (folder / "metrics.json").write_text(json.dumps(record))


def test_the_table_gives_asr_at_each_budget_and_the_worst_case_over_the_event_attacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = drawn_axes(monkeypatch)
    event_job(tmp_path / "job")
    report = write_report(tmp_path / "job")
    (table,) = [t for t in report.tables if t.title.startswith("Event attacks")]
    assert table.columns == ["box", "attack", "n correct", "L0 ≤ 1", "L0 ≤ 2", "L0 ≤ 5", "L0 ≤ 200"]
    assert table.rows == [
        ["white", "sda/stbp", "10", "0", "30", "50", "50"],
        ["white", "spike_grad/stbp", "10", "10", "10", "10", "50"],
        ["white", "worst case", "10", "10", "40", "60", "70"],
    ]
    assert table.summary == "white box: the worst case fools 70 % (≤ 1 event: 10 %)"
    (ax,) = kept["asr_vs_l0"]
    lines = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    assert lines == {
        "sda/stbp": [0.0, 30.0, 50.0],
        "spike_grad/stbp": [0.0, 10.0, 50.0],
        "worst case": [0.0, 10.0, 40.0, 60.0, 70.0],
    }
    assert "event_examples" not in kept  # no saved examples
    markdown = (tmp_path / "job" / "report.md").read_text()
    assert "## Event attacks: ASR against the L0 budget" in markdown
    with open(tmp_path / "job" / "results.csv") as f:  # nested fields as metrics.json has them
        hists = [row["l0_hist"] for row in csv.DictReader(f)]
    assert [json.loads(h) for h in hists[:2]] == [{"2": 3, "5": 2}, {"1": 1, "8": 4}]
    assert hists[2] == ""  # the L-infinity row has none


def test_no_event_parts_without_event_rows(tmp_path: Path) -> None:
    event_job(tmp_path / "job")
    record = json.loads((tmp_path / "job" / "metrics.json").read_text())
    record["results"], record["event_worst_case"] = record["results"][2:], {}
    (tmp_path / "job" / "metrics.json").write_text(json.dumps(record))
    report = write_report(tmp_path / "job")
    assert not [t for t in report.tables if t.title.startswith("Event attacks")]
    assert {p.stem for p in report.figures}.isdisjoint({"asr_vs_l0", "event_examples"})


def test_budgets_reach_the_largest_l0_and_the_first_paper_threshold_past_it() -> None:
    def worst(top: int) -> Curve:
        return Curve(".", "white", "worst case", {"1": 1, str(top): 1}, 10)

    assert budgets([worst(30)], [200, 800]) == [1, 2, 5, 10, 20, 200]
    assert budgets([worst(1000)], [200, 800]) == [1, 2, 5, 10, 20, 50, 100, 200, 500, 800, 1000]
    assert budgets([], [200, 800]) == [200]


@pytest.mark.parametrize(
    "retiming,moved",
    [
        (None, ("deleted", "inserted")),
        ({"moved_hist": {}, "delay_hist": {}}, ("moved from", "moved to")),
    ],
)
def test_the_frames_figure_marks_the_inserted_and_deleted_events_of_a_fooled_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, retiming: dict | None, moved: tuple
) -> None:
    """A retiming's events are marked where they moved from and to."""
    kept = drawn_axes(monkeypatch)
    clean = torch.zeros(3, 2, 2, 4, 4)  # [n, T, polarity, H, W]
    clean[:, 0, 0, 1, 1] = 1.0
    adv = clean.clone()
    adv[1, 0, 0, 1, 1] = 0.0  # sample 1: one ON event deleted at t 0 (row 1, column 1)
    adv[1, 1, 1, 2, 3] = 1.0  # and one OFF event inserted at t 1 (row 2, column 3)
    adv[2, 1, 0, 0, 0] = 1.0  # sample 2 is changed but not fooled
    adv[0, 1, 0, 3, 3] = 1.0  # sample 0 is changed and wrong, but was wrong before: not fooled
    labels, preds = torch.tensor([4, 5, 6]), torch.tensor([3, 7, 6])
    correct = torch.tensor([False, True, True])  # the target's class on the clean inputs
    parts = [
        {
            "adv": adv,
            "labels": labels,
            "preds": preds,
            "indices": torch.arange(3),
            "correct": correct,
        }
    ]
    parts[0]["clean"] = clean
    row = AttackRow(
        method="sda", eps_255=0.0, box="white", grad_mode="stbp", asr=50.0, adv_acc=50, n_correct=2
    )
    folder = tmp_path / "job"
    event_job(folder, examples="adv_sda_0_white.pt")
    record = json.loads((folder / "metrics.json").read_text())
    record["results"][0]["retiming"] = retiming
    (folder / "metrics.json").write_text(json.dumps(record))
    assert save(folder, row, parts, "0.1.0", "abc1234") == "adv_sda_0_white.pt"
    assert example_of(torch.load(folder / "adv_sda_0_white.pt")) == 1
    write_report(folder)
    axes = kept["event_examples"]
    assert len(axes) == 4  # clean and adversarial rows, T = 2 columns
    marks = {
        (t, c.get_label()): c.get_offsets().tolist()
        for t, ax in enumerate(axes[2:])
        for c in ax.collections
        if len(c.get_offsets())
    }
    assert marks == {(0, moved[0]): [[1.0, 1.0]], (1, moved[1]): [[3.0, 2.0]]}
    assert axes[2].get_ylabel() == "adversarial: 7\nL0 = 2"
    assert axes[0].get_ylabel() == "sda/stbp, white box\nclean: 5"


def test_a_retiming_row_gets_asr_against_events_moved_and_total_delay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = drawn_axes(monkeypatch)
    event_job(tmp_path / "job")
    record = json.loads((tmp_path / "job" / "metrics.json").read_text())
    retiming = {"moved_hist": {"1": 2, "4": 1}, "delay_hist": {"2": 1, "3": 1, "12": 1}}
    record["results"].append(_row("retime", "stbp", 30.0, {"2": 2, "8": 1}, retiming=retiming))
    (tmp_path / "job" / "metrics.json").write_text(json.dumps(record))
    report = write_report(tmp_path / "job")
    (table,) = [t for t in report.tables if t.title.startswith("Retiming")]
    assert table.columns == [
        *("box", "attack", "n correct", "moved ≤ 1", "moved ≤ 2", "moved ≤ 200"),
        *("delay ≤ 1", "delay ≤ 2", "delay ≤ 5", "delay ≤ 10", "delay ≤ 200"),
    ]
    assert table.rows == [
        ["white", "retime/stbp", "10", "20", "20", "30", "0", "10", "20", "20", "30"]
    ]
    moved, delay = kept["asr_vs_retiming"]
    assert [list(line.get_ydata()) for line in moved.get_lines()] == [[0.0, 20.0, 30.0]]
    assert [list(line.get_xdata()) for line in delay.get_lines()] == [[0.0, 2.0, 3.0, 12.0]]


def test_a_raw_event_row_gets_asr_against_the_recordings_events_changed(tmp_path: Path) -> None:
    event_job(tmp_path / "job")
    record = json.loads((tmp_path / "job" / "metrics.json").read_text())
    changes = {"changed_hist": {"3": 1, "40": 2}, "changed_mean": 27.7}
    record["results"].append(_row("gsattack", "stbp", 30.0, {"2": 2, "8": 1}, recording=changes))
    (tmp_path / "job" / "metrics.json").write_text(json.dumps(record))
    report = write_report(tmp_path / "job")
    (table,) = [t for t in report.tables if t.title.startswith("Raw events")]
    assert table.columns == [
        *("box", "attack", "n correct", "changed ≤ 1", "changed ≤ 2", "changed ≤ 5"),
        *("changed ≤ 10", "changed ≤ 20", "changed ≤ 200"),
    ]
    assert table.rows == [["white", "gsattack/stbp", "10", "0", "0", "10", "10", "10", "30"]]
    assert not [t for t in write_report_without_raw(tmp_path).tables if t.title.startswith("Raw")]


def write_report_without_raw(tmp_path: Path):
    event_job(tmp_path / "plain")
    return write_report(tmp_path / "plain")


def test_a_single_run_gets_its_report_only_if_it_wrote_its_metrics(tmp_path: Path) -> None:
    event_job(tmp_path / "job")
    (tmp_path / "refused").mkdir()
    for folder, single in (("job", False), ("job", True), ("refused", True)):
        config = OmegaConf.create({"hydra": {"run": {"dir": str(tmp_path / folder)}}})
        ReportCallback(single=single).on_run_end(config)
        written = (tmp_path / folder / "report.md").is_file()
        assert written == (folder == "job" and single)
    assert (
        "Event attacks: ASR against the L0 budget" in (tmp_path / "job" / "report.md").read_text()
    )
    assert list((tmp_path / "refused").iterdir()) == []


def test_the_finding_of_several_jobs_names_each_jobs_worst_case(tmp_path: Path) -> None:
    for name in ("0", "1"):
        event_job(tmp_path / "sweep" / name)
    report = write_report(tmp_path / "sweep")
    (table,) = [t for t in report.tables if t.title.startswith("Event attacks")]
    assert table.summary == (
        "job 0, white box: the worst case fools 70 % (≤ 1 event: 10 %); "
        "job 1, white box: the worst case fools 70 % (≤ 1 event: 10 %)"
    )


def test_event_rows_a_job_copied_from_another_are_shown_once_under_the_job_that_computed_them(
    tmp_path: Path,
) -> None:
    """attack.reuse: job 1 copied job 0's event rows and worst case (a sweep over PGD's
    steps); its block repeated job 0's. Where the computing job is not in the report (a
    report of job 1's folder alone), the copies are shown."""
    for name in ("0", "1"):
        event_job(tmp_path / "moved" / "sweep" / name)  # reused_from: where the sweep ran
    record = json.loads((tmp_path / "moved" / "sweep" / "1" / "metrics.json").read_text())
    origin = "/cluster/scratch/sweep/0"
    for row in record["results"][:2]:
        row["reused_from"] = origin
    record["event_worst_case"]["white"]["reused_from"] = origin
    (tmp_path / "moved" / "sweep" / "1" / "metrics.json").write_text(json.dumps(record))
    own = json.loads((tmp_path / "moved" / "sweep" / "0" / "metrics.json").read_text())
    own["results"][0]["reused_from"] = origin  # its own folder (older code): still shown
    (tmp_path / "moved" / "sweep" / "0" / "metrics.json").write_text(json.dumps(own))
    report = write_report(tmp_path / "moved" / "sweep")
    (table,) = [t for t in report.tables if t.title.startswith("Event attacks")]
    assert len(table.rows) == 3 and "job" not in table.columns  # one job's: shown alone
    assert table.summary == "white box: the worst case fools 70 % (≤ 1 event: 10 %)"
    alone = write_report(tmp_path / "moved" / "sweep" / "1")
    (table,) = [t for t in alone.tables if t.title.startswith("Event attacks")]
    assert len(table.rows) == 3


def test_rows_copied_within_each_of_two_sweeps_are_shown_once_in_a_report_of_both(
    tmp_path: Path,
) -> None:
    """``reused_from`` names the computing job by its path within its sweep folder (``0``): in
    a report over a folder of two sweeps (``a/``, ``b/``), ``a/1``'s copies are ``a/0``'s,
    shown once, and ``b/0``'s rows are not taken for copies of ``a/0``'s."""
    for sweep, seed in (("a", 0), ("b", 1)):
        for name in ("0", "1"):
            event_job(tmp_path / sweep / name)
            path = tmp_path / sweep / name / "metrics.json"
            record = json.loads(path.read_text())
            record["config"]["seed"] = seed
            if name == "1":
                for row in record["results"][:2]:
                    row["reused_from"] = "0"
                record["event_worst_case"]["white"]["reused_from"] = "0"
            path.write_text(json.dumps(record))

    def shown(folder: Path) -> int:
        report = write_report(folder)
        (table,) = [t for t in report.tables if t.title.startswith("Event attacks")]
        return len(table.rows)

    assert shown(tmp_path) == 2 * shown(tmp_path / "a") == 6


def test_a_job_that_classified_no_sample_right_reports_dashes_not_nan(tmp_path: Path) -> None:
    """No clean-correct sample leaves every ASR undefined: "–" as Table 2 has it, and the
    finding says why, not "nan %"."""
    event_job(tmp_path / "job")
    record = json.loads((tmp_path / "job" / "metrics.json").read_text())
    record["clean_acc"] = 0.0
    for r in record["results"]:
        r.update(n_correct=0, asr=float("nan"), adv_acc=0.0)
        r["l0_hist"] = None if r["l0_hist"] is None else {}
    retime = _row("retime", "stbp", float("nan"), {}, retiming={"moved_hist": {}, "delay_hist": {}})
    record["results"].append({**retime, "n_correct": 0, "adv_acc": 0.0})
    record["event_worst_case"]["white"].update(n_correct=0, asr=float("nan"), l0_hist={})
    (tmp_path / "job" / "metrics.json").write_text(json.dumps(record))
    report = write_report(tmp_path / "job")
    (table,) = [t for t in report.tables if t.title.startswith("Event attacks")]
    assert table.summary == "white box: no test sample classified right clean, none to fool"
    assert {row[-1] for row in table.rows} == {"–"}
    markdown = (tmp_path / "job" / "report.md").read_text()
    assert "Retiming" in markdown and not re.search(r"\bnan\b", markdown, re.IGNORECASE)


def test_table2_gives_an_event_attack_no_radius(tmp_path: Path) -> None:
    """Its rows are recorded at eps 0: Table 2 gave 'ε (/255) = 0' as a setting of an event
    job, and 0 beside an L-infinity row's radius; an attack without one has '–'."""
    event_job(tmp_path / "mixed")
    (table,) = [t for t in write_report(tmp_path / "mixed").tables if t.key == "table2"]
    eps = table.columns.index("ε (/255)")
    assert [(row[0], row[eps]) for row in table.rows] == [
        ("sda", "–"),
        ("spike_grad", "–"),
        ("pgd", "16"),
    ]
    record = json.loads((tmp_path / "mixed" / "metrics.json").read_text())
    record["results"] = record["results"][:2]  # the event attacks only
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "metrics.json").write_text(json.dumps(record))
    (table,) = [t for t in write_report(tmp_path / "events").tables if t.key == "table2"]
    assert "ε" not in table.settings and "ε (/255)" not in table.columns


def test_event_tables_follow_the_jobs_folder_order(tmp_path: Path) -> None:
    """Jobs 2 and 10: the event-budget table, its finding and ``asr_vs_l0`` ran 10 before 2
    (sorted as text), against every other table's folder order."""
    for name in ("2", "10"):
        event_job(tmp_path / name)
    report = write_report(tmp_path)
    (table,) = [t for t in report.tables if t.title.startswith("Event attacks")]
    jobs = [row[0] for row in table.rows]
    assert jobs == sorted(jobs, key=int) and jobs[0] == "2"
