"""W&B as a dashboard (offline here): train runs by store key, attack runs by overrides, results.

The run files are read back from disk with ``harness.read_wandb_run`` (wandb ships no reader).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import wandb
from fixtures_report import hand_made_job, lambda_sweep
from harness import QUIET, ROOT, cli, compose
from harness import read_wandb_run as read_run
from omegaconf import OmegaConf

from snnattack.config.parse import tracking_settings
from snnattack.errors import ConfigError
from snnattack.records import tracking
from snnattack.records.results import AttackRow, JobRecord
from snnattack.report import write_report
from snnattack.report.hydra_callback import log_to_wandb
from snnattack.training.parse import model_settings
from snnattack.training.store_key import store_key

SWEEP = "multirun/2026-11-23/04-17-00"  # a sweep folder as Hydra names it: <date>/<time>


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-job multirun (λ = 0.9, 1.0; white box only: one model per job) logged to W&B."""
    tmp = tmp_path_factory.mktemp("wandb")
    proc = cli(
        "-m",
        "logger=wandb",
        "lambda=0.9,1.0",
        "train.epochs=1",
        "eps=[32]",
        "method=[fgsm]",
        "boxes=[white]",
        "tags=[smoke]",
        f"store.dir={tmp}/models",
        f"hydra.sweep.dir={tmp}/{SWEEP}",
        *QUIET,
        cwd=tmp,
        env={"WANDB_MODE": "offline"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (tmp / "console.txt").write_text(proc.stdout + proc.stderr)
    wandb.teardown()  # the W&B service writes every run file to its end and stops
    return tmp


def test_wandb_is_quiet_but_says_where_each_run_is(sweep: Path) -> None:
    console = (sweep / "console.txt").read_text().splitlines()
    assert [line for line in console if line.startswith("wandb:")] == []
    where = [line for line in console if "W&B train run '" in line or "W&B attack run '" in line]
    assert len(where) == 4 and all("(offline): " in line for line in where)


def test_the_docs_sync_command_covers_every_run_of_the_sweep(sweep: Path) -> None:
    page = (ROOT / "docs" / "wandb.md").read_text()
    [paths] = re.findall(r"`wandb sync (multirun/[^`]+)`", page)
    synced = {p for pattern in paths.split() for p in sweep.glob(pattern)}
    runs = {p.parent for p in sweep.rglob("offline-run-*/*.wandb")}
    assert synced == runs and len(runs) == 5  # 2 train, 2 attack runs and the report's


def job_runs(sweep: Path, job: str) -> dict[str, dict[str, Any]]:
    """The W&B runs a sweep job wrote, by job type."""
    runs = [read_run(f) for f in (sweep / SWEEP / job / "wandb").glob("offline-run-*")]
    by_type = {r["job_type"]: r for r in runs}
    assert len(by_type) == len(runs)
    return by_type


def metrics(sweep: Path, job: str) -> dict[str, Any]:
    return json.loads((sweep / SWEEP / job / "metrics.json").read_text())


def test_each_job_has_one_train_run_and_one_attack_run_in_the_sweep_group(sweep: Path) -> None:
    ids = set()
    for job in ("0", "1"):
        runs = job_runs(sweep, job)
        assert sorted(runs) == ["attack", "train"]
        for run in runs.values():
            assert run["group"] == "2026-11-23/04-17-00"
            assert run["exit_code"] == 0
            ids.add(run["folder"].name)
        assert runs["attack"]["tags"] == ["digits", "digits_net", "stbp", "smoke"]
        assert runs["train"]["tags"] == ["digits", "digits_net", "target", "smoke"]  # no mode
        assert metrics(sweep, job)["config"]["logger"]["wandb"]["mode"] == "offline"
        assert not (sweep / SWEEP / job / tracking.PENDING).exists()  # the results logged
    assert len(ids) == 4


def test_train_run_is_named_from_its_settings_and_holds_training_curves(sweep: Path) -> None:
    for job, lam in (("0", 0.9), ("1", 1.0)):
        train = job_runs(sweep, job)["train"]
        key = metrics(sweep, job)["models"]["target"]["key"]
        assert train["name"] == f"train λ={lam} T=4 seed 0 [target] ({key[:8]}…)"
        assert train["config"]["store_key"] == key
        made = metrics(sweep, job)["models"]["target"]  # what trained it, as the store says
        assert {k: train["config"]["provenance"][k] for k in ("version", "git_commit")} == {
            "version": made["version"],
            "git_commit": made["git_commit"],
        }
        assert (sweep / "models" / key / "metrics.csv").exists()  # the CSV log stays
        assert train["config"]["neuron"]["lambda"] == lam
        logged = {k for row in train["history"] for k in row}
        assert {"train_loss", "train_acc", "val_acc", "val_loss", "lr-SGD"} <= logged
        val_acc = [row["val_acc"] for row in train["history"] if "val_acc" in row]
        # to the last digit (Lightning made a Python float a float32: 70.37036895751953)
        assert val_acc == [metrics(sweep, job)["models"]["target"]["val_acc"]]
        train_acc = [row["train_acc"] for row in train["history"] if "train_acc" in row]
        assert len(train_acc) == 1 and 1 < train_acc[0] <= 100  # a percentage, as val_acc


def test_adversarially_trained_models_train_runs_name_their_adversary() -> None:
    """A sweep over ``train.adversary.method`` (and its ``grad_mode``) had train runs of one
    name, ``train λ=1.0 T=4 seed 0 [target]``, told apart by their key's hash alone."""

    def name(*overrides: str) -> str:
        spec = store_key(model_settings(compose(*overrides)), 0)
        return tracking.train_run_name(spec, "6bcdfe40848a5e13", "target")

    assert name() == "train λ=1.0 T=4 seed 0 [target] (6bcdfe40…)"  # standard: as before
    pgd = ("train.adversary.method=pgd", "train.adversary.eps=8")
    assert name(*pgd) == "train pgd/stbp ε=8 λ=1.0 T=4 seed 0 [target] (6bcdfe40…)"
    rga = name("train.adversary.method=trades", "train.adversary.grad_mode=rga")
    assert rga == "train trades/rga ε=16 λ=1.0 T=4 seed 0 [target] (6bcdfe40…)"
    # an ANN crafts with its own gradient: its spec has no grad_mode
    assert name("train.kind=ann", *pgd) == "train ann pgd ε=8 seed 0 [target] (6bcdfe40…)"


def test_train_runs_of_sources_and_other_kinds_say_so_in_name_and_tags() -> None:
    spec = {"train": {"kind": "hybrid"}, "neuron": {"lambda": 0.5, "T": 8}, "seed": 1000}
    name = tracking.train_run_name(spec, "6bcdfe40848a5e13", "source")
    assert name == "train hybrid λ=0.5 T=8 seed 1000 [source] (6bcdfe40…)"
    # an ANN's spec has no neuron (it serves every λ and T): its name was `λ=None T=None`
    ann = {"train": {"kind": "ann"}, "seed": 0}
    name = tracking.train_run_name(ann, "6bcdfe40848a5e13", "target")
    assert name == "train ann seed 0 [target] (6bcdfe40…)"
    assert tracking.train_tags(
        tracking_settings(composed("attack=rga", "tags=[v2]")), "source"
    ) == [
        "digits",
        "digits_net",
        "source",
        "v2",
    ]


def test_a_source_of_another_architecture_is_tagged_with_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``source_model=`` source's training run was tagged with the target's architecture
    (``digits_net`` for a ``digits_resnet`` source): a filter by tag found the wrong runs."""
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(tracking, "lightning_run", lambda w, save_dir, **init: started.append(init))
    monkeypatch.setattr(tracking, "_TrainRunLogger", lambda **_: None)
    settings = tracking_settings(composed("logger=wandb", "source_model=digits_resnet"))
    spec = {"model": {"name": "digits_resnet"}, "train": {"kind": "stbp"}, "seed": 1000}
    tracking.train_loggers(settings, spec, tmp_path)
    assert started[0]["tags"] == ["digits", "digits_resnet", "source"]


@pytest.mark.parametrize("resumed_after", [None, 3])
def test_a_resumed_training_is_a_run_that_says_after_how_many_epochs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resumed_after: int | None
) -> None:
    """A training that a relaunch resumed logged into a new train run of the stopped run's
    name and config: two runs of one name in the group, told apart by their start times
    alone. Its name and config now say after how many epochs it resumed."""
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(tracking, "lightning_run", lambda w, save_dir, **init: started.append(init))
    monkeypatch.setattr(tracking, "_TrainRunLogger", lambda **_: None)
    settings = tracking_settings(composed("logger=wandb"))
    spec = {"model": {"name": "digits_net"}, "train": {"kind": "stbp"}, "seed": 0}
    tracking.train_loggers(settings, spec, tmp_path, resumed_after)
    [init] = started
    assert init["config"]["resumed_after_epochs"] == resumed_after
    resumed = init["name"].endswith(" resumed after 3 epochs")
    assert resumed == (resumed_after is not None)
    assert init["name"].startswith("train seed 0 [target] (")


def test_attack_run_is_named_by_overrides_and_records_its_models(sweep: Path) -> None:
    for job, lam in (("0", 0.9), ("1", 1.0)):
        attack = job_runs(sweep, job)["attack"]
        assert attack["name"] == (
            f"lambda={lam},train.epochs=1,eps=[32],method=[fgsm],boxes=[white]"
        )
        assert attack["config"]["lambda"] == lam
        assert attack["config"]["store_keys"] == {
            "target": job_runs(sweep, job)["train"]["config"]["store_key"]
        }
        record = metrics(sweep, job)  # the code that made the results, in the run itself
        made = {k: attack["config"]["provenance"][k] for k in ("version", "git_commit")}
        assert made == {"version": record["version"], "git_commit": record["git_commit"]}


def test_attack_run_holds_results_table_counts_and_metrics_artifact(sweep: Path) -> None:
    for job, lam in (("0", 0.9), ("1", 1.0)):
        attack, record = job_runs(sweep, job)["attack"], metrics(sweep, job)
        [result] = record["results"]
        assert attack["summary"]["n"] == record["n"] == 450
        assert attack["summary"]["n_correct"] == result["n_correct"]
        assert attack["summary"]["clean_acc"] == pytest.approx(record["clean_acc"])
        assert attack["summary"]["asr/fgsm/white/eps32"] == pytest.approx(result["asr"])
        assert attack["summary"]["adv_acc/fgsm/white/eps32"] == pytest.approx(result["adv_acc"])
        assert "targeted_asr/fgsm/white/eps32" not in attack["summary"]  # untargeted: none
        assert attack["summary"]["results._type"] == "table-file"
        table_path = attack["folder"] / "files" / attack["summary"]["results.path"]
        table = json.loads(table_path.read_text())
        assert table["columns"] == list(tracking.TABLE_COLUMNS)
        setting = {"lambda": lam, "T": 4, "seed": 0}
        expected = [setting[c] if c in setting else result[c] for c in table["columns"]]
        assert table["data"] == [
            [pytest.approx(v) if isinstance(v, float) else v for v in expected]
        ]
        assert {"method", "eps_255", "box", "grad_mode", "asr", "adv_acc", "n"} < set(
            table["columns"]
        )
        assert ("results", f"results-{attack['folder'].name.rsplit('-', 1)[1]}") in (
            attack["artifacts"]
        )


def composed(*overrides: str):
    return compose("logger=wandb", *overrides)


def test_run_name_leaves_out_paths_and_logging_keys() -> None:
    exclude = list(composed().cosmetic_keys)
    overrides = [
        "attack=rga",
        "lambda=0.9",
        "store.dir=/tmp/m",
        "logger=wandb",
        "tags=[a]",
        "+trainer.strategy=ddp",
        "trainer.devices=2",
        "++T=8",
        "dataset.params.root=/data",
        "hydra.verbose=true",
    ]
    assert tracking.run_name(overrides, exclude) == "attack=rga,lambda=0.9,T=8"
    assert tracking.run_name(["store.dir=/tmp/m"], exclude) == "default"


def test_single_run_is_grouped_by_its_output_folders_date_and_time() -> None:
    assert tracking.sweep_group(Path("outputs/2026-11-23/04-17-00")) == "2026-11-23/04-17-00"


def test_user_tags_follow_dataset_model_and_gradient_mode() -> None:
    assert tracking.run_tags(tracking_settings(composed("attack=rga", "tags=[v2,7]"))) == [
        "digits",
        "digits_net",
        "rga",
        "v2",
        "7",
    ]
    assert tracking.run_tags(tracking_settings(composed("tags=baseline")))[-1] == "baseline"
    with pytest.raises(ConfigError, match="tags="):
        tracking.run_tags(tracking_settings(composed("tags=[[a,b]]")))


def test_unreachable_wandb_falls_back_to_offline_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "a" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setattr(tracking, "_offline_reason", None)
    cfg = composed("logger.wandb.mode=online", "logger.wandb.init_timeout=1")
    spec = {"seed": 0}
    for workdir in (tmp_path / "a", tmp_path / "b"):  # the second run goes offline at once
        [_, logger] = tracking.train_loggers(tracking_settings(cfg), spec, workdir)
        assert logger.experiment.settings.mode == "offline"
        logger.finalize("success")
    lines = capsys.readouterr().err.splitlines()
    assert len([line for line in lines if line.startswith("W&B unreachable")]) == 1
    assert len(list((tmp_path / "a" / "wandb").glob("offline-run-*"))) == 1
    assert len(list((tmp_path / "b" / "wandb").glob("offline-run-*"))) == 1


# a process that starts an offline run and an online one at an unreachable W&B (which falls
# back to offline) with logger.wandb.quiet=argv[1], then has W&B print an error
RUNS = """
import sys
from pathlib import Path
import wandb
from snnattack.records.tracking import start_run
for mode in ("offline", "online"):
    w = dict(mode=mode, project="p", entity=None, init_timeout=1.0, quiet=sys.argv[1] == "1")
    start_run(w, Path(mode), job_type="train", name=mode).finish()
wandb.termerror("an error of W&B's")
"""


# quiet=false, the control (W&B's own retries at the unreachable address: 18 s), in the slow run
@pytest.mark.parametrize("quiet", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_quiet_silences_wandbs_own_lines_its_login_included_but_not_its_errors(
    tmp_path: Path, quiet: bool
) -> None:
    """``logger.wandb.quiet=true``: no line of W&B's own, neither a run's nor its login's
    ('Loaded credentials ... from WANDB_API_KEY', which read the process's settings, not the
    run's), while W&B's errors still show; ``quiet=false`` shows them. In a process of its
    own: W&B logs in once per process."""
    env = {
        **os.environ,
        "WANDB_API_KEY": "a" * 40,
        "WANDB_BASE_URL": "http://127.0.0.1:9",  # nothing listens there
        "WANDB_CONFIG_DIR": str(tmp_path / "config"),  # no settings of the user's
    }
    env.pop("WANDB_MODE", None)
    proc = subprocess.run(
        [sys.executable, "-c", RUNS, str(int(quiet))],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    console = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr).splitlines()
    own = [line for line in console if line.startswith("wandb:")]
    assert "wandb: ERROR an error of W&B's" in own
    if quiet:
        assert own == ["wandb: ERROR an error of W&B's"], console
    else:
        assert any("Loaded credentials" in line for line in own), console
        assert any("Tracking run with wandb version" in line for line in own), console


@pytest.mark.parametrize("quiet", [(True, False), (False, True)], ids=["quiet-first", "loud-first"])
def test_each_run_of_a_process_keeps_its_own_quiet(
    tmp_path: Path, capsys: pytest.CaptureFixture, quiet: tuple[bool, bool]
) -> None:
    """Runs started one after the other in one process (a multirun's jobs under the basic
    launcher, the Python API's calls) each show W&B's informational lines as their own
    ``logger.wandb.quiet`` says, not as the process's first run did: the run's header and
    an informational line of W&B's outside the run (as its login's); warnings and errors
    always."""
    for i, run_quiet in enumerate(quiet):
        w = dict(mode="offline", project="p", entity=None, init_timeout=1.0, quiet=run_quiet)
        run = tracking.start_run(w, tmp_path / str(i), job_type="train", name=str(i))
        wandb.termlog("an info line of W&B's")
        wandb.termwarn("a warning of W&B's")
        wandb.termerror("an error of W&B's")
        run.finish()
        console = capsys.readouterr().err
        shown = {
            "header": "Tracking run with wandb version" in console,
            "info": "wandb: an info line of W&B's" in console,
            "warning": "wandb: WARNING a warning of W&B's" in console,
            "error": "wandb: ERROR an error of W&B's" in console,
        }
        loud = not run_quiet
        assert shown == {"header": loud, "info": loud, "warning": True, "error": True}, (
            f"run {i} (quiet={run_quiet}): {console}"
        )


def logged(folder: Path, mode: str, aimed: dict[str, Any] | None = None, **record: Any) -> None:
    """One FGSM row of a job's ``record`` logged to a W&B run of ``mode`` in ``folder``
    (``aimed``: a targeted row's fields)."""
    metrics_path = folder / "metrics.json"
    metrics_path.write_text("{}")
    row = AttackRow(
        method="fgsm",
        eps_255=8,
        box="white",
        grad_mode="stbp",
        asr=50.0,
        adv_acc=45.0,
        n=10,
        n_correct=9,
        **(aimed or {}),
    )
    setting = {"lambda": 1.0, "T": 4, "seed": 0}
    done = JobRecord(config=setting, clean_acc=90.0, n=10, results=[row], **record)
    loggers = tracking.attack_loggers(
        tracking_settings(composed(f"logger.wandb.mode={mode}")),
        folder,
        {},
        {"target": {"key": "k"}, "source": None},
    )
    tracking.log_results(loggers, done, metrics_path)


def test_a_stop_while_the_run_ends_leaves_no_note_to_log_the_results_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in ``run.finish()``, the results logged: the pending note stayed, and the
    relaunch logged them to a second run of the same name (the dashboard counted the job
    twice). The note now goes once the results are logged, before the run ends."""
    loggers = tracking.attack_loggers(
        tracking_settings(composed("logger.wandb.mode=offline")), tmp_path, {}, {}
    )
    metrics_path = tmp_path / "metrics.json"
    metrics_path.write_text("{}")
    tracking.mark_results_pending(loggers, metrics_path)
    assert (tmp_path / tracking.PENDING).is_file()
    run = loggers[-1].experiment
    ended = run.finish

    def stopped(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(run, "finish", stopped)
    done = JobRecord(config={"lambda": 1.0, "T": 4, "seed": 0}, clean_acc=90.0, n=10, results=[])
    with pytest.raises(KeyboardInterrupt):
        tracking.log_results(loggers, done, metrics_path)
    monkeypatch.undo()
    ended()
    assert not (tmp_path / tracking.PENDING).exists()


def test_disabled_wandb_writes_no_run_and_results_still_log(tmp_path: Path) -> None:
    logged(tmp_path, "disabled")
    assert not (tmp_path / "wandb").exists() or not list((tmp_path / "wandb").glob("*run-*"))


def test_the_results_table_shows_the_lambda_the_target_ran_not_the_unused_config(
    tmp_path: Path,
) -> None:
    # a model passed to the API holds its own λ (0.5); the record's config keeps the default 1.0
    layer = {"layer": "lif1", "lambda": 0.5, "theta": 1.0, "reset": "hard"}
    logged(tmp_path, "offline", models={"target": {"kind": "external", "neurons": [layer]}})
    (folder,) = (tmp_path / "wandb").glob("offline-run-*")
    run = read_run(folder)
    table = json.loads((folder / "files" / run["summary"]["results.path"]).read_text())
    assert [row[: len(tracking.CONFIG_COLUMNS)] for row in table["data"]] == [[0.5, 4, 0]]


def test_a_targeted_rows_rate_is_in_the_runs_summary(tmp_path: Path) -> None:
    logged(tmp_path, "offline", {"targeted_asr": 40.0, "n_targeted": 5})
    (folder,) = (tmp_path / "wandb").glob("offline-run-*")
    summary = read_run(folder)["summary"]
    assert summary["targeted_asr/fgsm/white/eps8"] == 40.0
    assert summary["asr/fgsm/white/eps8"] == 50.0


def test_a_failing_job_ends_its_run_with_exit_code_1(tmp_path: Path) -> None:
    cfg = composed("logger.wandb.mode=offline")
    with pytest.raises(RuntimeError), tracking.closing_runs():
        tracking.attack_loggers(tracking_settings(cfg), tmp_path, {}, {"target": {"key": "k"}})
        raise RuntimeError("the attack failed")
    wandb.teardown()  # the W&B service writes the run file to its end and stops
    [folder] = (tmp_path / "wandb").glob("offline-run-*")
    run = read_run(folder)
    assert (run["job_type"], run["exit_code"], run["config"]["store_keys"]) == (
        "attack",
        1,
        {"target": "k"},
    )


def test_a_report_relaunched_into_its_sweep_folder_logs_to_the_same_tagged_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One report run per sweep folder (its id from the folder's path, resumed), tagged with
    the sweep's tags: a relaunch does not add a second report run to the project."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    sweep = tmp_path / SWEEP
    hand_made_job(sweep / "0", 0, "stbp", 80.0)
    wandb_cfg = OmegaConf.to_container(compose("logger=wandb").logger.wandb, resolve=True)
    for _ in range(2):  # the sweep and its relaunch
        log_to_wandb(write_report(sweep), wandb_cfg, ["smoke"])
    wandb.teardown()
    folders = sorted((sweep / "wandb").glob("offline-run-*"))
    runs = [read_run(folder) for folder in folders]
    ids = {next(folder.glob("run-*.wandb")).stem for folder in folders}
    assert len(runs) == 2 and len(ids) == 1  # two launches, one run
    assert [(r["job_type"], r["tags"]) for r in runs] == [("report", ["smoke"])] * 2


def test_the_report_run_says_what_the_report_says_beside_its_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its config holds the report's opening lines (the jobs left out among them: a job
    folder without results) and each table's settings line (ε, which no column shows)."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    sweep = tmp_path / SWEEP
    lambda_sweep(sweep, {(lam, "stbp"): (80.0,) for lam in (0.5, 1.0)})
    (sweep / "2" / ".hydra").mkdir(parents=True)  # a job that failed before its metrics.json
    wandb_cfg = OmegaConf.to_container(compose("logger=wandb").logger.wandb, resolve=True)
    log_to_wandb(write_report(sweep), wandb_cfg, [])
    wandb.teardown()
    (folder,) = (sweep / "wandb").glob("offline-run-*")
    config = read_run(folder)["config"]
    assert config["left_out"] == ["2 has no metrics.json (the job did not finish (yet), or failed)"]
    assert (config["version"], config["git_commit"]) == (["0.1.0"], ["0123456789abcdef0123"])
    assert config["command"].startswith("not recorded")  # no Hydra record in hand-made folders
    assert "ε (/255) = 32" in config["tables"]["table2"]["settings"]


def test_a_job_without_a_wandb_run_never_imports_wandb(tmp_path: Path, monkeypatch) -> None:
    """The default csv logger: ``import wandb`` (~0.5 s) is not paid by the job."""
    monkeypatch.setitem(sys.modules, "wandb", None)  # any import of it raises
    record = JobRecord.from_json({"clean_acc": 90.0, "n": 10, "results": []})
    tracking.log_results([], record, tmp_path / "metrics.json")
