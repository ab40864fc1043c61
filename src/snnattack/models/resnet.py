"""Spiking ResNet-17 and ResNet-19 of the RGA paper, for 32x32 CIFAR images.

The layer lists are those of the RGA reference code (``putshua/SNN_attack_RGA``,
``models/ResNet.py``; identical in SNN-RAT's ``models/ResNet.py``): a 3x3 conv-BN-LIF stem,
stages of basic blocks whose first block has a 1x1 conv-BN projection shortcut (even where
the shapes already match), 2x2 average pooling, then ``linear 256 - BN - linear
num_classes``. As in the reference, there is no LIF between the two linear layers (Zheng et
al.'s tdBN ResNet-19 and TET put one there) and the pooling is 2x2, not global. Tensors are
``[T, B, ...]`` throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from snnattack.cpu.recompute import add
from snnattack.models.vgg import conv_bn
from snnattack.models.zoo import register
from snnattack.snn.temporal import StepWise

HIDDEN = 256


class BasicBlock(nn.Module):
    """``LIF(conv3x3-BN-LIF-conv3x3-BN (x) + shortcut(x))`` on ``[T, B, C, H, W]``.

    The shortcut is a strided 1x1 conv-BN when ``project`` is set, the identity otherwise.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        project: bool,
        neuron: Callable[[], nn.Module],
    ) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            conv_bn(in_channels, out_channels, 3, stride),
            neuron(),
            conv_bn(out_channels, out_channels, 3),
        )
        self.shortcut = conv_bn(in_channels, out_channels, 1, stride) if project else nn.Identity()
        self.spike = neuron()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spike(add(self.residual(x), self.shortcut(x)))  # noted for the LIF


def resnet_body(
    stem: int,
    stages: Sequence[tuple[int, int, int]],
    num_classes: int,
    in_channels: int,
    neuron: Callable[[], nn.Module],
    input_size: int = 32,
) -> nn.Sequential:
    """Stem conv with ``stem`` channels, then one stage per ``(channels, blocks, stride)``
    (the stride applies to the stage's first block), pooling and the two-layer read-out."""
    layers: list[nn.Module] = [conv_bn(in_channels, stem, 3), neuron()]
    channels, size = stem, input_size
    for out_channels, blocks, stride in stages:
        layers.append(BasicBlock(channels, out_channels, stride, True, neuron))
        layers += [
            BasicBlock(out_channels, out_channels, 1, False, neuron) for _ in range(blocks - 1)
        ]
        channels, size = out_channels, size // stride
    size //= 2
    layers += [
        StepWise(nn.AvgPool2d(2)),
        nn.Flatten(start_dim=2),
        nn.Linear(channels * size * size, HIDDEN),
        StepWise(nn.BatchNorm1d(HIDDEN)),
        nn.Linear(HIDDEN, num_classes),
    ]
    return nn.Sequential(*layers)


@register("resnet17", order=20)
def resnet17(num_classes: int, in_channels: int, neuron: Callable[[], nn.Module]) -> nn.Module:
    """The RGA paper's ResNet-17 (15 conv + 2 linear layers on the main path).

    conv64 stem - 3 blocks of 64 (first stride 2) - 4 blocks of 128 (first stride 2) - A -
    flatten (128x4x4) - linear 256 - BN - linear ``num_classes``.

    Parameters (3 input channels): 1,872,074 for 10 classes, 1,895,204 for 100 classes.
    """
    return resnet_body(64, [(64, 3, 2), (128, 4, 2)], num_classes, in_channels, neuron)


@register("resnet19", order=20)
def resnet19(num_classes: int, in_channels: int, neuron: Callable[[], nn.Module]) -> nn.Module:
    """The RGA paper's ResNet-19 (17 conv + 2 linear layers on the main path).

    conv128 stem - 3 blocks of 128 (stride 1) - 3 blocks of 256 (first stride 2) - 2 blocks
    of 512 (first stride 2) - A - flatten (512x4x4) - linear 256 - BN - linear
    ``num_classes``.

    Parameters (3 input channels): 14,681,226 for 10 classes, 14,704,356 for 100 classes.
    """
    return resnet_body(
        128, [(128, 3, 1), (256, 3, 2), (512, 2, 2)], num_classes, in_channels, neuron
    )
