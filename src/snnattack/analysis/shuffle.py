"""Spike shuffle (RGA Table 1): does a network still work when spike timing is scrambled?

Inside ``with spike_shuffle(model, seed, mode):`` every spiking layer emits its true spikes
permuted over time, so each neuron's spike count, and hence its firing rate, is kept while
the order is lost. If accuracy stays, the network is rate-coded. Two modes:

- ``layer`` (the references'): one permutation of the T steps per layer and forward pass,
  shared by all the layer's neurons and samples. The RGA code shuffles the list of a layer's
  T spike tensors (``putshua/SNN_attack_RGA``, ``models/layers.py``, the commented-out
  ``random.shuffle(spike_pot)``), as this package does. HART's (``hzc1208/HART_Attack``,
  ``models/layers.py``, commented out too) indexes the layer's time axis with one
  ``randperm`` before its neurons run: it permutes their input currents, so a leaky or
  hard-reset neuron's spike count may change with the order, where here it is kept.
  Spikes that were synchronous stay so.
- ``neuron``: every neuron (and sample) gets its own permutation, which also breaks the
  synchrony between neurons: a stricter test than the paper's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import lightning as L
import torch
from torch import nn

from snnattack.analysis.base import register
from snnattack.analysis.batches import limited
from snnattack.analysis.rate_current import spiking_layers
from snnattack.snn.neurons import LIF
from snnattack.values import declare, one_of

SHUFFLE_MODES = ("layer", "neuron")
declare({"analysis.shuffle.mode": one_of(*SHUFFLE_MODES)})


@contextmanager
def spike_shuffle(model: nn.Module, seed: int = 0, mode: str = "layer") -> Iterator[nn.Module]:
    """Within the block, every LIF layer of ``model`` outputs time-shuffled spike trains."""
    if mode not in SHUFFLE_MODES:
        raise ValueError(f"shuffle mode must be one of {SHUFFLE_MODES}, got {mode!r}")
    lifs = spiking_layers(model)
    if not lifs:
        raise ValueError("spike_shuffle: the model has no spiking (LIF) layers")
    generator = torch.Generator().manual_seed(seed)
    saved = [m.override for m in lifs]

    def shuffled(lif: LIF, current: torch.Tensor) -> torch.Tensor:
        """The layer's spikes ``[T, ...]`` permuted over time: by one random order (``layer``),
        or every trace ``spikes[:, i]`` by its own (``neuron``)."""
        spikes = lif.simulate(current)
        if mode == "layer":
            order = torch.randperm(spikes.shape[0], generator=generator).to(spikes.device)
            return spikes[order]
        keys = torch.rand(spikes.shape, generator=generator).to(spikes.device)
        return spikes.gather(0, keys.argsort(0))

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
    mode: str = "layer",
) -> dict[str, float | int | str]:
    """Clean and spike-shuffled accuracy (%) on ``loader`` (up to ``limit_batches``)."""
    torch.manual_seed(seed)  # stochastic encoders draw the same noise in both passes
    clean_acc, n = accuracy(model, limited(loader, limit_batches), device)
    torch.manual_seed(seed)
    with spike_shuffle(model, seed, mode):
        shuffled_acc, _ = accuracy(model, limited(loader, limit_batches), device)
    return {
        "clean_acc": clean_acc,
        "shuffled_acc": shuffled_acc,
        "n": n,
        "seed": seed,
        "mode": mode,
    }


@register("shuffle", order=10)
def run(
    opts: Mapping[str, Any],
    model: nn.Module,
    dm: L.LightningDataModule,
    device: torch.device,
) -> dict[str, Any]:
    """``analysis=[shuffle]``: :func:`shuffle_test` on the test split."""
    return shuffle_test(
        model,
        dm.test_dataloader(),
        seed=opts["seed"],
        limit_batches=opts["limit_batches"],
        device=device,
        mode=opts["mode"],
    )
