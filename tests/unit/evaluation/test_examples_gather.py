"""Saved examples under DDP go to rank 0 only (``gather_object``), which writes them: no rank
receives every other rank's examples (``all_gather_object``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch
from harness import QUICK, compose
from torch import nn

from snnattack.evaluation.evaluator import AttackEvaluator
from snnattack.preparation.config import job_settings


def evaluator(rank: int) -> AttackEvaluator:
    job = job_settings(compose(*QUICK, "boxes=[white]"))
    module = AttackEvaluator(nn.Linear(3, 2), None, list(job.specs), job.attack.recipe, True)
    module.trainer = SimpleNamespace(world_size=2, is_global_zero=rank == 0)
    module.examples = [[{"adv": torch.full((1,), float(rank))}]]
    return module


@pytest.mark.parametrize("rank", [0, 1])
def test_saved_examples_are_gathered_to_rank_0_only(
    monkeypatch: pytest.MonkeyPatch, rank: int
) -> None:
    calls: list[Any] = []

    def gather_object(obj: Any, gather_list: list | None, dst: int) -> None:
        calls.append((gather_list is not None, dst))
        if gather_list is not None:  # rank 0 receives both ranks' examples
            gather_list[:] = [obj, [[{"adv": torch.ones(1)}]]]

    def all_gather_object(*_: Any) -> None:
        raise AssertionError("every rank's examples sent to every rank")

    monkeypatch.setattr(torch.distributed, "gather_object", gather_object)
    monkeypatch.setattr(torch.distributed, "all_gather_object", all_gather_object)
    module = evaluator(rank)
    gathered = module.gathered_examples()
    assert calls == [(rank == 0, 0)]  # a list to receive into on rank 0 only
    held = [float(part["adv"]) for part in gathered[0]]
    assert held == ([0.0, 1.0] if rank == 0 else [1.0])
