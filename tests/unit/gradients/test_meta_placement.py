"""Device placement without a GPU: PyTorch's ``meta`` device stands in for a second device
with autograd, and a CPU tensor mixed into a meta computation raises ("... is not on the
expected device"), in the forward as in the backward. Every gradient mode on every model
family (both CPU backends' models) and on a spikingjelly and a snnTorch network through the
adapters runs forward and backward with model and input on ``meta``; so do training steps
and the attack methods whose step has no data-dependent control flow. Where the other
methods stop on ``meta`` (host syncs on a GPU: ``.nonzero()``, ``.item()``, a per-device
generator) is listed in docs/running.md."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from foreign_nets import snntorch_leaky, spikingjelly_plif
from harness import QUICK, compose
from torch import nn

from snnattack.attacks.crafting import craft, craft_tracked
from snnattack.gradients import GRADIENT_MODES, gradient_mode
from snnattack.interop import adapt
from snnattack.models import MODELS, build
from snnattack.preparation.config import job_settings

META = torch.device("meta")
# every architecture's family, each at the input size it is built for: channels, side,
# encoding (dvs_vgg: CIFAR10-DVS's 48x48 event frames)
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
QUICK_FAMILIES = ("digits_net", "digits_resnet")
FAMILY_PARAMS = [
    name if name in QUICK_FAMILIES else pytest.param(name, marks=pytest.mark.slow)
    for name in FAMILIES
]
ADAPTED = {"spikingjelly": spikingjelly_plif, "snntorch": snntorch_leaky}


def test_every_family_of_the_registry_is_covered() -> None:
    """A new family (a module of models/ that registers a new body) is added here."""
    families = {"vgg16": "vgg11", "resnet17": "resnet19"}  # the same bodies at another depth
    assert {families.get(name, name) for name in MODELS} == set(FAMILIES)


def test_a_cpu_tensor_in_a_meta_computation_raises() -> None:
    """What the tests below rely on: ``meta`` refuses a tensor left on the CPU."""
    x = torch.rand(2, 3, device=META, requires_grad=True)
    with pytest.raises(RuntimeError, match="device"):
        (x * torch.rand(2, 3)).sum().backward()


def on_meta(family: str, backend: str = "c") -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """``family``'s network in eval mode (as attacks run it), a batch of 2 and its labels,
    all on ``meta``; the parameters are made there (no weights computed)."""
    channels, side, encoding = FAMILIES[family]
    with torch.device(META):
        net = build(family, 10, channels, T=T, encoding=encoding, backend=backend)
    frames = (T,) if encoding == "frames" else ()
    x = torch.rand(2, *frames, channels, side, side, device=META)
    return net.to(META).eval(), x, torch.zeros(2, dtype=torch.long, device=META)


def input_gradient(net: nn.Module, x: torch.Tensor, y: torch.Tensor, mode: str) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    with gradient_mode(net, mode):
        nn.functional.cross_entropy(net(x), y).backward()
    return x.grad


@pytest.mark.parametrize("mode", list(GRADIENT_MODES))
@pytest.mark.parametrize("family", FAMILY_PARAMS)
@pytest.mark.parametrize("backend", ["c", "torch"])
def test_every_gradient_mode_runs_on_the_models_device(
    family: str, mode: str, backend: str
) -> None:
    net, x, y = on_meta(family, backend)
    grad = input_gradient(net, x, y, mode)
    assert grad.device == META and grad.shape == x.shape


@pytest.mark.parametrize("family", FAMILY_PARAMS)
def test_training_steps_run_on_the_models_device(family: str) -> None:
    net, x, y = on_meta(family)
    net.train()
    nn.functional.cross_entropy(net(x), y).backward()
    assert all(p.grad.device == META for p in net.parameters() if p.requires_grad)


@pytest.mark.parametrize("mode", list(GRADIENT_MODES))
@pytest.mark.parametrize("library", list(ADAPTED))
def test_adapted_networks_run_every_gradient_mode_on_the_models_device(
    library: str, mode: str
) -> None:
    net = adapt(ADAPTED[library](), T=T).to(META).eval()
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


def test_the_convergence_curve_of_an_attack_runs_on_the_models_device() -> None:
    """The running best examples of ``attack.steps_curve``, recorded at every iterate, are
    kept on the model's device."""
    job = job_settings(compose(*QUICK, "method=[pgd]", "boxes=[white]"))
    (spec,) = job.specs
    net, x, y = on_meta("digits_net")
    recipe = replace(job.attack.recipe, steps_curve=(1, 2))
    _, _, curve, _ = craft_tracked(spec.algorithm, net, x, y, spec.eps, dict(spec.params), recipe)
    assert sorted(curve) == [1, 2] and all(best.device == META for best in curve.values())
