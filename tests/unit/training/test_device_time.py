"""Timing and divergence checks that wait for the device only where they must: a row's time
after a CUDA synchronisation, a training step never (its times are CUDA events read once an
epoch, its loss checked at logging steps and the epoch's end)."""

from __future__ import annotations

from typing import Any

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from snnattack.errors import TrainingError
from snnattack.process import clock
from snnattack.process.clock import Spans, synced_time
from snnattack.training.classifier import Classifier


def test_synced_time_waits_for_cuda_only(monkeypatch: pytest.MonkeyPatch) -> None:
    waited: list[Any] = []
    monkeypatch.setattr(torch.cuda, "synchronize", waited.append)
    synced_time(torch.device("cpu"))
    synced_time(torch.device("cuda", 1))
    assert waited == [torch.device("cuda", 1)]


class FakeEvent:
    """A CUDA event on a clock that advances by one millisecond per event recorded."""

    now, synchronised = 0.0, 0

    def __init__(self, enable_timing: bool) -> None:
        assert enable_timing

    def record(self) -> None:
        FakeEvent.now += 1.0
        self.at = FakeEvent.now

    def synchronize(self) -> None:
        FakeEvent.synchronised += 1

    def elapsed_time(self, end: FakeEvent) -> float:
        return end.at - self.at


def test_spans_on_cuda_record_events_and_wait_only_when_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clock.torch.cuda, "Event", FakeEvent)
    spans, cuda = Spans(), torch.device("cuda")
    for _ in range(3):
        spans.add(Spans.mark(cuda), Spans.mark(cuda))
    assert FakeEvent.synchronised == 0
    assert spans.settle() == pytest.approx(3 * 0.001)
    assert spans.settle() == 0.0  # each span counted once


class NaNAfter(nn.Module):
    """A linear classifier whose logits are NaN from its ``good + 1``-th call on."""

    def __init__(self, good: int) -> None:
        super().__init__()
        self.fc, self.calls, self.good = nn.Linear(3, 2), 0, good

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        out = self.fc(x)
        return out * float("nan") if self.calls > self.good else out


def quiet_trainer(**settings: Any) -> L.Trainer:
    """A CPU Trainer without checkpoints, progress bar or summary, and ``settings``."""
    return L.Trainer(
        accelerator="cpu",
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **settings,
    )


def test_a_divergence_is_named_at_its_first_step_without_a_check_per_step() -> None:
    model = NaNAfter(good=3)
    data = TensorDataset(torch.randn(24, 3), torch.randint(0, 2, (24,)))
    trainer = quiet_trainer(max_epochs=1, logger=False, log_every_n_steps=50)
    with pytest.raises(TrainingError, match=r"the loss is nan at epoch 0, step 3 of the epoch"):
        trainer.fit(Classifier(model, num_classes=2), DataLoader(data, batch_size=4))
    assert model.calls == 6  # checked at the epoch's last batch, not at each step


def test_the_training_loss_is_logged_only_at_the_steps_the_loggers_receive(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """``self.log`` at every step cost ~10 % of a digits training; Lightning hands a step's
    values to the loggers every ``log_every_n_steps`` steps, and those steps it still gets."""
    logged: list[int] = []
    log = Classifier.log

    def counting(self: Classifier, name: str, *args: Any, **kwargs: Any) -> None:
        if name == "train_loss":
            logged.append(self.global_step)
        log(self, name, *args, **kwargs)

    monkeypatch.setattr(Classifier, "log", counting)
    data = TensorDataset(torch.randn(40, 3), torch.randint(0, 2, (40,)))
    logger = L.pytorch.loggers.CSVLogger(tmp_path, name="", version="")
    trainer = quiet_trainer(max_epochs=2, logger=logger, log_every_n_steps=3)
    trainer.fit(Classifier(nn.Linear(3, 2), num_classes=2), DataLoader(data, batch_size=4))
    assert logged == [2, 5, 8, 11, 14, 17]  # 20 steps: every third
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    steps = [
        int(r.split(",")[header.index("step")])
        for r in rows[1:]
        if r.split(",")[header.index("train_loss")]
    ]
    assert steps == logged
