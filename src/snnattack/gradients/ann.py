"""The ANN counterpart as the gradient proxy (the README's *Gradient modes*).

Forward values are the SNN's. The gradient is that of the network's ANN counterpart, run on
the time-averaged input: each LIF becomes a clipped, quantised ReLU of its mean input current,
``floor(clamp(I / theta, 0, 1) * T + 0.5) / T`` (the QCFS activation of ANN-to-SNN
conversion, T levels), whose floor passes its gradient straight through. It runs in the rate
domain (:func:`snnattack.gradients.rga.rate_domain`), so the model must be in eval mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from snnattack.gradients.base import register
from snnattack.gradients.rga import rate_domain
from snnattack.snn.neurons import LIF


def quantised_relu(current: torch.Tensor, theta: float, levels: int) -> torch.Tensor:
    """``floor(clamp(I / theta, 0, 1) * levels + 0.5) / levels``, floor straight-through."""
    x = torch.clamp(current / theta, 0.0, 1.0) * levels + 0.5
    return (x + (torch.floor(x) - x).detach()) / levels


@register("ann", title="ANN proxy", order=50, time_invariant=True)
@contextmanager
def ann(model: nn.Module) -> Iterator[None]:
    def layer(lif: LIF, mean_current: torch.Tensor, rate: torch.Tensor, T: int) -> torch.Tensor:
        return quantised_relu(mean_current, lif.theta, T)

    with rate_domain(model, "ann", layer):
        yield
