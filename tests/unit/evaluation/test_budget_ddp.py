"""The event attacks' counts under DDP when a rank attacked nothing (a padding rank,
``data.base``): its empty states gather with the others' float64 values (two gloo processes)."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from snnattack.evaluation.budget import EventBudget, WorstL0


def _rank(rank: int, port: int, out: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        worst, budget = WorstL0(), EventBudget(retimes=False, recordings=True)
        if rank == 0:  # rank 1 holds a padding batch only: no update
            worst.update(torch.tensor([3.0, float("inf")], dtype=torch.float64))
            changes = torch.tensor([[1, 2, 0, 9], [0, 0, 0, 7]])  # an attack on recordings
            budget.update(torch.tensor([True, False]), torch.ones(2, 2, 3), changes=changes)
        counts = budget.compute()
        out[rank] = (
            worst.compute().tolist(),
            counts["inserted"].tolist(),
            counts["recorded"].reshape(-1, 4).tolist(),
        )
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_a_rank_that_attacked_nothing_gathers_with_the_others() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with mp.Manager() as manager:
        out = manager.dict()
        mp.spawn(_rank, args=(port, out), nprocs=2)
        expected = (3.0, 6.0, [[1.0, 2.0, 0.0, 9.0]])
        assert dict(out) == {0: expected, 1: expected}
