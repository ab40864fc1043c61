"""Factories of a user's spikingjelly and snnTorch networks for ``model=external`` with
``checkpoint=`` (tests/unit/records/test_own_state_dict.py): each builds the same untrained
network on every call (its own seed), as a user's package would, so a file of other weights
is told apart from the factory's."""

from __future__ import annotations

import torch
from torch import nn


def spikingjelly_plif(seed: int = 0) -> nn.Module:
    """digits_net's layers in spikingjelly (multi-step), with a ``ParametricLIFNode`` (its
    learned decay ``w`` is a parameter of the file) and a ``LIFNode``."""
    from spikingjelly.activation_based import functional, layer, neuron

    torch.manual_seed(seed)
    net = nn.Sequential(
        layer.Conv2d(1, 16, 3, padding=1, bias=False),
        layer.BatchNorm2d(16),
        neuron.ParametricLIFNode(init_tau=2.0, v_threshold=0.5),
        layer.AvgPool2d(2),
        layer.Conv2d(16, 32, 3, padding=1, bias=False),
        layer.BatchNorm2d(32),
        neuron.LIFNode(tau=2.0, v_threshold=0.5),
        layer.AvgPool2d(2),
        layer.Flatten(),
        layer.Linear(32 * 2 * 2, 10),
    )
    functional.set_step_mode(net, "m")
    return net


def snntorch_leaky(seed: int = 0) -> nn.Module:
    """digits_net's layers for one snnTorch time step, ``Leaky`` neurons with a learned
    ``beta`` and ``threshold`` (both in the file)."""
    import snntorch

    torch.manual_seed(seed)

    def leaky() -> nn.Module:
        return snntorch.Leaky(
            beta=0.8, threshold=0.5, learn_beta=True, learn_threshold=True, init_hidden=True
        )

    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        leaky(),
        nn.AvgPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32),
        leaky(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 10),
    )
