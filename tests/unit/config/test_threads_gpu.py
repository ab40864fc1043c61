"""GPU jobs under DDP: each process takes its share of the cores, and the memory check reads
its own GPU's free memory (not every rank's on GPU 0)."""

from __future__ import annotations

import os
from typing import Any

import pytest
import torch
from harness import compose

from snnattack.process.distributed import thread_share
from snnattack.training import memory


@pytest.mark.parametrize(
    "overrides,gpus,share",
    [
        (["trainer=ddp", "trainer.devices=2"], 0, 2),
        (["trainer=ddp"], 4, 4),  # devices: auto = every GPU
        (["trainer=ddp_cpu", "trainer.devices=2"], 0, 2),
        (["trainer=gpu"], 4, 1),
    ],
)
def test_ddp_processes_share_the_cores_on_gpus_as_on_the_cpu(
    monkeypatch: pytest.MonkeyPatch, overrides: list[str], gpus: int, share: int
) -> None:
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(16)))
    cfg = compose("dataset=cifar10", "model=vgg11", *overrides)
    assert thread_share(cfg.threads, cfg.trainer) == 16 // share


def test_the_memory_check_reads_this_ranks_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[Any] = []

    def mem_get_info(device: Any = None) -> tuple[int, int]:
        asked.append(device)
        return 2**30, 2**31

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "mem_get_info", mem_get_info)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert memory._free_memory({"trainer": {"accelerator": "gpu"}}) == (2**30, "free GPU memory")
    monkeypatch.delenv("LOCAL_RANK")
    memory._free_memory({"trainer": {"accelerator": "gpu"}})
    assert asked == [3, 0]
