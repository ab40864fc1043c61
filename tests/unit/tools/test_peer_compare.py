"""`python -m tools.peer_compare`: on a CPU, the operator calls per PGD step of the
peer and of this project's attacks in a markdown report, the line saying that times need a
GPU; a machine without spikingjelly refused in one line."""

import re
import sys
from pathlib import Path

import pytest
import torch

from tools.peer_compare import GPU_ONLY, PEER, main


def test_on_a_cpu_the_report_counts_operator_calls_per_step(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "report.md"
    main(["--device", "cpu", "--batch", "2", "--T", "2", "--image", "8", "--out", str(out)])
    text = out.read_text()
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
