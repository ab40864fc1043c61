"""What a job prints: its folder, its models, its results and its time, not the libraries'
banners. Through run.py in a subprocess: the console is the process boundary under test."""

import logging
import subprocess
import sys
import warnings
from dataclasses import MISSING
from pathlib import Path

import pytest
from harness import CONF, RUN_PY

from snnattack.records.results import SHOWN
from snnattack.runtime.console import LIGHTNING_LOGGERS, quiet_libraries

SMALL = [
    "train.epochs=3",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.log_every_n_steps=1",
    "trainer.limit_test_batches=1",
    "method=[fgsm]",
    "eps=[32]",
    "boxes=[white]",
]
# the columns every row fills (an optional one, a targeted row's rate, only where one has it)
COLUMNS = [f.metadata["column"] for f in SHOWN if f.default is MISSING]
NOISE = ("GPU available", "TPU available", "Tip:", "FLOPs", "Total params", "deprecated")


@pytest.mark.slow  # a process of its own: about 7 s
def test_a_digits_job_prints_its_path_models_table_and_time_without_library_noise(
    tmp_path: Path,
) -> None:
    out = tmp_path / "job"
    cmd = [sys.executable, str(RUN_PY), f"store.dir={tmp_path}/models"]
    cmd += [f"hydra.run.dir={out}", *SMALL]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    console = proc.stdout + proc.stderr
    assert [line for line in console.splitlines() if any(n in line for n in NOISE)] == []
    run_log = (out / "run.log").read_text()
    for text in (console, run_log):  # the same lines on the console and in run.log
        assert f"job folder {out}" in text
        assert "trained model " in text and "(stbp, seed 0)" in text
        assert all(f" {label} ┃" in text for label in COLUMNS)  # the results table
        assert f"wrote {out / 'metrics.json'} in " in text
    lines = [line for line in console.splitlines() if line.strip()]
    assert len(lines) < 40, console  # table and progress bar included
    assert "epoch 2 of 3" not in console  # the progress bar shows the epochs: no line per epoch


@pytest.mark.slow
def test_help_shows_three_examples_and_the_groups_without_internal_files() -> None:
    proc = subprocess.run(
        [sys.executable, str(RUN_PY), "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len([line for line in lines if line.startswith("  python run.py ")]) == 3
    assert "  train: digits, paper" in lines  # not conf/train/_kinds.yaml
    assert " _kinds" not in proc.stdout
    attack = sorted(p.stem for p in (CONF / "attack").glob("*.yaml"))
    assert "  attack: " + ", ".join(attack) in lines
    assert any("digits_table2" in line for line in lines)  # the experiments


def test_lightnings_banners_are_dropped_and_its_other_lines_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet_libraries()
    quiet_libraries()  # idempotent: one filter per logger
    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        assert len(logger.filters) == 1
        with caplog.at_level(logging.INFO, logger=name):
            for line in (
                "GPU available: True (cuda), used: True",
                "💡 Tip: For seamless cloud logging ...",
                "You are using a CUDA device ('NVIDIA H100') that has Tensor Cores. To properly",
                "[rank: 0] Received SIGTERM: 15",  # the job says its stop in its own line
                "Restoring states from the checkpoint path at last.ckpt",
            ):
                logger.info(line)
    kept = [r.getMessage() for r in caplog.records]
    assert kept == ["Restoring states from the checkpoint path at last.ckpt"] * len(
        LIGHTNING_LOGGERS
    )


def test_lightnings_advice_to_sync_values_torchmetrics_synced_is_dropped() -> None:
    quiet_libraries()
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn(
            "It is recommended to use `self.log('asr/pgd/black/eps48', ..., sync_dist=True)` "
            "when logging on epoch level in distributed setting",
            UserWarning,
            stacklevel=1,
        )
        warnings.warn("another warning", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["another warning"]
