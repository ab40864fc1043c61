"""Float32 on GPUs as on the CPU, and the same numbers twice: the config's ``tf32`` and
``deterministic``.

On Ampere and later GPUs cuDNN runs float32 convolutions in TF32 (a 10-bit mantissa) unless
told otherwise: a membrane potential near the threshold may then spike where float32 would not,
and the numbers of a GPU job would differ from the CPU's by more than rounding. A job sets
both of torch's TF32 flags (matmuls and cuDNN) from ``tf32``. The CPU computes in float32
whatever ``tf32`` says: a process's own reduced precision for oneDNN (``bf16``, which a CPU
with bfloat16 units runs convolutions and matmuls in) is set aside for the job as TF32 is.
From PyTorch 2.9 torch also has per-operation settings (``torch.backends.fp32_precision``,
``torch.backends.cuda.matmul.fp32_precision``, ``torch.backends.cudnn.conv.fp32_precision``,
...), which a process may have set instead of the two flags; the legacy flags then no longer
say what holds: reading one raises where the two APIs disagree (PyTorch's "mix of the legacy
and new APIs"), and setting cuDNN's to false leaves a convolution's own setting to its
parent's, TF32 if the user's global setting says so. :func:`set_tf32` therefore sets both
APIs, each operation's setting explicitly, and :func:`held` puts back what each read before.

On a GPU, some kernels sum in an order that changes from run to run (atomic adds in a
convolution's backward, cuBLAS's split reductions, the algorithm cuDNN's benchmarking picks),
so two seeded runs, or a killed training resumed against an uninterrupted one, give other
weights. ``deterministic=true`` (the default) turns those off; ``false`` trades it for speed.
Records say which of both held (``tf32``, ``deterministic`` in ``metrics.json`` and in a
training record).

Compiled (``compile=true``), random ops draw as eager ones do (:data:`COMPILE_OPTIONS`):
inductor's own generator would give a Poisson encoding, or a random defence, other draws under
one seed.

A job sets both for its process; ``snnattack.evaluate`` and ``snnattack.attack`` hold them for
the call only (:func:`held`), so that an attack inside a user's own loop crafts what a job
would, and the user's code around it keeps the flags it chose. They seed as a job does, and
the random generators are the user's again after the call: a training loop that attacks
each batch draws the dropout masks and the shuffles it would draw without the attacks.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy
import torch

# inductor's options of every torch.compile of the package: random ops from torch's generator
COMPILE_OPTIONS = {"fallback_random": True}
# cuBLAS's fixed workspace that makes its results reproducible (CUDA's reproducibility notes);
# cuBLAS reads the variable when the process makes its first handle (its first GPU matmul)
CUBLAS_WORKSPACE = ("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
# the variables by which Lightning's seed_everything hands its seed on to later Trainers
SEED_VARIABLES = ("PL_GLOBAL_SEED", "PL_SEED_WORKERS")
# what can change torch's answer to "is CUDA available" before CUDA starts: the GPUs shown
# to the process, and the way torch counts them (NVML's count, which importing Lightning
# switches on, or the CUDA runtime's)
CUDA_VARIABLES = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "PYTORCH_NVML_BASED_CUDA_CHECK")
# the last answer of torch.cuda.is_available, by the function asked and the variables above
_CUDA: dict[tuple[object, ...], bool] = {}


# torch's per-operation fp32 precision settings (PyTorch 2.9 and later) by backend and
# operation, each parent before its children: the global one, CUDA's and its cuBLAS matmuls,
# cuDNN convolutions and RNNs, oneDNN's and its matmuls (which
# torch.set_float32_matmul_precision sets too), convolutions and RNNs; read and set by pair,
# as torch.backends.mkldnn.fp32_precision sets the global one (torch 2.11)
OPS = ("matmul", "conv", "rnn")  # the operations each backend sets apart
PRECISIONS = (("generic", "all"), *((b, op) for b in ("cuda", "mkldnn") for op in ("all", *OPS)))
# two values each backend's settings take, to tell a setting left to its parent apart
TRIED = {"generic": ("ieee", "tf32"), "cuda": ("ieee", "tf32"), "mkldnn": ("ieee", "bf16")}


def _precision_settings() -> tuple[tuple[str, str], ...]:
    """The (backend, operation) pairs of :data:`PRECISIONS` where this torch has them (none
    before PyTorch 2.9)."""
    return PRECISIONS if hasattr(torch._C, "_get_fp32_precision_getter") else ()


def _precision(pair: tuple[str, str]) -> str:
    """The per-operation setting ``pair`` as it resolves (its parent's where it has none)."""
    return torch._C._get_fp32_precision_getter(*pair)


def _set_precision(pair: tuple[str, str], value: str) -> None:
    """Sets the per-operation setting ``pair`` to ``value`` (``none``: left to its parent)."""
    torch._C._set_fp32_precision_setter(*pair, value)


def _parent(pair: tuple[str, str]) -> tuple[str, str]:
    """The setting that ``pair`` reads where it has none of its own."""
    backend, op = pair
    return (backend, "all") if op != "all" else ("generic", "all")


def _own_precisions() -> tuple[str, ...]:
    """Each per-operation setting as it was set (:func:`_precision_settings`' order):
    ``none`` where it is left to its parent, which torch reads back as the parent's value and
    whose later change must still reach it. Told apart by setting the parent to another value
    for a moment: a setting that follows it is left to it."""
    own: dict[tuple[str, str], str] = {}
    for pair in _precision_settings():
        value = _precision(pair)
        if pair == ("generic", "all"):
            own[pair] = value
            continue
        parent = _parent(pair)
        other = next(v for v in TRIED[pair[0]] if v != value)
        _set_precision(parent, other)
        own[pair] = "none" if _precision(pair) == other else value
        _set_precision(parent, own[parent])
    return tuple(own.values())


def _ops(backend: str) -> tuple[tuple[str, str], ...]:
    """The per-operation settings of ``backend``'s matmuls, convolutions and RNNs: CUDA's,
    which TF32 may run, or oneDNN's on the CPU, which a process may have set to ``bf16``."""
    return tuple((backend, op) for op in OPS)


def _legacy(read: Callable[[], object], default: object) -> object:
    """``read()``, a legacy TF32 setting, or where torch refuses to read it (the process set
    the per-operation settings to a state the legacy one cannot express) torch's ``default``:
    the legacy setting a process holds that set only the per-operation ones."""
    try:
        return read()
    except RuntimeError:
        return default


def _tf32_settings() -> dict[str, object]:
    """torch's TF32 settings as they read now: the legacy matmul precision and cuDNN flag
    (:func:`_legacy`) and each per-operation setting as it resolves."""
    return {
        "matmul_precision": _legacy(torch.get_float32_matmul_precision, "highest"),
        "cudnn_tf32": _legacy(lambda: torch.backends.cudnn.allow_tf32, True),
        "precisions": _own_precisions(),
    }


def _set_tf32_settings(settings: dict[str, object]) -> None:
    """torch's TF32 settings put back as :func:`_tf32_settings` read them: the legacy ones
    first (each also sets the per-operation settings below it), then each per-operation
    setting, parents first, as it was set (:func:`_own_precisions`: one left to its parent
    left to it again). A mix of both APIs is put back as it was."""
    torch.set_float32_matmul_precision(settings["matmul_precision"])
    torch.backends.cudnn.allow_tf32 = settings["cudnn_tf32"]
    for pair, value in zip(_precision_settings(), settings["precisions"], strict=True):
        _set_precision(pair, value)


def _flags() -> dict[str, object]:
    """Every torch flag that :func:`set_tf32` and :func:`set_determinism` set, by name."""
    return {
        "tf32": _tf32_settings(),
        "algorithms": torch.are_deterministic_algorithms_enabled(),
        "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "fill": torch.utils.deterministic.fill_uninitialized_memory,
        "benchmark": torch.backends.cudnn.benchmark,
    }


def _set(flags: dict[str, object]) -> None:
    """Sets the torch flags of :func:`_flags` to ``flags``."""
    _set_tf32_settings(flags["tf32"])
    _set_kernel_flags(flags)


def _set_kernel_flags(flags: dict[str, object]) -> None:
    """Sets the flags of :func:`_flags` that choose the kernels (all but ``tf32``)."""
    torch.use_deterministic_algorithms(flags["algorithms"], warn_only=flags["warn_only"])
    torch.utils.deterministic.fill_uninitialized_memory = flags["fill"]
    torch.backends.cudnn.benchmark = flags["benchmark"]


def set_tf32(allowed: bool) -> None:
    """Allows (or forbids) TF32 in this process's CUDA float32 matmuls and convolutions,
    through both of torch's APIs, so that either reads it back and neither refuses to: the
    legacy matmul precision (``high`` or ``highest``) and cuDNN flag, then (PyTorch 2.9 and
    later) cuBLAS's, cuDNN's convolutions' and RNNs' own settings (``tf32`` or ``ieee``), which
    a user's global setting no longer overrides, and oneDNN's CPU matmuls, convolutions and
    RNNs in float32 (``ieee``) whatever a process set (a global ``bf16``; a matmul left at
    ``bf16`` also makes torch refuse to read the legacy precision, which Lightning reads on a
    GPU)."""
    torch.set_float32_matmul_precision("high" if allowed else "highest")
    torch.backends.cudnn.allow_tf32 = allowed
    if _precision_settings():
        for pair in _ops("cuda"):
            _set_precision(pair, "tf32" if allowed else "ieee")
        for pair in _ops("mkldnn"):
            _set_precision(pair, "ieee")


def tf32_allowed() -> bool:
    """Whether this process's CUDA float32 matmuls or convolutions may run in TF32: their
    per-operation settings as they resolve (PyTorch 2.9 and later), else the legacy flags."""
    if _precision_settings():
        return any(_precision(pair) == "tf32" for pair in _ops("cuda"))
    return bool(torch.backends.cuda.matmul.allow_tf32 or torch.backends.cudnn.allow_tf32)


def set_determinism(on: bool) -> None:
    """Deterministic kernels in this process (``on``), or the fastest ones.

    On: PyTorch's deterministic algorithms, cuBLAS's fixed workspace (set before the first
    GPU matmul; a value the environment already holds is kept) and no cuDNN benchmarking
    (which may pick another algorithm in each run). ``warn_only``: an op with no deterministic
    CUDA implementation (the event budget's ``cumsum`` of a retiming, the backward of an
    ``AdaptiveAvgPool2d`` in a foreign network, ...) warns and runs as it is instead of failing
    the job; everything else is deterministic. Off: nondeterministic kernels and cuDNN's
    benchmarking allowed (the Lightning Trainer keeps either: :func:`lightning_deterministic`).
    PyTorch's NaN fill of every new uninitialised tensor is a debugging aid, not part of
    determinism (the kernels write all they return): it doubled the cost of a CPU LIF step, so
    it stays off.
    """
    if on:
        os.environ.setdefault(*CUBLAS_WORKSPACE)
    _set_kernel_flags({"algorithms": on, "warn_only": True, "fill": False, "benchmark": not on})


@contextmanager
def held(tf32: bool, on: bool) -> Iterator[None]:
    """TF32 allowed as ``tf32`` says and deterministic kernels as ``on`` says (:func:`set_tf32`,
    :func:`set_determinism`) within the block, the process's own flags and random generators
    (:func:`kept_generators`) again after it, and the environment's cuBLAS workspace variable
    as it was (it matters only to deterministic kernels, which are the process's own again)."""
    saved, workspace = _flags(), os.environ.get(CUBLAS_WORKSPACE[0])
    set_tf32(tf32)
    set_determinism(on)
    try:
        with kept_generators():
            yield
    finally:
        _set(saved)
        if workspace is None:
            os.environ.pop(CUBLAS_WORKSPACE[0], None)
        else:
            os.environ[CUBLAS_WORKSPACE[0]] = workspace


@contextmanager
def kept_generators() -> Iterator[None]:
    """torch's generators (the CPU's, each CUDA device's, the MPS one's), Python's and
    NumPy's, and Lightning's seed variables, after the block as they were before it, whatever
    it seeded. Where CUDA had not started before the block, its generators are seeded after
    it (or at its later start) as they would have been: with the CPU's seed, which
    ``torch.manual_seed`` queues for CUDA, not a seed the block queued."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    mps = torch.mps.get_rng_state() if torch.backends.mps.is_available() else None
    seed = torch.initial_seed()
    saved = torch.get_rng_state(), random.getstate(), numpy.random.get_state()
    variables = {name: os.environ.get(name) for name in SEED_VARIABLES}
    try:
        yield
    finally:
        torch.set_rng_state(saved[0])
        random.setstate(saved[1])
        numpy.random.set_state(saved[2])
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)
        elif cuda_available():  # started within, or a seed queued for its start
            torch.cuda.manual_seed_all(seed)
        if mps is not None:
            torch.mps.set_rng_state(mps)
        for name, value in variables.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def deterministic() -> bool:
    """Whether this process runs deterministic kernels only (:func:`set_determinism`)."""
    return torch.are_deterministic_algorithms_enabled()


def lightning_deterministic() -> str | bool:
    """The Lightning Trainer's ``deterministic`` argument that keeps this process's setting
    (a Trainer sets torch's flags from it when it is made)."""
    return "warn" if deterministic() else False


def manual_seed(seed: int) -> None:
    """``torch.manual_seed(seed)``: the CPU's generator and those of each accelerator this
    machine has (CUDA, MPS, XPU), without queueing seeds for accelerators it has not: that
    records the caller's stack at each call (~0.2 ms, which an attack seeding each batch pays)."""
    torch.random.default_generator.manual_seed(seed)
    if cuda_available():
        torch.cuda.manual_seed_all(seed)
    if torch.backends.mps.is_available():
        torch.mps.manual_seed(seed)
    if torch.xpu.is_available():
        torch.xpu.manual_seed_all(seed)


def cuda_available() -> bool:
    """``torch.cuda.is_available()``, asked once while the answer cannot change: an attack
    seeds and keeps the generators at every call (:func:`manual_seed`,
    :func:`kept_generators`), and before CUDA starts torch asks the driver each time (where
    Lightning is imported, NVML: a library loaded at each ask, about 40 µs on a CPU-only
    machine, a repeated ``snnattack.attack``'s fixed cost). Asked again where the GPUs shown
    to the process or torch's way of counting them changed (:data:`CUDA_VARIABLES`, read at
    each call: before CUDA starts they change the count) or ``torch.cuda.is_available`` is
    another function (a test's stand-in). A plain dict, not ``functools.lru_cache``, as the
    package's other memos (:data:`snnattack.cuda.guard.GPUS`)."""
    ask = torch.cuda.is_available
    key = (ask, *(os.environ.get(name) for name in CUDA_VARIABLES))
    if key not in _CUDA:
        _CUDA.clear()  # one answer kept: the process's current one
        _CUDA[key] = ask()
    return _CUDA[key]
