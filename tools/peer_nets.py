"""The peer's side of :mod:`tools.peer_compare`: a spikingjelly 2.0 multi-step CIFAR
VGG-11 and the wrapper a spikingjelly user puts around it for ``torchattacks``, and the
contenders of the LIF alone (this project's LIF, a plain torch loop, spikingjelly's
``LIFNode``), all with the same dynamics so that their spikes can be compared.

spikingjelly is an optional library: it is imported here, inside the functions, and
:func:`require_spikingjelly` says in one line that it is missing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from snnattack.errors import UserError
from snnattack.snn.neurons import LIF
from snnattack.snn.surrogates import ATan

VGG11 = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")  # CIFAR VGG-11
TAU = 2.0  # spikingjelly's LIFNode default; without input decay, lam = 1 - 1 / tau
LAM = 1.0 - 1.0 / TAU
ALPHA = 2.0  # ATan's sharpness, spikingjelly's default


def require_spikingjelly() -> None:
    """Refuses, in one line, a machine without spikingjelly 2.0 (:class:`UserError`)."""
    try:
        import spikingjelly.activation_based  # noqa: F401
    except ImportError:
        raise UserError(
            "python -m tools.peer_compare compares with spikingjelly, which is not "
            "installed; accepted: pip install spikingjelly==2.0.0"
        ) from None


def spikingjelly_vgg11(
    image: int = 32, num_classes: int = 10, in_channels: int = 3
) -> nn.Sequential:
    """A spikingjelly multi-step VGG-11 for ``image`` x ``image`` images (``[T, B, C, H, W]``
    to ``[T, B, K]``): conv, BN and ``LIFNode`` (ATan surrogate) per layer, average pooling
    (while the side is above 1: a small image for a test skips the last), a linear
    classifier."""
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    layers: list[nn.Module] = []
    channels, side = in_channels, image
    for item in VGG11:
        if item == "M":
            if side > 1:
                layers.append(layer.AvgPool2d(2))
                side //= 2
            continue
        layers += [
            layer.Conv2d(channels, item, 3, padding=1, bias=False),
            layer.BatchNorm2d(item),
            neuron.LIFNode(surrogate_function=surrogate.ATan()),
        ]
        channels = item
    net = nn.Sequential(*layers, layer.Flatten(), layer.Linear(channels * side**2, num_classes))
    functional.set_step_mode(net, "m")
    return net


class UserWrapped(nn.Module):
    """The network as a spikingjelly user hands it to ``torchattacks``: the image repeated over
    ``T`` steps, the output's mean over them, the neurons' state reset before each forward."""

    def __init__(self, body: nn.Module, T: int) -> None:
        super().__init__()
        self.body, self.T = body, T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from spikingjelly.activation_based import functional

        functional.reset_net(self.body)
        return self.body(x.unsqueeze(0).repeat(self.T, *[1] * x.dim())).mean(0)


Neuron = Callable[[torch.Tensor], torch.Tensor]


def plain_loop(x: torch.Tensor) -> torch.Tensor:
    """The LIF as a user writes it in torch: one step at a time, the spike's ATan slope by a
    detached difference (``h = lam u + x_t``, ``s = H(h - 1)``, hard reset)."""
    u = torch.zeros_like(x[0])
    out = []
    for t in range(x.shape[0]):
        h = LAM * u + x[t]
        v = h - 1.0
        smooth = torch.atan(math.pi / 2 * ALPHA * v) / math.pi
        s = (v >= 0).to(x.dtype) + (smooth - smooth.detach())
        u = h * (1.0 - s)
        out.append(s)
    return torch.stack(out)


def lif_contenders(device: torch.device) -> dict[str, Neuron]:
    """The LIFs compared alone, by row name: this project's at its default backend (``c``,
    the Triton kernels on CUDA) and at ``torch``, the plain loop, spikingjelly 2.0's
    multi-step ``LIFNode`` (its own dispatch on ``device``: native CUDA or Triton on a GPU).
    Same dynamics: λ = 1 - 1/τ, θ 1, hard reset, the ATan slope."""
    from spikingjelly.activation_based import functional, neuron, surrogate

    ours = LIF(lam=LAM, surrogate=ATan(ALPHA)).to(device)
    torch_ops = LIF(lam=LAM, surrogate=ATan(ALPHA), backend="torch").to(device)
    node = neuron.LIFNode(
        tau=TAU, decay_input=False, surrogate_function=surrogate.ATan(ALPHA), step_mode="m"
    ).to(device)

    def spikingjelly(x: torch.Tensor) -> torch.Tensor:
        functional.reset_net(node)
        return node(x)

    return {
        f"snnattack LIF (backend {ours.backend})": ours,
        "snnattack LIF (backend torch)": torch_ops,
        "plain torch loop": plain_loop,
        "spikingjelly 2.0 LIFNode": spikingjelly,
    }
