"""The fused LIF's T loops and RGA's rate slope (``lif.c``) and tiled average pooling
(``pool.c``) as compiled C kernels, built on first use.

The torch ops of :mod:`snnattack.snn.multistep` pass over a layer's ``[B, ...]`` step tensor
about four times per step forward and ten times backward; the kernel takes each block of
elements through all T steps with its membrane (or ``dL/du``) in the L1 cache, so it reads
each input and writes each output once. It computes the same floating-point operations in
the same order, so the spikes and gradients are the same bit for bit
(``tests/unit/cpu/test_native.py``); only the time changes (``docs/performance.md``).

The library is compiled with the system's C compiler (``$CC``, else ``cc``) into the user's
cache folder (``$XDG_CACHE_HOME/snnattack``, else ``~/.cache/snnattack``), once per source,
compiler and machine architecture; processes that start together (DDP ranks, joblib
workers) build it under a file lock. The library's SHA-256 is recorded beside it when it is
built (``lif-<key>.so.sha256``); a cached library whose bytes no longer match (truncated,
replaced) is rebuilt before it is loaded, so no other code in the cache folder runs, and one
that still lacks a kernel's symbol leaves the torch ops running, with a warning. The kernels
run where the CPU paths apply (:func:`snnattack.cpu.guard.applies`: a network of the backend
``c``) and :func:`usable`; where no compiler works, or with the backend ``torch``, the torch
ops run instead, with the same results.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import math
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import torch
from filelock import FileLock

log = logging.getLogger(__name__)

SOURCES = tuple(Path(__file__).with_name(name) for name in ("lif.c", "pool.c"))
FLAGS = ("-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-trapping-math", "-shared", "-fPIC")
BLOCK = 256  # elements per block, as in lif.c: threads split a layer at multiples of it
PER_THREAD = 64 * BLOCK  # the fewest elements per step worth a thread of their own
C_TYPES = {torch.float32: ctypes.c_float, torch.float64: ctypes.c_double}
SUFFIX = {torch.float32: "f32", torch.float64: "f64"}
PASSES = ("forward", "backward")
KERNEL_SURROGATES = ("triangle", "rectangle", "atan", "fast_sigmoid", "sigmoid")  # lif.c's


def cache_folder() -> Path:
    """Where the compiled library is kept (``RuntimeError`` where the user has no home
    folder and ``$XDG_CACHE_HOME`` is unset: a container's user without a passwd entry)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "snnattack"


def c_compiler() -> tuple[str, ...] | None:
    """The command the kernel is compiled with (``$CC``, which may carry arguments, as
    ``ccache gcc`` does; else, or blank, ``cc``), its program as a path; None if there is no
    such program or ``$CC`` does not parse (an unclosed quote), with a warning."""
    try:
        words = shlex.split(os.environ.get("CC", "")) or ["cc"]
    except ValueError as err:
        log.warning(
            "$CC=%r does not parse (%s): the fused LIF runs on torch ops", os.environ["CC"], err
        )
        return None
    program = shutil.which(words[0])
    return None if program is None else (program, *words[1:])


@cache
def built() -> ctypes.CDLL | None:
    """The compiled kernel, built on the first call; None where it cannot be."""
    compiler = c_compiler()
    if compiler is None:
        log.info("no C compiler found: the fused LIF runs on torch ops")
        return None
    try:
        lib = ctypes.CDLL(str(_build(compiler)))
        _declare(lib)
    except (OSError, AttributeError, RuntimeError, subprocess.CalledProcessError) as err:
        detail = getattr(err, "stderr", None) or err
        log.warning(
            "the fused LIF's C kernel could not be built or loaded, torch ops run: %s", detail
        )
        return None
    return lib


def _declare(lib: ctypes.CDLL) -> None:
    """Sets the C signatures of ``lib``'s kernels; an ``AttributeError`` names a missing
    symbol."""
    ptr, long, flag = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
    for dtype, real in C_TYPES.items():  # the C signatures, as in lif.c
        forward = getattr(lib, f"lif_forward_{SUFFIX[dtype]}")
        # x, xs, h, hs, s, ss; steps, lo, hi; lam, theta; hard; in_scale
        forward.argtypes = [ptr, long] * 3 + [long] * 3 + [real, real, flag, real]
        backward = getattr(lib, f"lif_backward_{SUFFIX[dtype]}")
        # h, n, g, gs; dx; steps, lo, hi; lam, theta; hard, detach_reset, detach_membrane,
        # surrogate; a, k, scale; divide; in_scale
        backward.argtypes = [ptr, long] * 2 + [ptr] + [long] * 3 + [real, real]
        backward.argtypes += [flag] * 4 + [real, real, real, flag, real]
        slope = getattr(lib, f"rate_slope_{SUFFIX[dtype]}")
        slope.argtypes = [ptr, ptr, long, long] + [real] * 4  # c, out; lo, hi; low, high, ...
        pools = [getattr(lib, f"avg_pool_{way}_{SUFFIX[dtype]}") for way in PASSES]
        for pool in pools:  # x (or g), y (or dx); lo, hi, H, W, kh, kw; divide
            pool.argtypes = [ptr, ptr] + [long] * 6 + [real]
        for fn in (forward, backward, slope, *pools):
            fn.restype = None


def library_path(compiler: tuple[str, ...]) -> Path:
    """Where the library for this source, compiler and machine is cached."""
    version = subprocess.run(
        [*compiler, "--version"], capture_output=True, text=True, check=True
    ).stdout
    sources = [path.read_text() for path in SOURCES]
    # the command's arguments too (-march=native): a shared home's nodes, a user's own flags
    parts = [*sources, *FLAGS, *compiler[1:], version, platform.machine()]
    key = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return cache_folder() / f"lif-{key[:16]}.so"


def _build(compiler: tuple[str, ...]) -> Path:
    """The library for this source and compiler, compiled unless already in the cache with
    the hash recorded when it was built."""
    path = library_path(compiler)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    recorded = path.with_name(path.name + ".sha256")
    with FileLock(str(path) + ".lock"):
        if not path.exists() or not recorded.exists() or recorded.read_text() != _digest(path):
            if path.exists():
                log.warning("the cached kernel %s does not match its recorded hash: rebuilt", path)
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                built = Path(tmp) / path.name
                subprocess.run(
                    [*compiler, *FLAGS, "-o", str(built), *map(str, SOURCES)],
                    capture_output=True,
                    check=True,
                )
                (Path(tmp) / recorded.name).write_text(_digest(built))
                built.replace(path)
                (Path(tmp) / recorded.name).replace(recorded)
    return path


def _digest(path: Path) -> str:
    """The SHA-256 of the file at ``path``, in hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def usable(x: torch.Tensor, *tensors: torch.Tensor) -> bool:
    """Whether the kernel is built and can run on ``x`` (``[T, ...]``, where the CPU paths
    apply) and ``tensors`` (each ``[T, ...]`` like it or one step's buffer) of its dtype,
    with each step's elements contiguous."""
    same = all(t.dtype == x.dtype and t.device == x.device for t in tensors)
    steps = all(_step(t, x.dim()).is_contiguous() for t in (x, *tensors))
    return same and steps and x.dim() > 1 and built() is not None


def forward(
    x: torch.Tensor,
    h: torch.Tensor | None,
    s: torch.Tensor | None,
    lam: float,
    theta: float,
    hard: bool,
    input_scale: float = 1.0,
) -> None:
    """The forward T loop on ``x`` (times ``input_scale``, an adapted neuron's:
    :class:`snnattack.snn.scaled.InputScale`): ``h_t`` into ``h`` and ``s_t`` into ``s``
    (each ``[T, ...]`` like ``x``, or None: not kept)."""
    fn, n = getattr(built(), f"lif_forward_{SUFFIX[x.dtype]}"), x[0].numel()
    args = (*_pointer(x), *_pointer(h), *_pointer(s), x.shape[0])
    _split(n, lambda lo, hi: fn(*args, lo, hi, lam, theta, int(hard), input_scale))


def backward(
    h: torch.Tensor,
    grad: torch.Tensor,
    lam: float,
    theta: float,
    hard: bool,
    detach_reset: bool,
    detach_membrane: bool,
    surrogate: int,
    a: float,
    k: float,
    scale: float,
    input_scale: float = 1.0,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """``dL/dI`` ``[T, ...]`` from the membranes ``h`` and the spikes' gradient ``grad``; the
    surrogate's slope (:data:`KERNEL_SURROGATES` names ``surrogate``; ``a`` and ``k`` as
    lif.c says) times ``dL/ds``, divided by ``scale`` unless it is 1; times the forward's
    ``input_scale``. Written into ``out`` (strided as ``h``) if given, which holds the
    sigmoid's ``sig(a v)`` on entry."""
    fn, n = getattr(built(), f"lif_backward_{SUFFIX[h.dtype]}"), h[0].numel()
    dx = torch.empty_strided(h.shape, h.stride(), dtype=h.dtype) if out is None else out
    args = (h.data_ptr(), h.stride(0), *_pointer(grad), dx.data_ptr(), h.shape[0])
    flags = (int(hard), int(detach_reset), int(detach_membrane), surrogate)
    tail = (lam, theta, *flags, a, k, scale, int(scale != 1.0), input_scale)
    _split(n, lambda lo, hi: fn(*args, lo, hi, *tail))
    return dx


def rate_slope(
    current: torch.Tensor, low: float, high: float, gamma: float, ramp: float
) -> torch.Tensor | None:
    """The RGA rate-current curve's slope at each of ``current``'s values in one pass
    (:func:`snnattack.gradients.rga.rate_slope`, whose torch ops give the same values), on a
    tensor where the CPU paths apply; None where the kernel cannot run on ``current``."""
    if not current.is_contiguous() or built() is None:
        return None
    fn, n = getattr(built(), f"rate_slope_{SUFFIX[current.dtype]}"), current.numel()
    out = torch.empty_like(current)
    args = (current.data_ptr(), out.data_ptr())
    _split(n, lambda lo, hi: fn(*args, lo, hi, low, high, gamma, ramp))
    return out


def avg_pool(x: torch.Tensor, kernel: tuple[int, int], divisor: int) -> torch.Tensor:
    """Average pooling of ``x`` ``[N, C, H, W]`` (contiguous) over ``kernel``-sized windows
    that tile it (stride = kernel, no padding), each window's sum divided by ``divisor``."""
    N, C, H, W = x.shape
    y = x.new_empty(N, C, H // kernel[0], W // kernel[1])
    return _avg_pool("forward", x, y, kernel, divisor)


def avg_pool_backward(
    grad: torch.Tensor, shape: torch.Size, kernel: tuple[int, int], divisor: int
) -> torch.Tensor:
    """The gradient w.r.t. :func:`avg_pool`'s input of shape ``shape`` from its output's
    ``grad`` (contiguous)."""
    return _avg_pool("backward", grad, grad.new_empty(shape), kernel, divisor)


def _avg_pool(
    way: str, src: torch.Tensor, out: torch.Tensor, kernel: tuple[int, int], divisor: int
) -> torch.Tensor:
    """Runs pool.c's ``way`` from ``src`` into ``out``, the planes split across threads."""
    fn = getattr(built(), f"avg_pool_{way}_{SUFFIX[src.dtype]}")
    N, C, H, W = out.shape if way == "backward" else src.shape
    args = (src.data_ptr(), out.data_ptr())
    _split(N * C, lambda lo, hi: fn(*args, lo, hi, H, W, *kernel, divisor), 1, H * W)
    return out


def _step(t: torch.Tensor, dim: int) -> torch.Tensor:
    """One step of ``t``: its first, or itself if it is one step's buffer."""
    return t[0] if t.dim() == dim else t


def _pointer(t: torch.Tensor | None) -> tuple[int | None, int]:
    """A ``[T, ...]`` tensor's address and step stride for the kernel (null for None)."""
    return (None, 0) if t is None else (t.data_ptr(), t.stride(0))


def _split(n: int, call: Callable[[int, int], None], grain: int = BLOCK, weight: int = 1) -> None:
    """``call(lo, hi)`` over ``[0, n)``, split at multiples of ``grain`` across torch's
    intra-op threads; each item is ``weight`` elements of work."""
    parts = min(torch.get_num_threads(), n * weight // PER_THREAD)
    if parts <= 1:
        call(0, n)
        return
    size = math.ceil(n / parts / grain) * grain
    bounds = [(lo, min(lo + size, n)) for lo in range(0, n, size)]
    list(_pool(len(bounds)).map(lambda b: call(*b), bounds))


@cache
def _pool(workers: int) -> ThreadPoolExecutor:
    """Threads for the kernel's calls (each releases the GIL while it runs)."""
    return ThreadPoolExecutor(workers, thread_name_prefix="snnattack-lif")


# a forked child (a DataLoader's or a launcher's worker) has none of the parent's threads: its
# calls would wait on a pool whose workers are gone
os.register_at_fork(after_in_child=_pool.cache_clear)
