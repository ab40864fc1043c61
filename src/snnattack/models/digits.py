"""A small convolutional SNN for the 8x8 digits quick-start data."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from snnattack.models.registry import register
from snnattack.temporal import StepWise


@register("digits_net")
def digits_net(num_classes: int, in_channels: int, neuron: Callable[[], nn.Module]) -> nn.Module:
    """conv3x3(16)-BN-LIF-avgpool2 -> conv3x3(32)-BN-LIF-avgpool2 -> linear (8x8 input).

    6,138 parameters for 1 input channel and 10 classes.
    """
    return nn.Sequential(
        StepWise(nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)),
        StepWise(nn.BatchNorm2d(16)),
        neuron(),
        StepWise(nn.AvgPool2d(2)),
        StepWise(nn.Conv2d(16, 32, 3, padding=1, bias=False)),
        StepWise(nn.BatchNorm2d(32)),
        neuron(),
        StepWise(nn.AvgPool2d(2)),
        nn.Flatten(start_dim=2),
        nn.Linear(32 * 2 * 2, num_classes),
    )
