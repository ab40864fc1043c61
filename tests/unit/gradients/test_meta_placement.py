"""Device placement without a GPU: every gradient mode on every model family, and on a
spikingjelly and a snnTorch network through the adapters, runs forward and backward with the
model and the input on PyTorch's ``meta`` device.

``meta`` acts as a second device with autograd: a tensor the code makes on the CPU (a
constant, a state, a surrogate's buffer) mixed into a meta computation raises "Tensor on
device cpu is not on the expected device meta", in the forward and in the backward, just as
it would on a GPU. A host sync (``.item()``, ``.tolist()``, boolean indexing) cannot run on
meta values either, so a backward pass that needs one fails here too.
"""

from __future__ import annotations

import pytest
import torch
from foreign_nets import snntorch_leaky, spikingjelly_plif

from snnattack.gradients import GRADIENT_MODES, gradient_mode
from snnattack.interop import adapt
from snnattack.models import MODELS, build

# every architecture's family, each at the input size it is built for: (channels, side,
# encoding); dvs_vgg reads 48x48 event frames
FAMILIES = {
    "digits_net": (1, 8, "direct"),
    "digits_resnet": (1, 8, "direct"),
    "vgg5": (3, 32, "direct"),
    "vgg11": (3, 32, "direct"),
    "vgg11_eccv": (3, 32, "direct"),
    "resnet19": (3, 32, "direct"),
    "wrn16_4": (3, 32, "direct"),
    "dvs_vgg": (2, 48, "frames"),
}
T = 2
# the digits families run in the default suite, the CIFAR- and DVS-sized ones with the slow tests
QUICK = ("digits_net", "digits_resnet")
FAMILY_PARAMS = [
    name if name in QUICK else pytest.param(name, marks=pytest.mark.slow) for name in FAMILIES
]
ADAPTED = {"spikingjelly": spikingjelly_plif, "snntorch": snntorch_leaky}


def test_every_family_of_the_registry_is_covered() -> None:
    """A new family (a module of models/ that registers a new body) is added here."""
    families = {"vgg16": "vgg11", "resnet17": "resnet19"}  # the same bodies at another depth
    assert {families.get(name, name) for name in MODELS} == set(FAMILIES)


def on_meta(net: torch.nn.Module, x: torch.Tensor, mode: str) -> torch.Tensor:
    """``x``'s input gradient through ``net`` under ``mode``, both on ``meta``."""
    net = net.eval().to("meta")
    x = x.to("meta").requires_grad_(True)
    with gradient_mode(net, mode):
        logits = net(x)
        torch.nn.functional.cross_entropy(
            logits, torch.zeros(len(x), dtype=torch.long).to("meta")
        ).backward()
    assert logits.device.type == "meta"
    return x.grad


@pytest.mark.parametrize("mode", list(GRADIENT_MODES))
@pytest.mark.parametrize("name", FAMILY_PARAMS)
@pytest.mark.parametrize("backend", ["c", "torch"])
def test_a_gradient_mode_runs_on_the_models_device(name: str, mode: str, backend: str) -> None:
    channels, side, encoding = FAMILIES[name]
    with torch.device("meta"):  # no weights computed: the parameters are made on meta
        net = build(name, 10, channels, T=T, encoding=encoding, backend=backend)
    shape = (2, T, channels, side, side) if encoding == "frames" else (2, channels, side, side)
    grad = on_meta(net, torch.rand(shape), mode)
    assert grad is not None and grad.device.type == "meta" and grad.shape == shape


@pytest.mark.parametrize("mode", list(GRADIENT_MODES))
@pytest.mark.parametrize("library", list(ADAPTED))
def test_a_gradient_mode_runs_an_adapted_network_on_its_device(library: str, mode: str) -> None:
    net = adapt(ADAPTED[library](), T=T)
    grad = on_meta(net, torch.rand(2, 1, 8, 8), mode)
    assert grad is not None and grad.device.type == "meta" and grad.shape == (2, 1, 8, 8)


def test_a_cpu_tensor_in_a_meta_computation_is_caught() -> None:
    """The check itself: a module that makes its constant on the CPU fails on meta."""

    class Misplaced(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * torch.ones(x.shape[1:])  # made on the CPU, whatever x's device

    with pytest.raises(RuntimeError, match="device"):
        Misplaced()(torch.rand(2, 3, device="meta"))
