"""`python -m snnattack.bench`: all fields at a tiny size; RGA cheaper than STBP at a larger one."""

import json
import subprocess
import sys

from snnattack.bench import bench, parse_args
from snnattack.gradients import GRADIENT_MODES

FIELDS = {
    "seconds",
    "peak_mb",
    "time_vs_forward",
    "time_vs_stbp",
    "memory_vs_forward",
    "memory_vs_stbp",
}


def test_bench_at_a_tiny_size_reports_every_field_for_every_mode() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "snnattack.bench", "--batch", "2", "--T", "2", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads(proc.stdout)
    assert record["settings"]["batch"] == 2 and record["settings"]["T"] == 2
    assert set(record["modes"]) == {"forward", *GRADIENT_MODES}
    for name, entry in record["modes"].items():
        assert set(entry) == FIELDS, name
        assert entry["seconds"] > 0 and entry["peak_mb"] >= 0
    assert record["modes"]["forward"]["time_vs_forward"] == 1.0
    assert record["modes"]["stbp"]["time_vs_stbp"] == 1.0
    stbp = record["modes"]["stbp"]
    assert stbp["time_vs_forward"] == stbp["seconds"] / record["modes"]["forward"]["seconds"]
    assert "time (ms)" in proc.stderr  # the table goes to stderr, JSON alone to stdout
    training = record["training"]  # one PGD-7 adversarial training step per adversary mode
    assert set(training) == {"standard", *(f"pgd@{mode}" for mode in GRADIENT_MODES)}
    assert training["standard"]["time_vs_standard"] == 1.0
    assert all(training[f"pgd@{mode}"]["time_vs_standard"] > 2 for mode in GRADIENT_MODES)
    assert "× standard" in proc.stderr


def test_rate_domain_rga_step_is_faster_and_smaller_than_stbp_at_a_moderate_size() -> None:
    record = bench(
        parse_args(["--batch", "256", "--T", "8", "--repeats", "3", "--modes", "stbp", "rga"])
    )
    rga = record["modes"]["rga"]
    assert rga["time_vs_stbp"] < 0.8
    assert rga["memory_vs_stbp"] < 0.8


def test_bench_compares_neuron_implementations_and_measures_a_training_step() -> None:
    args = ["--batch", "2", "--T", "2", "--repeats", "1", "--modes", "stbp", "hart"]
    record = bench(parse_args([*args, "--impls", "fused", "unrolled", "--train"]))
    steps = {f"{s}[{i}]" for s in ("stbp", "hart", "train") for i in ("fused", "unrolled")}
    assert set(record["modes"]) == {"forward", *steps}
    assert set(record["fused_vs_unrolled"]) == {"stbp", "hart", "train"}
    for step, ratio in record["fused_vs_unrolled"].items():
        fused, unrolled = record["modes"][f"{step}[fused]"], record["modes"][f"{step}[unrolled]"]
        assert ratio["time"] == fused["seconds"] / unrolled["seconds"]
