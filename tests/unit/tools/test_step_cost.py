"""`python -m snnattack.tools.step_cost`: every field for every mode, and ratios that are the
record's own quotients. Which mode is faster is the bench's output to read, not an assertion
here: a wall-clock ratio depends on the machine and on what else runs on it."""

from pathlib import Path

import pytest
import torch
from measured import TINY, output
from rich.console import Console

from snnattack.cpu import native
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES
from snnattack.tools.command import check_model
from snnattack.tools.step_cost import (
    PAPER_FILE,
    bench,
    main,
    paper_block,
    paper_rows,
    paper_table,
    parse_args,
    sweep,
)

FIELDS = {
    "seconds",
    "peak_mb",
    "time_vs_forward",
    "time_vs_stbp",
    "memory_vs_forward",
    "memory_vs_stbp",
    "dense_seconds",
    "dense_vs_forward",
}


def test_bench_at_a_tiny_size_reports_every_field_for_every_mode(
    capsys: pytest.CaptureFixture,
) -> None:
    record, table = output(main, TINY, capsys)
    assert record["settings"]["batch"] == 2 and record["settings"]["T"] == 2
    assert record["backend"] == ("c" if native.c_compiler() else "torch")
    assert set(record["modes"]) == {"forward", *GRADIENT_MODES}
    for name, entry in record["modes"].items():
        assert set(entry) == FIELDS, name
        assert entry["seconds"] > 0 and entry["peak_mb"] >= 0 and entry["dense_seconds"] > 0
    assert record["modes"]["forward"]["time_vs_forward"] == 1.0
    assert record["modes"]["stbp"]["time_vs_stbp"] == 1.0
    assert "time (ms)" in table and "floor" in table  # the tables go to stderr, JSON to stdout
    training = record["training"]  # one PGD-7 adversarial training step per adversary mode
    assert set(training) == {"standard", *(f"pgd@{mode}" for mode in GRADIENT_MODES)}
    standard = training["standard"]["seconds"]
    for step in training.values():
        assert step["seconds"] > 0 and step["time_vs_standard"] == step["seconds"] / standard
    assert "× standard" in table


def test_ratios_are_quotients_of_the_measured_time_and_memory(
    capsys: pytest.CaptureFixture,
) -> None:
    record, _ = output(main, [*TINY, "--modes", "stbp", "rga"], capsys)
    modes = record["modes"]
    assert {"stbp", "rga"} <= set(modes)
    for entry in modes.values():
        assert entry["dense_vs_forward"] == entry["dense_seconds"] / modes["forward"]["seconds"]
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
        dense = min(fused["dense_seconds"], unrolled["dense_seconds"])
        assert ratio["time_floor"] == dense / unrolled["seconds"]


def test_dense_time_is_the_convolutions_and_matrix_products_of_a_step() -> None:
    """DenseTime sees each convolution and matrix product of a training step once, forward and
    backward, and nothing else: its time is part of the step's, and an element-wise
    computation has none."""
    import time

    import torch

    from snnattack.analysis.cost import DenseTime, train_step
    from snnattack.models import build

    model = build("digits_net", 10, in_channels=1, T=2)  # 2 convs, 1 linear
    x, y = torch.rand(4, 1, 8, 8), torch.randint(0, 10, (4,))
    for impl in ("fused", "unrolled"):
        start = time.process_time()
        with DenseTime(x.device, "cpu") as dense:
            train_step(model, x, y, impl)
        step = time.process_time() - start
        # a linear layer: addmm forward, two mm backward (input and weight gradients)
        assert dense.calls == {
            "aten.convolution": 2,
            "aten.convolution_backward": 2,
            "aten.addmm": 1,
            "aten.mm": 2,
        }
        assert 0 < dense.seconds <= step
    with DenseTime(x.device, "cpu") as dense:
        torch.sigmoid(x * 2 + 1).sum()
    assert dense.seconds == 0 and not dense.calls


def test_bench_compares_the_c_backend_with_the_torch_ops(capsys: pytest.CaptureFixture) -> None:
    argv = ["--batch", "2", "--T", "2", "--repeats", "1", "--modes", "stbp", "--train"]
    record, table = output(main, [*argv, "--backends", "c", "torch"], capsys)
    torch_only = output(main, [*argv, "--backends", "torch"], capsys)
    modes = record["modes"]
    assert record["backend"] == ("c" if native.c_compiler() else "torch")
    assert set(modes) == {
        "forward",
        "stbp",
        "train",
        "forward[torch]",
        "stbp[torch]",
        "train[torch]",
    }
    torch_stbp = modes["stbp[torch]"]  # taken to the forward on the same backend
    assert (
        torch_stbp["time_vs_forward"] == torch_stbp["seconds"] / modes["forward[torch]"]["seconds"]
    )
    ratios = record["backend_vs_torch"]
    assert set(ratios) == {"forward", "stbp", "train"}
    for step, ratio in ratios.items():
        assert ratio["time"] == modes[step]["seconds"] / modes[f"{step}[torch]"]["seconds"]
    assert "backend: c over torch" in table
    record, table = torch_only
    assert record["backend"] == "torch" and "backend: torch" in table
    assert set(record["modes"]) == {"forward", "stbp", "train"}


def test_bench_sweeps_T_attacking_a_folded_model() -> None:
    args = ["--batch", "2", "--repeats", "1", "--modes", "stbp", "--fold-bn", "--sweep", "T=2,3"]
    records = sweep(parse_args(args))
    assert [r["settings"]["T"] for r in records] == [2, 3]
    # the options as given; not what was read from them (--paper's block)
    assert {r["settings"]["sweep"] for r in records} == {"T=2,3"}
    assert not {"sweep_values", "paper_block"} & set(records[0]["settings"])
    for record in records:
        assert set(record["modes"]) == {"forward", "stbp"}
        assert record["modes"]["stbp"]["seconds"] > 0


@pytest.mark.parametrize(
    "bad",
    [
        ["--sweep", "depth=1,2"],
        ["--sweep", "T=4,x"],
        ["--sweep", "T="],
        ["--train", "--fold-bn"],
        ["--sweep", "T=2,4", "--sweep", "lam=0.5"],  # was: the last one alone, silently
    ],
)
def test_bad_sweeps_and_combinations_are_usage_errors(
    bad: list[str], capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_args(bad)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and bad[0] in err and "Traceback" not in err


def test_a_cuda_record_stands_beside_table_s2(capsys: pytest.CaptureFixture) -> None:
    """The table logic on a fake CUDA measurement (no GPU needed)."""
    modes = {
        "forward": {"seconds": 0.01, "peak_mb": 100.0},
        "rga[fused]": {"seconds": 0.02, "peak_mb": 300.0},
        "stbp[fused]": {"seconds": 0.03, "peak_mb": 900.0},
        "hart": {"error": "not measured"},
    }
    paper = paper_block(PAPER_FILE)
    rows = {r["step"]: r for r in paper_rows(modes, 32, paper)}
    assert set(rows) == {"forward", "rga[fused]", "stbp[fused]"}
    steps = 313  # 10 000 CIFAR-10 test images in batches of 32
    assert rows["rga[fused]"] == {
        "step": "rga[fused]",
        "step_ms": 20.0,
        "seconds": pytest.approx(0.02 * steps),
        "paper_seconds": 6.273,
        "peak_mb": 300.0,
        "paper_peak_mb": 3299,
    }
    assert rows["stbp[fused]"]["paper_seconds"] == 10.683
    assert rows["forward"]["paper_seconds"] is None  # the paper times no plain forward
    Console(width=200).print(paper_table(list(rows.values()), "fake"))
    out = capsys.readouterr().out
    assert "6.3" in out and "6.273" not in out and "3299.0" in out and "–" in out


@pytest.mark.parametrize(
    ("bad", "line"),
    [  # were tracebacks from the model's constructor, after the first values' measurements
        (
            ["--sweep", "lam=0.5,2"],
            "error: --sweep lam=2.0 is out of range; accepted: 0 < lam <= 1",
        ),
        (["--sweep", "T=2,0"], "error: --sweep T=0 is out of range; accepted: an integer >= 1"),
        (["--sweep", "batch=2,0"], "error: --sweep batch=0 is out of range"),
        # was read after the measurement, and only on a GPU: the measurement lost
        (["--paper", "missing.yaml"], "error: --paper='missing.yaml' is not a file"),
    ],
)
def test_a_bad_option_is_refused_before_any_measurement(
    bad: list[str], line: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snnattack.tools import step_cost

    monkeypatch.setattr(step_cost, "bench", lambda args: pytest.fail("measured"))
    with pytest.raises(SystemExit) as exit_:
        main(["--repeats", "1", *bad])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith(line) and len(err.splitlines()) == 1, err


def test_without_the_checkouts_experiment_file_a_record_has_no_paper_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed wheel carries no experiments/: the default --paper is then no file, and a
    CUDA record has no rows beside the paper, rather than a refusal after its measurement."""
    from snnattack.tools import step_cost

    monkeypatch.setattr(step_cost, "PAPER_FILE", str(tmp_path / "experiments/none.yaml"))
    args = parse_args(["--repeats", "1"])
    step_cost.check_steps(args)
    assert args.paper_block is None
    args = parse_args(["--repeats", "1", "--paper", PAPER_FILE])
    step_cost.check_steps(args)
    assert args.paper_block == paper_block(PAPER_FILE)


def test_a_cpu_record_has_no_paper_rows_and_a_bad_paper_file_is_refused(tmp_path: Path) -> None:
    args = parse_args(["--batch", "2", "--T", "2", "--repeats", "1", "--modes", "rga"])
    assert "paper" not in bench(args)
    with pytest.raises(ConfigError, match="--paper"):
        paper_block(tmp_path / "missing.yaml")


def test_each_step_is_timed_right_after_its_memory_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The memory run's malloc_trim gives freed memory back; the same step then runs once
    before it is timed, so the timed run finds the heap a job repeating the step finds."""
    import torch

    from snnattack.analysis import cost
    from snnattack.models import build

    calls: list[tuple[str, object]] = []
    monkeypatch.setattr(cost.PeakMemory, "measure", lambda self, fn: calls.append(("m", fn)))
    monkeypatch.setattr(cost, "_timed", lambda fn, device, clock: calls.append(("t", fn)) or 1.0)
    model = build("digits_net", 10, in_channels=1, T=2).eval()
    x, y = torch.rand(2, 1, 8, 8), torch.randint(0, 10, (2,))
    cost.measure_cost(model, x, y, modes=["stbp", "rga"], repeats=2, train=True, floor=False)
    assert [kind for kind, _ in calls] == ["m", "t"] * 8  # forward, stbp, rga, train; twice
    assert all(calls[i][1] is calls[i + 1][1] for i in range(0, len(calls), 2))


@pytest.mark.parametrize("flags", [[], ["--tf32", "--nondeterministic"]])
def test_the_steps_run_under_a_jobs_gpu_numerics_unless_told(
    flags: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a GPU a step's time depends on TF32 and deterministic kernels several-fold: the bench
    measures a job's (tf32 false, deterministic true) by default, and the process's flags are
    its own again afterwards."""
    import torch

    from snnattack.tools import step_cost

    seen = []

    def measured(*args, **kwargs):
        seen.append((torch.backends.cudnn.allow_tf32, torch.are_deterministic_algorithms_enabled()))
        return {}

    monkeypatch.setattr(step_cost, "measure_cost", measured)
    monkeypatch.setattr(step_cost, "measure_training_cost", lambda *a, **k: {})
    before = (torch.backends.cudnn.allow_tf32, torch.are_deterministic_algorithms_enabled())
    args = parse_args(["--batch", "2", "--T", "2", "--repeats", "1", "--modes", "rga", *flags])
    record = bench(args)
    assert seen == [(bool(flags), not flags)]
    assert record["settings"]["tf32"] == bool(flags)
    assert (torch.backends.cudnn.allow_tf32, torch.are_deterministic_algorithms_enabled()) == before


@pytest.mark.parametrize("gpu", [False, True])
def test_device_gpu_without_a_gpu_is_noted_on_stderr(
    gpu: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """``--device gpu`` on a machine without a GPU measured on the CPU and said so only in the
    record's ``device``; now a note on stderr says so (the checks alone: no measurement)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    check_model(parse_args([*TINY, "--device", "gpu"]))
    said = "note: --device=gpu but this machine has no GPU: it runs on the CPU (its device: cpu)"
    assert capsys.readouterr().err.splitlines() == ([] if gpu else [said])
