"""The paper architectures (VGG-11/16, ResNet-17/19, DVS VGG): shapes, gradients, sizes."""

from __future__ import annotations

import functools
import re

import pytest
import torch
from harness import ROOT
from torch import nn

from snnattack.errors import ConfigError
from snnattack.gradients import gradient_mode
from snnattack.models import MODELS, build
from snnattack.models.base import SpikingNet
from snnattack.models.resnet import BasicBlock
from snnattack.models.wrn import ConvexCombination, PreActBlock
from snnattack.snn.neurons import LIF
from snnattack.snn.temporal import StepWise

T = 2
BATCH = 2
DOCS = ROOT / "docs" / "models.md"

# name -> (in_channels, encoding, input shape for a batch of BATCH)
INPUTS = {
    "vgg11": (3, "direct", (BATCH, 3, 32, 32)),
    "vgg16": (3, "direct", (BATCH, 3, 32, 32)),
    "vgg5": (3, "direct", (BATCH, 3, 32, 32)),
    "vgg11_eccv": (3, "direct", (BATCH, 3, 32, 32)),
    "resnet17": (3, "direct", (BATCH, 3, 32, 32)),
    "resnet19": (3, "direct", (BATCH, 3, 32, 32)),
    "wrn16_4": (3, "direct", (BATCH, 3, 32, 32)),
    "dvs_vgg": (2, "frames", (BATCH, T, 2, 48, 48)),
    "digits_resnet": (1, "direct", (BATCH, 1, 8, 8)),
}
PARAMETERS = {
    ("vgg11", 10): 61_374_026,
    ("vgg11", 100): 61_742_756,
    ("vgg16", 10): 33_642_442,
    ("vgg16", 100): 34_011_172,
    ("resnet17", 10): 1_872_074,
    ("resnet17", 100): 1_895_204,
    ("resnet19", 10): 14_681_226,
    ("resnet19", 100): 14_704_356,
    ("digits_resnet", 10): 79_002,
    ("vgg5", 10): 9_673_034,
    ("vgg5", 100): 9_765_284,
    ("vgg11_eccv", 10): 10_800_832,
    ("vgg11_eccv", 100): 10_892_992,
    ("dvs_vgg", 10): 9_268_746,
    ("wrn16_4", 10): 2_748_902,
    ("wrn16_4", 100): 2_772_032,
}
# LIF, containers, and the layers the rate-domain RGA may treat as linear time-invariant.
ALLOWED = (
    LIF,
    BasicBlock,
    PreActBlock,
    ConvexCombination,  # a fixed weighted sum of two branches
    nn.Conv2d,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.AvgPool2d,
    nn.Linear,
    nn.Flatten,
    nn.Identity,
    nn.Sequential,
    StepWise,
)


def make(name: str, num_classes: int = 10, dtype: torch.dtype = torch.float32) -> SpikingNet:
    in_channels, encoding, _ = INPUTS[name]
    torch.manual_seed(0)
    model = build(name, num_classes, in_channels=in_channels, T=T, lam=0.9, encoding=encoding)
    return model.to(dtype)


def batch(name: str, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.rand(INPUTS[name][2], generator=torch.Generator().manual_seed(1), dtype=dtype)


def calibrate(model: SpikingNet, x: torch.Tensor) -> SpikingNet:
    """Makes the untrained model fire, then puts it in eval mode.

    BN running stats := the statistics of ``x``; linear weights He-normal (PyTorch's default
    is too small for the hidden spiking linear layers to reach the threshold). A model
    without BN (``vgg11_eccv``) has its layers scaled instead (:func:`fire_without_bn`).
    """
    if not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return fire_without_bn(model, x)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=(2 / m.in_features) ** 0.5)
    model.train()
    with torch.no_grad():
        model(x)
    return model.eval()


@torch.no_grad()
def fire_without_bn(model: SpikingNet, x: torch.Tensor) -> SpikingNet:
    """Layer by layer, scales the conv/linear before each LIF so that the median positive
    input current on ``x`` is the threshold: every layer fires, even at T = 2."""
    affines = [m for m in model.body.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    lifs = [m for m in model.body.modules() if isinstance(m, LIF)]
    seen: list[torch.Tensor] = []
    for affine, lif in zip(affines, lifs, strict=False):
        hook = lif.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
        model(x)
        hook.remove()
        current = seen.pop()
        affine.weight.mul_(lif.theta / current[current > 0].median())
    return model.eval()


@functools.cache
def calibrated(name: str) -> tuple[SpikingNet, torch.Tensor, torch.Tensor]:
    """The calibrated float32 model, its input batch and its eval-mode output."""
    x = batch(name)
    model = calibrate(make(name), x)
    with torch.no_grad():
        return model, x, model(x)


def input_gradient(model: SpikingNet, x: torch.Tensor, mode: str) -> tuple[torch.Tensor, ...]:
    x = x.clone().requires_grad_(True)
    with gradient_mode(model, mode):
        out = model(x)
        nn.functional.cross_entropy(out, torch.arange(len(x))).backward()
    return out.detach(), x.grad


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_paper_model_maps_a_batch_to_logits_per_class(name):
    _, _, out = calibrated(name)
    assert out.shape == (BATCH, 10)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("mode", ["stbp", "rga"])
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_gradient_modes_give_finite_nonzero_input_gradients_and_keep_outputs(name, mode):
    model, x, plain = calibrated(name)
    out, grad = input_gradient(model, x, mode)
    torch.testing.assert_close(out, plain, rtol=0, atol=0)
    assert torch.isfinite(grad).all()
    assert grad.abs().sum() > 0


def test_rate_domain_rga_equals_layerwise_rga_through_residual_blocks():
    name = "resnet17"
    x = batch(name, torch.float64)
    model = calibrate(make(name, dtype=torch.float64), x)
    out, rate_domain = input_gradient(model, x, "rga")
    out_layerwise, layerwise = input_gradient(model, x, "rga_layerwise")
    assert torch.equal(out, out_layerwise)
    assert rate_domain.abs().sum() > 0
    torch.testing.assert_close(rate_domain, layerwise, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_bodies_hold_only_lif_and_rate_exact_layers(name):
    model, _, _ = calibrated(name)
    for m in model.body.modules():
        assert isinstance(m, ALLOWED), m
    assert any(isinstance(m, LIF) for m in model.body.modules())


@pytest.mark.parametrize(("name", "num_classes"), sorted(PARAMETERS))
def test_parameter_count_matches_the_documented_number(name, num_classes):
    with torch.device("meta"):
        model = make(name, num_classes)
    count = sum(p.numel() for p in model.parameters())
    assert count == PARAMETERS[name, num_classes]
    assert f"{count:,}" in MODELS[name].__doc__
    assert f"{count:,}" in DOCS.read_text()


@pytest.mark.parametrize(
    "arguments,refused",
    [
        (dict(name="nope"), r"^name='nope' is unknown; accepted: vgg11, vgg16, .*, digits_net, "),
        (dict(name=["vgg11"]), r"^name=\['vgg11'\] is not a name; accepted: vgg11, vgg16, "),
        (dict(name="VGG11"), r"^name='VGG11' is unknown \(did you mean vgg11\?\); accepted: "),
        (
            dict(name="vgg11", activation="tanh"),
            r"^activation='tanh' is unknown; accepted: lif, relu$",
        ),
    ],
)
def test_an_unknown_name_or_activation_is_a_config_error_naming_the_argument(
    arguments: dict, refused: str
) -> None:
    """``build`` refused them with a bare ValueError (a list as name: a TypeError), where the
    rest of the API names the argument and what it accepts in one ConfigError line."""
    with pytest.raises(ConfigError, match=refused):
        build(num_classes=10, **arguments)


@pytest.mark.parametrize("T", ["4", "abc", None, 0])
def test_a_time_step_count_that_is_no_whole_number_is_refused_as_given(T: object) -> None:
    """``T="4"`` was refused as ``got 4`` (a number, it seemed), ``T="abc"`` with int()'s own
    message: each is named as it was given."""
    with pytest.raises(ValueError, match=re.escape(f"T must be an integer >= 1, got {T!r}")):
        build("digits_net", num_classes=10, in_channels=1, T=T)
