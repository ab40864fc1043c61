"""Spike shuffle (RGA Table 1): does a network still work when spike timing is scrambled?

Inside ``with spike_shuffle(model, seed):`` every spiking layer emits its true spikes with
each neuron's spike train permuted over time (independently per neuron and sample), so
spike counts, and hence firing rates, are kept while the order is lost. If accuracy stays,
the network is rate-coded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from snnattack.analysis.batches import limited
from snnattack.neurons import LIF
from snnattack.temporal import temporal_modules


def shuffle_time(spikes: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``spikes [T, ...]`` with every trace ``spikes[:, i]`` permuted by its own random order."""
    keys = torch.rand(spikes.shape, generator=generator).to(spikes.device)
    return spikes.gather(0, keys.argsort(0))


@contextmanager
def spike_shuffle(model: nn.Module, seed: int = 0) -> Iterator[nn.Module]:
    """Within the block, every LIF layer of ``model`` outputs time-shuffled spike trains."""
    lifs = [m for m in temporal_modules(model) if isinstance(m, LIF)]
    if not lifs:
        raise ValueError("spike_shuffle: the model has no spiking (LIF) layers")
    generator = torch.Generator().manual_seed(seed)
    saved = [m.override for m in lifs]

    def shuffled(lif: LIF, current: torch.Tensor) -> torch.Tensor:
        return shuffle_time(lif.simulate(current), generator)

    for m in lifs:
        m.override = shuffled
    try:
        yield model
    finally:
        for m, fn in zip(lifs, saved, strict=True):
            m.override = fn


@torch.no_grad()
def accuracy(model: nn.Module, batches: Iterable, device: torch.device | str = "cpu") -> tuple:
    """(accuracy in %, number of samples) of ``model`` on ``(x, y)`` batches."""
    correct = n = 0
    for x, y in batches:
        pred = model(x.to(device)).argmax(1).cpu()
        correct += int((pred == y).sum())
        n += len(y)
    return 100.0 * correct / max(n, 1), n


def shuffle_test(
    model: nn.Module,
    loader: Iterable,
    seed: int = 0,
    limit_batches: float | None = None,
    device: torch.device | str = "cpu",
) -> dict[str, float | int]:
    """Clean and spike-shuffled accuracy (%) on ``loader`` (up to ``limit_batches``)."""
    torch.manual_seed(seed)  # stochastic encoders draw the same noise in both passes
    clean_acc, n = accuracy(model, limited(loader, limit_batches), device)
    torch.manual_seed(seed)
    with spike_shuffle(model, seed):
        shuffled_acc, _ = accuracy(model, limited(loader, limit_batches), device)
    return {"clean_acc": clean_acc, "shuffled_acc": shuffled_acc, "n": n, "seed": seed}
