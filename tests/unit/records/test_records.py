"""The typed result record: metrics.json round trip, its schema, and the previous schema read."""

import csv
import json
import shutil
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import get_type_hints

import pytest
from harness import ROOT, compose, edited_component_file, resolved
from omegaconf import DictConfig

from snnattack.attacks.parse import attack_specs, component_settings
from snnattack.errors import ConfigError, UserError
from snnattack.records import results
from snnattack.records.results import (
    SCHEMA,
    AttackRow,
    JobRecord,
    check_not_replacing,
    complete_record,
    count_of,
    job_table,
    read_record,
    result_spec,
    typed_row,
)
from snnattack.report import write_report
from snnattack.runtime.lifecycle import print_results

DATA = ROOT / "tests" / "data"
SCHEMA1 = DATA / "metrics_schema1.json"  # written by the code before the schema version


def test_a_schema_1_file_reads_as_a_record_with_every_row() -> None:
    raw = json.loads(SCHEMA1.read_text())
    assert "schema" not in raw
    record = read_record(SCHEMA1)
    assert record.schema == 1
    assert record.clean_acc == raw["clean_acc"] and record.n == raw["n"]
    assert record.source_clean_acc == raw["source_clean_acc"]
    assert record.models == raw["models"] and record.config == raw["config"]
    assert [(r.method, r.box, r.eps_255, r.asr) for r in record.results] == [
        (r["method"], r["box"], r["eps_255"], r["asr"]) for r in raw["results"]
    ]
    assert record.results[-1].source_kind == "stbp" and record.git_commit == raw["git_commit"]


def test_the_report_reads_the_previous_schema_beside_the_current_one(tmp_path: Path) -> None:
    old = tmp_path / "sweep" / "0"
    old.mkdir(parents=True)
    shutil.copy(SCHEMA1, old / "metrics.json")
    raw = json.loads(SCHEMA1.read_text())
    current = JobRecord.from_json({**raw, "schema": SCHEMA})
    current.config = {**current.config, "lambda": 0.5}  # another job of the sweep
    (tmp_path / "sweep" / "1").mkdir()
    (tmp_path / "sweep" / "1" / "metrics.json").write_text(json.dumps(current.to_json()))

    report = write_report(tmp_path / "sweep")
    assert [j.record.schema for j in report.jobs] == [1, SCHEMA]
    with open(tmp_path / "sweep" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * len(raw["results"])
    assert [float(r["asr"]) for r in rows[: len(raw["results"])]] == [
        r["asr"] for r in raw["results"]
    ]
    assert {r["lambda"] for r in rows} == {"1.0", "0.5"}
    assert "Table 2" in (tmp_path / "sweep" / "report.md").read_text()


def test_a_record_round_trips_through_metrics_json_with_its_schema(tmp_path: Path) -> None:
    record = read_record(SCHEMA1)
    record.schema = SCHEMA
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(record.to_json()))
    assert json.loads(path.read_text())["schema"] == SCHEMA == 2
    assert read_record(path) == record


def test_records_read_again_evaluate_their_field_types_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relaunch's check of its sweep folder reads every job's record there
    (``finished_in_sweep``); ``get_type_hints`` at each row of each record made that 2.3 s a
    job in a folder of 1,000 two-row jobs (docs/performance.md). The records read as before."""
    record = read_record(SCHEMA1)
    record.schema = SCHEMA
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(record.to_json()))
    calls: list[type] = []

    def counted(cls: type) -> dict[str, object]:
        calls.append(cls)
        return get_type_hints(cls)

    monkeypatch.setattr(results, "get_type_hints", counted)
    assert [read_record(path) for _ in range(3)] == [record] * 3
    assert len(calls) == len(set(calls)) <= 2  # JobRecord's and AttackRow's, once a process


def test_a_newer_schema_is_refused_with_one_line_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({**json.loads(SCHEMA1.read_text()), "schema": 99}))
    with pytest.raises(UserError, match=rf"{path}: metrics.json schema=99 is unknown; accepted"):
        read_record(path)
    with pytest.raises(UserError, match="schema=99"):
        write_report(tmp_path)


def test_a_row_without_a_required_field_is_not_a_record() -> None:
    raw = json.loads(SCHEMA1.read_text())
    del raw["results"][0]["asr"]
    with pytest.raises(ValueError, match="AttackRow without asr"):
        JobRecord.from_json(raw)


def test_a_row_whose_count_of_samples_is_not_a_number_is_not_a_record() -> None:
    """A row's ``n`` bounds its ``n_correct``: a string there (a file edited by hand) raised
    a TypeError, which no reader catches (a relaunch's check of its sweep folder stopped on
    it), where any other damage is a ValueError naming the field."""
    raw = json.loads(SCHEMA1.read_text())
    raw["results"][0]["n"] = "4"
    with pytest.raises(ValueError, match=r"its results\[0\]\.n='4' is not int"):
        JobRecord.from_json(raw)


ROW = AttackRow(
    method="pgd",
    eps=32 / 255,
    eps_255=32,
    box="white",
    grad_mode="stbp",
    asr=float("nan"),  # no clean-correct sample
    adv_acc=0.0,
    n_correct=0,
    n=4,
    queries=8,  # an int where a float is asked: JSON writes 8.0 as 8 from some writers
    asr_curve=[{"steps": 1, "asr": 50.0}],
    components=[{"name": "apgd/stbp", "grad_params": {"width": 1.0}, "first_successes": 2}],
    tuned={"params": {"gamma": 0.5}, "val_asr": 80.0, "val_n": 8},
)


def test_a_kept_row_with_its_fields_types_reads_back_as_it_was() -> None:
    back = typed_row(json.loads(json.dumps(asdict(ROW))))
    assert back.asr != back.asr and asdict(back) | {"asr": 0} == asdict(ROW) | {"asr": 0}


@pytest.mark.parametrize(
    "change,message",
    [
        ({"asr": "12.5"}, "its asr='12.5' is not float"),
        ({"n_correct": 3.5}, "its n_correct=3.5 is not int"),
        ({"n_correct": True}, "its n_correct=True is not int"),
        ({"box": None}, "its box=None is not str"),
        ({"asr_curve": [{"steps": "1", "asr": 5.0}]}, "its asr_curve=.* is not list"),
        ({"tuned": [1]}, r"its tuned=\[1\] is not dict"),
        ({"colour": "red"}, "colour is not a field of a row"),
        # values no job writes: a file edited by hand or damaged
        ({"asr": 150.0}, r"its asr=150.0 is outside \[0, 100\]"),
        ({"adv_acc": -7.0}, r"its adv_acc=-7.0 is outside \[0, 100\]"),
        ({"n_correct": 5}, r"its n_correct=5 is outside \[0, 4\]"),  # more than its n=4
        ({"eps_255": 300.0}, r"its eps_255=300.0 is outside \[0, 255\]"),
        ({"box": "grey"}, "its box='grey' is outside white, black"),
        # the bound of a count of another type (its field's, said at it): not a TypeError
        ({"n": "4"}, "its n='4' is not int"),
    ],
)
def test_a_kept_row_of_other_types_or_fields_is_refused_naming_the_field(
    change: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        typed_row({**asdict(ROW), **change})
    with pytest.raises(ValueError, match="AttackRow without asr"):
        typed_row({k: v for k, v in asdict(ROW).items() if k != "asr"})


def test_a_schema_1_file_is_not_complete_so_a_relaunch_rewrites_it(tmp_path: Path) -> None:
    """A relaunch skips only a file of the current schema: the old one is brought up to date."""
    from omegaconf import OmegaConf

    raw = json.loads(SCHEMA1.read_text())
    cfg = OmegaConf.create({**raw["config"], "cosmetic_keys": []})
    path = tmp_path / "metrics.json"
    spec = OmegaConf.to_container(cfg, resolve=True)
    path.write_text(json.dumps({**raw, "result_spec": spec}))
    assert complete_record(path, result_spec(resolved(cfg), {}), len(raw["results"])) is None
    path.write_text(json.dumps({**raw, "result_spec": spec, "schema": SCHEMA}))
    assert complete_record(path, result_spec(resolved(cfg), {}), len(raw["results"])) is not None


def job_spec(cfg: DictConfig) -> dict:
    """The result spec a job of ``cfg`` compares and records (``snnattack.job.run``)."""
    return result_spec(resolved(cfg), component_settings(attack_specs(cfg)))


def finished(path: Path, spec: dict, rows: int) -> None:
    """A finished job's ``metrics.json`` in ``path`` of ``rows`` rows, made with ``spec``."""
    record = JobRecord(clean_acc=90.0, n=4, results=[ROW] * rows, result_spec=spec)
    path.write_text(json.dumps(record.to_json()))


def test_an_edit_of_an_ensemble_components_method_file_redoes_its_finished_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ensemble's config lists its components by name; their parameters are their
    methods' files'. After an edit of ``conf/method/apgd.yaml`` the finished ensemble job is
    not skipped with its stale rows: it is refused naming the parameter, as a job with an
    ``apgd`` row of its own is."""
    cfg = compose("method=[ensemble_quick]")
    path, rows = tmp_path / "metrics.json", len(attack_specs(cfg))
    finished(path, job_spec(cfg), rows)
    assert complete_record(path, job_spec(cfg), rows) is not None  # the same settings: skipped
    edited_component_file(
        monkeypatch, tmp_path / "conf", "method", "apgd", "steps: 10", "steps: 20"
    )
    assert resolved(cfg) == resolved(compose("method=[ensemble_quick]"))  # the config the same
    assert complete_record(path, job_spec(cfg), rows) is None
    with pytest.raises(ConfigError) as refused:
        check_not_replacing(path, job_spec(cfg))
    assert "(components.ensemble_quick.apgd/stbp.params.steps=10 there, 20 here;" in str(
        refused.value
    )


def test_a_finished_ensemble_job_recorded_without_its_components_is_redone_not_refused(
    tmp_path: Path,
) -> None:
    """A record written before the result spec held the ensembles' components says nothing
    of what they ran: a relaunch of its config redoes it (never refuses it, as it would a job
    of other settings, which is still refused naming only what its record holds). A job
    without an ensemble keeps the spec it had, so its relaunch still skips it."""
    cfg = compose("method=[ensemble_quick]")
    path, rows = tmp_path / "metrics.json", len(attack_specs(cfg))
    finished(path, result_spec(resolved(cfg), {}), rows)
    assert complete_record(path, job_spec(cfg), rows) is None
    check_not_replacing(path, job_spec(cfg))  # not refused: the job redoes it
    other = compose("method=[ensemble_quick]", "seed=3")
    with pytest.raises(ConfigError, match=r"other settings \(seed=0 there, 3 here\), whose"):
        check_not_replacing(path, job_spec(other))
    width = compose("method=[ensemble_quick]", "attack.params.width=0.5")  # as typed: not None
    with pytest.raises(ConfigError, match=r"\(attack.params.width=null there, 0.5 here\)"):
        check_not_replacing(path, job_spec(width))
    plain = compose()
    assert job_spec(plain) == result_spec(resolved(plain), {}) and "components" not in job_spec(
        plain
    )


def test_a_relaunch_says_it_replaces_a_record_it_cannot_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A half-written or edited metrics.json is redone (not refused), and was replaced unsaid."""
    cfg = compose()
    path = tmp_path / "metrics.json"
    check_not_replacing(path, job_spec(cfg))  # none yet: nothing to say
    assert not caplog.records
    path.write_text('{"clean_acc": 9')
    check_not_replacing(path, job_spec(cfg))
    check_not_replacing(path, job_spec(cfg))  # asked again under the job's lock: said once
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"note: {path} cannot be read (") and line.endswith(
        "): the job runs again and replaces it"
    )
    path.write_text('{"clean_acc": 9.5')  # cut short again (a later launch): said again
    check_not_replacing(path, job_spec(cfg))
    assert len(caplog.records) == 2
    path.write_text(json.dumps({"schema": 3, "clean_acc": 9.0}))  # a newer snnattack's
    with pytest.raises(ConfigError, match=r"metrics.json holds the record of a newer snnattack \("):
        check_not_replacing(path, job_spec(cfg))


def test_one_printer_shows_a_job_and_a_sweep_with_the_same_row_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a terminal wide enough for unwrapped headers
    job = job_table(read_record(SCHEMA1))
    (tmp_path / "0" / ".hydra").mkdir(parents=True)
    shutil.copy(SCHEMA1, tmp_path / "0" / "metrics.json")
    (tmp_path / "0" / ".hydra" / "overrides.yaml").write_text("- lambda=1.0\n")
    print_results(tmp_path)
    sweep = capsys.readouterr().err
    # every required column; an optional one (targeted %) only where a row has it: none here
    for f in fields(AttackRow):
        if "column" in f.metadata:
            required = f.default is MISSING
            assert (f.metadata["column"] in job) == required
            assert (f.metadata["column"] in sweep) == required
    assert "clean acc 68.75%" in job and "swept" in sweep and "68.75" in sweep


def test_the_sweep_table_shows_bracketed_values_and_folder_names_as_they_are(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``method=[fgsm]`` is a swept value and a folder's name, not rich's markup."""
    monkeypatch.setenv("COLUMNS", "200")
    for name, value in (("method=[fgsm]", "[fgsm]"), ("method=[pgd]", "[pgd]")):
        (tmp_path / name / ".hydra").mkdir(parents=True)
        shutil.copy(SCHEMA1, tmp_path / name / "metrics.json")
        overrides = f"- lambda=1.0\n- method={value}\n"
        (tmp_path / name / ".hydra" / "overrides.yaml").write_text(overrides)
    print_results(tmp_path)
    sweep = capsys.readouterr().err
    assert sweep.count("method=[fgsm] │ method=[fgsm]") == len(read_record(SCHEMA1).results)


@pytest.mark.parametrize("named", [False, True], ids=["numbered", "named"])
def test_the_sweep_table_of_jobs_without_a_record_takes_each_jobs_overrides_from_its_launch(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, named: bool
) -> None:
    """``hydra.output_subdir=null``: no ``.hydra/overrides.yaml``; the sweep's
    ``launches.jsonl`` lists each job's overrides by what it runs (its settings' hash), and
    where two jobs run the same (``threads=1,2``, a cosmetic key) by the folder the launch
    recorded for each (``hydra.sweep.subdir=t${threads}``), or by its number where the launch
    recorded none. A job that no launch lists is left out, as one without a readable record
    is."""
    from snnattack.records.cosmetic import settings_hash
    from snnattack.records.launches import record_launch

    monkeypatch.setenv("COLUMNS", "200")
    runs = settings_hash(read_record(SCHEMA1).config)
    jobs = [["lambda=1.0", "threads=1"], ["lambda=1.0", "threads=2"]]
    folders: list[str | None] = ["t1", "t2"] if named else [None, None]
    record_launch(tmp_path, {"mode": "MULTIRUN"}, jobs, [runs, runs], folders)
    first, second = folders if named else ("0", "1")
    for name in (first, second, "2"):
        (tmp_path / name).mkdir()
        shutil.copy(SCHEMA1, tmp_path / name / "metrics.json")
    other = json.loads(SCHEMA1.read_text())
    other["config"]["lambda"] = 0.3  # settings no launch lists
    (tmp_path / "2" / "metrics.json").write_text(json.dumps(other))
    record_launch(tmp_path, {"mode": "MULTIRUN"}, [["lambda=0.5"]], ["another hash"], ["0"])
    print_results(tmp_path, None)
    sweep = capsys.readouterr().err
    lines = [line for line in sweep.splitlines() if line.startswith("│")]  # the rows
    shown = [[cell.strip() for cell in line.split("│")[1:3]] for line in lines]
    rows = len(read_record(SCHEMA1).results)
    assert shown == [[first, "threads=1"]] * rows + [[second, "threads=2"]] * rows
    assert "lambda=0.5" not in sweep


def test_the_commit_is_dirty_with_a_changed_file_or_a_new_module_not_with_outputs(
    tmp_path: Path,
) -> None:
    """The package imports every module of its folders: an untracked one (an attack added),
    a C kernel or a config file runs, so the commit alone would not say what ran; a job's
    outputs, an editor's swap file or a Finder file beside them are no change of the code."""
    import subprocess

    from snnattack.records.provenance import git_commit

    package, conf = tmp_path / "src" / "snnattack", tmp_path / "conf"
    package.mkdir(parents=True)
    conf.mkdir()
    (package / "a.py").write_text("A = 1\n")
    (conf / "config.yaml").write_text("T: 4\n")
    read = {package: ("*.py", "*.c"), conf: ("*.yaml",)}

    def git(*args: str) -> str:
        ids = ["-c", "user.name=t", "-c", "user.email=t@t"]
        done = subprocess.run(["git", *ids, *args], cwd=tmp_path, capture_output=True, text=True)
        return done.stdout.strip()

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "first")
    head = git("rev-parse", "HEAD")
    harmless = [
        package / "outputs" / "day" / "metrics.json",  # a job launched from inside src/
        package / "outputs" / "day" / ".hydra" / "config.yaml",
        conf / ".config.yaml.swp",
        package / ".DS_Store",
    ]
    for path in harmless:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    assert git_commit(package, read) == head
    for added in (package / "attacks" / "new_attack.py", package / "k.c", conf / "m" / "n.yaml"):
        added.parent.mkdir(exist_ok=True)
        added.write_text("")
        assert git_commit(package, read) == head + "+dirty", added
        added.unlink()
    (package / "a.py").write_text("A = 2\n")
    assert git_commit(package, read) == head + "+dirty"
    assert git_commit(package / "outputs", read) == "unknown"  # no tracked file: not the code


def test_records_name_the_commit_the_process_loaded_not_a_later_head(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A commit made while a sweep runs does not relabel its later jobs, which still run the
    code imported at the start."""
    from snnattack.records import provenance

    loaded = provenance.provenance()["git_commit"]
    assert loaded == provenance.LOADED_COMMIT and loaded != "unknown"  # a git checkout
    monkeypatch.setattr(provenance, "git_commit", lambda: "a later HEAD")
    assert provenance.provenance()["git_commit"] == loaded


def test_the_sweep_table_shows_the_jobs_of_nested_folders_in_natural_order(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``hydra.sweep.subdir=lam${lambda}/seed${seed}``: every job, not only a top level's."""
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("lam1.0/seed10", "lam1.0/seed2", "lam0.5/seed2"):
        (tmp_path / name / ".hydra").mkdir(parents=True)
        shutil.copy(SCHEMA1, tmp_path / name / "metrics.json")
        seed = name.split("seed")[1]
        overrides = f"- lambda={name[3:6]}\n- seed={seed}\n"
        (tmp_path / name / ".hydra" / "overrides.yaml").write_text(overrides)
    print_results(tmp_path)
    sweep = capsys.readouterr().err
    shown = [n for n in ("lam0.5/seed2", "lam1.0/seed2", "lam1.0/seed10") if n in sweep]
    assert shown == ["lam0.5/seed2", "lam1.0/seed2", "lam1.0/seed10"]
    assert sweep.index("lam1.0/seed2") < sweep.index("lam1.0/seed10")


def test_a_rate_is_counted_back_into_the_samples_it_was_written_from() -> None:
    """``count_of``, which a benchmark entry's robust accuracy and a kept row's checks share
    (each rounded the rate's count its own way): every ``100 * count / total`` the evaluation
    writes is counted back exactly, though its float is off (1 of 11: 1.0000000000000002)."""
    assert (100.0 * 1 / 11) * 11 / 100 != 1  # the rounding edge: the float is not whole
    for total in range(1, 300):
        assert [count_of(100.0 * c / total, total) for c in range(total + 1)] == [*range(total + 1)]
    assert count_of(float("nan"), 0) is None  # no clean-correct sample: a NaN rate
    # half a sample was rounded to even (0) by the entry, silently: no whole count at all
    for rate, total, told in [
        (50.0, 1, "no whole count of its n_correct=1 samples (0.5)"),
        (37.5, 4, "no whole count of its n_correct=4 samples (1.5)"),
        (float("nan"), 8, "no whole count of its n_correct=8 samples (nan)"),
        (0.0, 0, "a share of no sample (n_correct=0), not NaN"),
    ]:
        with pytest.raises(ValueError) as err:
            count_of(rate, total, "n_correct")
        assert str(err.value) == told


ANALYSES = {
    "shuffle": {"clean_acc": 90.0, "shuffled_acc": 88.5, "n": 4, "seed": 0, "mode": "layer"},
    "rate_current": {
        "actual": {"current": [-0.5, 1.2], "rate": [0.0, 0.75], "layer": 1},
        "static": {"current": [0.0, 1.0], "rate": [0.0, 1.0]},
    },
    "cost": {"modes": {"stbp": {"seconds": 0.01, "peak_mb": None}, "rga": {"error": "no"}}},
}


@pytest.mark.parametrize(
    "path,value,message",
    [
        (("shuffle", "shuffled_acc"), 150.0, r"analyses.shuffle.shuffled_acc=150.0 is outside"),
        (("shuffle", "n"), -3, r"analyses.shuffle.n=-3 is outside \[0, inf\]"),
        (("shuffle", "clean_acc"), "90", r"analyses.shuffle.clean_acc='90' is not a number"),
        (("rate_current", "actual", "rate"), [0.5, 7.0], r"rate_current.actual.rate\[1\]=7.0"),
        (("cost", "modes", "stbp", "seconds"), -1.0, r"analyses.cost.modes.stbp.seconds=-1.0"),
    ],
)
def test_an_analysis_number_no_job_writes_is_refused_naming_it(
    path: tuple, value: object, message: str
) -> None:
    """The analyses' numbers a report shows (Table 1, the rate-current figure, Table S2) are
    held to their ranges as the attack rows' are: a file edited by hand or damaged."""
    data = json.loads(json.dumps({"clean_acc": 90.0, "n": 4, "results": [], "analyses": ANALYSES}))
    assert JobRecord.from_json(data).analyses == ANALYSES
    *outer, last = path
    node = data["analyses"]
    for key in outer:
        node = node[key]
    node[last] = value
    with pytest.raises(ValueError, match=message):
        JobRecord.from_json(data)
