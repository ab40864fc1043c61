"""`python -m snnattack.tools.bench`: every field for every mode, and ratios that are the
record's own quotients. Which mode is faster is the bench's output to read, not an assertion here: a
wall-clock ratio depends on the machine and on what else runs on it."""

import json
from pathlib import Path

import pytest
import torch
import torchattacks
from rich.console import Console

from snnattack.attacks.methods import build_attack
from snnattack.attacks.methods.square import Square
from snnattack.cpu import native
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES
from snnattack.tools.bench import (
    PAPER_FILE,
    bench,
    main,
    paper_block,
    paper_rows,
    paper_table,
    parse_args,
    sweep,
)
from snnattack.tools.ensemble_cost import square_of

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
TINY = ["--batch", "2", "--T", "2", "--repeats", "1"]


def bench_output(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[dict, str]:
    """The JSON record on stdout and the table on stderr of
    ``python -m snnattack.tools.bench ARGV``."""
    main(argv)
    out, err = capsys.readouterr()
    return json.loads(out), err


def test_bench_at_a_tiny_size_reports_every_field_for_every_mode(
    capsys: pytest.CaptureFixture,
) -> None:
    record, table = bench_output(TINY, capsys)
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
    record, _ = bench_output([*TINY, "--modes", "stbp", "rga"], capsys)
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
    record, table = bench_output([*argv, "--backends", "c", "torch"], capsys)
    torch_only = bench_output([*argv, "--backends", "torch"], capsys)
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
    for record in records:
        assert set(record["modes"]) == {"forward", "stbp"}
        assert record["modes"]["stbp"]["seconds"] > 0


@pytest.mark.parametrize(
    "bad",
    [["--sweep", "depth=1,2"], ["--sweep", "T=4,x"], ["--sweep", "T="], ["--train", "--fold-bn"]],
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


def test_bench_times_a_step_on_each_thread_count(capsys: pytest.CaptureFixture) -> None:
    record, table = bench_output([*TINY, "--threads", "1", "2"], capsys)
    steps = record["thread_steps"]
    assert set(steps) == {"1", "2"} and all(set(s) == {"forward", "stbp"} for s in steps.values())
    for name in ("forward", "stbp"):
        first, second = steps["1"][name], steps["2"][name]
        assert first["vs_first"] == 1.0 and second["seconds"] > 0
        assert second["vs_first"] == second["seconds"] / first["seconds"]
    assert "× first count" in table


def test_a_thread_count_below_one_is_refused_in_one_line(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*TINY, "--threads", "1", "0"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--threads=0 is out of range" in err
    assert len(err.strip().splitlines()) == 1


def test_the_ensemble_bench_builds_todays_square_only_within_its_block() -> None:
    model = torch.nn.Linear(4, 2)
    with square_of("torchattacks"):
        assert type(build_attack("square", model, 0.1, n_queries=5)) is torchattacks.Square
    assert type(build_attack("square", model, 0.1, n_queries=5)) is Square


@pytest.mark.slow
def test_the_ensemble_bench_times_both_squares_and_they_agree(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    record, table = bench_output(
        ["--ensemble", "--test-size", "8", "--store", str(tmp_path / "models")], capsys
    )
    assert record["images"] == 8 and record["tune_seconds"] > 0
    ours, theirs = record["snnattack"], record["torchattacks"]
    assert ours["robust_acc"] == theirs["robust_acc"]  # the same examples, draw for draw
    assert ours["square_seconds"] > 0 and theirs["seconds"] > theirs["square_seconds"]
    assert record["time_ratio"] == ours["seconds"] / theirs["seconds"]
    assert ours["cpu_seconds"] > 0 and theirs["cpu_seconds"] > 0
    assert "robust acc %" in table


# A stand-in for the reference's utils/attack.py (ryime/PDSG-SDA has no licence, so the bench
# imports a user's clone): the reference's call signature and [T, 1, ...] samples, this
# project's SDA underneath, so that the two sides must agree example for example.
STAND_IN = """
from snnattack.attacks.methods.sda import SDA as Ours


class SDA:
    def __init__(self, model, k_init, N, batch_limit):
        self.attack = Ours(model.net, k_init=k_init, n_iter=N, batch_limit=batch_limit)

    def __call__(self, frames, labels):
        return self.attack(frames.transpose(0, 1), labels).transpose(0, 1)
"""


SDA_CLONE = ("--sda", "ryime/PDSG-SDA")
RETIME_CLONE = ("--retime-reference", "yuyi-sd/Spike-Retiming-Attacks")
PATCH_CLONE = ("--patch-reference", "yszbb/AE-Patch")
PATCH_FILE = "attack/adversarial_patchs_targeted.py"  # the file the AE-Patch bench imports
SPIKEFOOL_CLONE = ("--spikefool-reference", "jubueche/SPAA")


@pytest.mark.parametrize(
    ("clone", "attack_py", "message"),
    [
        (SDA_CLONE, None, "holds no utils/attack.py"),
        (
            SDA_CLONE,
            "import not_a_module_here\n",
            "importing utils/attack.py raised ModuleNotFoundError",
        ),
        (SDA_CLONE, "class PGD: ...\n", "utils/attack.py has no class SDA"),
        (RETIME_CLONE, None, "holds no utils/attack.py"),
        (
            RETIME_CLONE,
            "import not_a_module_here\n",
            "importing utils/attack.py raised ModuleNotFoundError",
        ),
        (
            RETIME_CLONE,
            "class PGDTimeShiftAfterEncoder: ...\n",
            "has no class PGDTimeShiftAfterEncoder_L0, PGDTimeShiftAfterEncoder_L1, "
            "PGDTimeShiftAfterEncoder_Lowgpu",
        ),
        (PATCH_CLONE, None, f"holds no {PATCH_FILE}"),
        (PATCH_CLONE, "import not_a_module_here\n", f"importing {PATCH_FILE} raised"),
        (PATCH_CLONE, "def mask_generation(): ...\n", f"{PATCH_FILE} has no class patch_attack"),
        (SPIKEFOOL_CLONE, None, "holds no sparsefool.py"),
        (SPIKEFOOL_CLONE, "def sparsefool(): ...\n", "has no class universal_attack, Heatmap"),
    ],
)
def test_a_reference_folder_that_is_not_a_clone_is_refused_in_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    clone: tuple[str, str],
    attack_py: str | None,
    message: str,
) -> None:
    flag, repository = clone
    if attack_py is not None:
        files = {PATCH_CLONE: PATCH_FILE, SPIKEFOOL_CLONE: "sparsefool.py"}
        file = tmp_path / files.get(clone, "utils/attack.py")
        file.parent.mkdir(exist_ok=True)
        file.write_text(attack_py)
    with pytest.raises(SystemExit) as exit_:
        main([flag, str(tmp_path), "--store", str(tmp_path / "models")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and repository in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "models").exists()


@pytest.mark.slow
def test_the_sda_bench_times_both_sides_on_the_same_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "ref" / "utils").mkdir(parents=True)
    (tmp_path / "ref" / "utils" / "attack.py").write_text(STAND_IN)
    argv = ["--sda", str(tmp_path / "ref"), "--sda-samples", "8"]
    record, table = bench_output([*argv, "--store", str(tmp_path / "models")], capsys)
    assert record["samples"] == 8 and record["identical"] == 8 and record["same_l0"] == 8
    ours, theirs = record["batched"], record["reference"]
    assert ours["fooled"] == theirs["fooled"] > 0 and ours["mean_l0"] == theirs["mean_l0"]
    assert record["speedup"] == theirs["seconds"] / ours["seconds"]
    assert record["cpu_speedup"] == theirs["cpu_seconds"] / ours["cpu_seconds"]
    assert "identical examples on 8" in table


@pytest.mark.slow
def test_the_sda_bench_runs_the_fixture_net_with_a_spiking_output_under_pdsg(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "attack.py").write_text(STAND_IN)
    argv = ["--sda", str(tmp_path), "--sda-samples", "6", "--sda-model", "fixture"]
    record, table = bench_output(
        [*argv, "--event-output", "spiking", "--event-grad", "pdsg"], capsys
    )
    assert (record["model"], record["spiking_output"], record["grad"]) == ("fixture", True, "pdsg")
    assert record["samples"] == 6 and record["identical"] == record["identical_alone"] == 6
    assert record["batched"]["fooled"] == record["reference"]["fooled"] > 0
    assert "fixture model, pdsg, spiking output" in table


# A stand-in for the Spike-Retiming reference's utils/attack.py (yuyi-sd/Spike-Retiming-Attacks
# has no licence, so the bench imports a user's clone): its four classes' call signatures, a
# print per call as the reference prints its losses, this project's retime underneath.
RETIME_STAND_IN = """
from snnattack.attacks.methods.retime import Retime


class _StandIn:
    def __init__(self, device, model, steps, **kw):
        self.model, self.steps, self.kw = model.net, steps, kw

    def __call__(self, frames, labels):
        print("loss")
        attack = Retime(self.model, steps=self.steps, **self.ours(**self.kw))
        return attack(frames.transpose(0, 1), labels).transpose(0, 1)


class PGDTimeShiftAfterEncoder_Lowgpu(_StandIn):
    def ours(self, D):
        return {"norm": "linf", "budget": D}


class PGDTimeShiftAfterEncoder(_StandIn):
    def ours(self, D, lambda_cap):
        return {"norm": "linf", "budget": D, "lam_cap": lambda_cap, "phi_init": 0.0}


class PGDTimeShiftAfterEncoder_L1(_StandIn):
    def ours(self, l1_steps_budget):
        return {"norm": "l1", "budget": l1_steps_budget, "budget_weight": 10.0, "phi_init": 0.0}


class PGDTimeShiftAfterEncoder_L0(_StandIn):
    def ours(self, l0_moves_budget):
        return {"norm": "l0", "budget": l0_moves_budget, "budget_weight": 5.0, "phi_init": 0.0}
"""


@pytest.mark.slow
def test_the_retime_reference_bench_compares_every_setting_on_the_same_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "attack.py").write_text(RETIME_STAND_IN)
    argv = ["--retime-reference", str(tmp_path), "--retime-samples", "4"]
    record, table = bench_output(argv, capsys)  # the stand-in's prints kept off the JSON
    assert record["samples"] == 4 and record["seed"] == 0
    settings = record["settings"]
    assert list(settings) == ["B∞ D=1", "B∞ D=2", "B1 6", "B0 3", "B∞ D=1 dense"]
    for m in settings.values():
        assert m["identical"] == 4 and m["reference"]["fooled"] == m["batched"]["fooled"]
        assert m["reference"]["seconds"] > 0 and m["batched"]["seconds"] > 0
    assert settings["B∞ D=1"]["batched"]["fooled"] > 0
    assert "retime beside the reference on 4 event digits" in table


def test_retime_samples_below_one_are_refused_in_one_line(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--retime-reference", "x", "--retime-samples", "0"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--retime-samples" in err
    assert len(err.strip().splitlines()) == 1


def test_the_retime_bench_times_each_budget_over_a_pgd_step(capsys: pytest.CaptureFixture) -> None:
    record, table = bench_output(
        ["--retime", "--batch", "4", "--retime-steps", "2", "--repeats", "1"], capsys
    )
    steps = record["steps"]
    assert list(steps) == ["retime", "retime_l1", "retime_l0", "pgd"]
    assert steps["pgd"]["vs_pgd"] == 1.0 and record["events"] > 0
    for m in steps.values():
        assert m["vs_pgd"] == m["seconds"] / steps["pgd"]["seconds"]
    assert record["settings"] == {
        "model": "digits_net",
        "size": 8,
        "batch": 4,
        "T": 4,
        "steps": 2,
        "repeats": 1,
        "seed": 0,
    }
    assert "retime over PGD, per step" in table


def test_retime_steps_below_one_are_refused_in_one_line(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--retime", "--retime-steps", "0"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--retime-steps=0 is out of range" in err


def test_the_retime_bench_records_the_event_digits_at_any_frame_side() -> None:
    from sklearn.datasets import load_digits

    from snnattack.data.digits_events import record
    from snnattack.data.events import to_frames
    from snnattack.tools.retime_cost import event_digits

    small = event_digits(3, 4, 8)  # the event digits' own sensor (16) and digit size (12)
    streams = record(load_digits().images[:3] / 16.0)
    assert torch.equal(small, to_frames(streams, (16, 16, 2), 4, 8, "time", "binary"))
    large = event_digits(2, 4, 32)
    assert large.shape == (2, 4, 2, 32, 32) and set(large.unique().tolist()) == {0.0, 1.0}


def test_a_retime_frame_side_below_four_is_refused_in_one_line(
    capsys: pytest.CaptureFixture,
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--retime", "--retime-size", "2"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--retime-size=2 is out of range" in err


# GSAttack's reference clone, stood in by the same algorithm written against its interfaces
# (attacker.py, attacks/ours/probability_space/..., utils/...): the bench's plumbing is tested
GSATTACK_STAND_IN = {
    "attacker.py": """
import torch
import torch.nn.functional as F


class GumbelAttacker:
    def __init__(self, cfg, probability_attacker, target_label, orginal_value,
                 optimizer_alpha, model, scaler, lr_scheduler):
        self.cfg, self.attacker, self.label = cfg, probability_attacker, target_label
        self.original, self.opt, self.model = orginal_value, optimizer_alpha, model
        self.schedule = lr_scheduler

    def attack_one_step(self, epoch):
        self.opt.zero_grad()
        frame, values = self.attacker()
        logits = self.model(frame).mean(0)
        ce = F.cross_entropy(logits, self.label)
        loss = (ce if self.cfg["targeted"] else -ce) + self.cfg["kappa"] * (
            (self.original.float() - values).abs().mean())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.attacker.alpha, max_norm=20)
        self.opt.step()
        self.schedule.step()
        with torch.no_grad():
            self.attacker.alpha.clamp_(-2.0, 2.0)
        results = {"logits": logits.detach(), "hard_event_values": values.detach(),
                   "attack_frame": frame.detach()}
        return {}, results
""",
    "attacks/__init__.py": "",
    "attacks/ours/__init__.py": "",
    "attacks/ours/probability_space/__init__.py": "",
    "attacks/ours/probability_space/event_generator/__init__.py": "",
    "attacks/ours/probability_space/event_generator/gumbel_torch.py": """
import torch
import torch.nn.functional as F


class GumbelSoftmaxTorch(torch.nn.Module):
    def __init__(self, tau, sample_num, use_soft_event):
        super().__init__()
        self.tau = tau

    def forward(self, alpha):
        soft = F.gumbel_softmax(alpha.unsqueeze(0), tau=self.tau, hard=False)
        chosen = soft.argmax(-1)
        picked = soft.gather(-1, chosen.unsqueeze(-1)).squeeze(-1)
        return (chosen - 1).float() + (picked - picked.detach()), None
""",
    "attacks/ours/probability_space/frame_generator.py": """
import torch
import torch.nn.functional as F


class FrameGenerator(torch.nn.Module):
    def __init__(self, split_by, frame_number, frame_size):
        super().__init__()
        self.T, self.size = frame_number, frame_size

    def forward(self, values, indices, use_soft):
        t, x, y = indices[0]
        n = values.shape[1]
        per = n // self.T
        frames = values.new_zeros(self.T * 2 * self.size * self.size)
        keep = torch.arange(n) < per * self.T
        bins = torch.arange(n) // max(per, 1)
        for polarity, part in ((1, F.relu(values[0])), (0, F.relu(-values[0]))):
            cell = ((bins * 2 + polarity) * self.size + y) * self.size + x
            frames = frames.index_add(0, cell[keep], part[keep])
        return frames.view(self.T, 1, 2, self.size, self.size)
""",
    "attacks/ours/probability_space/probability_attack.py": """
import numpy as np
import torch


class ProbabilityAttacker(torch.nn.Module):
    def __init__(self, attack_cfg, alpha_dict, event_generator, frame_processor):
        super().__init__()
        events = alpha_dict["events"]
        value = np.where(events["p"] > 0, 2, 0)
        self.alpha = torch.nn.Parameter(torch.eye(3)[torch.as_tensor(value)])
        indices = np.stack([events["t"], events["x"], events["y"]])
        self.event_indices = torch.as_tensor(indices).unsqueeze(0)
        self.event_generator, self.frame_processor = event_generator, frame_processor

    def forward(self):
        values, _ = self.event_generator(self.alpha)
        return self.frame_processor(values, self.event_indices, use_soft=False), values
""",
    "utils/general_utils.py": """
def get_true_values(alpha, use_soft_event):
    hard = alpha.argmax(-1) - 1
    return hard, hard.unsqueeze(0)
""",
    "utils/optimizer.py": """
import math

import torch


def get_optimizer(params, name, lr, weight_decay):
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def get_lr_scheduler(optimizer, name, T_max):
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=T_max)


class CosineAnnealing:
    def __init__(self, optimizer, initial_value, final_value, decay_step):
        self.optimizer, self.low, self.high, self.decay = (
            optimizer, initial_value, final_value, decay_step)

    def step(self, iters):
        cos = 1 + math.cos(math.pi * iters / self.decay)
        value = self.low if iters >= self.decay else self.low + 0.5 * (self.high - self.low) * cos
        self.optimizer.tau = value
""",
}


@pytest.mark.slow
def test_the_gsattack_reference_bench_compares_every_setting_on_the_same_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    for name, text in GSATTACK_STAND_IN.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    record, table = bench_output(
        ["--gsattack-reference", str(tmp_path), "--gsattack-samples", "3"], capsys
    )
    assert record["samples"] == 3 and list(record["settings"]) == ["events", "target", "carried"]
    for name in ("events", "target"):  # "carried": the reference's tau carried over
        m = record["settings"][name]
        assert m["identical"] == 3 and m["reference"]["fooled"] == m["one_at_a_time"]["fooled"]
    events = record["settings"]["events"]
    assert events["reference"]["fooled"] > 0 and events["batched_stream"]["seconds"] > 0
    assert "gsattack beside the reference on 3 event digits" in table


def test_a_folder_that_is_not_the_gsattack_clone_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--gsattack-reference", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "holds no attacker.py; accepted: a clone of" in err
    assert len(err.strip().splitlines()) == 1


# A stand-in for the AE-Patch reference's attack/adversarial_patchs_targeted.py (yszbb/AE-Patch
# has no licence, so the bench imports a user's clone): its patch_attack's call signature and
# return, one signed step per iteration, no stopping rule (the reference's is what the bench
# measures); its relative import and its CUDA tensor type are the reference's.
PATCH_STAND_IN = """
import torch

from .fun import LOSS_SCALE


def patch_attack(image, applied_patch, mask, patch, x, y, t, probability_threshold, model,
                 target_probability, predicted, target, device, lr=1., max_iteration=100):
    mask = mask.type(torch.cuda.FloatTensor)
    out = applied_patch
    for _ in range(max_iteration):
        p = out.clone().requires_grad_(True)
        logits = model(mask * p + (1 - mask) * image).mean(0)
        score = torch.log_softmax(logits, 1)[:, target] * predicted
        g = torch.autograd.grad(LOSS_SCALE * score.mean(), p)[0] * mask
        out = (out + lr * g.sign()).clamp(0, 1)
        print("total_loss")
    return None, out, 0.0
"""


@pytest.mark.slow
def test_the_patch_reference_bench_compares_every_update_on_the_same_mini_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "attack").mkdir()
    (tmp_path / PATCH_FILE).write_text(PATCH_STAND_IN)
    (tmp_path / "attack" / "fun.py").write_text("LOSS_SCALE = 1000.0\n")
    record, table = bench_output(
        ["--patch-reference", str(tmp_path), "--patch-samples", "4"], capsys
    )
    assert record["samples"] == 4 and list(record["settings"]) == [str(k) for k in range(10)]
    for sides in record["settings"].values():
        ours, theirs = sides["ours"], sides["reference"]
        assert ours["batches"] == theirs["batches"] > 0
        assert (
            ours["one_step_equal"] == ours["batches"]
            and theirs["one_step_equal"] == theirs["batches"]
        )
        assert 0 <= ours["test_succeeded"] <= ours["test_eligible"] <= 4
    assert "event_patch_universal beside the reference's patch_attack" in table
    assert torch.cuda.FloatTensor is not torch.FloatTensor  # restored after the reference ran


# A stand-in for SpikeFool's sparsefool.py (jubueche/SPAA has no licence, so the bench imports
# a user's clone): its import of the repository's utils, universal_attack's call signature and
# return, and an empty set of flips (no success), so that the record's two sides differ.
SPIKEFOOL_STAND_IN = """
import torch
from utils import get_prediction


class Heatmap:
    pass


def universal_attack(X, y, net, attack_fn, max_hamming_distance, max_iter, eviction=Heatmap,
                     device="gpu"):
    print("Success rate 0.0")
    return {"pert_total": torch.zeros(X.shape[1:]).bool(), "L0": 0.0}
"""


@pytest.mark.slow
def test_the_spikefool_reference_bench_fits_both_sets_on_the_same_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "sparsefool.py").write_text(SPIKEFOOL_STAND_IN)
    argv = ["--spikefool-reference", str(tmp_path), "--spikefool-samples", "4"]
    record, table = bench_output(argv, capsys)
    assert record["samples"] == 4 and record["max_hamming_distance"] == 10
    assert record["same_bits"] is False and record["reference"]["bits"] == 0
    assert record["reference"]["test_fooled"] == 0 and record["ours"]["bits"] == 10
    assert 0 <= record["ours"]["test_fooled"] <= record["test_correct"] == 4
    assert "sparsefool_universal beside the reference's" in table
    assert f"{record['ours']['test_fooled']} / 4" in table
