"""Scale-out: DDP on CPU without deadlock and with exact metrics, resume after a kill, SIGTERM,
relaunches that skip finished jobs, parallel launchers, and a sweep that survives a bad job.

DDP, the signals and the launchers need a real ``run.py`` process (``run_py``); the rest runs
``run.py`` in this process (``cli``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from harness import CHILD_ENV, RUN_PY, cli, replaced, run_py, snapshot, sweep_metrics

TINY = ["train.epochs=1", "eps=[32]", "trainer.enable_progress_bar=false"]


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return cli(*args, cwd=cwd)


def metrics(sweep: Path) -> list[dict]:
    return sweep_metrics(sweep)


def jobs(sweep: Path) -> dict[float, dict]:
    return {m["config"]["lambda"]: m for m in metrics(sweep)}


def stored(store: Path) -> list[str]:
    return sorted(
        p.name
        for p in store.iterdir()
        if p.is_dir() and not p.name.startswith(".") and not p.name.endswith(".partial")
    )


@pytest.mark.slow  # two processes or a killed run: ~10-26 s, in CI
def test_ddp_cpu_sweep_trains_once_and_equals_single_process_exactly(tmp_path: Path) -> None:
    # 451 test samples (odd, and 15 batches of 32 with a short last one) over 2 processes
    common = [
        *TINY,
        "-m",
        "lambda=0.9,1.0",
        "method=[fgsm,pgd]",
        "dataset.params.test_fraction=0.2505",
        f"store.dir={tmp_path}/models",
    ]
    ddp = run_py(*common, "trainer=ddp_cpu", f"hydra.sweep.dir={tmp_path}/ddp", cwd=tmp_path)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert ddp.stdout.count("Launching 2 jobs") + ddp.stderr.count("Launching 2 jobs") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp", "models"]  # no stray folders
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir() if p.is_dir()) == ["0", "1"]
    # each job's lines said once: rank 1's go to its own log only, not to rank 0's console,
    # and Lightning's to the job's console, not a second time to its own
    console = ddp.stdout + ddp.stderr
    assert console.count("job folder") == console.count("GLOBAL_RANK: 0,") == 2
    assert "GLOBAL_RANK: 1," not in console
    for job in ("0", "1"):
        assert "job folder" in (tmp_path / "ddp" / job / "train_ddp_process_1.log").read_text()
    assert len(stored(tmp_path / "models")) == 4  # 2 λ x (target, source), each trained once
    assert not list((tmp_path / "models").glob("*.partial"))

    single = run(tmp_path, *common, f"hydra.sweep.dir={tmp_path}/single")
    assert single.returncode == 0, single.stderr[-3000:]
    ddp_jobs, single_jobs = jobs(tmp_path / "ddp"), jobs(tmp_path / "single")
    assert sorted(ddp_jobs) == sorted(single_jobs) == [0.9, 1.0]
    for lam, d in ddp_jobs.items():
        s = single_jobs[lam]
        assert d["world_size"] == 2 and s["world_size"] == 1
        assert all(s["models"][k]["cached"] for k in ("target", "source"))
        assert d["n"] == s["n"] == 451
        assert d["clean_acc"] == s["clean_acc"] and d["source_clean_acc"] == s["source_clean_acc"]
        assert [(r["method"], r["box"]) for r in d["results"]] == [
            (r["method"], r["box"]) for r in s["results"]
        ]
        for rd, rs in zip(d["results"], s["results"], strict=True):
            assert (rd["asr"], rd["n_correct"], rd["adv_acc"]) == (
                rs["asr"],
                rs["n_correct"],
                rs["adv_acc"],
            )


def _final_weights(store: Path) -> tuple[dict, dict]:
    (folder,) = [store / name for name in stored(store)]
    payload = torch.load(folder / "model.pt", weights_only=True)
    return payload["state_dict"], payload["record"]


def started(*args: str, cwd: Path) -> subprocess.Popen:
    """``run.py ARGS`` in a child process whose log lines can be read as they are written, in
    a process group of its own (as a terminal's foreground job: ``os.killpg`` is Ctrl-C)."""
    return subprocess.Popen(
        [sys.executable, str(RUN_PY), *args],
        cwd=cwd,
        env={**os.environ, **CHILD_ENV, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_second_epoch(proc: subprocess.Popen) -> None:
    """Returns once the job logs its second epoch's start: the first one's checkpoint is saved."""
    for line in proc.stdout:
        if "epoch 2 of " in line:
            return
    raise AssertionError("the job ended before it could be interrupted")


TRAIN_ONLY = [
    "train.epochs=10",
    "eps=[32]",
    "method=[fgsm]",
    "boxes=[white]",
    "trainer.limit_test_batches=1",
    "trainer.enable_progress_bar=false",
]


@pytest.mark.slow  # two processes or a killed run: ~10-26 s, in CI
def test_killed_training_resumes_to_the_uninterrupted_weights(tmp_path: Path) -> None:
    ok = run(tmp_path, *TRAIN_ONLY, f"store.dir={tmp_path}/whole", f"hydra.run.dir={tmp_path}/a")
    assert ok.returncode == 0, ok.stderr[-3000:]
    proc = started(
        *TRAIN_ONLY, f"store.dir={tmp_path}/killed", f"hydra.run.dir={tmp_path}/b", cwd=tmp_path
    )
    wait_for_second_epoch(proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert not stored(tmp_path / "killed") and not (tmp_path / "b" / "metrics.json").exists()

    again = run(
        tmp_path, *TRAIN_ONLY, f"store.dir={tmp_path}/killed", f"hydra.run.dir={tmp_path}/b"
    )
    assert again.returncode == 0, again.stderr[-3000:]
    whole, whole_record = _final_weights(tmp_path / "whole")
    resumed, record = _final_weights(tmp_path / "killed")
    assert 1 <= record["resumed_after_epochs"] < 10 and whole_record["resumed_after_epochs"] is None
    assert record["epochs"] == whole_record["epochs"] == 10
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])  # kill PID, Ctrl-C
def test_a_stop_signal_stops_cleanly_and_a_relaunch_resumes(tmp_path: Path, stop: int) -> None:
    other = run(
        tmp_path,
        *TINY,
        "boxes=[white]",
        "method=[fgsm]",
        "lambda=0.5",
        f"store.dir={tmp_path}/models",
        f"hydra.run.dir={tmp_path}/other",
    )
    assert other.returncode == 0, other.stderr[-2000:]
    before = {p: p.read_bytes() for p in (tmp_path / "models").rglob("*") if p.is_file()}
    args = [*TRAIN_ONLY, f"store.dir={tmp_path}/models", f"hydra.run.dir={tmp_path}/out"]
    workers = ["dataset.params.num_workers=2"]  # Ctrl-C reaches them too: no traceback of each
    proc = started(*args, *workers, cwd=tmp_path)
    wait_for_second_epoch(proc)
    if stop == signal.SIGINT:
        os.killpg(proc.pid, stop)  # a terminal's Ctrl-C: the job's whole process group
    else:
        proc.send_signal(stop)  # kill PID
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + stop  # 143, 130
    assert err.strip().splitlines()[-1].startswith(f"error: stopped by signal {stop}; relaunch")
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "metrics.json").exists()
    assert list((tmp_path / "models").glob("*.partial/last.ckpt"))
    assert all(p.read_bytes() == data for p, data in before.items())  # stored files untouched

    again = run(tmp_path, *args, *workers)  # the workers key the model: the same one resumes
    assert again.returncode == 0, again.stderr[-3000:]
    old = {p.parent.name for p in before}
    (new,) = [name for name in stored(tmp_path / "models") if name not in old]
    record = torch.load(tmp_path / "models" / new / "model.pt", weights_only=True)["record"]
    assert record["resumed_after_epochs"] >= 1


@pytest.mark.slow  # a sweep of two trainings, then its relaunch stopped: ~25 s on two cores
def test_a_stopped_relaunch_leaves_the_finished_jobs_it_skipped_with_their_own_record(
    tmp_path: Path,
) -> None:
    """A relaunch with a setting that changes no result (``threads=2``) and a value added
    skips the finished jobs; stopped (Ctrl-C) while the new one trained, it left their
    ``.hydra/`` records its own (``threads=2`` in their overrides) beside results another
    command made: only its callbacks' end, never reached, put them back."""
    sweep = tmp_path / "sweep"
    args = [*TRAIN_ONLY, f"store.dir={tmp_path}/models", f"hydra.sweep.dir={sweep}"]
    first = run(tmp_path, "-m", "lambda=0.5,1.0", *args)
    assert first.returncode == 0, first.stderr[-2000:]
    records = {job: snapshot(sweep / job / ".hydra") for job in ("0", "1")}
    proc = started("-m", "lambda=0.5,1.0,0.3", "threads=2", *args, cwd=tmp_path)
    wait_for_second_epoch(proc)  # job 2's training: jobs 0 and 1 were skipped
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert {job: snapshot(sweep / job / ".hydra") for job in ("0", "1")} == records


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux's /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@pytest.mark.slow  # two gloo processes, killed, then relaunched: ~90 s on two cores
def test_a_ddp_rank_killed_by_the_machine_ends_the_job_in_one_line_and_a_relaunch_resumes(
    tmp_path: Path,
) -> None:
    """``kill -9`` of rank 1 (the OOM killer's) left rank 0 to die in gloo's traceback
    ("Connection reset by peer"), or SIGKILLed by Lightning's observer of the ranks without a
    word; now rank 0 names the rank, how it stopped and its log, in one line."""
    epochs = [a for a in TRAIN_ONLY if not a.startswith("train.epochs=")] + ["train.epochs=3"]
    args = [*epochs, "trainer=ddp_cpu", f"store.dir={tmp_path}/m", f"hydra.run.dir={tmp_path}/o"]
    proc = started(*args, cwd=tmp_path)
    try:
        wait_for_second_epoch(proc)
        (rank_1,) = [p for p in children(proc.pid) if "train_ddp_process_1" in command_line(p)]
        os.kill(rank_1, signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:  # also when the test fails: no job left running
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    log = tmp_path / "o" / "train_ddp_process_1.log"
    assert proc.returncode == 3, err[-3000:]
    assert err.strip().splitlines()[-1] == (
        f"error: the job's DDP process of rank 1 stopped (killed by signal 9; its log: {log}), "
        "and this one cannot go on without it; relaunch the same command to resume"
    )
    assert "Traceback" not in err and log.is_file()

    again = run_py(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    (key,) = stored(tmp_path / "m")
    record = torch.load(tmp_path / "m" / key / "model.pt", weights_only=True)["record"]
    assert record["resumed_after_epochs"] >= 1 and record["epochs"] == 3


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_of_a_joblib_sweep_stops_its_workers_too(tmp_path: Path, stop: int) -> None:
    """``kill PID`` of a parallel sweep's launching process ends the jobs it waits for, in one
    line with exit code 143, rather than leave them running on every core; Ctrl-C, which
    reaches the workers too, in one line with exit code 130 (the workers' own are quiet)."""
    sweep = tmp_path / "sweep"
    longer = [a for a in TRAIN_ONLY if not a.startswith("train.epochs=")] + ["train.epochs=100"]
    args = ["-m", *longer, "lambda=0.9,0.8", "hydra/launcher=parallel", f"store.dir={tmp_path}/m"]
    with open(tmp_path / "out", "w") as out, open(tmp_path / "err", "w+") as err:
        proc = subprocess.Popen(
            [sys.executable, str(RUN_PY), *args, f"hydra.sweep.dir={sweep}"],
            cwd=tmp_path, env={**os.environ, **CHILD_ENV}, stdout=out, stderr=err,
            start_new_session=True,
        )  # fmt: skip
        logs = [sweep / job / "run.log" for job in ("0", "1")]
        deadline = time.monotonic() + 300
        try:
            while not all(p.is_file() and "epoch 2 of " in p.read_text() for p in logs):
                assert proc.poll() is None and time.monotonic() < deadline, "the sweep ended"
                time.sleep(0.5)
            workers = [p for p in children(proc.pid) if "popen_loky" in command_line(p)]
            assert len(workers) == 2
        finally:  # also when the test fails: no sweep left running
            os.killpg(proc.pid, stop) if stop == signal.SIGINT else proc.send_signal(stop)
            proc.wait(timeout=120)
        err.seek(0)
        lines = err.read().strip().splitlines()
    assert proc.returncode == 128 + stop, lines[-20:]
    said = [line for line in lines if line.startswith("error: stopped by signal")]
    assert said == [f"error: stopped by signal {stop}; relaunch the same command to resume"]
    assert "Traceback" not in "\n".join(lines), lines[-30:]
    deadline = time.monotonic() + 30
    while any(map(alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(map(alive, workers))


def test_relaunch_skips_finished_jobs_unless_a_result_key_changes(tmp_path: Path) -> None:
    args = [
        *TINY,
        "method=[fgsm]",
        "boxes=[white]",
        f"store.dir={tmp_path}/models",
        f"hydra.run.dir={tmp_path}/out",
    ]
    assert run(tmp_path, *args).returncode == 0
    metrics = tmp_path / "out" / "metrics.json"
    before = metrics.stat().st_mtime_ns
    record = snapshot(tmp_path / "out" / ".hydra")
    cosmetic = run(
        tmp_path,
        *replaced(
            args,
            "threads=2",
            "trainer.enable_progress_bar=true",
            "trainer.log_every_n_steps=3",
            "logger=csv",
        ),
    )
    assert cosmetic.returncode == 0 and metrics.stat().st_mtime_ns == before
    assert snapshot(tmp_path / "out" / ".hydra") == record  # the command that made its results
    changed = run(tmp_path, *replaced(args, "eps=[16]"))  # would replace the finished job's results
    assert changed.returncode == 2 and metrics.stat().st_mtime_ns == before
    assert "holds the finished job of other settings (eps=[32] there, [16] here)" in changed.stderr
    metrics.unlink()  # as the refusal says: removed, it is replaced
    changed = run(tmp_path, *replaced(args, "eps=[16]"))
    assert changed.returncode == 0
    assert json.loads(metrics.read_text())["results"][0]["eps_255"] == 16


def test_a_bad_job_fails_alone_and_the_sweep_reports_it(tmp_path: Path) -> None:
    proc = run(
        tmp_path,
        *TINY,
        "-m",
        "lambda=0.9,0.2,1.0",  # 0.2: RGA's ramp ends before it starts, refused by its job
        "attack=rga",
        "attack.params.beta=0.5",
        "method=[fgsm]",
        "boxes=[white]",
        f"store.dir={tmp_path}/models",
        f"hydra.sweep.dir={tmp_path}/sweep",
    )
    assert proc.returncode == 2
    assert sorted(jobs(tmp_path / "sweep")) == [0.9, 1.0]  # the other two jobs ran
    assert not (tmp_path / "sweep" / "1").exists()  # the refused job left no folder
    assert "1 job(s) of the sweep failed:" in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("  job 1 (")]
    assert "lambda=0.2" in line and line.endswith("accepted: beta > 0.8 (1 - lambda)")
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["parallel", "local_submitit"])
def test_parallel_launchers_share_the_store_and_match_the_plain_sweep(
    tmp_path: Path, launcher: str
) -> None:
    common = [*TINY, "-m", "attack=rga,stbp", "method=[fgsm]", f"store.dir={tmp_path}/models"]
    par = run_py(
        *common, f"hydra/launcher={launcher}", f"hydra.sweep.dir={tmp_path}/par", cwd=tmp_path
    )
    assert par.returncode == 0, par.stderr[-3000:]
    par_jobs = metrics(tmp_path / "par")
    assert len(par_jobs) == 2
    # the sweep's results are printed where it was launched, not only in the jobs' logs
    assert "swept" in par.stderr and "attack=rga" in par.stderr and "attack=stbp" in par.stderr
    # both jobs need the same two models: each is trained by exactly one of them
    for role in ("target", "source"):
        assert sorted(m["models"][role]["cached"] for m in par_jobs) == [False, True]
    assert len(stored(tmp_path / "models")) == 2
    plain = run(tmp_path, *common, f"hydra.sweep.dir={tmp_path}/plain")
    assert plain.returncode == 0, plain.stderr[-3000:]
    plain_jobs = metrics(tmp_path / "plain")
    for p, q in zip(par_jobs, plain_jobs, strict=True):
        assert p["results"] == q["results"] and p["clean_acc"] == q["clean_acc"]


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["parallel", "local_submitit"])
def test_ddp_jobs_run_under_launchers_that_run_jobs_in_workers(
    tmp_path: Path, launcher: str
) -> None:
    """A worker's ``sys.argv`` is submitit's or joblib's own: the ranks run this package's
    command with the job's config, overrides and search path (a method of the user's own),
    and equal a single process exactly."""
    own = tmp_path / "own" / "method"
    own.mkdir(parents=True)
    (own / "fgsm_own.yaml").write_text("# @package method.fgsm_own\nname: fgsm\n")
    searchpath = f"hydra.searchpath=[file://{own.parent}]"
    common = [*TINY, "-m", searchpath, "method=[fgsm_own]", f"store.dir={tmp_path}/models"]
    ddp = run_py(
        *common,
        "trainer=ddp_cpu",
        f"hydra/launcher={launcher}",
        f"hydra.sweep.dir={tmp_path}/ddp",
        cwd=tmp_path,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = run(tmp_path, *common, f"hydra.sweep.dir={tmp_path}/single")
    assert single.returncode == 0, single.stderr[-3000:]
    (d,), (s,) = metrics(tmp_path / "ddp"), metrics(tmp_path / "single")
    assert (d["world_size"], s["world_size"]) == (2, 1)
    assert d["results"] == s["results"] and d["clean_acc"] == s["clean_acc"]


@pytest.mark.slow
def test_jobs_refused_by_joblib_workers_leave_earlier_folders_as_they_were(
    tmp_path: Path,
) -> None:
    """A worker cannot know what a job folder held before Hydra wrote into it; the launching
    process does, and as the sweep ends puts back a finished job's folder and an interrupted
    one's, and removes the new folder of a refused job; and a skipped finished job's record.
    A launch whose every job was refused leaves the whole sweep folder as it was."""
    common = [*TINY, "-m", "method=[fgsm]", "boxes=[white]", f"store.dir={tmp_path}/models"]
    sweep = tmp_path / "sweep"
    first = run(tmp_path, *common, "seed=0", f"hydra.sweep.dir={sweep}")
    assert first.returncode == 0, first.stderr[-3000:]
    interrupted = sweep / "1"
    (interrupted / ".hydra").mkdir(parents=True)
    (interrupted / ".hydra" / "overrides.yaml").write_text("- lambda=0.3\n")
    (interrupted / "run.log").write_text("an interrupted job's log\n")
    before = snapshot(sweep)
    other = run_py(
        *replaced(common, "seed=3", "eps=[32],[0],[0.0]"),  # [0]: refused by its job
        "hydra/launcher=parallel", f"hydra.sweep.dir={sweep}", cwd=tmp_path,
    )  # fmt: skip
    assert other.returncode == 2, other.stderr[-3000:]
    assert "the sweep wrote nothing: every one of its 3 jobs was refused" in other.stderr
    assert "holds the finished job of other settings" in other.stderr
    assert snapshot(sweep) == before  # no launch or failures recorded, no report rewritten
    assert not (sweep / "2").exists()
    record = snapshot(sweep / "0" / ".hydra")
    again = run_py(
        *common, "seed=0", "threads=2", "hydra/launcher=parallel", f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert snapshot(sweep / "0" / ".hydra") == record  # skipped: the command that made it


@pytest.mark.slow
def test_ddp_cpu_ensemble_curve_and_tuning_equal_single_process_exactly(tmp_path: Path) -> None:
    common = [
        *TINY,
        "boxes=[white]",
        "attack=hart",
        "attack.tune.enabled=true",
        "attack.tune.val_size=20",
        "attack.tune.grids.hart.gamma.step=1.175",
        "attack.steps_curve=[1,3]",
        "method=[pgd,ensemble]",
        "method.pgd.steps=3",
        "method.ensemble.components=[{attack: stbp, method: fgsm},"
        "{attack: hart, method: apgd, tune: true, params: {steps: 3}},"
        "{method: square, params: {n_queries: 20}}]",
        "dataset.params.test_fraction=0.2505",
        f"store.dir={tmp_path}/models",
    ]
    ddp = run_py(*common, "trainer=ddp_cpu", f"hydra.run.dir={tmp_path}/ddp", cwd=tmp_path)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = run(tmp_path, *common, f"hydra.run.dir={tmp_path}/single")
    assert single.returncode == 0, single.stderr[-3000:]
    d, s = (json.loads((tmp_path / k / "metrics.json").read_text()) for k in ("ddp", "single"))
    assert d["world_size"] == 2 and s["world_size"] == 1 and d["n"] == s["n"] == 451
    keys = ("method", "asr", "adv_acc", "n_correct", "asr_curve", "components", "tuned")
    assert [{k: r.get(k) for k in keys} for r in d["results"]] == [
        {k: r.get(k) for k in keys} for r in s["results"]
    ]
    assert d["results"][0]["asr_curve"] and d["results"][1]["components"][1]["tuned"]


@pytest.mark.slow  # two gloo processes: ~15 s on two cores
def test_ddp_adversarial_training_counts_every_process_s_adversary_gradients(
    tmp_path: Path,
) -> None:
    """Rank 0 writes the record, but each process crafts its share of the global batch: the
    count is the whole batch's, as in one process (it was rank 0's half)."""
    ddp = run_py(
        *TINY, "method=[fgsm]", "boxes=[white]", "trainer.limit_test_batches=1",
        "trainer.limit_train_batches=2", "train.adversary.method=fgsm", "trainer=ddp_cpu",
        f"store.dir={tmp_path}/models", f"hydra.run.dir={tmp_path}/ddp", cwd=tmp_path,
    )  # fmt: skip
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    record = json.loads((tmp_path / "ddp" / "metrics.json").read_text())["models"]["target"]
    assert record["launches"][0]["world_size"] == 2
    assert record["adversary_gradients_per_epoch"] == 2 * 64  # batches x global batch x 1 step
