"""The quick-start sweep reproduces the RGA paper's headline on real digits (slow: ~5-10 min)."""

from pathlib import Path

import pytest
from harness import run_py, sweep_metrics


@pytest.mark.slow
def test_default_sweep_reaches_accuracy_and_rga_beats_stbp(tmp_path: Path) -> None:
    proc = run_py(
        "-m",
        "attack=rga,stbp",
        "lambda=0.5,0.9,1.0",
        f"store.dir={tmp_path}/models",
        f"hydra.sweep.dir={tmp_path}/sweep",
        "trainer.enable_progress_bar=false",
        cwd=tmp_path,
        timeout=3000,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = sweep_metrics(tmp_path / "sweep")
    assert len(runs) == 6
    asr = {}
    for m in runs:
        assert m["clean_acc"] >= 95.0 and m["source_clean_acc"] >= 95.0
        top = max(m["config"]["eps"])
        row = next(
            r
            for r in m["results"]
            if (r["method"], r["box"], r["eps_255"]) == ("fgsm", "white", top)
        )
        asr[(m["config"]["attack"]["grad_mode"], m["config"]["lambda"])] = row["asr"]
    for lam in (1.0, 0.9):
        assert asr[("rga", lam)] > asr[("stbp", lam)], asr
