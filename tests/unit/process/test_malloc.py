"""The CPU allocator policy: with ``reuse`` a freed large tensor stays in the process for the
next one (no fresh pages, no page faults); with ``system`` glibc gives it back."""

import ctypes.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness import CHILD_ENV

from snnattack.process import malloc
from snnattack.process.malloc import set_malloc

GLIBC = Path("/proc/self/status").exists() and set_malloc("system")

# a fresh process (the policy is process-wide, and a heap that earlier tests filled with freed
# blocks serves a new one from them under either policy): MB of a written-then-freed 256 MB
# tensor still resident, under each policy in turn
MEASURE = """
import ctypes, json
from pathlib import Path
import torch
from snnattack.process.malloc import set_malloc

def resident_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

def kept_after_free(policy):
    set_malloc(policy)
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    before = resident_mb()
    block = torch.ones(64 * 2**20)  # 256 MB, every page written
    del block
    return resident_mb() - before

print(json.dumps({p: kept_after_free(p) for p in ("system", "reuse")}))
"""


def test_reuse_keeps_freed_memory_and_system_gives_it_back() -> None:
    if not GLIBC:  # elsewhere both policies are the platform's allocator
        assert set_malloc("reuse") is False
        return
    child = subprocess.run(
        [sys.executable, "-c", MEASURE],
        capture_output=True,
        text=True,
        env={**os.environ, **CHILD_ENV},
        check=True,
        timeout=300,
    )
    kept = json.loads(child.stdout.splitlines()[-1])
    assert kept["reuse"] > 200 and kept["system"] < 50, kept


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="malloc must be one of"):
        set_malloc("jemalloc")


def test_the_c_library_is_looked_up_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    # snnattack.attack sets the policy at every call: ctypes' find_library runs ldconfig
    # (milliseconds), more than the rest of a repeated call's fixed cost
    calls, real = [], ctypes.util.find_library
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: calls.append(name) or real(name))
    malloc._glibc.cache_clear()
    for _ in range(3):
        set_malloc(malloc.policy())
    assert len(calls) <= 1
