"""Each job of a sweep logs to its own W&B run (offline here) beside its metrics.json."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wandb_logger_writes_one_run_per_job(tmp_path: Path) -> None:
    cmd = [sys.executable, str(ROOT / "run.py"), "-m", "logger=wandb", "lambda=0.9,1.0",
           "train.epochs=1", "eps=[32]", "method=[fgsm]", "boxes=[white]",
           f"store.dir={tmp_path}/models", f"hydra.sweep.dir={tmp_path}/sweep",
           "trainer.enable_progress_bar=false"]
    env = {**os.environ, "WANDB_MODE": "offline"}
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_ids = set()
    for job in ("0", "1"):
        runs = list((tmp_path / "sweep" / job / "wandb").glob("offline-run-*"))
        assert len(runs) == 1
        assert list(runs[0].glob("*.wandb"))
        run_ids.add(runs[0].name)
        metrics = json.loads((tmp_path / "sweep" / job / "metrics.json").read_text())
        assert metrics["config"]["logger"]["wandb"]["mode"] == "offline"
    assert len(run_ids) == 2
