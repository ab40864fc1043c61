"""The attacks' seeding: every generator ``torch.manual_seed`` seeds, without its cost."""

from __future__ import annotations

import pytest
import torch

from snnattack.process.numerics import manual_seed


def test_the_cpus_draws_are_torch_manual_seeds() -> None:
    manual_seed(11)
    ours = torch.rand(5)
    torch.manual_seed(11)
    assert torch.equal(ours, torch.rand(5))


def test_each_accelerator_the_machine_has_is_seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    """CUDA (also before it starts: its seed waits for it), MPS and XPU, as torch.manual_seed
    seeds them; none is asked for where the machine has none (the stack it records costs)."""
    seeded: list[tuple[str, int]] = []
    for name, module, seed in (
        ("cuda", torch.cuda, "manual_seed_all"),
        ("mps", torch.mps, "manual_seed"),
        ("xpu", torch.xpu, "manual_seed_all"),
    ):
        monkeypatch.setattr(module, seed, lambda s, name=name: seeded.append((name, s)))
    for available in (False, True):
        monkeypatch.setattr(torch.cuda, "is_available", lambda a=available: a)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda a=available: a)
        monkeypatch.setattr(torch.xpu, "is_available", lambda a=available: a)
        manual_seed(7)
    assert seeded == [("cuda", 7), ("mps", 7), ("xpu", 7)]


def test_cuda_is_asked_once_while_the_gpus_shown_stay_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A loop of attacks seeds and keeps the generators at every call: torch's question "is
    CUDA available", which before CUDA starts asks the driver each time (NVML, a library
    loaded per ask), is asked once, and again where the GPUs shown to the process change."""
    from snnattack.process.numerics import kept_generators

    asked: list[bool] = []

    def is_available() -> bool:
        asked.append(True)
        return False

    monkeypatch.setattr(torch.cuda, "is_available", is_available)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    for seed in range(5):
        with kept_generators():
            manual_seed(seed)
    assert len(asked) == 1
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    manual_seed(0)
    manual_seed(1)
    assert len(asked) == 2
