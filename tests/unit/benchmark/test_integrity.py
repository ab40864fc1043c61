"""What an entry must be to be ranked (issue 48): numbers that agree, a weights hash that is one,
the released protocol file with nothing overridden, weights ranked once; and what the page
builder takes: a folder with entries (a benchmark sweep's included), an ``--out`` that holds
no foreign file, 1,000 entries with their protocol file read once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from entries import entry, protocols, write

from snnattack.benchmark import leaderboard
from snnattack.benchmark import protocol as protocol_module
from snnattack.benchmark.entry import from_record
from snnattack.errors import UserError
from snnattack.records.results import AttackRow, JobRecord


def refusal(folder: Path, known: Path) -> str:
    with pytest.raises(UserError) as err:
        leaderboard.board(folder, known)
    assert "\n" not in str(err.value)
    return str(err.value)


@pytest.mark.parametrize(
    "change,message",
    [
        (
            lambda e: e["robust_acc"].update(fgsm=99.0),
            "field robust_acc.fgsm=99.0 is above clean_acc=97.5; accepted: robust accuracies at "
            "most the clean accuracy",
        ),
        (
            lambda e: e.update(worst_case=25.0),
            "field worst_case=25.0 is not the lowest robust_acc; accepted: 20.0",
        ),
        (
            lambda e: e.update(
                clean_acc=0.975,
                robust_acc={"pgd": 0.2},
                worst_case=0.2,
                reported=None,
                gap=None,
            ),
            "field clean_acc=0.975 looks like a fraction; accepted: percentages in [0, 100] "
            "(90.7 for 90.7 %)",
        ),
        (
            lambda e: e.update(reported={"clean": 0.98, "pgd": 0.45}, gap=None),
            "field reported={'clean': 0.98, 'pgd': 0.45} looks like fractions; accepted: "
            "percentages in [0, 100]",
        ),
        (
            lambda e: e.update(gap=3.0),
            "field gap=3.0 is not the lowest reported robust accuracy minus worst_case; "
            "accepted: 25.0",
        ),
        (
            lambda e: e["provenance"].update(weights="my model"),
            "field provenance.weights='my model' is invalid; accepted: params:, file: or store: "
            "and 16 hex digits",
        ),
        (
            lambda e: e["provenance"].update(weights="params:0123"),
            "field provenance.weights='params:0123' is invalid",
        ),
        (
            lambda e: e["provenance"].update(protocol_sha256="abc"),
            "field provenance.protocol_sha256='abc' is invalid; accepted: the sha256 of the "
            "protocol file it ran",
        ),
        (
            lambda e: e["provenance"].update(overrides="boxes=[white]"),
            "field provenance.overrides='boxes=[white]' is invalid",
        ),
        (  # a row named like a column of the page
            lambda e: e["robust_acc"].update(clean=50.0),
            "field robust_acc.clean is not a row a protocol makes; accepted: a method of "
            "conf/method/ (fgsm, pgd10, ensemble, ...), <method>/transfer in the black box",
        ),
        (
            lambda e: e["robust_acc"].update({"worst case": 50.0}),
            "field robust_acc.'worst case' is not a row a protocol makes",
        ),
        (
            lambda e: e["robust_acc"].update({"pgd/white": 50.0}),
            "field robust_acc.pgd/white is not a row a protocol makes",
        ),
    ],
)
def test_an_entry_whose_numbers_disagree_is_refused_naming_the_field(
    tmp_path: Path, change, message
) -> None:
    bad = entry("Bad", 20.0)
    change(bad)
    path = write(tmp_path / "e", "bad", bad)
    line = refusal(tmp_path / "e", protocols(tmp_path / "p", digits=[1]))
    assert line.startswith(f"{path}: {message}"), line


def test_an_entry_nested_100000_deep_is_refused_in_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    assert leaderboard.main([str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"error: \S+deep\.json: not a JSON entry \(nested deeper .*\n", err)
    assert sorted(p.name for p in (tmp_path / "e").iterdir()) == ["deep.json"]


def test_a_value_nested_deep_in_a_field_is_refused_in_one_short_line(tmp_path: Path) -> None:
    deep: list = []
    for _ in range(500):
        deep = [deep]
    write(tmp_path / "e", "deep", {**entry("Deep", 20.0), "n": deep})
    line = refusal(tmp_path / "e", protocols(tmp_path / "p", digits=[1]))
    assert "field n=[[[[[[[...]]]]]]] is invalid" in line and len(line) < 300


def test_only_the_released_protocol_file_with_nothing_overridden_is_ranked(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "e"
    write(folder, "honest", entry("Honest", 20.0))
    edited = entry("Edited", 60.0)
    edited["provenance"]["protocol_sha256"] = "f" * 64  # a file edited locally, same name
    write(folder, "edited", edited)
    weakened = entry("Weakened", 70.0)
    weakened["provenance"]["overrides"] = ["method=[fgsm]", "boxes=[white]"]
    write(folder, "weakened", weakened)
    rows = leaderboard.board(folder, protocols(tmp_path / "p", digits=[1]))
    assert [(r.entry["model"]["name"], r.rank) for r in rows] == [
        ("Honest", 1),
        ("Weakened", None),
        ("Edited", None),
    ]
    assert rows[1].apart == ("overridden: method=[fgsm], boxes=[white]",)
    (edited_row,) = rows[2].apart
    assert edited_row.startswith("its protocol file is not the released one (sha256 ffffffffffff")


def test_a_protocol_file_without_a_recorded_hash_is_not_released(tmp_path: Path) -> None:
    known = protocols(tmp_path / "p", digits=[1])
    (known / "released.sha256").unlink()
    write(tmp_path / "e", "a", entry("A", 20.0))
    (row,) = leaderboard.board(tmp_path / "e", known)
    assert row.rank is None
    assert row.apart == ("its protocol file is not released (no hash recorded)",)


def test_the_same_weights_under_the_same_protocol_are_ranked_once(tmp_path: Path) -> None:
    folder = tmp_path / "e"
    write(folder, "first", entry("First", 40.0, weights="params:00000000000000aa"))
    write(folder, "again", entry("Again", 30.0, weights="params:00000000000000aa"))
    write(folder, "other", entry("Other", 35.0))
    write(folder, "none1", entry("None 1", 10.0, weights=None))
    write(folder, "none2", entry("None 2", 5.0, weights=None))  # no hash: no duplicate
    rows = leaderboard.board(folder, protocols(tmp_path / "p", digits=[1]))
    ranks = {r.entry["model"]["name"]: r.rank for r in rows}
    assert ranks == {"Other": 1, "Again": 2, "None 1": 3, "None 2": 4, "First": None}
    first = next(r for r in rows if r.entry["model"]["name"] == "First")
    assert first.apart == ("same weights, T and protocol as again.json, ranked once",)


def test_the_kept_duplicate_is_named_by_its_path_below_the_folder(tmp_path: Path) -> None:
    """Every job of a sweep writes ``entry.json``: the reason names the job's folder too (it
    said ``as entry.json``, which names none of them)."""
    folder = tmp_path / "sweep"
    for job, worst in (("0", 40.0), ("1", 30.0)):
        (folder / job).mkdir(parents=True)
        (folder / job / "metrics.json").write_text("{}")
        made = entry(f"Job {job}", worst, weights="params:00000000000000aa")
        (folder / job / "entry.json").write_text(json.dumps(made))
    rows = leaderboard.board(folder, protocols(tmp_path / "p", digits=[1]))
    first = next(r for r in rows if r.entry["model"]["name"] == "Job 0")
    assert first.apart == ("same weights, T and protocol as 1/entry.json, ranked once",)


def test_the_same_weights_at_another_T_are_ranked_on_their_own(tmp_path: Path) -> None:
    """Run at T=8, the weights of a T=4 entry are another model as deployed: both ranked."""
    folder = tmp_path / "e"
    write(folder, "t4", entry("At 4", 40.0, weights="params:00000000000000aa"))
    at8 = entry("At 8", 30.0, weights="params:00000000000000aa")
    at8["model"]["T"] = 8
    write(folder, "t8", at8)
    rows = leaderboard.board(folder, protocols(tmp_path / "p", digits=[1]))
    assert {r.entry["model"]["name"]: r.rank for r in rows} == {"At 4": 1, "At 8": 2}


@pytest.mark.parametrize("files", [[], ["metrics.json"], ["0/metrics.json"]])
def test_a_folder_without_entries_is_refused_in_one_line_and_nothing_written(
    tmp_path: Path, capsys, files: list[str]
) -> None:
    folder = tmp_path / "e"
    folder.mkdir()
    for name in files:
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text("{}")
    assert leaderboard.main([str(folder)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: DIR={str(folder)!r} holds no entry (*.json below it, a job's metrics.json "
        "aside); accepted: a folder of entries or a benchmark sweep's folder (its jobs' "
        "entry.json)\n"
    )
    assert not (folder / "leaderboard.md").exists()


def test_a_benchmark_sweeps_folder_gives_its_jobs_entries(tmp_path: Path) -> None:
    """The documented ``python -m snnattack.benchmark.leaderboard multirun/<date>/<time>``:
    each job's ``entry.json``, not its other JSON files, the sweep's reused rows or W&B's."""
    sweep = tmp_path / "multirun"
    for job, worst in (("0", 20.0), ("1", 30.0)):
        write(sweep / job, "metrics", {"results": []})
        write(sweep / job, "entry", entry(f"job {job}", worst))
        write(sweep / job / "wandb" / "run-1" / "files", "wandb-summary", {"_step": 0})
        write(sweep / job / ".hydra", "state", {})
    write(sweep / ".rows", "0123abcd", {"method": "pgd"})
    write(sweep / "wandb" / "run-2", "wandb-metadata", {})
    files = leaderboard.write(sweep, sweep, protocols(tmp_path / "p", digits=[1]))
    text = files["md"].read_text()
    assert "| 1 | job 1 |" in text and "| 2 | job 0 |" in text


def test_out_naming_a_file_is_refused_and_the_file_kept(tmp_path: Path, capsys) -> None:
    write(tmp_path / "e", "a", entry("A", 20.0))
    out = tmp_path / "notes.txt"
    out.write_text("my notes")
    assert leaderboard.main([str(tmp_path / "e"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: --out={str(out)!r} is a file; accepted: a folder"
    )
    assert out.read_text() == "my notes"


def test_out_that_cannot_be_made_is_refused_in_one_line(tmp_path: Path, capsys) -> None:
    """A folder below a file was a NotADirectoryError's traceback, exit 1."""
    write(tmp_path / "e", "a", entry("A", 20.0))
    (tmp_path / "notes.txt").write_text("my notes")
    out = tmp_path / "notes.txt" / "site"
    assert leaderboard.main([str(tmp_path / "e"), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"error: --out={str(out)!r} cannot be made (Not a directory); accepted: a folder that "
        "can be written or created\n"
    )
    assert (tmp_path / "notes.txt").read_text() == "my notes"


def test_dir_naming_a_file_is_refused_naming_dir_not_out(tmp_path: Path, capsys) -> None:
    """--out defaults to DIR: the user gave DIR, so DIR is what the line names."""
    notes = tmp_path / "notes.json"
    notes.write_text("{}")
    assert leaderboard.main([str(notes)]) == 2
    assert capsys.readouterr().err == (
        f"error: DIR={str(notes)!r} is not a folder; accepted: a folder of entries\n"
    )
    assert notes.read_text() == "{}"


def test_out_holding_a_foreign_page_is_refused_and_its_own_page_rewritten(
    tmp_path: Path, capsys
) -> None:
    folder = write(tmp_path / "e", "a", entry("A", 20.0)).parent
    known = protocols(tmp_path / "p", digits=[1])
    site = tmp_path / "site"
    site.mkdir()
    (site / "leaderboard.md").write_text("# My own notes\n")
    with pytest.raises(UserError) as err:
        leaderboard.write(folder, site, known)
    assert str(err.value) == (
        f"--out={str(site)!r} holds leaderboard.md, which is not a page of this command; "
        "accepted: a folder without it, or with the pages this command wrote"
    )
    assert (site / "leaderboard.md").read_text() == "# My own notes\n"
    (site / "leaderboard.md").unlink()
    leaderboard.write(folder, site, known)
    write(folder, "b", entry("B", 30.0))
    files = leaderboard.write(folder, site, known)  # its own pages: written again
    assert "| B |" in files["md"].read_text()


def test_a_thousand_entries_read_their_protocol_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page of 1,000 entries parses the protocol file once, not once per entry (11 s of
    YAML before): the build is the entries' own reading."""
    known = protocols(tmp_path / "p", digits=[1])
    folder = tmp_path / "e"
    folder.mkdir()
    for i in range(1000):
        (folder / f"{i:04d}.json").write_text(json.dumps(entry(f"model {i}", i / 20)))
    parsed = []
    load = protocol_module.OmegaConf.load
    monkeypatch.setattr(
        protocol_module.OmegaConf, "load", lambda path: parsed.append(path) or load(path)
    )
    files = leaderboard.write(folder, tmp_path / "site", known)
    assert parsed == [known / "digits_v1.yaml"]
    assert len(re.findall(r"\| model \d+ \|", files["md"].read_text())) == 1000


def test_a_key_with_a_line_break_is_named_in_one_line(tmp_path: Path) -> None:
    bad = entry("Bad", 20.0)
    bad["robust_acc"]["pgd\nsecond line"] = 99.0
    path = write(tmp_path / "e", "bad", bad)
    line = refusal(tmp_path / "e", protocols(tmp_path / "p", digits=[1]))
    assert line.startswith(f"{path}: field robust_acc.'pgd\\nsecond line'=99.0 is above")


@pytest.mark.parametrize("argv", [[], ["a", "b"], ["--outt", "x"], ["--foo"]])
def test_bad_arguments_of_the_command_are_one_line_and_exit_2(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        leaderboard.main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and err.startswith("error: ")
    assert "accepted: see python -m snnattack.benchmark.leaderboard --help" in err
    if argv == ["--foo"]:  # named, not "required: folder", which argparse says first
        assert err.startswith("error: unrecognized arguments: --foo;")


def test_an_entrys_robust_accuracy_counts_the_images_right_clean_and_not_fooled() -> None:
    """A transferred example can turn an image that was wrong clean right: the record's
    ``adv_acc`` counts it, an entry's ``robust_acc`` (RobustBench's) does not, so no row of a
    weak model ranks above its clean accuracy (such an entry was refused, and none written)."""
    # 40 of 100 right clean, 10 of them fooled; 50 of the 60 wrong ones turned right
    row = AttackRow(
        method="fgsm", eps_255=16, box="black", grad_mode="stbp", asr=25.0, adv_acc=80.0,
        n_correct=40, n=100,
    )  # fmt: skip
    block = {"protocol": "digits", "version": 1, "name": "weak"}
    config = {"T": 4, "attack": {"eot_samples": 1}, "model": {"name": "digits_net"}}
    record = JobRecord(clean_acc=40.0, n=100, results=[row], config={**config, "benchmark": block})
    entry = from_record(record, "0" * 64, [])
    assert entry["robust_acc"] == {"fgsm/transfer": 30.0} and entry["worst_case"] == 30.0


@pytest.mark.parametrize("asr", [12.5, float("nan")], ids=["half an image", "nan"])
def test_a_record_row_whose_asr_counts_no_whole_images_makes_no_entry(asr: float) -> None:
    """The fooled images are the ASR counted back as a kept row's check counts them
    (``count_of``): 12.5 % of 4 images (half of one) was rounded to 0 silently, a NaN of
    some images was a traceback."""
    row = AttackRow(
        method="fgsm", eps_255=16, box="white", grad_mode="stbp", asr=asr, adv_acc=80.0,
        n_correct=4, n=5,
    )  # fmt: skip
    block = {"protocol": "digits", "version": 1, "name": "x"}
    config = {"T": 4, "attack": {"eot_samples": 1}, "model": {"name": "digits_net"}}
    record = JobRecord(clean_acc=80.0, n=5, results=[row], config={**config, "benchmark": block})
    with pytest.raises(UserError) as err:
        from_record(record, "0" * 64, [])
    assert str(err.value) == (
        f"the record's row fgsm (eps 16/255): its asr={asr!r} is no whole count of its "
        f"n_correct=4 samples ({asr * 4 / 100:g}); accepted: a metrics.json as its job wrote "
        "it (the job again, its metrics.json removed)"
    )


def test_a_newer_protocol_file_whose_block_says_another_version_is_refused(
    tmp_path: Path,
) -> None:
    """digits_v2.yaml saying version 1 would rank every v1 entry apart as "older" by a file
    that is no version 2: refused naming it, as any reader of that file refuses it."""
    known = protocols(tmp_path / "p", digits=[1])
    (known / "digits_v2.yaml").write_text("benchmark:\n  protocol: digits\n  version: 1\n")
    write(tmp_path / "e", "a", entry("A", 20.0))
    with pytest.raises(UserError) as err:
        leaderboard.board(tmp_path / "e", known)
    assert str(err.value) == (
        f"{known / 'digits_v2.yaml'}: benchmark.protocol='digits' and benchmark.version=1 "
        "differ from its file name; accepted: protocol: digits, version: 2"
    )
