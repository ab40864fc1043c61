"""Small SNNs for the 8x8 digits quick-start data: a plain conv net and a residual one."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from snnattack.models.resnet import resnet_body
from snnattack.models.zoo import register
from snnattack.snn.temporal import StepWise


@register("digits_net", order=30)
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


@register("digits_resnet", order=30)
def digits_resnet(num_classes: int, in_channels: int, neuron: Callable[[], nn.Module]) -> nn.Module:
    """The RGA ResNets' layout at digits scale, to run residual-network studies (conversion
    of identity shortcuts included) on a CPU in minutes.

    conv16 stem - 2 blocks of 16 (stride 1) - 2 blocks of 32 (first stride 2) - A - flatten
    (32x2x2) - linear 256 - BN - linear ``num_classes``.

    79,002 parameters for 1 input channel and 10 classes.
    """
    return resnet_body(16, [(16, 2, 1), (32, 2, 2)], num_classes, in_channels, neuron, 8)
