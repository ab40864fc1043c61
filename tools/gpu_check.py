"""Checks this project on a CUDA GPU in one command, from a checkout's root:
``python -m tools.gpu_check``.

Without a CUDA device it says so in one line and exits with code 2. With one it runs, each in
a child process as a user would (inheriting this environment, ``PYTHONPATH`` included), into
a temporary folder with one model store:

- from a checkout's root, the default suite (on pytest-xdist workers) and then the tests
  marked ``cuda`` (none may skip), each failure by name (:mod:`.gpu_suite`);
- one digits model trained enough to tell gradient modes apart (the digits recipe, trained
  once by the first job, reused by all), attacked on the whole test set by the same job per
  gradient mode on the CPU (``trainer=cpu``) and on the GPU (``trainer=gpu``), all at once;
- the same job with ``trainer=ddp trainer.devices=1`` (Lightning DDP on NCCL);
- an event attack (SDA on event digits) with ``trainer=gpu``;
- a precision other than float32, which a job refuses in one line (exit code 2);
- the step bench at the RGA paper's Table S2 setting (VGG-11, CIFAR-shaped, batch 32, T 8):
  RGA's and STBP's attack step time and peak memory (:mod:`snnattack.tools.step_cost`);

and writes one markdown report (``--out``, default ``gpu_check.md``): the device, per check its
command, exit code, seconds and numbers (the device, TF32 and determinism that ``metrics.json``
records, samples, clean accuracy, ASR), then every row of each mode's job on the CPU and the
GPU side by side (:mod:`.gpu_rows`). It fails (exit code 1) if a check fails, if a row's CPU
and GPU differ by more than ``--tolerance`` samples, or if two modes that differ on the CPU
give identical rows on the GPU. Meant to take about 6 minutes on one H100 with 16 cores.
"""

from __future__ import annotations

import json
import os
import re
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
from tools import gpu_rows, gpu_suite

QUIET = ("trainer.enable_progress_bar=false", "hydra.callbacks.report.single=false")
# the per-mode job: digits' own recipe (30 epochs, about 98.7 % clean) on all 450 test
# samples; at 16/255 neither FGSM nor PGD saturates, so gradient modes give different rows
MODE_JOB = (*QUIET, "eps=[16]", "method=[fgsm,pgd]", "boxes=[white]")
# the event attack's job, a few seconds: one short epoch, two test batches
QUICK_JOB = (
    *QUIET,
    "train.epochs=1",
    "trainer.limit_train_batches=8",
    "trainer.limit_val_batches=2",
    "trainer.limit_test_batches=2",
    "eps=[8]",
    "boxes=[white]",
)
DEFAULT_SUITE = "not slow and not cuda"  # setup.cfg's default suite, the CUDA tests apart
WORKERS = 12  # pytest-xdist processes for the suite (the H100 machine has 16 cores)
# samples per row the CPU and the GPU may disagree on (docs/running.md#cpu-and-gpu-the-same-job)
TOLERANCE = 4
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

    def folder(self) -> str:
        """The name of its job's folder: letters, digits, ``-``, ``_`` and ``.`` only, so
        that ``hydra.run.dir`` parses as one override value."""
        return re.sub(r"[^\w.-]+", "_", self.name.replace("=", "-")).strip("_")


def mode_check(mode: str, device: str) -> Check:
    """The per-mode job of ``mode`` on ``device`` (``cpu`` or ``gpu``)."""
    return Check(
        f"trainer={device} attack={mode}", (*MODE_JOB, f"trainer={device}", f"attack={mode}")
    )


def suite_checks(junit: Path, workers: int) -> list[Check]:
    """The default suite, then the CUDA tests, from a checkout's root (none elsewhere)."""
    if not gpu_suite.has_suite():
        return []
    suite = gpu_suite.pytest_command(DEFAULT_SUITE, junit / "suite.xml", workers)
    cuda = gpu_suite.pytest_command("cuda", junit / "cuda.xml", 0)  # one by one, in process
    return [
        Check("default suite", tuple(suite[3:]), tool="pytest"),
        Check("CUDA tests", tuple(cuda[3:]), tool="pytest"),
    ]


def other_checks() -> list[Check]:
    """The checks after the modes' jobs: DDP, an event attack, a refusal, the bench."""
    return [
        Check("trainer=ddp devices=1 (NCCL)", (*MODE_JOB, "trainer=ddp", "trainer.devices=1")),
        Check(
            "event attack: sda on event digits",
            (*QUICK_JOB, "trainer=gpu", "dataset=digits_events", "encoding=frames", "method=[sda]"),
        ),
        Check(
            "trainer.precision=16-mixed refused",
            (*QUICK_JOB, "trainer.precision=16-mixed"),
            expect=2,
        ),
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
        *check.args,
        f"store.dir={store}",
        f"hydra.run.dir={out}",
    ]


def job_numbers(m: dict[str, Any]) -> str:
    """What a job's ``metrics.json`` says of where and what it ran."""
    rows = ", ".join(f"{gpu_rows.row_name(r)} ASR {r['asr']:.2f} %" for r in m["results"])
    return (
        f"device {m['device']}, world size {m['world_size']}, tf32 {m.get('tf32')}, "
        f"deterministic {m.get('deterministic')}, n {m['n']}, clean {m['clean_acc']:.2f} %, "
        f"{rows}"
    )


def bench_numbers(stdout: str) -> tuple[str, bool]:
    """The bench's rows beside the paper (ms per step, peak MB) and each step that could not
    run with its error; whether every step ran (the bench reports a failed step and goes on)."""
    try:
        record = json.loads(stdout)
    except json.JSONDecodeError:
        return "", False
    rows = [
        f"{r['step']}: {r['step_ms']:.1f} ms/step, peak {r.get('peak_mb')} MB "
        f"(paper {r.get('paper_seconds')} s, {r.get('paper_peak_mb')} MB)"
        for r in record.get("paper") or []
    ]
    failed = [f"{name}: {m['error']}" for name, m in record["modes"].items() if "error" in m]
    return "; ".join(rows + failed), not failed


class Running:
    """A check started in a child process (its job writing into ``out``); :meth:`row` waits
    for it and gives its row of the report."""

    def __init__(self, check: Check, out: Path, store: Path) -> None:
        self.check, self.out, self.cmd = check, out, command(check, out, store)
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ
        )

    def row(self) -> dict[str, Any]:
        stdout, stderr = self.process.communicate()
        seconds = time.perf_counter() - self.started
        metrics_path = self.out / "metrics.json"
        metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else None
        ok = self.process.returncode == self.check.expect
        if self.check.tool == "pytest":
            junit = Path(next(a for a in self.cmd if a.startswith("--junitxml=")).split("=", 1)[1])
            found = gpu_suite.outcome(junit) if junit.is_file() else None
            numbers = found.summary() if found else ""
            # a CUDA test that skips on a GPU machine did not run: that fails the check
            ok = ok and found is not None and (self.check.name != "CUDA tests" or not found.skipped)
        elif self.check.tool is not None:
            numbers, every_step = bench_numbers(stdout)
            ok = ok and every_step
        else:
            numbers = job_numbers(metrics) if metrics else ""
        last = (stderr.strip().splitlines() or [""])[-1]
        return {
            "check": self.check.name,
            "command": " ".join(self.cmd[1:]),
            "ok": ok,
            "exit": self.process.returncode,
            "seconds": round(seconds, 1),
            "numbers": numbers or last[:300],
            "metrics": metrics,
        }


def run_together(checks: list[Check], folder: Path, store: Path) -> list[dict[str, Any]]:
    """Runs ``checks`` at once (each job into its own folder under ``folder``); their rows."""
    running = [Running(c, folder / c.folder(), store) for c in checks]
    rows = [r.row() for r in running]
    for row in rows:
        print(f"{row['check']}: {'ok' if row['ok'] else 'FAILED'}", flush=True)
    return rows


def compared(rows: list[dict[str, Any]], tolerance: int) -> dict[str, Any]:
    """The per-mode jobs of ``rows`` compared: each mode's rows on the CPU and the GPU side
    by side (those beyond ``tolerance`` samples), and the modes merged on the GPU."""
    by = {d: {} for d in ("cpu", "gpu")}
    for row in rows:
        device, _, mode = row["check"].partition(" attack=")
        if mode and row["metrics"] and device in ("trainer=cpu", "trainer=gpu"):
            by[device.removeprefix("trainer=")][mode] = row["metrics"]
    sides = {
        m: gpu_rows.side_by_side(by["cpu"][m], by["gpu"][m])
        for m in by["cpu"].keys() & by["gpu"].keys()
    }
    return {
        "sides": dict(sorted(sides.items())),
        "beyond": {
            m: gpu_rows.beyond(s, tolerance)
            for m, s in sides.items()
            if gpu_rows.beyond(s, tolerance)
        },
        "merged": gpu_rows.merged_modes(by["cpu"], by["gpu"]),
        "missing": sorted(set(GRADIENT_MODES) - (by["cpu"].keys() & by["gpu"].keys())),
        "tolerance": tolerance,
    }


def passed(rows: list[dict[str, Any]], comparison: dict[str, Any]) -> bool:
    """Whether every check passed, every mode ran on both devices within the tolerance, and
    no two modes were merged on the GPU."""
    return (
        all(r["ok"] for r in rows)
        and not comparison["beyond"]
        and not comparison["merged"]
        and not comparison["missing"]
    )


def report(rows: list[dict[str, Any]], device: str, comparison: dict[str, Any]) -> str:
    """The markdown report of ``rows`` and the CPU/GPU ``comparison``, measured on ``device``."""
    lines = [
        "# GPU check",
        "",
        f"Device: {device}; torch {torch.__version__}, CUDA {torch.version.cuda}.",
        f"Result: {'passed' if passed(rows, comparison) else 'FAILED'}.",
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
    tolerance = comparison["tolerance"]
    lines += [
        "",
        f"## CPU and GPU, the same model (samples still right; tolerance {tolerance} per row)",
        "",
        "| mode | row | CPU | GPU | apart | ok |",
        "|---|---|---|---|---|---|",
    ]
    for mode, sides in comparison["sides"].items():
        for s in sides:
            ok = "yes" if s.apart <= tolerance else "NO"
            lines.append(f"| {mode} | {s.row} | {s.cpu} | {s.gpu} | {s.apart} | {ok} |")
    merged = ", ".join(f"{a} = {b}" for a, b in comparison["merged"]) or "none"
    lines += ["", f"Modes that differ on the CPU but give identical rows on the GPU: {merged}."]
    if comparison["missing"]:
        lines.append(f"Modes without both jobs' rows: {', '.join(comparison['missing'])}.")
    lines += ["", "Commands:", ""] + [f"- `{r['command']}`" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(prog="python -m tools.gpu_check", description=__doc__)
    parser.add_argument("--out", default="gpu_check.md", help="the markdown report's path")
    parser.add_argument(
        "--tolerance", type=int, default=TOLERANCE, help="samples a row's CPU and GPU may differ"
    )
    parser.add_argument(
        "--workers", type=int, default=WORKERS, help="pytest-xdist processes for the suite"
    )
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        refuse(
            UserError(
                "gpu_check: no CUDA device on this machine (torch.cuda.is_available() is "
                "False); accepted: a machine with an NVIDIA GPU and a CUDA build of torch"
            )
        )
    device, out = torch.cuda.get_device_name(0), Path(args.out)
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as folder:
        root, store = Path(folder), Path(folder) / "models"
        first, *modes = [mode_check(m, d) for m in GRADIENT_MODES for d in ("cpu", "gpu")]
        # one at a time but the modes' jobs (the first trains the model they all attack)
        phases = [[c] for c in suite_checks(root, args.workers)] + [[first], modes]
        rows: list[dict[str, Any]] = []
        for phase in phases + [[c] for c in other_checks()]:
            rows += run_together(phase, root, store)
            comparison = compared(rows, args.tolerance)
            out.write_text(report(rows, device, comparison))  # a report so far, if stopped
    print(f"wrote {out}")
    if not passed(rows, comparison):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
