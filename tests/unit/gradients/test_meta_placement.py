"""Device placement without a GPU: PyTorch's ``meta`` device stands in for a second device
with autograd, and a CPU tensor mixed into a meta computation raises ("... is not on the
expected device"), in the forward as in the backward. Every gradient mode on every model
family (and on a spikingjelly and a snnTorch network through the adapters) runs forward and
backward with model and input on ``meta``; so do the attack methods whose step has no
data-dependent control flow. Where the other methods stop on ``meta`` (host syncs on a GPU:
``.nonzero()``, ``.item()``, a per-device generator) is listed in docs/running.md."""

from __future__ import annotations

import pytest
import torch
from harness import QUICK, compose
from torch import nn

from snnattack.attacks.crafting import craft
from snnattack.config.settings import job_settings
from snnattack.gradients import GRADIENT_MODES, gradient_mode
from snnattack.interop.external import as_spiking_net
from snnattack.models import build

META = torch.device("meta")
# each family's input: channels, height, width, encoding (dvs_vgg: CIFAR10-DVS's event frames)
FAMILIES = {
    "digits_net": (1, 8, 8, "direct"),
    "vgg11": (3, 32, 32, "direct"),
    "resnet19": (3, 32, 32, "direct"),
    "wrn16_4": (3, 32, 32, "direct"),
    "dvs_vgg": (2, 48, 48, "frames"),
}
T = 2


def on_meta(family: str) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """``family``'s network in eval mode (as attacks run it), a batch of 2 and its labels,
    all on ``meta``."""
    channels, height, width, encoding = FAMILIES[family]
    net = build(family, 10, in_channels=channels, T=T, encoding=encoding).to(META).eval()
    frames = (T,) if encoding == "frames" else ()
    x = torch.rand(2, *frames, channels, height, width, device=META)
    return net, x, torch.zeros(2, dtype=torch.long, device=META)


def input_gradient(net: nn.Module, x: torch.Tensor, y: torch.Tensor, mode: str) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    with gradient_mode(net, mode):
        nn.functional.cross_entropy(net(x), y).backward()
    return x.grad


def test_a_cpu_tensor_in_a_meta_computation_raises() -> None:
    """What the tests below rely on: ``meta`` refuses a tensor left on the CPU."""
    x = torch.rand(2, 3, device=META, requires_grad=True)
    with pytest.raises(RuntimeError, match="device"):
        (x * torch.rand(2, 3)).sum().backward()


@pytest.mark.parametrize("mode", list(GRADIENT_MODES))
@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_gradient_mode_runs_on_the_models_device(family: str, mode: str) -> None:
    net, x, y = on_meta(family)
    grad = input_gradient(net, x, y, mode)
    assert grad.device == META and grad.shape == x.shape


@pytest.mark.parametrize("family", list(FAMILIES))
def test_training_steps_run_on_the_models_device(family: str) -> None:
    net, x, y = on_meta(family)
    net.train()
    nn.functional.cross_entropy(net(x), y).backward()
    assert all(p.grad.device == META for p in net.parameters() if p.requires_grad)


@pytest.mark.parametrize("factory", ["spikingjelly_plif", "snntorch_leaky"])
@pytest.mark.parametrize("mode", list(GRADIENT_MODES))
def test_adapted_networks_run_every_gradient_mode_on_the_models_device(
    factory: str, mode: str
) -> None:
    import foreign_nets

    net = as_spiking_net(getattr(foreign_nets, factory)(), T).to(META).eval()
    x, y = torch.rand(2, 1, 8, 8, device=META), torch.zeros(2, dtype=torch.long, device=META)
    grad = input_gradient(net, x, y, mode)
    assert grad.device == META and grad.shape == x.shape


@pytest.mark.parametrize("method", ["fgsm", "rfgsm", "bim", "pgd", "mifgsm"])
def test_attack_steps_without_data_dependent_control_flow_run_on_the_models_device(
    method: str,
) -> None:
    job = job_settings(compose(*QUICK, f"method=[{method}]", "boxes=[white]"))
    (spec,) = job.specs
    net, x, y = on_meta("digits_net")
    adv, _ = craft(spec.algorithm, net, x, y, spec.eps, dict(spec.params), job.attack.recipe)
    assert adv.device == META and adv.shape == x.shape
