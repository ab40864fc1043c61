"""The leaderboard of a folder of entries: ranking by worst case, entries ranked apart, the
Markdown page's numbers, and the one-line refusals of bad entries and protocols."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html import escape
from pathlib import Path

import pytest
from entries import VALID, entry, protocols, released, write
from harness import ROOT

from snnattack.benchmark import leaderboard, page
from snnattack.benchmark.entry import check_entry, from_record, gap
from snnattack.benchmark.rows import DIRTY_NOTE, Row, attacks
from snnattack.errors import UserError
from snnattack.records.results import AttackRow, JobRecord


@pytest.fixture
def board(tmp_path: Path) -> tuple[Path, Path]:
    """Four digits entries (one flagged, one of the older version 1) and one of cifar10."""
    folder = tmp_path / "entries"
    write(folder, "a", entry("A", 30.0, version=2))
    write(folder, "b", entry("B", 45.5, version=2))
    write(folder, "c", entry("C", 60.0, version=2, flagged=["zero_gradients"]))
    write(folder, "d", entry("D", 55.0, version=1))
    write(folder, "e", entry("E", 10.0, protocol="cifar10_linf8"))
    return folder, protocols(tmp_path / "protocols", digits=[1, 2], cifar10_linf8=[1])


def test_entries_are_ranked_by_worst_case_and_the_doubtful_ones_apart(board) -> None:
    folder, known = board
    rows = leaderboard.board(folder, known)
    assert [(r.entry["model"]["name"], r.rank) for r in rows] == [
        ("E", 1),  # cifar10_linf8 before digits: protocols in name order
        ("B", 1),
        ("A", 2),
        ("C", None),  # masking fired: apart, though its worst case is the highest
        ("D", None),  # an older protocol version
    ]
    apart = {r.entry["model"]["name"]: r.apart for r in rows if r.apart}
    assert apart == {
        "C": ("masking checks fired: zero_gradients",),
        "D": ("protocol version 1, current 2",),
    }


def test_an_entry_on_its_own_data_is_ranked_apart(tmp_path: Path) -> None:
    write(tmp_path / "e", "u", entry("U", 50.0, data="user"))
    (row,) = leaderboard.board(tmp_path / "e", protocols(tmp_path / "p", digits=[1]))
    assert row.rank is None and row.apart == ("its own data, not the protocol's",)


def test_an_entry_measured_otherwise_than_its_protocol_file_is_ranked_apart(
    tmp_path: Path,
) -> None:
    """A real digits entry is ranked; cut short (its ensemble rows gone: a worst case over fewer
    attacks), with a row of another attack, at another radius or on fewer images, it is ranked
    apart saying so."""
    made = json.loads((ROOT / "benchmark" / "entries" / "stbp_digits_net_seed1.json").read_text())
    made["provenance"]["overrides"] = []
    write(tmp_path / "whole", "whole", made)
    (row,) = leaderboard.board(tmp_path / "whole")
    assert row.rank == 1 and row.apart == ()
    for label in ("ensemble", "ensemble/transfer"):
        del made["robust_acc"][label]
    made["robust_acc"]["square"] = made["clean_acc"]
    made["worst_case"] = min(made["robust_acc"].values())
    made["gap"] = gap(made["reported"], made["worst_case"])
    made.update(eps_255=[8.0], n=100)
    write(tmp_path / "cut", "cut", made)
    (row,) = leaderboard.board(tmp_path / "cut")
    assert row.rank is None and row.apart == (
        "rows missing: ensemble, ensemble/transfer",
        "rows not in its protocol: square",
        "eps_255 [8.0], its protocol's [16.0]",
        "100 test images, its protocol's 200",
    )


def test_the_markdown_shows_each_entrys_numbers_and_marks_the_ones_apart(board) -> None:
    folder, known = board
    text = leaderboard.markdown(leaderboard.board(folder, known))
    lines = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| ")}
    b = [c.strip() for c in lines["B"].strip("|").split("|")]
    head = [c.strip() for c in lines["model"].strip("|").split("|")]
    shown = dict(zip(head, b, strict=True))
    assert shown["rank"] == "1" and shown["worst case"] == "45.50"
    assert shown["reported"] == "45.00" and shown["gap"] == "-0.50"  # the entry's own gap
    assert shown["clean"] == "97.50" and shown["pgd/transfer"] == "80.00"
    assert lines["C"].startswith("| ⚠ |") and "masking checks fired" in lines["C"]
    assert text.index("## cifar10_linf8") < text.index("## digits")


def test_each_entry_shows_its_input_encoding_and_one_of_schema_2_states_none(
    tmp_path: Path,
) -> None:
    """A Poisson or quantised model's entry read as any other: the board did not say how the
    images entered the model, a known source of apparent robustness (Sharmin et al., ECCV
    2020). An entry of schema 2 holds no encoding: it is read, stating none."""
    folder = tmp_path / "entries"
    write(folder, "a", entry("A", 30.0))
    poisson = entry("P", 40.0)
    poisson["model"] |= {"encoding": "poisson", "levels": 4}
    write(folder, "p", poisson)
    old = entry("Old", 20.0)
    old["schema"] = 2
    for key in ("encoding", "levels"):
        del old["model"][key]
    write(folder, "old", old)
    rows = leaderboard.board(folder, protocols(tmp_path / "protocols", digits=[1]))
    assert {r.entry["model"]["name"]: r.entry["model"]["encoding"] for r in rows} == {
        "A": "direct",
        "P": "poisson",
        "Old": None,
    }
    text = leaderboard.markdown(rows)
    lines = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| ")}
    head = [c.strip() for c in lines["model"].strip("|").split("|")]
    shown = {
        name: dict(zip(head, [c.strip() for c in lines[name].strip("|").split("|")], strict=True))
        for name in ("A", "P", "Old")
    }
    assert [shown[n]["encoding"] for n in ("A", "P", "Old")] == ["direct", "poisson, 4 levels", ""]


def test_a_name_of_two_lines_keeps_its_row_on_one_line(tmp_path: Path) -> None:
    """A line break in a name or paper cut the row, and the table, in two."""
    odd = entry("A\nB | C", 20.0)
    odd["model"]["paper"] = "Me et al.\r\n"
    rows = [Row(odd, tmp_path / "a.json", 1, ()), Row(entry("D", 10.0), tmp_path / "d.json", 2, ())]
    table = [x for x in leaderboard.markdown(rows).splitlines() if x.startswith("|")]
    assert len(table) == 4  # the head, its rule and the two rows
    assert table[2].startswith("| 1 | A B \\| C | Me et al. (CVPR) | digits_v1 |")


def test_a_row_named_like_a_column_blanks_no_other_entrys_cells(tmp_path: Path) -> None:
    """An entry that ``check_entry`` would refuse (rows ``clean``, ``worst case``), shown
    anyway: the columns of the page keep every entry's own numbers."""
    odd = entry("Odd", 20.0)
    odd["robust_acc"].update({"clean": 20.0, "worst case": 20.0})
    rows = [Row(entry("A", 30.0), tmp_path / "a.json", 1, ()), Row(odd, tmp_path / "o.json", 2, ())]
    assert attacks(rows) == ["fgsm", "pgd", "ensemble", "pgd/transfer"]
    text = leaderboard.markdown(rows)
    line = next(x for x in text.splitlines() if x.startswith("| 1 | A |"))
    assert "| 97.50 | 45.00 | 30.00 | 15.00 |" in line  # clean, reported, worst case, gap
    assert "worst case" in page.html(rows) and 'data-value="97.5"' in page.html(rows)


def test_an_entry_made_from_an_uncommitted_tree_is_marked_on_both_pages(tmp_path: Path) -> None:
    """An entry whose commit ends in ``+dirty`` (made from a tree with uncommitted changes) read
    as one of its commit: the pages now mark its model (the HTML's mark says why on hover) and
    say what the mark means; a clean entry is not marked, and a page of clean entries has no
    legend (docs/leaderboard/ unchanged)."""
    folder = tmp_path / "entries"
    dirty = entry("Dirty", 30.0)
    dirty["provenance"]["commit"] = "abc123+dirty"
    write(folder, "dirty", dirty)
    write(folder, "clean", entry("Clean", 45.5))
    rows = leaderboard.board(folder, protocols(tmp_path / "protocols", digits=[1]))
    assert {r.entry["model"]["name"]: r.dirty for r in rows} == {"Clean": False, "Dirty": True}
    assert [r.rank for r in rows] == [1, 2]  # marked, still ranked
    text = leaderboard.markdown(rows)
    lines = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| ")}
    assert "Dirty †" in lines and "Clean" in lines and "Clean †" not in lines
    assert f"† beside a model: {DIRTY_NOTE}." in text
    made = page.html(rows)
    names = ("Dirty", "Clean")
    cell = {n: next(r for r in made.split("<td") if f'data-value="{n}"' in r) for n in names}
    assert f'>Dirty <span class="dirty" title="{escape(DIRTY_NOTE)}"' in cell["Dirty"]
    assert cell["Clean"] == ' class="text" data-value="Clean">Clean</td>'  # sorted by the name
    assert 'class="legend"' in made
    clean = leaderboard.board(folder, protocols(tmp_path / "protocols", digits=[1]), "clean.json")
    assert "†" not in leaderboard.markdown(clean) and "†" not in page.html(clean)


def test_the_command_writes_both_pages(board, tmp_path: Path, capsys) -> None:
    folder, known = board
    files = leaderboard.write(folder, tmp_path / "site", known)
    assert sorted(p.name for p in (tmp_path / "site").iterdir()) == [
        "leaderboard.html",
        "leaderboard.md",
    ]
    page = files["html"].read_text()
    assert page.count("<tr data-protocol=") == 5
    assert "http" not in page.split("<body>")[1]  # nothing fetched: no CDN, no link out


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda e: e["model"].pop("T"), "field model.T is missing"),
        (lambda e: e.update(worst_case="high"), "field worst_case='high' is invalid; accepted:"),
        (lambda e: e.update(clean_acc=101), "field clean_acc=101 is invalid; accepted: a perc"),
        (lambda e: e.update(extra=1), "extra is not a field of a schema 3 entry; accepted:"),
        (lambda e: e["model"].update(encoding="rate"), "field model.encoding='rate' is invalid"),
        (lambda e: e["model"].update(levels=1), "field model.levels=1 is invalid; accepted: an"),
        (
            lambda e: e.update(schema=2),
            "model.encoding is not a field of a schema 2 entry; accepted: schema 3",
        ),
        (lambda e: e["provenance"].update(date=None), "field provenance.date=None is invalid"),
        (  # read and ranked, though the field's accepted text says an ISO date
            lambda e: e["provenance"].update(date="yesterday"),
            "field provenance.date='yesterday' is invalid; accepted: an ISO date, YYYY-MM-DD",
        ),
        (
            lambda e: e["provenance"].update(date="2026-13-01"),
            "field provenance.date='2026-13-01' is invalid; accepted: an ISO date",
        ),
        (lambda e: e.update(schema=1), "field schema=1 is invalid; accepted: 3, or 2 (read as"),
        (  # the bad row named, where the shortened dict hid it
            lambda e: e["robust_acc"].update({f"row{i}": 1.0 for i in range(9)}, row9=150),
            "field robust_acc.row9=150 is invalid; accepted: a percentage in [0, 100] under a ",
        ),
        (
            lambda e: e.update(reported={"clean": 90, "pgd": "45 %"}),
            "field reported.pgd='45 %' is invalid; accepted: a percentage in [0, 100] under a ",
        ),
    ],
)
def test_an_entry_off_the_schema_is_refused_naming_the_file_and_field(
    tmp_path: Path, change, message
) -> None:
    bad = entry("Bad", 20.0)
    change(bad)
    path = write(tmp_path / "e", "bad", bad)
    with pytest.raises(UserError) as err:
        leaderboard.board(tmp_path / "e", protocols(tmp_path / "p", digits=[1]))
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
    assert "\n" not in str(err.value)


def test_an_entry_of_clean_acc_1_is_refused_as_fractions(tmp_path: Path) -> None:
    """A clean accuracy of 1.0 is 100 %: with rows of 0.75 the entry's accuracies are
    fractions, as at 0.99 (it was read and ranked, all values not below 1). 1.0 % is 2 of its
    200 images, but 0.75 % is 1.5 of them: no entry a job wrote."""
    bad = entry("Frac", 0.75, clean_acc=1.0)
    bad["robust_acc"] = {k: 0.75 for k in bad["robust_acc"]}
    path = write(tmp_path / "e", "frac", bad)
    with pytest.raises(UserError) as err:
        leaderboard.board(tmp_path / "e", protocols(tmp_path / "p", digits=[1]))
    assert str(err.value) == (
        f"{path}: field clean_acc=1.0 looks like a fraction; accepted: percentages in [0, 100] "
        "(90.7 for 90.7 %), at most 1 where clean_acc and robust_acc are shares of the entry's "
        "n=200 test images (100 * k / n, to two decimals)"
    )


def test_an_entry_of_a_clean_accuracy_below_1_percent_is_written_and_ranked(
    tmp_path: Path,
) -> None:
    """A broken model right on 4 of 500 images (0.8 %) is a result: its entry, built from its
    record as a job builds it, was refused as fractions when written (no entry, exit 2) and
    when read, a clean accuracy in (0, 1] taken for a fraction whatever its ``n`` said."""
    rows = [
        AttackRow(
            method=method,
            eps_255=16,
            box="white",
            grad_mode="stbp",
            asr=asr,
            adv_acc=adv,
            n_correct=4,
            n=500,
        )
        for method, asr, adv in (("fgsm", 50.0, 0.4), ("pgd", 100.0, 0.0))
    ]
    block = {"protocol": "digits", "version": 1, "name": "Broken"}
    config = {"T": 4, "attack": {"eot_samples": 1}, "model": {"name": "digits_net"}}
    record = JobRecord(clean_acc=0.8, n=500, results=rows, config={**config, "benchmark": block})
    made = from_record(record, released("digits", 1), [])
    assert (made["clean_acc"], made["robust_acc"]) == (0.8, {"fgsm": 0.4, "pgd": 0.0})
    write(tmp_path / "e", "broken", made)
    write(tmp_path / "e", "a", entry("A", 20.0))
    ranked = leaderboard.board(tmp_path / "e", protocols(tmp_path / "p", digits=[1]))
    assert [(r.entry["model"]["name"], r.entry["clean_acc"], r.rank) for r in ranked] == [
        ("A", 97.5, 1),
        ("Broken", 0.8, 2),
    ]


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"protocol": "imagenet"}, "protocol='imagenet' is unknown; accepted: digits (versions 1)"),
        ({"version": 3}, "protocol='digits' has no version 3; accepted: 1"),
        (  # its file's name: it was ranked under no protocol (a KeyError)
            {"protocol": "digits_v1"},
            "field protocol='digits_v1' names a protocol file, not a protocol; accepted: digits "
            "(its version is provenance.protocol_version)",
        ),
    ],
)
def test_an_unknown_protocol_or_version_is_refused_in_one_line(
    tmp_path: Path, changes, message
) -> None:
    path = write(tmp_path / "e", "x", entry("X", 20.0, **changes))
    with pytest.raises(UserError) as err:
        leaderboard.board(tmp_path / "e", protocols(tmp_path / "p", digits=[1]))
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_the_command_refuses_with_exit_2_and_writes_nothing(tmp_path: Path, capsys) -> None:
    write(tmp_path / "e", "bad", {**VALID, "n": 0})
    assert leaderboard.main([str(tmp_path / "e"), "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"error: \S+bad\.json: field n=0 is invalid; accepted: .*\n", err)
    assert not (tmp_path / "site").exists()


def test_the_command_reads_the_protocols_of_protocols(tmp_path: Path, capsys) -> None:
    """Entries of a drafted protocol (a sweep's on its own ``-cd`` folder, whose page the
    sweep makes with that folder) were refused by the command as of an unknown protocol: it
    read experiments/benchmark/ only. ``--protocols`` names their folder; a missing one is one
    line."""
    write(tmp_path / "e", "a", entry("A", 30.0, protocol="mine"))
    known = protocols(tmp_path / "p", mine=[1])
    assert leaderboard.main([str(tmp_path / "e")]) == 2
    assert "protocol='mine' is unknown" in capsys.readouterr().err
    assert leaderboard.main([str(tmp_path / "e"), "--protocols", str(known)]) == 0
    assert "| 1 | A |" in (tmp_path / "e" / "leaderboard.md").read_text()
    capsys.readouterr()
    assert leaderboard.main([str(tmp_path / "e"), "--protocols", str(tmp_path / "no")]) == 2
    assert capsys.readouterr().err == (
        f"error: --protocols={str(tmp_path / 'no')!r} is not a folder; accepted: a folder of "
        "protocol files (<name>_v<version>.yaml)\n"
    )


def test_the_example_entry_is_valid() -> None:
    assert check_entry(json.loads(json.dumps(VALID)), "x") == VALID


def test_the_committed_pages_are_the_committed_entries(tmp_path: Path) -> None:
    """docs/leaderboard/ is what the command makes of benchmark/entries/ (regenerate both
    pages after adding an entry: docs/benchmark.md)."""
    files = leaderboard.write(ROOT / "benchmark" / "entries", tmp_path)
    for kind, path in files.items():
        committed = ROOT / "docs" / "leaderboard" / path.name
        assert committed.read_text() == path.read_text(), f"regenerate docs/leaderboard ({kind})"


def test_the_leaderboard_command_imports_no_torch(tmp_path: Path) -> None:
    """``python -m snnattack.benchmark.leaderboard DIR`` reads JSON and writes text: a fresh
    process that builds the pages loads neither torch nor the benchmark's evaluation (the package
    serves ``snnattack.benchmark.evaluate`` on first use), so a page of 1,000 entries takes
    about a second of CPU, Python's start included (docs/performance.md)."""
    folder = tmp_path / "entries"
    write(folder, "a", entry("A", 30.0))
    write(folder, "b", entry("B", 45.5))
    code = (
        "import sys; from snnattack.benchmark.leaderboard import main; "
        f"code = main([{str(folder)!r}, '--out', {str(tmp_path / 'site')!r}]); "
        "print(code, 'torch' in sys.modules, 'snnattack.benchmark.evaluation' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "0 False False"
    assert (tmp_path / "site" / "leaderboard.html").is_file()


def test_a_sweep_without_its_leaderboard_says_why_and_exits_2_at_its_end(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A benchmark sweep whose leaderboard cannot be made (no job made an entry) printed its
    line and exited 0: a script or a cluster's array read a sweep without its page as done."""
    from omegaconf import OmegaConf

    from snnattack.benchmark.callback import EntryCallback
    from snnattack.runtime import cli

    failed: list[str] = []
    monkeypatch.setattr(cli, "_FAILED_AFTER_RESULTS", failed)
    sweep = tmp_path / "sweep"
    (sweep / "0").mkdir(parents=True)
    hydra = {"sweep": {"dir": str(sweep)}, "runtime": {"config_sources": []}}
    EntryCallback().on_multirun_end(OmegaConf.create({"hydra": hydra}))
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: no leaderboard: no job of the sweep {sweep} made an entry")
    assert failed == [line.removeprefix("error: ")]  # run.py's main exits 2 at the sweep's end
    assert not (sweep / "leaderboard.md").exists()


def test_a_sweep_whose_every_job_was_refused_says_no_leaderboard_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each job refused as it ran (a user's mistake): the sweep is undone with one line (its
    summary's), and the leaderboard's ``holds no entry`` was a second line about nothing."""
    from omegaconf import OmegaConf

    from snnattack.benchmark.callback import EntryCallback
    from snnattack.records.failures import record_failure
    from snnattack.records.launches import record_launch
    from snnattack.runtime import cli

    failed: list[str] = []
    monkeypatch.setattr(cli, "_FAILED_AFTER_RESULTS", failed)
    sweep = tmp_path / "sweep"
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}})
    callback = EntryCallback()
    callback.on_multirun_start(config)
    sweep.mkdir()
    record_launch(sweep, {}, [["seed=0"]], [None], [None])  # the sweeper's, as it launches
    record_failure(sweep, 0, sweep / "0", ["seed=0"], "checkpoint=P is not a file", refused=True)
    callback.on_multirun_end(config)
    assert capsys.readouterr().err == "" and failed == []
    assert not (sweep / "leaderboard.md").exists()


def test_a_sweep_of_one_refused_job_and_failed_others_says_why_it_has_no_leaderboard(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One job refused (a user's mistake) and the others failed otherwise (submitit's
    timeout): not every job was refused, so the sweep is not undone, and its end said the
    leaderboard command's ``DIR=... holds no entry ...; accepted: a folder of entries`` beside
    the list of failed jobs, as if the user had passed the wrong folder. Now one line says that
    no job made an entry, so no leaderboard, and what to do; then the list, exit 2."""
    from omegaconf import OmegaConf

    from snnattack.benchmark.callback import EntryCallback
    from snnattack.records.failures import record_failure
    from snnattack.records.launches import record_launch
    from snnattack.runtime import cli
    from snnattack.runtime.lifecycle import SweepSummary

    failed: list[str] = []
    monkeypatch.setattr(cli, "_FAILED_AFTER_RESULTS", failed)
    sweep = tmp_path / "sweep"
    sources = {"config_sources": []}
    hydra = {"sweep": {"dir": str(sweep)}, "runtime": sources, "output_subdir": ".hydra"}
    config = OmegaConf.create({"hydra": hydra})
    callback, summary = EntryCallback(), SweepSummary()
    callback.on_multirun_start(config)
    summary.on_multirun_start(config)
    sweep.mkdir()
    record_launch(sweep, {}, [["seed=0"], ["seed=1"], ["seed=2"]], [None] * 3, [None] * 3)
    record_failure(sweep, 0, sweep / "0", ["seed=0"], "checkpoint=P is not a file", refused=True)
    timed_out = "the job ran past hydra.launcher.timeout_min=1 (submitit: ...)"
    for job in (1, 2):
        (sweep / str(job)).mkdir()
        record_failure(sweep, job, sweep / str(job), [f"seed={job}"], timed_out)
    callback.on_multirun_end(config)  # Hydra ends the callbacks last to first: the summary last
    with pytest.raises(SystemExit) as ended:
        summary.on_multirun_end(config)
    assert ended.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        f"error: no leaderboard: no job of the sweep {sweep} made an entry (each failed job's "
        "line says why); accepted: the fix of each failed job's line, then the same command "
        "again (finished jobs are skipped)",
        "3 job(s) of the sweep failed:",
        "  job 0 (seed=0): checkpoint=P is not a file",
        f"  job 1 (seed=1): {timed_out}",
        f"  job 2 (seed=2): {timed_out}",
    ]
    assert failed == [lines[0].removeprefix("error: ")]
    assert not (sweep / "leaderboard.md").exists()


@pytest.mark.parametrize("in_this_process", [False, True])
def test_a_sweep_whose_jobs_made_no_entry_in_their_workers_exits_2_at_its_end(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    in_this_process: bool,
) -> None:
    """Under joblib's or submitit's launcher a job runs in a worker: its entry's failure was
    a line there, and the sweep exited 0. At the sweep's end a job folder with results and no
    entry is one line and exit 2, unless this process said the job's line itself."""
    from omegaconf import OmegaConf

    from snnattack.benchmark.callback import EntryCallback
    from snnattack.runtime import cli

    failed: list[str] = []
    monkeypatch.setattr(cli, "_FAILED_AFTER_RESULTS", failed)
    known = protocols(tmp_path / "protocols", digits=[1])
    sweep = tmp_path / "sweep"
    write(sweep / "0", "metrics", {})  # results of no entry (own_entry: the job's own)
    write(sweep / "1", "entry", entry("B", 45.5))
    source = {"provider": "command-line", "schema": "file", "path": str(known)}
    hydra = {"sweep": {"dir": str(sweep)}, "runtime": {"config_sources": [source]}}
    callback = EntryCallback()
    if in_this_process:  # the basic launcher: the job's own line was said here
        callback.failed.add((sweep / "0").resolve())
    callback.on_multirun_end(OmegaConf.create({"hydra": hydra}))
    lines = capsys.readouterr().err.strip().splitlines()
    assert (sweep / "leaderboard.md").is_file()  # the entries made are ranked
    if in_this_process:
        assert lines == [] and failed == []
        return
    (line,) = lines
    assert line.startswith(f"error: no benchmark entry: the job 0 of {sweep} ran and made none")
    assert failed == [line.removeprefix("error: ")]


def test_a_sweep_of_nested_job_folders_ranks_their_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Job folders below the sweep folder's first level (``hydra.sweep.subdir=a/s${seed}``, a
    swept ``checkpoint=models/a.pt`` in ``${hydra.job.override_dirname}``) were not looked
    in: the sweep ended with ``no leaderboard`` though its jobs made entries, and a nested job
    that made none was not named (nor is a job folder without results: a killed job's)."""
    from omegaconf import OmegaConf

    from snnattack.benchmark.callback import EntryCallback
    from snnattack.runtime import cli

    failed: list[str] = []
    monkeypatch.setattr(cli, "_FAILED_AFTER_RESULTS", failed)
    known = protocols(tmp_path / "protocols", digits=[1])
    sweep = tmp_path / "sweep"
    write(sweep / "a" / "s0", "entry", entry("B", 45.5))
    write(sweep / "a" / "s1", "metrics", {})  # results of no entry, made in a worker
    killed = sweep / "a" / "s2"  # an earlier launch's job killed before its results: no entry due
    killed.mkdir()
    (killed / "run.log").write_text("training\n")
    source = {"provider": "command-line", "schema": "file", "path": str(known)}
    hydra = {"sweep": {"dir": str(sweep)}, "runtime": {"config_sources": [source]}}
    EntryCallback().on_multirun_end(OmegaConf.create({"hydra": hydra}))
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: no benchmark entry: the job a/s1 of {sweep} ran and made none")
    assert failed == [line.removeprefix("error: ")]
    assert "| 1 | B |" in (sweep / "leaderboard.md").read_text()


def test_the_paper_column_names_the_venue_once_apart_from_the_citation(tmp_path: Path) -> None:
    """It read ``Me et al. ICLR 2027`` and ``Bu et al., CVPR 2023 CVPR``."""
    own = entry("Own", 20.0)
    own["model"].update(paper="Me et al.", venue="ICLR 2027")
    rows = [
        Row(own, tmp_path / "a.json", 1, ()),
        Row(entry("Bu", 10.0), tmp_path / "b.json", 2, ()),
    ]
    table = [x for x in leaderboard.markdown(rows).splitlines() if x.startswith("| ")]
    assert "| Own | Me et al. (ICLR 2027) |" in table[1]
    assert "| Bu | Bu et al., CVPR 2023 |" in table[2]
