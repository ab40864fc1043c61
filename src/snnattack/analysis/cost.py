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

Each step is timed right after its memory run, so its timed run finds the memory the step
itself took, as in a job that repeats it (with ``malloc=reuse``, no page faults), not what
the trim left.

Once more, each step runs under :class:`DenseTime`, which adds up the time of its
convolutions and matrix products: work that no neuron implementation, allocator or fusion
changes, so a floor under the step's time. ``dense_vs_forward`` is that floor as a ratio to
the forward, the least ``time_vs_forward`` could be on this machine.
"""

from __future__ import annotations

import ctypes
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from snnattack.analysis.base import note, register
from snnattack.data import first_samples
from snnattack.gradients import GRADIENT_MODES, gradient_mode
from snnattack.gradients.base import temporarily
from snnattack.snn.backend import backend_modules
from snnattack.snn.neurons import LIF
from snnattack.training.adversaries.recipe import Adversary

MB = 2**20


class PeakMemory:
    """Peak memory (bytes) of a block above the memory in use when it starts."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.libc: ctypes.CDLL | None = None  # glibc, on Linux with a resettable high-water mark
        with suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")
            self.libc = ctypes.CDLL("libc.so.6")

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


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _timed(fn: Callable[[], object], device: torch.device, clock: str = "wall") -> float:
    """Seconds ``fn`` takes on ``clock``: ``wall``, or ``cpu`` (this process's CPU time, all
    threads summed: steadier than wall time on a machine shared with other jobs)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    now = CLOCKS[clock]
    start = now()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return now() - start


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


@contextmanager
def neuron_impl(model: nn.Module, impl: str | None) -> Iterator[None]:
    """Within the block every LIF of ``model`` runs ``impl`` (``None``: as it is)."""
    lifs = [m for m in model.modules() if isinstance(m, LIF)] if impl is not None else []
    with temporarily(lifs, "impl", [impl] * len(lifs)):
        yield


def attack_step(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, mode: str, impl: str | None = None
) -> torch.Tensor:
    """One attack gradient: the loss gradient w.r.t. the input under ``mode``."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad(), gradient_mode(model, mode), neuron_impl(model, impl):
        loss = F.cross_entropy(model(x), y)
        return torch.autograd.grad(loss, x)[0]


def train_step(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    impl: str | None = None,
    adversary: Adversary | None = None,
) -> list[torch.Tensor]:
    """One training gradient (STBP): forward in train mode, backward to every parameter; with
    an ``adversary``, on the examples it crafts (in eval mode) with its loss.

    BatchNorm normalises with the batch's statistics but keeps its running ones (momentum 0),
    so repeated steps measure the same model.
    """
    adv = None if adversary is None else adversary.craft(model, x, y)
    params = list(model.parameters())
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    model.train()
    try:
        with (
            torch.enable_grad(),
            neuron_impl(model, impl),
            temporarily(bns, "momentum", [0.0] * len(bns)),
            temporarily(params, "requires_grad", [True] * len(params)),
        ):
            if adversary is None:
                loss = F.cross_entropy(model(x), y)
            else:
                loss, _ = adversary.loss(model, x, adv, y)
            return list(torch.autograd.grad(loss, params))
    finally:
        model.eval()


aten = torch.ops.aten
DENSE_OPS = frozenset(
    (aten.convolution, aten.convolution_backward, aten.mm, aten.addmm, aten.bmm, aten.baddbmm)
)  # what convolutions and linear layers run, forward and backward


class DenseTime(TorchDispatchMode):
    """Within the block, adds up the time (``seconds``, on ``clock``) and counts the calls
    (``calls``, per op) of the convolutions and matrix products (:data:`DENSE_OPS`).

    Each op is timed whole, with whatever copies it makes of its arguments; an op one of
    them calls is not seen again, so nothing is counted twice. On CUDA each is timed between
    two synchronisations.
    """

    def __init__(self, device: torch.device, clock: str = "wall") -> None:
        super().__init__()
        self.device, self.clock = device, clock
        self.seconds = 0.0
        self.calls: Counter[str] = Counter()

    def __torch_dispatch__(
        self,
        func: torch._ops.OpOverload,
        types: tuple[type, ...],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        def call() -> Any:
            return func(*args, **(kwargs or {}))

        if func.overloadpacket not in DENSE_OPS:
            return call()
        out: list[Any] = []
        self.seconds += _timed(lambda: out.append(call()), self.device, self.clock)
        self.calls[str(func.overloadpacket)] += 1
        return out[0]


def dense_seconds(fn: Callable[[], object], device: torch.device, clock: str = "wall") -> float:
    """Seconds one run of ``fn`` spends in convolutions and matrix products (:class:`DenseTime`)."""
    with DenseTime(device, clock) as dense:
        fn()
    return dense.seconds


def measure_cost(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    modes: Iterable[str] | None = None,
    repeats: int = 5,
    impls: Iterable[str] | None = None,
    train: bool = False,
    clock: str = "wall",
    floor: bool = True,
    backends: Iterable[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Median time (s) and peak memory (MB) of a forward and of each mode's attack step.

    ``model`` must be in eval mode on ``x``'s device. Each entry also holds its ratios to
    the forward and to ``stbp`` (when measured); a mode that cannot run on this model is
    reported with its ``error`` instead. ``impls``: measure each step with each neuron
    implementation (named ``mode[impl]``, :class:`snnattack.snn.neurons.LIF`); ``train``: add
    the training step (``train``, :func:`train_step`); ``clock``: ``wall`` or ``cpu`` time
    (:data:`CLOCKS`); ``floor``: run each step once more to time its convolutions and matrix
    products (``dense_seconds``, :func:`dense_seconds`); ``backends``: measure each step with
    the model on each of these backends (:mod:`snnattack.snn.backend`), the first named as
    without, the others with ``[backend]`` appended (``stbp[fused][torch]``).
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

    steps: dict[str, Callable[[], object]] = {}
    errors: dict[str, str] = {}
    backends = [None] if backends is None else list(backends)
    on = {}  # each step's backend suffix: its forward is the one its ratios are taken to
    for backend in backends:
        on_backend = "" if backend == backends[0] else f"[{backend}]"
        steps["forward" + on_backend] = _on(model, backend, forward)
        on["forward" + on_backend] = on_backend
        for impl in [None] if impls is None else list(impls):
            suffix = ("" if impl is None else f"[{impl}]") + on_backend
            candidates = {
                mode + suffix: lambda mode=mode, impl=impl: attack_step(model, x, y, mode, impl)
                for mode in modes
            }
            if train:
                candidates["train" + suffix] = lambda impl=impl: train_step(model, x, y, impl)
            for name, step in candidates.items():
                fn = _on(model, backend, step)
                try:
                    fn()  # warm-up, and a check that the step runs here
                    steps[name], on[name] = fn, on_backend
                except (ValueError, RuntimeError, TypeError) as err:
                    errors[name] = f"{type(err).__name__}: {str(err).splitlines()[0]}"
    steps["forward"]()
    times: dict[str, list[float]] = {name: [] for name in steps}
    peaks: dict[str, list[float | None]] = {name: [] for name in steps}
    try:
        for _ in range(repeats):
            for name, fn in steps.items():  # memory, then time: the module docstring says why
                peaks[name].append(memory.measure(fn))
                times[name].append(_timed(fn, device, clock))
        dense = (
            {name: dense_seconds(fn, device, clock) for name, fn in steps.items()} if floor else {}
        )
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
        if name in dense:
            out[name]["dense_seconds"] = dense[name]
            forward_seconds = out["forward" + on[name]]["seconds"]
            out[name]["dense_vs_forward"] = _ratio(dense[name], forward_seconds)
    for name, entry in out.items():
        for ref in ("forward", "stbp"):
            base = out.get(ref + on[name])
            entry[f"time_vs_{ref}"] = _ratio(entry["seconds"], base and base["seconds"])
            entry[f"memory_vs_{ref}"] = _ratio(entry["peak_mb"], base and base["peak_mb"])
    out.update({mode: {"error": msg} for mode, msg in errors.items()})
    return out


def _on(model: nn.Module, backend: str | None, step: Callable[[], object]) -> Callable[[], object]:
    """``step`` with ``model`` on ``backend`` (None: as it is), restored after."""
    modules = backend_modules(model) if backend is not None else []

    def run() -> object:
        with temporarily(modules, "backend", [backend] * len(modules)):
            return step()

    return run


def _ratio(value: float | None, base: float | None) -> float | None:
    return value / base if value is not None and base else None


def measure_training_cost(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    adversaries: dict[str, Adversary],
    repeats: int = 5,
    clock: str = "wall",
) -> dict[str, dict[str, Any]]:
    """Median time (s) of a standard training step and of each adversary's (crafting, then
    the parameters' gradient: :func:`train_step`), interleaved as :func:`measure_cost` does.

    Each entry holds its ratio to the standard step (``time_vs_standard``); an adversary whose
    gradient mode cannot run on this model is reported with its ``error``.
    """
    steps: dict[str, Callable[[], object]] = {"standard": lambda: train_step(model, x, y)}
    errors: dict[str, str] = {}
    for name, adversary in adversaries.items():
        try:
            train_step(model, x, y, adversary=adversary)  # warm-up, and a check that it runs
            steps[name] = lambda a=adversary: train_step(model, x, y, adversary=a)
        except (ValueError, RuntimeError, TypeError) as err:
            errors[name] = f"{type(err).__name__}: {str(err).splitlines()[0]}"
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            times[name].append(_timed(fn, x.device, clock))
    standard = statistics.median(times["standard"])
    out: dict[str, dict[str, Any]] = {
        name: {"seconds": statistics.median(t), "time_vs_standard": statistics.median(t) / standard}
        for name, t in times.items()
    }
    out.update({name: {"error": msg} for name, msg in errors.items()})
    return out


@register("cost", order=30)
def run(
    opts: Mapping[str, Any],
    model: nn.Module,
    dm: L.LightningDataModule,
    device: torch.device,
) -> dict[str, Any]:
    """``analysis=[cost]``: :func:`measure_cost` on the first ``batch_size`` test images, or
    on the whole test split where it holds fewer, which a note says (as the masking checks
    say they probe fewer than ``checks.masking.probe_size``): the record's ``batch_size``
    alone did not tell that the setting was not used."""
    x, y = first_samples(dm.test_dataloader(), opts["batch_size"], device)
    if len(y) < opts["batch_size"]:
        note(
            f"the cost analysis measures a batch of the {len(y)} test images, fewer than "
            f"analysis.cost.batch_size={opts['batch_size']}"
        )
    return {
        "batch_size": len(y),
        "repeats": opts["repeats"],
        "device": str(device),
        "threads": torch.get_num_threads(),
        "modes": measure_cost(model, x, y, repeats=opts["repeats"]),
    }
