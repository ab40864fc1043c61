"""Checks this project on a CUDA GPU in one command: ``python -m snnattack.tools.gpu_check``.

Without a CUDA device it says so in one line and exits with code 2. With one it runs, each in
a child process as a user would, into a temporary folder with one model store:

- the tests that need CUDA (:data:`CUDA_TESTS`), where it runs from a checkout (``tests/``);
- a short digits job per gradient mode with ``trainer=gpu`` (one epoch of a few batches, PGD
  on two test batches);
- the same job with ``trainer=ddp trainer.devices=1`` (Lightning DDP on NCCL);
- an event attack (SDA on event digits) with ``trainer=gpu``;
- a precision other than float32, which a job refuses in one line (exit code 2);
- the step bench at the RGA paper's Table S2 setting (VGG-11, CIFAR-shaped, batch 32, T 8):
  RGA's and STBP's attack step time and peak memory (:mod:`snnattack.tools.step_cost`);

and writes one markdown report (``--out``, default ``gpu_check.md``): the device, and per
check its command, exit code, seconds and numbers (the device and TF32 that ``metrics.json``
records, samples attacked, clean accuracy, ASR). Meant to take under 10 minutes on one GPU.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from snnattack.errors import UserError
from snnattack.gradients import GRADIENT_MODES
from snnattack.runtime.cli import ArgumentParser, refuse

# a digits job of a few seconds: one short epoch, PGD on two test batches, no report
JOB = (
    "train.epochs=1",
    "trainer.limit_train_batches=8",
    "trainer.limit_val_batches=2",
    "trainer.limit_test_batches=2",
    "eps=[8]",
    "method=[pgd]",
    "boxes=[white]",
    "trainer.enable_progress_bar=false",
    "hydra.callbacks.report.single=false",
)
# the tests that skip without a CUDA device (run from a checkout's root)
CUDA_TESTS = ("tests/unit/test_api.py", "-k", "models_device")
# the RGA paper's Table S2 setting of the step bench
BENCH = (
    "--model vgg11 --input-shape 3 32 32 --batch 32 --T 8 --device cuda --modes rga stbp"
).split()


@dataclass(frozen=True)
class Check:
    """One check: its name, the ``snnattack`` job overrides or tool arguments it runs, and
    the exit code it must end with (2: a refusal)."""

    name: str
    args: tuple[str, ...]
    tool: str | None = None  # a module run with ``python -m`` instead of a job
    expect: int = 0


def checks() -> list[Check]:
    """The checks a GPU gets, in order."""
    jobs = [
        Check(f"trainer=gpu attack={m}", ("trainer=gpu", f"attack={m}")) for m in GRADIENT_MODES
    ]
    tests = Path(CUDA_TESTS[0]).is_file()  # a checkout (an installed package has no tests)
    args = (*CUDA_TESTS, "-q", "-p", "no:cacheprovider")
    return [
        *([Check("CUDA tests", args, tool="pytest")] if tests else []),
        *jobs,
        Check("trainer=ddp devices=1 (NCCL)", ("trainer=ddp", "trainer.devices=1")),
        Check(
            "event attack: sda on event digits",
            ("trainer=gpu", "dataset=digits_events", "encoding=frames", "method=[sda]"),
        ),
        Check("trainer.precision=16-mixed refused", ("trainer.precision=16-mixed",), expect=2),
        Check("step bench: VGG-11, batch 32, T 8", tuple(BENCH), tool="snnattack.tools.step_cost"),
    ]


def command(check: Check, out: Path, store: Path) -> list[str]:
    """``check``'s command line, its job writing into ``out`` with models from ``store``."""
    if check.tool is not None:
        return [sys.executable, "-m", check.tool, *check.args]
    return [
        sys.executable,
        "-m",
        "snnattack",
        *JOB,
        *check.args,
        f"store.dir={store}",
        f"hydra.run.dir={out}",
    ]


def job_numbers(metrics: Path) -> str:
    """What a job's ``metrics.json`` says of where and what it ran."""
    if not metrics.is_file():
        return ""
    m = json.loads(metrics.read_text())
    rows = ", ".join(f"{r['method']} ASR {r['asr']:.1f} %" for r in m["results"])
    return (
        f"device {m['device']}, world size {m['world_size']}, tf32 {m.get('tf32')}, "
        f"n {m['n']}, clean {m['clean_acc']:.1f} %, {rows}"
    )


def bench_numbers(stdout: str) -> str:
    """The bench's rows beside the paper (ms per step, peak MB)."""
    try:
        record = json.loads(stdout)
    except json.JSONDecodeError:
        return ""
    rows = record.get("paper") or []
    return "; ".join(
        f"{r['step']}: {r['step_ms']:.1f} ms/step, peak {r.get('peak_mb')} MB "
        f"(paper {r.get('paper_seconds')} s, {r.get('paper_peak_mb')} MB)"
        for r in rows
    )


def run_check(check: Check, out: Path, store: Path) -> dict[str, Any]:
    """Runs ``check`` (a job into ``out``, models from ``store``); its row of the report."""
    cmd = command(check, out, store)
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if check.tool == "pytest":
        numbers = (done.stdout.strip().splitlines() or [""])[-1]
    elif check.tool is not None:
        numbers = bench_numbers(done.stdout)
    else:
        numbers = job_numbers(out / "metrics.json")
    last = (done.stderr.strip().splitlines() or [""])[-1]
    return {
        "check": check.name,
        "command": " ".join(cmd[1:]),
        "ok": done.returncode == check.expect,
        "exit": done.returncode,
        "seconds": round(seconds, 1),
        "numbers": numbers or last[:300],
    }


def report(rows: list[dict[str, Any]], device: str) -> str:
    """The markdown report of ``rows``, measured on ``device``."""
    lines = [
        "# GPU check",
        "",
        f"Device: {device}; torch {torch.__version__}, CUDA {torch.version.cuda}.",
        "",
        "| check | ok | exit | seconds | numbers (or the last line of stderr) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        numbers = r["numbers"].replace("|", "\\|")
        lines.append(
            f"| {r['check']} | {'yes' if r['ok'] else 'NO'} | {r['exit']} | {r['seconds']} "
            f"| {numbers} |"
        )
    lines += ["", "Commands:", ""] + [f"- `{r['command']}`" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(prog="python -m snnattack.tools.gpu_check", description=__doc__)
    parser.add_argument("--out", default="gpu_check.md", help="the markdown report's path")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        refuse(
            UserError(
                "gpu_check: no CUDA device on this machine (torch.cuda.is_available() is "
                "False); accepted: a machine with an NVIDIA GPU and a CUDA build of torch"
            )
        )
    device = torch.cuda.get_device_name(0)
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as folder:
        rows = []
        for i, check in enumerate(checks()):
            rows.append(run_check(check, Path(folder) / f"job{i}", Path(folder) / "models"))
            print(f"{rows[-1]['check']}: {'ok' if rows[-1]['ok'] else 'FAILED'}", flush=True)
    Path(args.out).write_text(report(rows, device))
    print(f"wrote {args.out}")
    if not all(r["ok"] for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
