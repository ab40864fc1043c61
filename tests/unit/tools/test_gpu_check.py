"""``python -m tools.gpu_check``: one line and exit code 2 without a GPU; its jobs
are valid configs (checked here as if a GPU were present) that attack one trained model on
the whole test set; its report names the device, each check and every row on both devices,
and it fails beyond the tolerance or where the GPU merges two modes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from harness import compose
from hydra.core.override_parser.overrides_parser import OverridesParser

from snnattack.config.validation import validate
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES
from snnattack.runtime.cli import check_given_once
from snnattack.tools import step_cost
from tools import gpu_check


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
    modes = [gpu_check.mode_check(m, d) for m in GRADIENT_MODES for d in ("cpu", "gpu")]
    jobs = [c for c in [*modes, *gpu_check.other_checks()] if c.tool is None]
    assert {a for c in jobs for a in c.args} >= {"trainer=cpu", "trainer=gpu", "trainer=ddp"}
    for check in jobs:
        cfg = compose(*(a for a in check.args if not a.startswith("hydra.")))
        if check.expect == 2:
            with pytest.raises(ConfigError, match=r"^trainer.precision='16-mixed'"):
                validate(cfg)
        else:
            validate(cfg)
    parser = OverridesParser.create()
    for check in jobs:  # each command line as Hydra and the CLI read it, its folders included
        argv = gpu_check.command(check, Path("/tmp") / check.folder(), Path("m"))[3:]
        parser.parse_overrides(argv)
        check_given_once(argv)  # a key given twice is refused before the job runs
    tools = {c.tool: c for c in gpu_check.other_checks() if c.tool is not None}
    args = step_cost.parse_args(list(tools["snnattack.tools.step_cost"].args))
    assert (args.model, args.batch, args.T, args.modes) == ("vgg11", 32, 8, ["rga", "stbp"])


def test_the_mode_jobs_attack_the_whole_test_set_of_one_trained_model() -> None:
    """Every per-mode job has the store key of the first (which trains the model), and none
    limits the test batches: all of digits' test samples, so gradient modes differ."""
    from snnattack.training.parse import model_settings
    from snnattack.training.store_key import store_key

    modes = [gpu_check.mode_check(m, d) for m in GRADIENT_MODES for d in ("cpu", "gpu")]
    keys = {
        json.dumps(store_key(model_settings(compose(*c.args)), 0), sort_keys=True) for c in modes
    }
    assert len(keys) == 1
    assert not any("limit_test_batches" in a or "train.epochs" in a for c in modes for a in c.args)


def test_the_suite_and_the_cuda_tests_run_from_the_checkout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from harness import ROOT

    monkeypatch.chdir(ROOT)
    suite, cuda = gpu_check.suite_checks(tmp_path, 12)
    assert suite.args[suite.args.index("-m") + 1] == "not slow and not cuda"
    assert cuda.args[cuda.args.index("-m") + 1] == "cuda"
    marked = [p for p in (ROOT / "tests").rglob("test_*.py") if "mark.cuda" in p.read_text()]
    assert len(marked) >= 2  # the API on the model's device, the GPU kill-and-resume
    monkeypatch.chdir(tmp_path)  # an installed package, no tests/: no suite
    assert gpu_check.suite_checks(tmp_path, 12) == []


def metrics(right: int, asr: float = 70.0) -> dict:
    """A ``metrics.json`` of one PGD row on 450 samples, ``right`` of them still right."""
    row = {"method": "pgd", "box": "white", "eps_255": 16.0, "asr": asr}
    row = {**row, "adv_acc": 100 * right / 450, "n": 450}
    return {"clean_acc": 100 * 441 / 450, "n": 450, "results": [row]}


def row(check: str, metrics_json: dict | None = None, ok: bool = True) -> dict:
    return {
        "check": check,
        "command": f"-m snnattack {check}",
        "ok": ok,
        "exit": 0 if ok else 1,
        "seconds": 12.5,
        "numbers": "device cuda:0, n 450",
        "metrics": metrics_json,
    }


def test_the_report_names_the_device_each_check_and_the_rows_side_by_side() -> None:
    rows = [
        row("trainer=cpu attack=stbp", metrics(126)),
        row("trainer=gpu attack=stbp", metrics(131)),  # 5 samples apart
        row("trainer=cpu attack=rga", metrics(110, asr=75.0)),
        row("trainer=gpu attack=rga", metrics(131)),  # rga ran as stbp
    ]
    comparison = gpu_check.compared(rows, tolerance=4)
    assert comparison["merged"] == [("rga", "stbp")]
    assert [s.row for s in comparison["beyond"]["stbp"]] == ["pgd white 16/255"]
    assert not gpu_check.passed(rows, comparison)
    text = gpu_check.report(rows, "NVIDIA H100", comparison)
    assert "Device: NVIDIA H100" in text and "Result: FAILED." in text
    assert "| trainer=gpu attack=rga | yes | 0 | 12.5 | device cuda:0, n 450 |" in text
    assert "| stbp | pgd white 16/255 | 126 | 131 | 5 | NO |" in text
    assert "identical rows on the GPU: rga = stbp." in text


def test_a_check_passes_with_every_mode_on_both_devices_within_the_tolerance() -> None:
    rows = [
        row(f"trainer={d} attack={m}", metrics(120 + i + (d == "gpu"), asr=60.0 + i))
        for i, m in enumerate(GRADIENT_MODES)
        for d in ("cpu", "gpu")
    ]
    comparison = gpu_check.compared(rows, tolerance=1)
    assert gpu_check.passed(rows, comparison)
    assert "Result: passed." in gpu_check.report(rows, "NVIDIA H100", comparison)
    assert not gpu_check.passed([*rows, row("CUDA tests", ok=False)], comparison)
    assert gpu_check.compared(rows[2:], tolerance=1)["missing"] == [list(GRADIENT_MODES)[0]]


def test_a_bench_step_that_could_not_run_fails_the_check_and_is_named() -> None:
    """The step bench reports a step that raised and goes on (exit code 0): the check reads
    its record, so a gradient mode that breaks on CUDA is a failure, not a missing row."""
    row = {"step": "forward", "step_ms": 4.9, "seconds": 1.5, "peak_mb": 194.0}
    ran = {"paper": [row], "modes": {"forward": {"seconds": 0.0049}, "stbp": {"seconds": 0.01}}}
    numbers, ok = gpu_check.bench_numbers(json.dumps(ran))
    assert ok and numbers.startswith("forward: 4.9 ms/step")
    ran["modes"]["rga"] = {"error": "RuntimeError: save_mean should always be defined"}
    numbers, ok = gpu_check.bench_numbers(json.dumps(ran))
    assert not ok and numbers.endswith("rga: RuntimeError: save_mean should always be defined")
    assert gpu_check.bench_numbers("Traceback ...") == ("", False)
