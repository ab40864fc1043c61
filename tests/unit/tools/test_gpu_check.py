"""``python -m snnattack.tools.gpu_check``: one line and exit code 2 without a GPU; its jobs
are valid configs (checked here as if a GPU were present) and its report names the device."""

from __future__ import annotations

import pytest
import torch
from harness import compose

from snnattack.config import validate
from snnattack.errors import ConfigError
from snnattack.tools import gpu_check, step_cost


def test_without_a_gpu_it_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as stop:
        gpu_check.main(["--out", str(tmp_path / "report.md")])
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: gpu_check: no CUDA device")
    assert not (tmp_path / "report.md").exists()


def test_its_jobs_are_valid_on_a_gpu_and_the_precision_one_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda *_: (80 * 2**30, 80 * 2**30))
    keys = [k for k in gpu_check.JOB if not k.startswith("hydra.")]
    jobs = [c for c in gpu_check.checks() if c.tool is None]
    assert {a for c in jobs for a in c.args} >= {"trainer=gpu", "trainer=ddp"}
    for check in jobs:
        cfg = compose(*keys, *check.args)
        if check.expect == 2:
            with pytest.raises(ConfigError, match=r"^trainer.precision='16-mixed'"):
                validate(cfg)
        else:
            validate(cfg)
    tools = {c.tool: c for c in gpu_check.checks() if c.tool is not None}
    assert tools["pytest"].args[0] == "tests/unit/test_api.py"  # run from the checkout's root
    args = step_cost.parse_args(list(tools["snnattack.tools.step_cost"].args))
    assert (args.model, args.batch, args.T, args.modes) == ("vgg11", 32, 8, ["rga", "stbp"])


def test_the_cuda_tests_select_one_that_skips_without_cuda() -> None:
    from harness import ROOT

    source = (ROOT / gpu_check.CUDA_TESTS[0]).read_text()
    assert f"def test_evaluate_and_attack_run_on_the_{gpu_check.CUDA_TESTS[2]}" in source


def test_the_report_names_the_device_and_each_check() -> None:
    row = {
        "check": "trainer=gpu attack=rga",
        "command": "-m snnattack trainer=gpu attack=rga",
        "ok": True,
        "exit": 0,
        "seconds": 12.5,
        "numbers": "device cuda:0, n 64",
    }
    text = gpu_check.report([row], "NVIDIA H100")
    assert "Device: NVIDIA H100" in text
    assert "| trainer=gpu attack=rga | yes | 0 | 12.5 | device cuda:0, n 64 |" in text
