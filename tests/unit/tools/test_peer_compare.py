"""`python -m tools.peer_compare`: on a CPU, the operator calls per PGD step of the
peer and of this project's attacks in a markdown report, the line saying that times need a
GPU; a machine without spikingjelly refused in one line."""

import re
import sys
from pathlib import Path

import pytest
import torch
import torchattacks

from snnattack.process.numerics import deterministic
from tools.peer_compare import GPU_ONLY, PEER, main


@pytest.mark.parametrize(
    "numerics", [(), pytest.param(("--tf32", "--nondeterministic"), marks=pytest.mark.slow)]
)
def test_on_a_cpu_the_report_counts_operator_calls_per_step(
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    numerics: tuple[str, ...],
) -> None:
    """... with the peer under the numerics that ``snnattack.attack`` holds for its calls."""
    peer_flags, forward = [], torchattacks.PGD.forward

    def recorded(self, *args):
        peer_flags.append((torch.backends.cudnn.allow_tf32, deterministic()))
        return forward(self, *args)

    monkeypatch.setattr(torchattacks.PGD, "forward", recorded)
    out = tmp_path / "report.md"
    size = ["--batch", "2", "--T", "2", "--image", "8"]
    main(["--device", "cpu", *size, *numerics, "--out", str(out)])
    text = out.read_text()
    head = "TF32 allowed, nondeterministic kernels" if numerics else "TF32 off, deterministic"
    assert head in text.splitlines()[2]
    assert set(peer_flags) == {(bool(numerics), not numerics)}
    assert GPU_ONLY in text and "| attack | operator calls per step |" in text
    rows = dict(re.findall(r"^\| (peer: .*|snnattack\.attack\(.*\)) \| (\S+) \|$", text, re.M))
    assert list(rows) == [
        PEER,
        'snnattack.attack(..., "pgd", grad_mode="stbp", T=2)',
        'snnattack.attack(..., "pgd", grad_mode="rga", T=2)',
    ]
    assert all(count.isdigit() and int(count) > 0 for count in rows.values())
    assert "## The LIF alone" not in text  # times only on a GPU
    assert f"wrote {out}" in capsys.readouterr().err


def test_without_spikingjelly_the_command_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "spikingjelly.activation_based", None)
    with pytest.raises(SystemExit) as exit_:
        main(["--device", "cpu"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert "spikingjelly, which is not installed" in err


def test_a_gpu_this_machine_lacks_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(SystemExit) as exit_:
        main(["--device", "cuda"])
    assert exit_.value.code == 2 and "--device=cuda but this machine has 0 GPUs" in (
        capsys.readouterr().err
    )


def test_fewer_than_two_steps_are_refused_in_one_line(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--steps", "1"])
    assert exit_.value.code == 2 and "--steps must be >= 2" in capsys.readouterr().err


@pytest.mark.slow
def test_the_timed_report_a_gpu_gets_runs_every_part_on_tiny_sizes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a CUDA device runs (times, robust accuracy, peak memory, the LIF alone, the Table
    S2 steps and the training step, the report of them all), run on the CPU at tiny sizes:
    a GPU's time is scarce, so its command must not first break there."""
    from snnattack.analysis.cost import calibrate_batchnorm
    from tools import peer_compare as pc
    from tools.peer_nets import UserWrapped, spikingjelly_vgg11

    monkeypatch.setattr(pc, "S2_BATCH", 1)
    argv = "--device cpu --batch 2 --T 2 --image 8 --steps 2 --repeats 1 --judged 2 --lif-T 1 2"
    args = pc.parse_args(
        [*argv.split(), *"--lif-shape 2 8 --lif-repeats 1 --train-batch 1".split()]
    )
    device = torch.device("cpu")
    body = spikingjelly_vgg11(args.image)
    wrapped = UserWrapped(body, args.T)
    x, y = torch.rand(2, 3, 8, 8), torch.tensor([1, 7])
    calibrate_batchnorm(wrapped, x)
    contenders = pc.attacks(body, wrapped, x, y, args)
    parts = {
        "spikingjelly": "2.0.0",
        "attacks": pc.measure_attacks(contenders, args, device, timed=True),
        "lif": pc.measure_lif(args, device),
        "steps": pc.measure_steps(args, device),
    }
    robust = pc.robust_accuracy(body, wrapped, [(x, y), (x.flip(0), y.flip(0))], args)
    for name, share in robust.items():
        parts["attacks"][name]["robust_acc"] = share
    text = pc.report(args, device, parts)
    for m in parts["attacks"].values():
        assert m["seconds"] > 0 and 0 <= m["robust_acc"] <= 1 and m["launches_per_step"] > 0
    assert [r["T"] for r in parts["lif"]] == [1, 2]
    assert all(len(r["equal"]) == 4 for r in parts["lif"])  # every LIF spikes as spikingjelly's
    assert set(parts["steps"]["s2"]) == {"forward", "stbp", "rga"}
    assert "robust acc. (4 images)" in text
    assert "| rga |" in text and "A training step of the `cifar10_vgg11` preset" in text
    assert text.count("\n## ") == 3


def test_the_stbp_row_differentiates_the_net_as_the_peer_does() -> None:
    """With the net's own surrogate (the default: its nodes' ATan) and one starting point,
    this project's PGD gives the peer's examples bit for bit: the table compares time, not two
    gradients (with the triangle, an H100 run had 15.6 % robust accuracy against 6.2 %)."""
    import torchattacks

    from snnattack.analysis.cost import calibrate_batchnorm
    from snnattack.api import attack
    from tools.peer_compare import ALPHA, EPS
    from tools.peer_nets import UserWrapped, spikingjelly_vgg11

    torch.manual_seed(0)
    body = spikingjelly_vgg11(8)
    wrapped = UserWrapped(body, 2)
    x, y = torch.rand(4, 3, 8, 8), torch.tensor([1, 7, 3, 0])
    calibrate_batchnorm(wrapped, x)
    pgd = torchattacks.PGD(wrapped, eps=EPS / 255, alpha=ALPHA / 255, steps=3, random_start=False)
    theirs = pgd(x, y)
    ours = attack(
        body, x, y, "pgd", eps=EPS, grad_mode="stbp", T=2, steps=3, alpha=ALPHA,
        random_start=False,
    )  # fmt: skip
    assert not torch.equal(theirs, x) and torch.equal(ours, theirs)
