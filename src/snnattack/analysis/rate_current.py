"""Rate-current curves (RGA Fig. 2, Supp. §1): how a spiking layer turns current into rate.

The *static* curve is the paper's closed-form firing rate of one neuron fed a constant current
(:func:`snnattack.snn.neurons.static_rate`) of the layer's λ and θ, the curve that RGA's
backward approximates, whatever the reset, by the piecewise-linear curve of Eq. S8 (slope
``gamma`` up to the onset ``(1 - lam) theta``, a ramp to rate 1 at ``beta theta``:
:func:`snnattack.gradients.rga.rate_slope`): the neurons' own for a soft-reset IF and a
hard-reset LIF, not for a hard-reset IF (the staircase ``1/ceil(theta/I)`` below it). The
*actual* curve is the scatter of (time-averaged input current, firing rate) of the neurons of
one spiking layer of a trained network on validation data; RGA's backward assumes the actual
points lie near the static curve.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import lightning as L
import torch
from torch import nn

from snnattack.analysis.base import register
from snnattack.analysis.batches import limited
from snnattack.snn.neurons import LIF, static_rate
from snnattack.snn.temporal import temporal_modules


def static_curve(lam: float, theta: float = 1.0, i_max: float = 3.0, points: int = 301) -> dict:
    """The static curve on ``points`` currents evenly spaced in ``[0, i_max * theta]``."""
    currents = torch.linspace(0.0, i_max * theta, points).tolist()
    return {"current": currents, "rate": [static_rate(i, lam, theta) for i in currents]}


def spiking_layers(model: nn.Module) -> list[LIF]:
    """The LIF layers of ``model``, in registration order."""
    return [m for m in temporal_modules(model) if isinstance(m, LIF)]


@torch.no_grad()
def actual_curve(
    model: nn.Module,
    loader: Iterable,
    layer: int = 1,
    n_points: int = 8000,
    seed: int = 0,
    limit_batches: float | None = None,
    device: torch.device | str = "cpu",
) -> dict:
    """``n_points`` (mean current, rate) pairs of the neurons of ``model``'s ``layer``-th LIF
    (0-based, in registration order) over ``loader``.

    Each point is one neuron on one sample: a uniform random sample (seeded) of all the
    points, whatever the batches' sizes (each point draws a random key; the ``n_points``
    smallest keys are kept as the batches pass), in the order they came (sample-major, then
    neuron); when the data has no more points than that, all of them. A stochastic encoder
    (Poisson) draws its noise from the global generator seeded with ``seed`` first, as the
    spike shuffle's passes do: the same points whatever ran before (the attacks, the shuffle).
    """
    lifs = spiking_layers(model)
    if not 0 <= layer < len(lifs):
        raise ValueError(
            f"layer={layer} is out of range; the model has {len(lifs)} spiking "
            f"layers (0 to {len(lifs) - 1})"
        )
    lif = lifs[layer]
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    points, keys = None, torch.empty(0)
    saved = lif.override

    def record(module: LIF, current: torch.Tensor) -> torch.Tensor:
        nonlocal points, keys
        spikes = module.simulate(current)
        pairs = torch.stack([current.mean(0).flatten(), spikes.mean(0).flatten()], 1).cpu()
        points = pairs if points is None else torch.cat([points, pairs])
        keys = torch.cat([keys, torch.rand(len(pairs), generator=generator)])
        if len(keys) > n_points:
            chosen = keys.topk(n_points, largest=False).indices.sort().values
            points, keys = points[chosen], keys[chosen]
        return spikes

    lif.override = record
    try:
        for x, _ in limited(loader, limit_batches):
            model(x.to(device))
    finally:
        lif.override = saved
    if points is None:
        points = torch.empty(0, 2)
    return {
        "current": points[:, 0].tolist(),
        "rate": points[:, 1].tolist(),
        "layer": layer,
        "lam": lif.lam,
        "theta": lif.theta,
        "reset": lif.reset,
    }


@register("rate_current", order=20)
def run(
    opts: Mapping[str, Any],
    model: nn.Module,
    dm: L.LightningDataModule,
    device: torch.device,
) -> dict[str, Any]:
    """``analysis=[rate_current]``: the actual curve on the validation split and the static
    curve of the layer's neurons, their own λ and θ (a hybrid model's θ is scaled, a foreign
    network's λ its own: neither is the config's)."""
    actual = actual_curve(
        model,
        dm.val_dataloader(),
        layer=opts["layer"],
        n_points=opts["n_points"],
        seed=opts["seed"],
        limit_batches=opts["limit_batches"],
        device=device,
    )
    static = static_curve(actual["lam"], actual["theta"], opts["static_max"], opts["static_points"])
    return {"actual": actual, "static": static}
