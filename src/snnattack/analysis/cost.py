"""Cost of an attack step per gradient mode (RGA Table S2): median time and peak memory; and
of an adversarial training step per gradient mode of its adversary (:func:`measure_training_cost`).

One process, interleaved: every repetition runs a plain forward (no autograd) and then one
attack gradient step per gradient mode (forward + backward to the *input* only, parameters
frozen, as in an attack), so drifts of the machine hit every mode alike. Times are medians.

Peak memory is the step's peak *above* the memory in use when it starts:
- CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``.
- CPU: the resident-set high-water mark of this process (``VmHWM``), reset before each step
  by writing ``5`` to ``/proc/self/clear_refs``, after ``malloc_trim(0)`` has handed freed
  heap memory back to the system (so a step cannot hide in memory an earlier step freed).
  Linux only; elsewhere memory is reported as ``None``.
"""

from __future__ import annotations

import ctypes
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from snnattack.gradients import GRADIENT_MODES, gradient_mode
from snnattack.training.adversary import Adversary

MB = 2**20


class PeakMemory:
    """Peak memory (bytes) of a block above the memory in use when it starts."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.libc = _libc()

    def available(self) -> bool:
        return self.device.type == "cuda" or self.libc is not None

    def measure(self, fn: Callable[[], object]) -> float | None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            base = torch.cuda.memory_allocated(self.device)
            fn()
            torch.cuda.synchronize(self.device)
            return float(torch.cuda.max_memory_allocated(self.device) - base)
        if self.libc is None:
            fn()
            return None
        self.libc.malloc_trim(0)
        Path("/proc/self/clear_refs").write_text("5")
        base = _status_kb("VmRSS")
        fn()
        return float((_status_kb("VmHWM") - base) * 1024)


def _libc() -> ctypes.CDLL | None:
    """glibc, when this is Linux with a resettable high-water mark; else None."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _timed(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def calibrate_batchnorm(model: nn.Module, x: torch.Tensor) -> None:
    """Sets every BatchNorm's running statistics to those of ``x`` (for untrained models).

    An untrained network in eval mode has initial BN statistics and emits no spikes, which
    would make every backward trivially cheap; one train-mode pass over ``x`` fixes that.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: exactly this batch's statistics
    model.train()
    with torch.no_grad():
        model(x)
    model.eval()
    for m, momentum in zip(bns, saved, strict=True):
        m.momentum = momentum


def attack_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, mode: str) -> torch.Tensor:
    """One attack gradient: the loss gradient w.r.t. the input under ``mode``."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad(), gradient_mode(model, mode):
        loss = F.cross_entropy(model(x), y)
        return torch.autograd.grad(loss, x)[0]


def measure_cost(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    modes: Iterable[str] | None = None,
    repeats: int = 5,
) -> dict[str, dict[str, Any]]:
    """Median time (s) and peak memory (MB) of a forward and of each mode's attack step.

    ``model`` must be in eval mode on ``x``'s device. Each entry also holds its ratios to
    the forward and to ``stbp`` (when measured); a mode that cannot run on this model is
    reported with its ``error`` instead.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    device = x.device
    modes = list(GRADIENT_MODES if modes is None else modes)
    memory = PeakMemory(device)
    frozen = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in frozen:
        p.requires_grad_(False)

    def forward() -> None:
        with torch.no_grad():
            model(x)

    steps: dict[str, Callable[[], object]] = {"forward": forward}
    errors: dict[str, str] = {}
    for mode in modes:
        try:
            attack_step(model, x, y, mode)  # warm-up, and a check that the mode runs here
            steps[mode] = lambda mode=mode: attack_step(model, x, y, mode)
        except (ValueError, RuntimeError, TypeError) as err:
            errors[mode] = f"{type(err).__name__}: {str(err).splitlines()[0]}"
    forward()
    times: dict[str, list[float]] = {name: [] for name in steps}
    peaks: dict[str, list[float | None]] = {name: [] for name in steps}
    try:
        for _ in range(repeats):
            for name, fn in steps.items():
                times[name].append(_timed(fn, device))
                peaks[name].append(memory.measure(fn))
    finally:
        for p, flag in frozen:
            p.requires_grad_(flag)
    out: dict[str, dict[str, Any]] = {}
    for name in steps:
        known = [p for p in peaks[name] if p is not None]
        out[name] = {
            "seconds": statistics.median(times[name]),
            "peak_mb": statistics.median(known) / MB if known else None,
        }
    for entry in out.values():
        for ref in ("forward", "stbp"):
            base = out.get(ref)
            entry[f"time_vs_{ref}"] = _ratio(entry["seconds"], base and base["seconds"])
            entry[f"memory_vs_{ref}"] = _ratio(entry["peak_mb"], base and base["peak_mb"])
    out.update({mode: {"error": msg} for mode, msg in errors.items()})
    return out


def _ratio(value: float | None, base: float | None) -> float | None:
    return value / base if value is not None and base else None


def training_step(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, adversary: Adversary | None
) -> None:
    """One training step's gradient work without the optimiser's update: the adversary's
    examples (crafted in eval mode), then the loss's backward to the parameters."""
    model.train()
    if adversary is None:
        loss = F.cross_entropy(model(x), y)
    else:
        loss, _ = adversary.loss(model, x, adversary.craft(model, x, y), y)
    loss.backward()
    model.zero_grad(set_to_none=True)
    model.eval()


def measure_training_cost(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    adversaries: dict[str, Adversary],
    repeats: int = 5,
) -> dict[str, dict[str, Any]]:
    """Median time (s) of a standard training step and of each adversary's, interleaved.

    Each entry holds its ratio to the standard step (``time_vs_standard``); an adversary whose
    gradient mode cannot run on this model is reported with its ``error``. BatchNorm's running
    statistics move towards ``x``'s in the training passes (calibrate them on ``x`` first, and
    they stay put).
    """
    steps: dict[str, Callable[[], object]] = {"standard": lambda: training_step(model, x, y, None)}
    errors: dict[str, str] = {}
    for name, adversary in adversaries.items():
        try:
            training_step(model, x, y, adversary)  # warm-up, and a check that it runs here
            steps[name] = lambda a=adversary: training_step(model, x, y, a)
        except (ValueError, RuntimeError, TypeError) as err:
            errors[name] = f"{type(err).__name__}: {str(err).splitlines()[0]}"
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            times[name].append(_timed(fn, x.device))
    out: dict[str, dict[str, Any]] = {}
    for name in steps:
        seconds = statistics.median(times[name])
        out[name] = {
            "seconds": seconds,
            "time_vs_standard": seconds / statistics.median(times["standard"]),
        }
    out.update({name: {"error": msg} for name, msg in errors.items()})
    return out
