"""The CPU allocator policy: with ``reuse`` a freed large tensor stays in the process for the
next one (no fresh pages, no page faults); with ``system`` glibc gives it back."""

import ctypes
from pathlib import Path

import pytest
import torch

from snnattack.process.malloc import set_malloc

GLIBC = Path("/proc/self/status").exists() and set_malloc("system")


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def kept_after_free(policy: str) -> float:
    """MB of a written-then-freed 256 MB tensor still resident."""
    set_malloc(policy)
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    before = resident_mb()
    block = torch.ones(64 * 2**20)  # 256 MB, every page written
    del block
    return resident_mb() - before


def test_reuse_keeps_freed_memory_and_system_gives_it_back() -> None:
    if not GLIBC:  # elsewhere both policies are the platform's allocator
        assert set_malloc("reuse") is False
        return
    try:
        assert kept_after_free("reuse") > 200
        assert kept_after_free("system") < 50
    finally:
        set_malloc("system")


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="malloc must be one of"):
        set_malloc("jemalloc")
