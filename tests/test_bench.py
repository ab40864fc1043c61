"""`python -m snnattack.bench`: every field for every mode, and ratios that are the record's own
quotients. Which mode is faster is the bench's output to read, not an assertion here: a
wall-clock ratio depends on the machine and on what else runs on it."""

import json

import pytest

from snnattack.bench import bench, main, parse_args
from snnattack.gradients import GRADIENT_MODES

FIELDS = {
    "seconds",
    "peak_mb",
    "time_vs_forward",
    "time_vs_stbp",
    "memory_vs_forward",
    "memory_vs_stbp",
}
TINY = ["--batch", "2", "--T", "2", "--repeats", "1"]


def bench_output(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[dict, str]:
    """The JSON record on stdout and the table on stderr of ``python -m snnattack.bench ARGV``."""
    main(argv)
    out, err = capsys.readouterr()
    return json.loads(out), err


def test_bench_at_a_tiny_size_reports_every_field_for_every_mode(
    capsys: pytest.CaptureFixture,
) -> None:
    record, table = bench_output(TINY, capsys)
    assert record["settings"]["batch"] == 2 and record["settings"]["T"] == 2
    assert set(record["modes"]) == {"forward", *GRADIENT_MODES}
    for name, entry in record["modes"].items():
        assert set(entry) == FIELDS, name
        assert entry["seconds"] > 0 and entry["peak_mb"] >= 0
    assert record["modes"]["forward"]["time_vs_forward"] == 1.0
    assert record["modes"]["stbp"]["time_vs_stbp"] == 1.0
    assert "time (ms)" in table  # the table goes to stderr, JSON alone to stdout
    training = record["training"]  # one PGD-7 adversarial training step per adversary mode
    assert set(training) == {"standard", *(f"pgd@{mode}" for mode in GRADIENT_MODES)}
    standard = training["standard"]["seconds"]
    for step in training.values():
        assert step["seconds"] > 0 and step["time_vs_standard"] == step["seconds"] / standard
    assert "× standard" in table


def test_ratios_are_quotients_of_the_measured_time_and_memory(
    capsys: pytest.CaptureFixture,
) -> None:
    record, _ = bench_output([*TINY, "--modes", "stbp", "rga"], capsys)
    modes = record["modes"]
    assert {"stbp", "rga"} <= set(modes)
    for entry in modes.values():
        for base in ("forward", "stbp"):
            assert entry[f"time_vs_{base}"] == entry["seconds"] / modes[base]["seconds"]
            if modes[base]["peak_mb"]:
                assert entry[f"memory_vs_{base}"] == entry["peak_mb"] / modes[base]["peak_mb"]


def test_bench_compares_neuron_implementations_and_measures_a_training_step() -> None:
    args = ["--batch", "2", "--T", "2", "--repeats", "1", "--modes", "stbp", "hart"]
    record = bench(parse_args([*args, "--impls", "fused", "unrolled", "--train"]))
    steps = {f"{s}[{i}]" for s in ("stbp", "hart", "train") for i in ("fused", "unrolled")}
    assert set(record["modes"]) == {"forward", *steps}
    assert set(record["fused_vs_unrolled"]) == {"stbp", "hart", "train"}
    for step, ratio in record["fused_vs_unrolled"].items():
        fused, unrolled = record["modes"][f"{step}[fused]"], record["modes"][f"{step}[unrolled]"]
        assert ratio["time"] == fused["seconds"] / unrolled["seconds"]
