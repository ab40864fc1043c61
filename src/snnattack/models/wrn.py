"""SNN-RAT's spiking WideResNet-16-4 for 32x32 CIFAR images (Ding et al., NeurIPS 2022,
``putshua/SNN-RAT``, ``models/WideResNet.py``, ``WideResNet("wrn16", ...)``, dropout 0).

Pre-activation blocks (Zagoruyko & Komodakis 2016) with a LIF after each BN: ``BN-LIF-conv3x3
-BN-LIF-conv3x3``, their output mixed with the shortcut by a learned convex combination
``comb[0] * shortcut + comb[1] * out`` (SNN-RAT's ``ConvexCombination``). A block that changes
the width runs the shortcut (a 1x1 conv) on its activated input, as theirs does. Stem conv16,
three groups of two blocks (64, 128, 256 channels; strides 1, 2, 2), then BN-LIF, global 8x8
average pooling and the linear read-out. A block's modules have their names (their
``convShortcut`` is ``shortcut``), and their state dicts map onto this model key by key
(:mod:`snnattack.models.reference`). Tensors are ``[T, B, ...]`` (theirs ``[T * B, ...]``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from snnattack.models.zoo import register
from snnattack.snn.temporal import StepWise

WIDTHS = (64, 128, 256)  # WRN-16-4: 16 x 4, 32 x 4, 64 x 4 channels
BLOCKS = 2  # per group: (depth 16 - 4) / 6


def _conv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> StepWise:
    return StepWise(
        nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=False
        )
    )


class ConvexCombination(nn.Module):
    """``comb[0] * a + comb[1] * b`` with learned weights ``comb`` (starting at 1/2 each)."""

    def __init__(self) -> None:
        super().__init__()
        self.comb = nn.Parameter(torch.full((2,), 0.5))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * self.comb[0] + b * self.comb[1]


class PreActBlock(nn.Module):
    """``comb(shortcut, conv(LIF(BN(conv(LIF(BN(x)))))))`` on ``[T, B, C, H, W]``."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, neuron: Callable[[], nn.Module]
    ) -> None:
        super().__init__()
        self.bn1 = StepWise(nn.BatchNorm2d(in_channels))
        self.act1 = neuron()
        self.conv1 = _conv(in_channels, out_channels, 3, stride)
        self.bn2 = StepWise(nn.BatchNorm2d(out_channels))
        self.act2 = neuron()
        self.conv2 = _conv(out_channels, out_channels, 3)
        same = in_channels == out_channels
        self.shortcut = None if same else _conv(in_channels, out_channels, 1, stride)
        self.convex = ConvexCombination()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = self.act1(self.bn1(x))
        out = self.conv2(self.act2(self.bn2(self.conv1(activated))))
        return self.convex(x if self.shortcut is None else self.shortcut(activated), out)


@register("wrn16_4", order=40)
def wrn16_4(num_classes: int, in_channels: int, neuron: Callable[[], nn.Module]) -> nn.Module:
    """SNN-RAT's WRN-16-4: conv16, 3 groups of 2 pre-activation blocks (64, 128, 256 channels,
    strides 1, 2, 2), BN-LIF, 8x8 average pooling, linear ``num_classes``.

    Parameters (3 input channels): 2,748,902 for 10 classes, 2,772,032 for 100 classes.
    """
    layers: list[nn.Module] = [_conv(in_channels, 16, 3)]
    channels = 16
    for width, stride in zip(WIDTHS, (1, 2, 2), strict=True):
        blocks = [PreActBlock(channels, width, stride, neuron)]
        blocks += [PreActBlock(width, width, 1, neuron) for _ in range(BLOCKS - 1)]
        layers.append(nn.Sequential(*blocks))
        channels = width
    layers += [
        StepWise(nn.BatchNorm2d(channels)),
        neuron(),
        StepWise(nn.AvgPool2d(8)),
        nn.Flatten(start_dim=2),
        nn.Linear(channels, num_classes),
    ]
    body = nn.Sequential(*layers)
    for m in body.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
    return body
