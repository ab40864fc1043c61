"""VGG spiking networks of the RGA paper: VGG-11 and VGG-16 (CIFAR), a VGG for CIFAR10-DVS;
and Sharmin et al.'s (ECCV 2020) VGG-5 and VGG-11.

The layer lists are those of the RGA reference code (``putshua/SNN_attack_RGA``,
``models/VGG.py``: ``cfg['vgg11']``, ``cfg['vgg16']``, ``cfg['vggdvs']``; SNN-RAT's
``models/VGG.py`` has the same CIFAR lists). Every conv is 3x3 with padding 1, followed by BN
and a LIF; ``"A"`` is 2x2 average pooling. Two choices differ from the reference, neither
changing what the network computes:

- the convs have no bias (the BN after each conv cancels it); the reference's convs have one,
  so its parameter counts are larger by the number of conv output channels;
- layers act on ``[T, B, ...]`` (``StepWise`` per-step modules), not on ``[T * B, ...]``.

Initialisation as in the reference's CIFAR VGG: conv weights Kaiming-normal (fan-out, ReLU
gain), linear biases zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from snnattack.models.zoo import register
from snnattack.snn.temporal import StepWise

POOL = "A"
VGG11 = (64, POOL, 128, 256, POOL, 512, 512, 512, POOL, 512, 512)
VGG16 = (64, 64, POOL, 128, 128, POOL, 256, 256, 256, POOL) + (512, 512, 512, POOL) * 2
VGG5 = (64, POOL, 128, 128, POOL)
VGG_DVS = (64, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL)
VGG11_ECCV = (64, POOL, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL)


def conv_bn(
    in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, bn: bool = True
) -> StepWise:
    """A bias-free conv ("same" padding) then BN (unless ``bn=False``), at every time step."""
    conv = nn.Conv2d(
        in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=False
    )
    return StepWise(nn.Sequential(conv, nn.BatchNorm2d(out_channels)) if bn else conv)


def vgg_body(
    spec: Sequence[int | str],
    hidden: Sequence[int],
    num_classes: int,
    in_channels: int,
    input_size: int,
    neuron: Callable[[], nn.Module],
    bn: bool = True,
    bias: bool = True,
) -> nn.Sequential:
    """Conv-BN-LIF per channel count in ``spec`` (``"A"``: average pooling), flatten, then a
    linear + LIF per width in ``hidden``, then the linear read-out (square inputs).
    ``bn=False`` leaves out the BNs, ``bias=False`` the linear layers' biases."""
    layers: list[nn.Module] = []
    channels, size = in_channels, input_size
    for item in spec:
        if item == POOL:
            layers.append(StepWise(nn.AvgPool2d(2)))
            size //= 2
        else:
            layers += [conv_bn(channels, int(item), 3, bn=bn), neuron()]
            channels = int(item)
    layers.append(nn.Flatten(start_dim=2))
    width = channels * size * size
    for units in hidden:
        layers += [nn.Linear(width, units, bias=bias), neuron()]
        width = units
    layers.append(nn.Linear(width, num_classes, bias=bias))
    body = nn.Sequential(*layers)
    for m in body.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
    return body


@register("vgg11", order=10)
def vgg11(num_classes: int, in_channels: int, neuron: Callable[[], nn.Module]) -> nn.Module:
    """The RGA paper's VGG-11 for 32x32 CIFAR images (8 conv + 3 linear layers).

    conv64 - A - conv128 - conv256 - A - conv512 x3 - A - conv512 x2 (each conv 3x3-BN-LIF),
    flatten (512x4x4) - linear 4096 - LIF - linear 4096 - LIF - linear ``num_classes``.
    Not Simonyan's configuration A: pooling positions and widths follow the reference code.

    Parameters (3 input channels): 61,374,026 for 10 classes, 61,742,756 for 100 classes.
    """
    return vgg_body(VGG11, (4096, 4096), num_classes, in_channels, 32, neuron)


@register("vgg16", order=10)
def vgg16(num_classes: int, in_channels: int, neuron: Callable[[], nn.Module]) -> nn.Module:
    """The RGA paper's VGG-16 for 32x32 CIFAR images (13 conv + 3 linear layers).

    conv64 x2 - A - conv128 x2 - A - conv256 x3 - A - conv512 x3 - A - conv512 x3 - A (each
    conv 3x3-BN-LIF), flatten (512x1x1) - linear 4096 - LIF - linear 4096 - LIF - linear
    ``num_classes``.

    Parameters (3 input channels): 33,642,442 for 10 classes, 34,011,172 for 100 classes.
    """
    return vgg_body(VGG16, (4096, 4096), num_classes, in_channels, 32, neuron)


@register("dvs_vgg", order=10)
def dvs_vgg(num_classes: int, in_channels: int, neuron: Callable[[], nn.Module]) -> nn.Module:
    """The RGA reference's VGG for 48x48 CIFAR10-DVS frames (``vggdvs``; TET's VGGSNN).

    conv64 - conv128 - A - conv256 x2 - A - conv512 x2 - A - conv512 x2 - A (each conv
    3x3-BN-LIF), flatten (512x3x3) - linear ``num_classes``.

    Parameters: 9,268,746 for 2 input channels (event polarities) and 10 classes.
    """
    return vgg_body(VGG_DVS, (), num_classes, in_channels, 48, neuron)


@register("vgg5", order=10)
def vgg5(num_classes: int, in_channels: int, neuron: Callable[[], nn.Module]) -> nn.Module:
    """Sharmin et al.'s (ECCV 2020) VGG-5 for 32x32 CIFAR images (3 conv + 3 linear layers).

    The layer list of their reference code (``ssharmin/spikingNN-adversarial-attack``,
    ``nn_models.py``, ``cfg['VGG5']``): conv64 - A - conv128 x2 - A, flatten (128x8x8) -
    linear 1024 - LIF - linear 1024 - LIF - linear ``num_classes``. Here each conv has a BN
    (theirs has none, and no dropout at test time) and the linears a bias, like the other VGGs.

    Parameters (3 input channels): 9,673,034 for 10 classes, 9,765,284 for 100 classes.
    """
    return vgg_body(VGG5, (1024, 1024), num_classes, in_channels, 32, neuron)


@register("vgg11_eccv", order=10)
def vgg11_eccv(num_classes: int, in_channels: int, neuron: Callable[[], nn.Module]) -> nn.Module:
    """Sharmin et al.'s (ECCV 2020) VGG-11 for 32x32 CIFAR images (8 conv + 3 linear layers).

    The layer list of their reference code (``ssharmin/spikingNN-adversarial-attack``,
    ``nn_models.py``, ``cfg['VGG11']``, dropout left out as at test time): conv64 - A -
    conv128 - A - conv256 x2 - A - conv512 x2 - A - conv512 x2 - A (each conv 3x3-LIF, no BN,
    no bias), flatten (512x1x1) - linear 1024 - LIF - linear 1024 - LIF - linear
    ``num_classes``, the linears without bias. Not the RGA paper's VGG-11 (``vgg11``: BN,
    other pooling positions, 4096-wide linears). Their code's first linear is 8192 wide
    (VGG-5's 128x8x8); here it takes the 512 features this layer list leaves.

    Parameters (3 input channels): 10,800,832 for 10 classes, 10,892,992 for 100 classes.
    """
    return vgg_body(
        VGG11_ECCV, (1024, 1024), num_classes, in_channels, 32, neuron, bn=False, bias=False
    )
