"""The main sweep through run.py (in this process): six jobs, each model trained once, reused.
The same sweep at full size in a real process is tests/process/test_headline.py (slow)."""

from pathlib import Path

import pytest
from harness import cli, sweep_metrics

SMALL = ["train.epochs=1", "eps=[32]", "method=[fgsm]"]


def run_sweep(tmp: Path, sweep_dir: str, *args: str) -> list[dict]:
    """The records of ``python run.py -m ARGS`` into ``tmp/sweep_dir``, models in ``tmp``."""
    proc = cli(
        "-m",
        *args,
        f"store.dir={tmp}/models",
        f"hydra.sweep.dir={tmp}/{sweep_dir}",
        "trainer.enable_progress_bar=false",
        cwd=tmp,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return sweep_metrics(tmp / sweep_dir)


def sweep(tmp: Path, sweep_dir: str, *overrides: str) -> list[dict]:
    return run_sweep(tmp, sweep_dir, "attack=rga,stbp", "lambda=0.5,0.9,1.0", *SMALL, *overrides)


@pytest.mark.slow
def test_main_sweep_trains_each_model_once_and_reuses_it(tmp_path: Path) -> None:
    first = sweep(tmp_path, "sweep1")
    assert len(first) == 6
    assert sorted(
        (m["config"]["attack"]["grad_mode"], m["config"]["lambda"]) for m in first
    ) == sorted((g, lam) for g in ("rga", "stbp") for lam in (0.5, 0.9, 1.0))
    stored = sorted(
        p.name for p in (tmp_path / "models").iterdir() if p.is_dir() and not p.name.startswith(".")
    )  # .locks: the store's lock files
    assert len(stored) == 6  # three λ, each with its black-box twin
    trained = [
        m["models"][k] for m in first for k in ("target", "source") if not m["models"][k]["cached"]
    ]
    assert len(trained) == 6
    for m in first:
        assert {m["models"]["target"]["seed"], m["models"]["source"]["seed"]} == {0, 1000}
        assert m["models"]["target"]["key"] != m["models"]["source"]["key"]
        assert 0 <= m["clean_acc"] <= 100 and 0 <= m["source_clean_acc"] <= 100
        assert m["version"] and m["git_commit"] and m["schema"] == 2
        rows = {(r["method"], r["box"], r["grad_mode"]) for r in m["results"]}
        assert rows == {
            ("fgsm", box, m["config"]["attack"]["grad_mode"]) for box in ("white", "black")
        }
        for r in m["results"]:
            assert r["eps"] == pytest.approx(32 / 255)
            assert 0 <= r["asr"] <= 100 and 0 <= r["adv_acc"] <= 100
            assert r["n_correct"] == round(m["clean_acc"] * m["n"] / 100)

    again = sweep(tmp_path, "sweep2")
    assert all(m["models"][k]["cached"] for m in again for k in ("target", "source"))
    assert (
        sorted(
            p.name
            for p in (tmp_path / "models").iterdir()
            if p.is_dir() and not p.name.startswith(".")
        )
        == stored
    )
    by_job = {(m["config"]["attack"]["grad_mode"], m["config"]["lambda"]): m for m in first}
    for m in again:  # same models, same seeds: the same numbers
        old = by_job[(m["config"]["attack"]["grad_mode"], m["config"]["lambda"])]
        assert m["results"] == old["results"] and m["clean_acc"] == old["clean_acc"]

    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "sweep1").glob("*/metrics.json")}
    sweep(tmp_path, "sweep1")  # re-launched into the same folder: complete jobs are skipped
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_methods_sweep_as_separate_jobs(tmp_path: Path) -> None:
    proc = cli(
        "-m",
        "method=[fgsm],[pgd]",
        "boxes=[white]",
        "train.epochs=1",
        "eps=[32]",
        f"store.dir={tmp_path}/models",
        f"hydra.sweep.dir={tmp_path}/sweep",
        "trainer.enable_progress_bar=false",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = sweep_metrics(tmp_path / "sweep")
    assert [[r["method"] for r in m["results"]] for m in jobs] == [["fgsm"], ["pgd"]]
    assert [m["models"]["target"]["cached"] for m in jobs] == [False, True]
