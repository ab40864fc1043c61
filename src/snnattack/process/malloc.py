"""How this process's allocator treats freed memory: ``malloc=reuse`` (default) or ``system``.

A process setting, not a network's: the job applies it at its start beside the torch
threads (``job.run``), and the bench per run. A spiking network's step
allocates many large ``[T, B, ...]`` tensors. glibc serves each large block with a fresh
``mmap`` and gives it back to the system when it is freed, so every step writes to new pages
and pays a page fault per 4 KiB. ``reuse`` serves every block from the heap and keeps freed
memory for the next step (what jemalloc or tcmalloc give, as PyTorch's CPU performance
guides recommend); ``system`` is glibc's own policy. Values never change, only time; with
``reuse`` the process's resident memory stays at its peak. Without glibc (macOS, Windows,
musl) both are the platform's allocator. ``reuse`` is what the environment setting
``GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647`` gives a
process from its start (with ``malloc=system``, which leaves it as it is); measured in
``docs/performance.md``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

POLICIES = ("reuse", "system")

# mallopt(3) parameters
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4
REUSE = {M_MMAP_MAX: 0, M_TRIM_THRESHOLD: 2**31 - 1}  # no mmap; never trim the heap's top
# glibc's documented defaults, to restore a process that switched to reuse
SYSTEM = {M_MMAP_MAX: 65536, M_TRIM_THRESHOLD: 128 * 1024, M_MMAP_THRESHOLD: 128 * 1024}

_state = {"policy": "system"}


def set_malloc(policy: str) -> bool:
    """Switches this process's allocator to ``policy``; False where glibc is not in use."""
    if policy not in POLICIES:
        raise ValueError(f"malloc must be one of {POLICIES}, got {policy!r}")
    libc = _glibc()
    if libc is None:
        return False
    if policy != _state["policy"]:
        for param, value in (REUSE if policy == "reuse" else SYSTEM).items():
            libc.mallopt(param, value)
        _state["policy"] = policy
    return True


def policy() -> str:
    """This process's allocator policy as :func:`set_malloc` last set it (``system`` before)."""
    return _state["policy"]


@functools.cache  # find_library runs ldconfig: milliseconds, which a repeated attack call pays
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 (only glibc has it)
    except (OSError, AttributeError):
        return None
    return libc
