"""Factories of a user's own networks for ``model=external`` (tests/jobs/test_external.py): what a
package of the user's would hold."""

from __future__ import annotations

from torch import nn

from snnattack.models import build
from snnattack.models.base import SpikingNet


def digits_net(T: int = 4, lam: float = 1.0) -> SpikingNet:
    """The digits SNN of ``conf/model/digits_net.yaml``, built the way a script would."""
    return build(
        "digits_net", num_classes=10, in_channels=1, T=T, lam=lam, mean=[0.305], std=[0.376]
    )


def not_a_network() -> str:
    """A factory that returns something other than a network."""
    return "net"


def broken(width: int) -> nn.Module:
    """A factory whose own code fails."""
    raise RuntimeError(f"no layer of width {width}")


def three_channels(T: int = 4) -> SpikingNet:
    """A digits SNN for RGB images: it does not fit the 1-channel digits."""
    return build("digits_net", num_classes=10, in_channels=3, T=T)


def five_classes(T: int = 4) -> SpikingNet:
    """A digits SNN with 5 outputs: the digits have 10 classes."""
    return build("digits_net", num_classes=5, in_channels=1, T=T)


def nan_weight(T: int = 4) -> SpikingNet:
    """The digits SNN with one NaN weight."""
    net = digits_net(T)
    next(net.parameters()).data.view(-1)[0] = float("nan")
    return net


class Failing(nn.Module):
    """A spikingjelly network whose forward raises (the user's own bug)."""

    def __init__(self) -> None:
        super().__init__()
        from spikingjelly.activation_based import layer, neuron

        self.fc = layer.Linear(64, 10)
        self.lif = neuron.LIFNode(tau=2.0, step_mode="m")

    def forward(self, x):
        raise KeyError("no such layer: fc2")


class WithSpikes(nn.Module):
    """A spikingjelly network returning ``(out, spikes)``, as many research codes do."""

    def __init__(self) -> None:
        super().__init__()
        from spikingjelly.activation_based import layer, neuron

        self.flat = layer.Flatten(step_mode="m")
        self.fc = layer.Linear(64, 10, step_mode="m")
        self.lif = neuron.LIFNode(tau=2.0, step_mode="m")

    def forward(self, x):
        spikes = self.lif(self.fc(self.flat(x)))
        return spikes, [spikes]


def failing() -> nn.Module:
    """A factory of :class:`Failing`."""
    return Failing()


def with_spikes() -> nn.Module:
    """A factory of :class:`WithSpikes`."""
    return WithSpikes()


def spikingjelly_events(seed: int = 0) -> nn.Module:
    """spikingjelly's conv tutorial network, multi-step, on the event digits' 2-polarity 8x8
    frames (tests/unit/interop/test_api_events.py)."""
    import torch
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    torch.manual_seed(seed)
    net = nn.Sequential(
        layer.Conv2d(2, 8, 3, padding=1, bias=False),
        layer.BatchNorm2d(8),
        neuron.LIFNode(surrogate_function=surrogate.ATan()),
        layer.MaxPool2d(2),
        layer.Flatten(),
        layer.Linear(8 * 4 * 4, 10, bias=False),
        neuron.LIFNode(surrogate_function=surrogate.ATan()),
    )
    functional.set_step_mode(net, "m")
    return net
