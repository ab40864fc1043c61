"""Faults at run time: wrong checkpoints refused, divergence stores nothing, atomic writes."""

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import fixtures_digits
import pytest
import torch
from filelock import FileLock
from harness import QUICK, cli, compose, replaced, run_job, snapshot, sweep_metrics
from torch import nn

from snnattack.errors import CheckpointError, TrainingError, WriteError
from snnattack.evaluation import examples
from snnattack.records.checkpoints import torch_bytes
from snnattack.records.results import AttackRow, write_json
from snnattack.records.store import CHECKPOINT, RESUME_FILE, ModelStore
from snnattack.report import write_report
from snnattack.report.__main__ import main as report_main
from snnattack.training.classifier import SELECTION, selection_score
from snnattack.training.parse import model_settings
from snnattack.training.store_key import store_key
from snnattack.training.trained import trained_model

TINY = [
    "trainer.enable_progress_bar=false",
    "trainer.accelerator=cpu",
    "logger=csv",
    "trainer.limit_train_batches=3",
    "trainer.limit_val_batches=2",
]


def linear_store(tmp_path: Path) -> tuple[ModelStore, dict, dict]:
    store = ModelStore(tmp_path / "models")
    a, b = {"seed": 0}, {"seed": 1000}
    for spec in (a, b):
        store.get_or_train(spec, lambda: nn.Linear(3, 2), lambda _: (nn.Linear(3, 2), {}))
    return store, a, b


def truncate(store: ModelStore, a: dict, b: dict) -> None:
    path = store.path(a) / CHECKPOINT
    path.write_bytes(path.read_bytes()[:50])


def copy_other(store: ModelStore, a: dict, b: dict) -> None:
    shutil.copy(store.path(b) / CHECKPOINT, store.path(a) / CHECKPOINT)


def nan_weights(store: ModelStore, a: dict, b: dict) -> None:
    path = store.path(a) / CHECKPOINT
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["weight"][0, 0] = float("nan")
    torch.save(payload, path)


@pytest.mark.parametrize(
    "damage,message",
    [
        (truncate, "is corrupt or unreadable (a zip archive cut short: a copy or download"),
        (copy_other, "holds another model"),
        (nan_weights, "has non-finite (NaN or inf) weights in weight"),
    ],
)
def test_wrong_checkpoint_is_refused_naming_its_path_and_kept(
    tmp_path: Path, damage, message: str
) -> None:
    store, a, b = linear_store(tmp_path)
    damage(store, a, b)
    before = snapshot(store.root)
    path = store.path(a) / CHECKPOINT
    with pytest.raises(CheckpointError) as err:
        store.get_or_train(a, lambda: nn.Linear(3, 2), lambda _: pytest.fail("retrained"))
    assert str(err.value).startswith(f"checkpoint {path} ") and message in str(err.value)
    assert snapshot(store.root) == before
    store.get_or_train(b, lambda: nn.Linear(3, 2), lambda _: pytest.fail("retrained"))


def test_diverging_training_stops_naming_epoch_and_step_and_stores_nothing(tmp_path: Path) -> None:
    store, _, _ = linear_store(tmp_path)
    before = snapshot(store.root)
    cfg = compose(*TINY, "train.epochs=2", "train.lr=1e30")
    with pytest.raises(
        TrainingError,
        match=r"^training diverged: the loss is (nan|inf) at "
        r"epoch 0, step \d+ of the epoch",
    ):
        trained_model(model_settings(cfg), 0, store, [])
    after = snapshot(store.root)
    assert {k: after[k] for k in before} == before
    assert not [k for k in set(after) - set(before) if k.endswith(CHECKPOINT)]


def test_trained_model_records_its_selection_rule_and_validation_numbers(tmp_path: Path) -> None:
    cfg = compose(*TINY, "train.epochs=2")
    _, record = trained_model(model_settings(cfg), 0, ModelStore(tmp_path), [])
    assert record["selection"] == SELECTION
    assert 0 <= record["val_acc"] <= 100 and record["val_loss"] > 0
    assert record["best_epoch"] in (0, 1)


def test_selection_prefers_accuracy_then_lower_loss() -> None:
    n = 135
    one_sample = 100 / n
    assert selection_score(90 + one_sample, 50.0, n) > selection_score(90, 0.0, n)
    assert selection_score(90, 0.1, n) > selection_score(90, 0.2, n)
    assert selection_score(90, float("nan"), n) < selection_score(90, 100.0, n)


def test_disk_full_during_write_keeps_the_previous_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "metrics.json"
    write_json(path, {"clean_acc": 98.0})
    before = path.read_bytes()

    def half_then_full(self: Path, text: str, *args, **kwargs) -> int:
        with open(self, "w") as f:
            f.write(text[: len(text) // 2])
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", half_then_full)
    with pytest.raises(WriteError) as err:
        write_json(path, {"clean_acc": 12.0, "results": [1, 2, 3]})
    assert str(err.value) == (
        f"cannot write {path} (No space left on device); accepted: a writable folder with "
        "free space"
    )
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


# --- a corrupt resume file, full and read-only disks ------------------------------------------


def test_a_corrupt_resume_file_is_set_aside_with_a_warning_and_training_restarts(
    tmp_path: Path, caplog
) -> None:
    store, calls = ModelStore(tmp_path / "models"), []
    spec, workdir = {"seed": 0}, ModelStore(tmp_path / "models").workdir({"seed": 0})
    workdir.mkdir(parents=True)
    truncated = torch_bytes({"epoch": 3, "state_dict": {"w": torch.zeros(100)}})[:300]
    (workdir / RESUME_FILE).write_bytes(truncated)
    (workdir / "metrics.csv").write_text("epoch\n0\n")

    def train(folder: Path):
        calls.append(sorted(p.name for p in folder.iterdir()))
        return nn.Linear(3, 2), {}

    with caplog.at_level("WARNING", logger="snnattack.records.store"):
        _, record = store.get_or_train(spec, lambda: nn.Linear(3, 2), train)
    aside = store.path(spec).with_name(f"{store.path(spec).name}.corrupt.ckpt")
    assert calls == [[]] and record["cached"] is False  # from scratch, in a cleared folder
    assert aside.read_bytes() == truncated
    assert [r.getMessage() for r in caplog.records] == [
        f"resume file {workdir / RESUME_FILE} is corrupt (RuntimeError): moved to {aside}, "
        "training restarts from scratch"
    ]


class Disk:
    """A folder on its own small tmpfs (256 KiB): ``fill(leave)`` takes its free space but
    ``leave`` bytes, ``read_only()`` remounts it read-only (root writes to a mode-0555 folder,
    not to a read-only file system)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fill(self, leave: int = 0) -> None:
        stat = os.statvfs(self.path)
        with open(self.path / "filler", "wb", buffering=0) as f:
            try:
                f.write(b"\0" * max(stat.f_bavail * stat.f_frsize - leave, 0))
                while not leave:
                    f.write(b"\0" * 1024)
            except OSError as err:
                assert err.errno == errno.ENOSPC

    def read_only(self) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(self.path)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Disk]:
    path = tmp_path / "disk"
    path.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(path)], capture_output=True
        )
        failed = mounted.stderr.decode().strip() if mounted.returncode else None
    except FileNotFoundError:
        failed = "no mount command"
    if failed is not None:
        pytest.skip(f"cannot mount a small tmpfs here (it needs root): {failed}")
    yield Disk(path)
    subprocess.run(["umount", "-l", str(path)], check=True)


@pytest.mark.parametrize(
    "free,written",
    [(0, ""), (16 * 1024, r"/(best|last)\.ckpt")],  # full; room for the logs, not a checkpoint
)
def test_a_store_on_a_full_disk_names_the_store_file_not_a_temporary_one(
    small_disk: Disk, free: int, written: str
) -> None:
    store = ModelStore(small_disk.path / "models")
    small_disk.fill(leave=free)
    with pytest.raises(WriteError) as err:
        trained_model(model_settings(compose(*TINY, "train.epochs=1")), 0, store, [])
    workdir = store.workdir(store_key(model_settings(compose(*TINY, "train.epochs=1")), 0))
    assert re.fullmatch(  # Lightning's checkpoint is a temporary file of fsspec moved there
        rf"cannot write {re.escape(str(workdir))}{written} \(No space left on device\); "
        "accepted: a writable folder with free space",
        str(err.value),
    )
    assert not workdir.exists()  # no epoch to resume from: nothing left behind


def test_a_store_that_fills_while_storing_the_model_names_it(small_disk: Disk) -> None:
    store = ModelStore(small_disk.path / "models")

    def train(workdir: Path):
        small_disk.fill()
        return nn.Linear(300, 100), {}

    with pytest.raises(WriteError, match=r"^cannot write \S+\.partial/model\.pt \(No space"):
        store.get_or_train({"seed": 0}, lambda: nn.Linear(300, 100), train)
    assert not store.has({"seed": 0})


def test_a_full_job_folder_is_one_line_naming_metrics_json_and_keeps_the_earlier_one(
    small_disk: Disk, digits_store: Path
) -> None:
    job = small_disk.path / "job"
    run_job(*replaced(QUICK, "eps=[16,32]"), output_dir=job, store=digits_store)
    record = json.loads((job / "metrics.json").read_text())
    record["results"] = record["results"][:1]  # a record cut short: the job to be done again
    write_json(job / "metrics.json", record)
    before = (job / "metrics.json").read_bytes()
    small_disk.fill()
    done = cli(
        *replaced(QUICK, "eps=[16,32]"),
        f"store.dir={digits_store}",
        f"hydra.run.dir={job}",
        cwd=job.parent,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        f"error: cannot write {job / 'metrics.json'} (No space left on device); accepted: a "
        "writable folder with free space"
    )
    assert (job / "metrics.json").read_bytes() == before
    assert not list(job.glob("*.tmp"))


def test_a_read_only_job_folder_is_refused_naming_its_key(
    small_disk: Disk, digits_store: Path
) -> None:
    """It was Hydra's log handler's ValueError, then "the output folder='P' cannot be
    written (Read-only file system: P/run.log)", which named no key; now refused before
    Hydra, naming hydra.run.dir."""
    job = small_disk.path / "job"
    run_job(*QUICK, output_dir=job, store=digits_store)
    before = snapshot(job)
    small_disk.read_only()
    done = cli(
        *QUICK,
        "attack.save_examples=true",
        f"store.dir={digits_store}",
        f"hydra.run.dir={job}",
        cwd=job.parent,
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"error: hydra.run.dir='{job}' cannot be written ({job} is not a folder this user can "
        "write); accepted: a writable folder\n"
    )
    assert snapshot(job) == before


def test_examples_on_a_full_disk_name_their_file_and_leave_no_part(small_disk: Disk) -> None:
    row = AttackRow(
        method="fgsm", box="white", grad_mode="stbp", eps=32 / 255, eps_255=32, asr=0.0,
        adv_acc=0.0, n_correct=0,
    )  # fmt: skip
    part = {
        "adv": torch.rand(64, 1, 8, 8),
        "labels": torch.zeros(64, dtype=torch.long),
        "preds": torch.zeros(64, dtype=torch.long),
        "correct": torch.ones(64, dtype=torch.bool),
        "indices": torch.arange(64),
    }
    small_disk.fill()
    with pytest.raises(WriteError) as err:
        examples.save(small_disk.path, row, [part], "0.1.0", "abc123")
    assert str(err.value).startswith(
        f"cannot write {small_disk.path / 'adv_fgsm_32_white.pt'} (No space left on device)"
    )
    assert sorted(p.name for p in small_disk.path.iterdir()) == ["filler"]


def test_a_report_into_a_read_only_folder_is_one_line_naming_its_file(
    small_disk: Disk, digits_store: Path, capsys
) -> None:
    job = small_disk.path / "job"
    run_job(*QUICK, output_dir=job, store=digits_store)
    before = snapshot(job)
    small_disk.read_only()
    with pytest.raises(SystemExit) as stop:
        report_main([str(job)])
    assert stop.value.code == 2
    assert re.fullmatch(
        rf"error: cannot write {re.escape(str(job))}/\S+ \(Read-only file system\); accepted: "
        r"a writable folder with free space\n",
        capsys.readouterr().err,
    )
    assert snapshot(job) == before


def test_an_unwritable_row_cache_warns_once_and_the_sweep_and_report_go_on(
    tmp_path: Path, digits_store: Path
) -> None:
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / ".rows").write_text("a file where the row cache goes")
    done = cli(
        "-m", *QUICK, "train.adversary.grad_mode=stbp,rga,bptr", f"store.dir={digits_store}",
        f"hydra.sweep.dir={sweep}", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = sweep_metrics(sweep)
    assert [r["reused_from"] for m in metrics for r in m["results"]] == [None] * 6
    assert [m["results"] for m in metrics[1:]] == [metrics[0]["results"]] * 2  # computed again
    warnings = [line for line in done.stdout.splitlines() if "rows are not kept" in line]
    assert len(warnings) == 1 and re.search(
        rf"the sweep's rows are not kept: cannot write {re.escape(str(sweep))}/\.rows/"
        r"[0-9a-f]{64}\.json \(Not a directory\); its later jobs compute their rows again$",
        warnings[0],
    )
    assert "sweep " + str(sweep) in done.stderr  # the sweep's summary table
    assert (sweep / "report.html").exists() and f"report: {sweep / 'report.html'}" in done.stdout


def test_a_job_of_other_settings_never_replaces_a_finished_jobs_results(
    tmp_path: Path, digits_store: Path
) -> None:
    """Into a finished job's folder (hydra.run.dir=, or a sweep relaunched into its folder
    with other values), a job of other settings is refused naming what differs, and the
    folder keeps its results, config and log as they were; the same settings skip it."""
    job = tmp_path / "job"
    run_job(*QUICK, output_dir=job, store=digits_store)
    before = snapshot(job)
    store = f"store.dir={digits_store}"
    refused = cli(*QUICK, "seed=3", store, f"hydra.run.dir={job}", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert refused.stderr.strip().splitlines()[-1] == (
        f"error: {job} holds the finished job of other settings (seed=0 there, 3 here), whose "
        "results this job would replace; accepted: another hydra.run.dir (for a sweep another "
        "hydra.sweep.dir, or hydra.sweep.subdir=${hydra.job.override_dirname}: a folder per "
        f"value), or {job / 'metrics.json'} removed to replace them"
    )
    assert snapshot(job) == before
    sweep = tmp_path / "sweep"
    first = cli("-m", *QUICK, "seed=0", store, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    done = snapshot(sweep / "0")
    again = cli("-m", *QUICK, "seed=3", store, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert again.returncode == 2 and "holds the finished job of other settings" in again.stderr
    assert snapshot(sweep / "0") == done


@pytest.mark.slow
def test_a_relaunch_on_a_replaced_model_file_never_skips_as_the_finished_job(
    tmp_path: Path, digits_store: Path
) -> None:
    """A finished job attacked ``checkpoint=PATH``; the file at PATH replaced by other weights
    (retrained), the same command was skipped as complete, so its folder kept the former
    weights' results under it. It is refused naming the file's digests, and the folder keeps
    its results; the same file again skips the job."""
    model = tmp_path / "model.pt"
    shutil.copyfile(fixtures_digits.stored_file(digits_store), model)
    job = tmp_path / "job"
    args = [*QUICK, "boxes=[white]", f"checkpoint={model}", f"store.dir={digits_store}"]
    run_job(*args, output_dir=job, store=digits_store)
    before = snapshot(job)
    shutil.copyfile(fixtures_digits.stored_file(digits_store, "train.epochs=3"), model)
    refused = cli(*args, f"hydra.run.dir={job}", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr[-2000:]
    line = refused.stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        rf"error: {re.escape(str(job))} holds the finished job of other model weights "
        rf"\(checkpoint={re.escape(str(model))}: sha256 [0-9a-f]{{16}} there, [0-9a-f]{{16}} "
        r"here\), whose results this job would keep as its own; accepted: another "
        r"hydra.run.dir \(for a sweep another hydra.sweep.dir\), or "
        rf"{re.escape(str(job / 'metrics.json'))} removed to replace them",
        line,
    ), line
    assert snapshot(job) == before
    shutil.copyfile(fixtures_digits.stored_file(digits_store), model)
    again = cli(*args, f"hydra.run.dir={job}", cwd=tmp_path)
    assert again.returncode == 0 and "skipping the job" in again.stdout + again.stderr


@pytest.mark.slow
def test_a_folder_of_several_launches_is_reported_with_each_and_every_job_without_results(
    tmp_path: Path, digits_store: Path
) -> None:
    """Hydra keeps the latest launch's record alone: a sweep relaunched into its folder with
    other values read as if that launch had made every job, the jobs it refused (whose folders
    hold the first launch's results) and a job whose folder went were not named. A relaunch
    with a setting that changes no result (threads=1) skips its jobs and leaves out none; over
    a folder of several sweeps, each sweep's jobs are its own."""
    sweep = tmp_path / "parent" / "a"
    common = ["-m", *QUICK, f"store.dir={digits_store}", f"hydra.sweep.dir={sweep}"]
    first = cli(*common, "seed=0,1", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    again = cli(*common, "seed=0,1", "threads=1", cwd=tmp_path)  # skipped, as finished
    assert again.returncode == 0 and "skipping the job" in again.stdout + again.stderr
    report = write_report(sweep)
    assert not report.left_out and report.origin.title.endswith("(+ 1 other launch)")
    spelt = cli(*common, "seed=0,1", "lambda=1.0", cwd=tmp_path)  # the default, spelt out
    assert spelt.returncode == 0 and "skipping the job" in spelt.stdout + spelt.stderr
    assert not write_report(sweep).left_out  # its jobs' folders hold their results
    # the same values in another order: each job's folder holds the other's results, and
    # its own are in the other folder: skipped, both folders as they were (it was refused)
    held = {p: p.read_bytes() for p in sweep.glob("*/metrics.json")}
    reordered = cli(*common, "seed=1,0", cwd=tmp_path)
    assert reordered.returncode == 0, reordered.stderr[-2000:]
    assert (reordered.stdout + reordered.stderr).count("holds this job's finished results") == 2
    assert {p: p.read_bytes() for p in sweep.glob("*/metrics.json")} == held
    assert not write_report(sweep).left_out
    second = cli(*common, "seed=0,1,2", "lambda=0.5", cwd=tmp_path)
    assert second.returncode == 2 and "2 job(s) of the sweep failed:" in second.stderr
    shutil.copytree(sweep, tmp_path / "parent" / "b")
    shutil.rmtree(tmp_path / "parent" / "b" / "1")  # seed 1's results, removed by hand
    report = write_report(tmp_path / "parent")
    assert [job.name for job in report.jobs] == ["a/1", "b/0", "b/2"]  # a copy's jobs: repeats
    # each job's overrides as Hydra's sweeper writes them (a bool as Python spells it)
    job = ["trainer.enable_progress_bar=False", *QUICK[2:], f"store.dir={digits_store}"]
    refused = [
        f"job {n} of launch 5 of {s} ({' '.join([*job, f'seed={n}', 'lambda=0.5'])}) failed: "
        f"{sweep / str(n)} "
        "holds the finished job of other settings (lambda=1.0 there, 0.5 here)"
        for s, n in (("a", 0), ("a", 1), ("b", 0), ("b", 1))
    ]
    # in b, seed 1 has no results, and no refusal names it (the reordered launch skipped its jobs)
    removed = f"job 1 of launch 1 of b ({' '.join([*job, 'seed=1'])}) has no results in the sweep"
    expected = [*refused, removed]
    left = [line for line in report.left_out if line.startswith("job ")]
    assert len(left) == len(expected), report.left_out
    for line, start in zip(left, expected, strict=True):
        assert line.startswith(start), line
    report = write_report(sweep)
    assert report.origin.title.endswith("seed=0,1,2 lambda=0.5 (+ 4 other launches)")
    assert [(" threads=1" in c, " lambda=0.5" in c) for c in report.origin.launches] == [
        (False, False),
        (True, False),
        (False, False),
        (False, False),
        (False, True),
    ]
    assert "Launches into this folder: 1 `python run.py -m " in (sweep / "report.md").read_text()
    shutil.rmtree(sweep / "2")  # the one job of seed 2, lambda=0.5
    assert write_report(sweep).left_out[2:] == [
        f"job 2 of launch 5 ({' '.join([*job, 'seed=2', 'lambda=0.5'])}) has no results in the "
        "sweep: not run (yet), or its folder was removed"
    ]


def test_a_folder_per_value_is_named_by_what_the_job_runs_not_where_its_files_go(
    tmp_path: Path, digits_store: Path
) -> None:
    """The docs' subdir for adding values to a sweep named folders by every override: an
    absolute store.dir made folders nested at each of its slashes."""
    sweep = tmp_path / "sweep"
    run = cli(
        "-m", *QUICK, "seed=0", f"store.dir={digits_store}", f"hydra.sweep.dir={sweep}",
        "hydra.sweep.subdir=${hydra.job.override_dirname}", "threads=1", cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert [p.parent.name for p in sweep.rglob("metrics.json")] == [
        "eps=[32],method=[fgsm],seed=0,train.epochs=1"
    ]


def test_a_relaunch_on_other_devices_finds_its_jobs_in_their_folders_per_value(
    tmp_path: Path, digits_store: Path
) -> None:
    """``trainer=`` chooses where a job runs, which changes no result: the folder per value
    is named without it, so a relaunch under DDP (``trainer=ddp_cpu``) finds the job that
    ran on one CPU process and skips it; the job's record and overrides keep what it ran on."""
    sweep = tmp_path / "sweep"
    common = [
        "-m", *QUICK, "seed=0", f"store.dir={digits_store}", f"hydra.sweep.dir={sweep}",
        "hydra.sweep.subdir=${hydra.job.override_dirname}",
    ]  # fmt: skip
    first = cli(*common, "trainer=cpu", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    folder = sweep / "eps=[32],method=[fgsm],seed=0,train.epochs=1"
    assert [p.parent for p in sweep.rglob("metrics.json")] == [folder]
    done = snapshot(folder)
    assert json.loads(done["metrics.json"])["config"]["trainer"]["accelerator"] == "cpu"
    assert "trainer=cpu" in done[".hydra/overrides.yaml"].decode()
    again = cli(*common, "trainer=ddp_cpu", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "complete for this config: skipping the job" in again.stdout + again.stderr
    assert [p.parent for p in sweep.rglob("metrics.json")] == [folder]
    assert {k: snapshot(folder)[k] for k in done if k != "run.log"} == {
        k: v for k, v in done.items() if k != "run.log"
    }


def test_a_relaunch_that_mends_a_failed_job_reports_only_its_own_failures(
    tmp_path: Path, digits_store: Path
) -> None:
    """A sweep's failures and exit code are its launch's: relaunched into its folder without
    the refused value, the sweep exits 0; the earlier launch's failure stays on record."""
    sweep = tmp_path / "sweep"
    common = ["-m", *QUICK, f"store.dir={digits_store}", f"hydra.sweep.dir={sweep}"]
    failed = cli(*replaced(common, "eps=[32],[0]"), cwd=tmp_path)  # [0]: refused by its job
    assert failed.returncode == 2 and "1 job(s) of the sweep failed:" in failed.stderr
    mended = cli(*common, "eps=[32]", cwd=tmp_path)
    assert mended.returncode == 0, mended.stderr[-2000:]
    assert "failed" not in mended.stderr and "sweep " + str(sweep) in mended.stderr
    (line,) = (sweep / "failures.jsonl").read_text().splitlines()
    assert "eps=[0]" in json.loads(line)["overrides"]
    assert json.loads(line)["folder"] == "1"  # relative to the sweep folder


def test_a_launch_into_a_job_another_launch_runs_waits_for_it_and_skips_the_job(
    tmp_path: Path, digits_store: Path
) -> None:
    """Two launches of one command into one sweep folder at once (two shells, a relaunch while
    the first still runs) both ran every job, writing the same files. Here another launch
    holds job 0's lock as it runs it: this launch says so in one line, waits, and skips the job
    once the other one's results are there, as a relaunch skips a finished job."""
    common = ["-m", *QUICK, f"store.dir={digits_store}"]
    finished = tmp_path / "finished"  # the other launch's results, made beforehand
    assert cli(*common, f"hydra.sweep.dir={finished}", cwd=tmp_path).returncode == 0
    sweep = tmp_path / "sweep"
    lock = sweep / "0" / ".hydra" / "job.lock"  # the job's lock in its record folder
    lock.parent.mkdir(parents=True)
    held, ended, waited = threading.Event(), threading.Event(), threading.Event()

    def other_launch() -> None:
        """Holds the job's lock until this launch waits for it, then writes its results."""
        with FileLock(str(lock)):
            held.set()
            log = sweep / "0" / "run.log"
            while not (ended.is_set() or waited.is_set()):
                if log.is_file() and "waiting for it" in log.read_text():
                    waited.set()
                time.sleep(0.05)
            if waited.is_set():
                shutil.copy(finished / "0" / "metrics.json", sweep / "0" / "metrics.json")

    other = threading.Thread(target=other_launch)
    other.start()
    held.wait()
    done = cli(*common, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    ended.set()
    other.join()
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout + done.stderr
    assert (
        f"another launch is running this job in {sweep / '0'} (it holds {lock})"
        ": waiting for it" in out
    ), out[-2000:]
    assert "skipping the job" in out and f"wrote {sweep / '0' / 'metrics.json'}" not in out
    written = (finished / "0" / "metrics.json").read_bytes()
    assert (sweep / "0" / "metrics.json").read_bytes() == written


@pytest.mark.parametrize("subdir", ["null", "record"])
def test_the_job_lock_goes_into_the_jobs_own_record_folder(
    tmp_path: Path, digits_store: Path, subdir: str
) -> None:
    """The launch lock made a ``.hydra`` folder in every job folder, also where Hydra writes
    none (``hydra.output_subdir=null``) or writes the record elsewhere
    (``hydra.output_subdir=record``): a folder no other job folder holds, which the report's
    and relaunch's search for job folders reads as a job record. The lock now goes into the
    job's record folder, or, without one, to a hidden file beside the results."""
    job = tmp_path / "job"
    done = cli(
        *QUICK,
        f"store.dir={digits_store}",
        f"hydra.run.dir={job}",
        f"hydra.output_subdir={subdir}",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (job / "metrics.json").is_file() and not (job / ".hydra").exists()
    assert (job / "record" / "job.lock" if subdir == "record" else job / ".job.lock").is_file()


def test_a_refused_job_leaves_an_earlier_unfinished_job_folder_as_it_was(
    tmp_path: Path, digits_store: Path
) -> None:
    """A job refused in a folder that an earlier, interrupted job left (its record and log, no
    results) puts it back as it was rather than remove it with the earlier job's log."""
    sweep = tmp_path / "sweep"
    earlier = sweep / "1"
    (earlier / ".hydra").mkdir(parents=True)
    (earlier / ".hydra" / "overrides.yaml").write_text("- lambda=0.3\n")
    (earlier / "run.log").write_text("an interrupted job's log\n")
    before = snapshot(earlier)
    done = cli(
        "-m",
        *replaced(QUICK, "eps=[32],[0]"),
        f"store.dir={digits_store}",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "1 job(s) of the sweep failed:" in done.stderr
    assert "Warning" not in done.stderr, done.stderr[-2000:]
    assert snapshot(earlier) == before


@pytest.mark.parametrize("record", [[], ["hydra.output_subdir=null"]], ids=["hydra", "none"])
def test_a_sweep_refused_in_a_folder_without_a_job_record_leaves_it_as_it_was(
    tmp_path: Path, record: list[str]
) -> None:
    """A sweep's job refused in a folder that holds the user's file and no job record (no
    ``.hydra/``: a copied ``entry.json``) left Hydra's ``.hydra/`` and ``run.log`` there, and
    the sweep, its every job refused, was not undone; now the folder and sweep are as they
    were. With no record folder (``hydra.output_subdir=null``) the sweep once ended with a
    warning (``KeptRecords`` raised a TypeError) and left ``run.log`` and the launch's
    records there."""
    sweep = tmp_path / "sweep"
    (sweep / "0").mkdir(parents=True)
    (sweep / "0" / "notes.txt").write_text("the user's\n")
    before = snapshot(sweep)
    done = cli(
        "-m",
        *QUICK,
        "checkpoint=${hydra:runtime.output_dir}/none.pt",  # refused by the job, in its folder
        f"store.dir={tmp_path / 'models'}",
        f"hydra.sweep.dir={sweep}",
        *record,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "every one of its 1 jobs was refused" in done.stderr, done.stderr[-2000:]
    assert "Warning" not in done.stderr, done.stderr[-2000:]
    assert snapshot(sweep) == before


def test_a_single_run_refused_in_an_earlier_unfinished_job_folder_leaves_it_as_it_was(
    tmp_path: Path,
) -> None:
    earlier = tmp_path / "job"
    (earlier / ".hydra").mkdir(parents=True)
    (earlier / ".hydra" / "overrides.yaml").write_text("- lambda=0.3\n")
    (earlier / "run.log").write_text("an interrupted job's log\n")
    before = snapshot(earlier)
    missing = f"checkpoint={tmp_path / 'none.pt'}"  # refused by the job, once Hydra wrote
    refused = cli(*QUICK, missing, f"hydra.run.dir={earlier}", cwd=tmp_path)
    assert refused.returncode == 2 and "none.pt" in refused.stderr, refused.stderr
    assert snapshot(earlier) == before


def test_a_single_run_without_a_record_folder_refused_leaves_its_folder_as_it_was(
    tmp_path: Path, digits_store: Path
) -> None:
    """``hydra.output_subdir=null``: Hydra writes no ``.hydra/`` record, but still the job's
    log, which a refused single run left behind: a new folder (``outputs/<date>/<time>/``)
    stayed with that log alone, and a finished job's log gained the refused job's lines. Now
    such a run keeps its folder as a run with a record does: a new one is removed with the
    folders above it that it made, a finished one keeps its log, results and lock (no
    ``.job.lock`` of the refused job's) as they were."""
    common = [*QUICK, f"store.dir={digits_store}", "hydra.output_subdir=null"]
    new = tmp_path / "runs" / "new"
    missing = f"checkpoint={tmp_path / 'none.pt'}"  # refused by the job, once Hydra wrote
    refused = cli(*common, missing, f"hydra.run.dir={new}", cwd=tmp_path)
    assert refused.returncode == 2 and "none.pt" in refused.stderr, refused.stderr
    assert not (tmp_path / "runs").exists()
    finished = tmp_path / "finished"
    done = cli(*common, f"hydra.run.dir={finished}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    (finished / ".job.lock").unlink()  # so the refused job makes its own, which must go
    before = snapshot(finished)
    other = cli(*common, "lambda=0.7", f"hydra.run.dir={finished}", cwd=tmp_path)
    assert other.returncode == 2 and "holds the finished job of other settings" in other.stderr
    assert snapshot(finished) == before


def test_the_sweep_table_lists_the_jobs_of_a_sweep_without_record_folders(
    tmp_path: Path, digits_store: Path
) -> None:
    """The table printed as a sweep ends read each job's overrides from its
    ``.hydra/overrides.yaml``: with ``hydra.output_subdir=null`` it was empty. Now the sweep's
    ``launches.jsonl`` says them: every finished job is listed with its swept overrides."""
    sweep = tmp_path / "sweep"
    done = cli(
        "-m",
        *QUICK,
        "lambda=0.5,1.0",
        f"store.dir={digits_store}",
        f"hydra.sweep.dir={sweep}",
        "hydra.output_subdir=null",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"sweep {sweep}" in done.stderr, done.stderr[-2000:]
    for job, (lam, record) in enumerate(zip(("0.5", "1.0"), sweep_metrics(sweep), strict=True)):
        rows = [line for line in done.stderr.splitlines() if f"│ lambda={lam} │" in line]
        assert len(rows) == len(record["results"]) > 0
        assert all(line.split("│")[1].strip() == str(job) for line in rows)


def _ctrl_c(*args: object) -> None:
    """A Ctrl-C arriving here: the handler of :func:`~snnattack.runtime.lifecycle.
    stops_as_preemption` raises it at once, where the process is."""
    os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("when", ["table", "report"])
def test_a_run_stopped_after_its_results_were_written_says_they_are_complete(
    tmp_path: Path, digits_store: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """Ctrl-C while the job printed its results table (``metrics.json`` written just before)
    or wrote its report said ``relaunch the same command to resume``, though nothing was left
    to resume. The line now says the results are complete, what was cut short, and what a
    relaunch still makes; the exit code stays 130."""
    import snnattack.job
    import snnattack.report.hydra_callback

    if when == "table":
        monkeypatch.setattr(snnattack.job, "job_table", _ctrl_c)
    else:
        monkeypatch.setattr(snnattack.report.hydra_callback, "write_report", _ctrl_c)
    job = tmp_path / "job"
    report = "hydra.callbacks.report.single=true"
    done = cli(
        *replaced(QUICK, report), f"store.dir={digits_store}", f"hydra.run.dir={job}", cwd=tmp_path
    )
    assert done.returncode == 130, done.stderr[-3000:]
    assert done.stderr.splitlines()[-1] == (
        f"error: stopped by signal 2 after the job's results were complete in "
        f"{job / 'metrics.json'}: only what follows them was cut short (their table and W&B "
        "logging, the report, a benchmark entry); relaunch the same command to write the "
        "report and entry and, where their W&B logging was cut short, log them (the job is "
        "skipped)"
    )
    assert json.loads((job / "metrics.json").read_text())["results"]


def test_a_run_stopped_before_its_wandb_run_got_the_results_logs_them_on_relaunch(
    tmp_path: Path, digits_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C after ``metrics.json`` was written but before the W&B attack run got the
    results: the relaunch skipped the finished job and never logged them, so the dashboard
    missed that job for good. Now the relaunch logs them once (a new attack run), and a
    further relaunch, the results logged, makes no run."""
    import wandb
    from harness import read_wandb_run

    import snnattack.job

    job = tmp_path / "job"
    args = (*QUICK, "logger=wandb", f"store.dir={digits_store}", f"hydra.run.dir={job}")
    offline = {"WANDB_MODE": "offline"}
    with monkeypatch.context() as stop:
        stop.setattr(snnattack.job, "log_results", _ctrl_c)
        done = cli(*args, cwd=tmp_path, env=offline)
    assert done.returncode == 130, done.stderr[-3000:]
    record = json.loads((job / "metrics.json").read_text())
    for _ in range(2):  # the relaunch, then one more
        done = cli(*args, cwd=tmp_path, env=offline)
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads((job / "metrics.json").read_text()) == record  # skipped
    wandb.teardown()  # the W&B service writes every run file to its end and stops
    runs = [read_wandb_run(f) for f in (job / "wandb").glob("offline-run-*")]
    attack = [r for r in runs if r["job_type"] == "attack"]
    # what log_results adds (the test loop logs clean_acc and the rows' numbers as it goes)
    with_results = [r for r in attack if "n" in r["summary"] or r["artifacts"]]
    assert len(attack) == 2 and len(with_results) == 1  # the stopped run and the relaunch's
    [logged] = with_results
    assert (logged["summary"]["n"], logged["summary"]["clean_acc"]) == (
        record["n"],
        pytest.approx(record["clean_acc"]),
    )
    assert sorted(a[0] for a in logged["artifacts"]) == ["results", "run_table"]
    assert not list(job.glob(".wandb_results_pending*"))


@pytest.mark.parametrize("when", ["end", "first job"])
def test_a_sweep_stopped_in_its_end_says_its_jobs_ended(
    tmp_path: Path, digits_store: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    """Ctrl-C while the sweep printed its final results table, every job done, said
    ``relaunch the same command to resume`` too; now that the jobs had ended and only the
    sweep's end was cut short. A stop in the first job's table, its results written, leaves
    the second job to run: a relaunch resumes the sweep, as the line still says."""
    import snnattack.job
    from snnattack.runtime import lifecycle

    if when == "end":
        monkeypatch.setattr(lifecycle, "print_results", _ctrl_c)
    else:
        monkeypatch.setattr(snnattack.job, "job_table", _ctrl_c)
    sweep = tmp_path / "sweep"
    done = cli(
        "-m", *QUICK, "seed=0,1", f"store.dir={digits_store}", f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 130, done.stderr[-3000:]
    if when == "first job":
        last = "error: stopped by signal 2; relaunch the same command to resume"
        assert done.stderr.splitlines()[-1] == last
        assert len(sweep_metrics(sweep)) == 1
        return
    assert done.stderr.splitlines()[-1] == (
        f"error: stopped by signal 2 after every job of the sweep had ended (results in "
        f"{sweep}): only its end was cut short (the leaderboard, report, results table or list "
        "of failed jobs); relaunch the same command to make them (finished jobs are skipped)"
    )
    assert len(sweep_metrics(sweep)) == 2


@pytest.mark.parametrize(
    "named",
    [None, "s${seed}", "${hydra.job.override_dirname}"],
    ids=["numbered", "named", "dirname"],
)
def test_a_sweep_without_record_folders_reports_a_job_that_failed_in_its_folder(
    tmp_path: Path, digits_store: Path, monkeypatch: pytest.MonkeyPatch, named: str | None
) -> None:
    """The report found a job's folder by Hydra's ``.hydra/`` record alone: with
    ``hydra.output_subdir=null`` a job that failed (here a bug's exception, as a killed job
    does) in its folder, which holds its log and lock but no ``metrics.json``, was read as a
    job never run or whose folder was removed. Now such a folder is found by the job's files,
    as the relaunch finds it, and named as with a record: its job, by the folder its launch
    recorded for it (a folder named by the job's settings, ``hydra.sweep.subdir=s${seed}``,
    was named twice: by its folder, and as a launched job with no results), is not named
    again."""
    import snnattack.job

    attacks = snnattack.job.record_attacks

    def failing(*args: object, **kwargs: object) -> object:
        if kwargs["config"]["seed"] == 1:  # type: ignore[index]
            raise RuntimeError("a bug of job 1")
        return attacks(*args, **kwargs)

    monkeypatch.setattr(snnattack.job, "record_attacks", failing)
    sweep = tmp_path / "sweep"
    args = ["-m", *QUICK, "seed=0,1", f"store.dir={digits_store}", f"hydra.sweep.dir={sweep}"]
    args += [] if named is None else [f"hydra.sweep.subdir={named}"]
    with pytest.raises(RuntimeError, match="a bug of job 1"):  # the command line's traceback
        cli(*args, "hydra.output_subdir=null", cwd=tmp_path)
    first, second = json.loads((sweep / "launches.jsonl").read_text())["folders"]
    said = {None: ("0", "1"), "s${seed}": ("s0", "s1")}.get(named)
    assert (first, second) == said if said else "seed=0" in first and "seed=1" in second
    assert (sweep / first / "metrics.json").is_file()  # as the launcher named them
    assert not (sweep / first / ".hydra").exists()
    assert {p.name for p in (sweep / second).iterdir()} >= {"run.log", ".job.lock"}
    assert not (sweep / second / "metrics.json").exists()
    assert write_report(sweep).left_out == [
        f"{second} has no metrics.json (the job did not finish (yet), or failed)"
    ]


def test_a_sweep_stopped_in_a_job_of_its_own_process_removes_the_folders_it_emptied(
    tmp_path: Path, digits_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under Hydra's basic launcher a job runs in the launching process: a stop there (SIGTERM,
    Ctrl-C) ended the command from inside the job, past the launching process's own handling
    of a stop, so what the sweep's end puts back stayed as the stop left it: the folder Hydra
    made above a job refused earlier in the launch (``hydra.sweep.subdir=s${seed}/run``:
    ``s0/``) stayed, empty. The stopped job's folder stays for the relaunch."""
    import snnattack.job
    from snnattack.errors import Preempted, UserError

    def refused_or_stopped(*args: object, **kwargs: object) -> object:
        if kwargs["config"]["seed"] == 0:  # type: ignore[index]
            raise UserError("job 0 refused")
        raise Preempted(signal.SIGTERM)

    monkeypatch.setattr(snnattack.job, "record_attacks", refused_or_stopped)
    sweep = tmp_path / "sweep"
    args = ["-m", *QUICK, "seed=0,1", f"store.dir={digits_store}", f"hydra.sweep.dir={sweep}"]
    done = cli(*args, "hydra.sweep.subdir=s${seed}/run", cwd=tmp_path)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert "relaunch the same command to resume" in done.stderr
    assert not (sweep / "s0").exists()  # the refused job's, and the folder made above it
    assert (sweep / "s1" / "run" / "run.log").is_file()  # the stopped job's, to resume


# torch's report of a CUDA allocation that failed, as PyTorch 2.x words it, and the part of
# it a job's line keeps
TORCH_OOM = (
    "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.19 GiB "
    "of which 1.06 GiB is free. Including non-PyTorch memory, this process has 78.12 GiB "
    "memory in use. If reserved but unallocated memory is large try setting "
    "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation. See "
    "documentation for Memory Management "
    "(https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)"
)
OUT_OF_MEMORY = (
    "the GPU ran out of memory: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a "
    "total capacity of 79.19 GiB of which 1.06 GiB is free; accepted: a smaller "
    "train.batch_size (now 64) or eval_batch_size (now 32) or T (now 4) (the log's last lines "
    "say whether it trained or attacked; a smaller train.batch_size or T trains another "
    "model, trainer=ddp shares a training's batches among several GPUs), or fewer jobs on the "
    "GPU; a relaunch resumes a training after its last finished epoch and skips a sweep's "
    "finished jobs"
)


def _out_of_memory_at(monkeypatch: pytest.MonkeyPatch, eps: int) -> None:
    """The GPU's memory running out in the attacks of radius ``eps``/255."""
    from snnattack.evaluation import evaluator

    craft = evaluator.craft_tracked

    def crafted(algorithm, model, x, y, radius, *args, **kwargs):
        if round(radius * 255) == eps:
            raise torch.OutOfMemoryError(TORCH_OOM)
        return craft(algorithm, model, x, y, radius, *args, **kwargs)

    monkeypatch.setattr(evaluator, "craft_tracked", crafted)


def test_a_single_run_out_of_gpu_memory_is_one_line_naming_what_to_make_smaller(
    tmp_path: Path, digits_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch's OutOfMemoryError was a traceback (exit code 1, a bug's) that named no setting.
    It is one line: torch's report to how much was free, the keys to make smaller with their
    values; exit code 3, as a job killed for memory; the folder kept, without results."""
    _out_of_memory_at(monkeypatch, 32)
    job = tmp_path / "job"
    done = cli(*QUICK, f"store.dir={digits_store}", f"hydra.run.dir={job}", cwd=tmp_path)
    assert done.returncode == 3, done.stderr[-3000:]
    assert done.stderr.splitlines()[-1] == f"error: {OUT_OF_MEMORY}"
    assert "Traceback" not in done.stderr
    assert (job / "run.log").is_file() and not (job / "metrics.json").exists()


def test_a_sweeps_job_out_of_gpu_memory_fails_alone_and_the_next_job_runs(
    tmp_path: Path, digits_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep's job re-raised it as a bug's: once the launch's jobs ran, Hydra's sweeper
    ended the sweep in its traceback, without its results table, report or list. The job
    fails alone now, as one that ran past submitit's time limit: recorded in failures.jsonl
    (not as a user's mistake), listed at the sweep's end (exit code 2), and the next job
    writes its results."""
    _out_of_memory_at(monkeypatch, 32)
    sweep = tmp_path / "sweep"
    common = [*QUICK, f"store.dir={digits_store}", f"hydra.sweep.dir={sweep}"]
    done = cli("-m", *replaced(common, "eps=[32],[16]"), cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"error: {OUT_OF_MEMORY}" in done.stderr.splitlines()
    listed, job = done.stderr.splitlines()[-2:]
    assert listed == "1 job(s) of the sweep failed:"
    assert job.startswith("  job 0 (") and job.endswith(f" eps=[32]): {OUT_OF_MEMORY}")
    (failure,) = [json.loads(f) for f in (sweep / "failures.jsonl").read_text().splitlines()]
    assert failure["error"] == OUT_OF_MEMORY and failure["refused"] is False
    (metrics,) = sweep_metrics(sweep)
    assert {round(row["eps"] * 255) for row in metrics["results"]} == {16}


def test_a_training_out_of_gpu_memory_keeps_its_resume_file_and_the_relaunch_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A training that ran out of memory in its second epoch leaves the store as a killed one
    does (its work folder with ``last.ckpt``), and the same command resumes it after its
    first epoch."""
    from snnattack.training.classifier import Classifier

    step = Classifier.training_step

    def stepped(self, batch, index):
        if self.current_epoch == 1:
            raise torch.OutOfMemoryError(TORCH_OOM)
        return step(self, batch, index)

    store, job = tmp_path / "models", tmp_path / "job"
    args = [*replaced(QUICK, "train.epochs=2"), *TINY[2:], f"store.dir={store}"]
    with monkeypatch.context() as patched:
        patched.setattr(Classifier, "training_step", stepped)
        done = cli(*args, f"hydra.run.dir={job}", cwd=tmp_path)
    assert done.returncode == 3, done.stderr[-3000:]
    assert done.stderr.splitlines()[-1] == f"error: {OUT_OF_MEMORY}"
    (partial,) = store.glob("*.partial")
    assert (partial / RESUME_FILE).is_file()
    again = cli(*args, f"hydra.run.dir={job}", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming after 1 epochs" in (job / "run.log").read_text()
    assert not list(store.glob("*.partial"))  # stored: the work folder became the model
    assert json.loads((job / "metrics.json").read_text())["results"]


def test_a_sweep_ended_by_a_bug_puts_back_the_folders_of_its_refused_jobs(
    tmp_path: Path, digits_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job's unexpected exception (a bug) ends the sweep with its traceback once the
    launch's jobs ended, before the sweep's end, which alone put back the folders of jobs
    refused in a worker (``parallel``, ``joblib``): a job refused in a finished job's folder
    left its ``.hydra/`` record beside that job's results. The launching process now puts
    them back as a stopped launch does, and the bug's exception still ends the command."""
    from hydra.core.hydra_config import HydraConfig

    import snnattack.command
    import snnattack.job

    sweep = tmp_path / "sweep"
    common = [*QUICK, f"store.dir={digits_store}", f"hydra.sweep.dir={sweep}"]
    first = cli("-m", "seed=0", *common, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    finished = snapshot(sweep / "0")
    # each job as in a worker of joblib's launcher: a refused (or skipped) job leaves its
    # folder to the launching process, which knows what it held
    monkeypatch.setattr(snnattack.command, "restore_kept", lambda *args, **kwargs: True)
    monkeypatch.setattr(snnattack.command, "launched_here", lambda: False)
    check_stored = snnattack.job.check_stored

    def bug(*args: object) -> None:
        if HydraConfig.get().job.num == 1:
            raise RuntimeError("a bug")
        check_stored(*args)

    monkeypatch.setattr(snnattack.job, "check_stored", bug)
    # job 0 refused in the finished job's folder, job 1's bug, job 2 skipped (finished in 0)
    with pytest.raises(RuntimeError, match="a bug"):
        cli("-m", "seed=3,4,0", *common, cwd=tmp_path)
    assert snapshot(sweep / "0") == finished
    assert (sweep / "1" / ".hydra").is_dir()  # the bug's job stays, as a stopped one's
    assert not (sweep / "2").exists()


def test_a_relaunch_over_a_cut_short_record_says_so_once_and_replaces_it(
    tmp_path: Path, digits_store: Path
) -> None:
    """A job's relaunch check runs before its launch lock and again under it: the note that
    its unreadable metrics.json is replaced came twice in run.log."""
    job = tmp_path / "job"
    first = run_job(*QUICK, output_dir=job, store=digits_store)
    path = job / "metrics.json"
    path.write_text(path.read_text()[:50])
    again = run_job(*QUICK, output_dir=job, store=digits_store)
    said = (job / "run.log").read_text().count(f"note: {path} cannot be read")
    assert said == 1 and again["results"] == first["results"]
