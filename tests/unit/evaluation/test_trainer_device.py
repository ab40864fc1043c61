"""A GPU job's work on the trainer's device, checked with ``meta`` standing in for the GPU:
tuning, universal fitting, the attacks and the masking checks get models and data there, and
``metrics.json`` records that device (not where the models were loaded). Tuning and fitting
run once the test has started, when every DDP rank has joined."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch
from harness import QUICK, compose
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from snnattack.attacks import tuning
from snnattack.evaluation import core
from snnattack.evaluation.attacked import device_of
from snnattack.evaluation.core import record_under_test
from snnattack.preparation.config import job_settings

META = torch.device("meta")


class StandInTrainer:
    """A trainer whose strategy runs on ``meta``; its ``test`` notes where the models are."""

    world_size, is_global_zero, limit_test_batches = 1, True, None

    def __init__(self, seen: dict[str, Any]) -> None:
        self.strategy = SimpleNamespace(root_device=META)
        self.seen = seen

    def test(self, evaluator: Any, dataloaders: DataLoader, verbose: bool) -> None:
        self.seen["order"].append("test starts")  # under DDP: every rank started
        evaluator.on_test_start()
        self.seen["test"] = device_of(evaluator.target), device_of(evaluator.source)
        evaluator.clean_result = {"clean_acc": 100.0, "n": 4}
        for model in (evaluator.target, evaluator.source):
            model.to_empty(device="cpu")  # as Lightning hands them back after a GPU test


def test_tuning_fitting_checks_and_the_record_use_the_trainers_device(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {"order": []}

    def on_device(step: str) -> Any:
        def run(settings, specs, target, source, validation, skip=()):
            seen[step] = device_of(target), device_of(source), validation[0].device
            seen["order"].append(step)
            return specs

        return run

    def checks(settings, recipe, probed, results, x, y, targeted=()) -> dict:
        seen["checks"] = device_of(probed), x.device
        return {}

    monkeypatch.setattr(tuning, "tune_specs", on_device("tune"))
    monkeypatch.setattr(tuning, "fit_specs", on_device("fit"))
    monkeypatch.setattr(core, "job_masking_checks", checks)
    job = job_settings(compose(*QUICK, "boxes=[white,black]"))
    data = TensorDataset(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long))
    record, _ = record_under_test(
        (nn.Linear(3, 2), nn.Linear(3, 2)),
        list(job.specs),
        job,
        DataLoader(data, batch_size=4),
        (torch.zeros(4, 3), torch.zeros(4, dtype=torch.long)),
        StandInTrainer(seen),  # type: ignore[arg-type]
        models={},
        config={},
        result_spec={},
        probed=nn.Linear(3, 2),  # the trained target, loaded on the CPU
    )
    assert seen == {
        "order": ["test starts", "tune", "fit"],  # no rank tunes alone before the others join
        "tune": (META, META, META),
        "fit": (META, META, META),
        "test": (META, META),
        "checks": (META, META),
    }
    assert record.device == "meta"
