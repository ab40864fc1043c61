"""Each paper-artifact sweep in experiments/ composes on top of conf/ and names its sweep."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = sorted(p.stem for p in (ROOT / "experiments").glob("*.yaml"))


def composed(name: str, part: str) -> dict:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "-cd", str(ROOT / "experiments"), "-cn", name,
         "--cfg", part], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return yaml.safe_load(proc.stdout)


@pytest.mark.parametrize("name", SWEEPS)
def test_experiment_sweep_composes_with_its_sweep_parameters(name: str) -> None:
    job = composed(name, "job")
    assert {"T", "lambda", "dataset", "model", "attack", "method"} <= set(job)
    params = composed(name, "hydra")["hydra"]["sweeper"]["params"]
    if "eccv" in name or "conversion" in name:  # the second paper's study: kinds, T, levels, λ
        assert params and job["train"]["kind"] in ("stbp", "conversion", "hybrid")
    else:
        assert set(params["attack"].split(",")) == {"rga", "stbp"}


def test_table2_sweep_uses_the_paper_setting() -> None:
    job = composed("table2_cifar10_vgg11", "job")
    assert (job["dataset"]["name"], job["model"]["name"], job["T"]) == ("cifar10", "vgg11", 8)
    assert job["train"]["epochs"] == 200 and job["eps"] == [8]
