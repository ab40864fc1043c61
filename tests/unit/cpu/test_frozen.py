"""Frozen convolutions and eval-mode BatchNorms (``snnattack.cpu.frozen``): the same values and
input gradients as the modules bit for bit, and nothing of their inputs kept; the modules
themselves wherever that would not be the same computation."""

from __future__ import annotations

import pytest
import torch
from frozen_layers import output_and_gradient, saved_elements
from torch import nn

from snnattack.analysis.cost import attack_step, calibrate_batchnorm
from snnattack.cpu import frozen
from snnattack.models import build
from snnattack.snn.temporal import StepWise


def eval_bn(bn: nn.Module, dtype: torch.dtype) -> nn.Module:
    """``bn`` in eval mode with random statistics and affine parameters, frozen."""
    torch.manual_seed(0)
    bn = bn.to(dtype)
    with torch.no_grad():
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.2, 2.0)
        if bn.affine:
            bn.weight.normal_()
            bn.bias.normal_()
    return bn.eval().requires_grad_(False)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize(
    "bn,shape,layout",
    [
        (nn.BatchNorm2d(6), (8, 6, 5, 7), torch.contiguous_format),
        (nn.BatchNorm2d(6), (8, 6, 5, 7), torch.channels_last),
        (nn.BatchNorm1d(6), (8, 6), torch.contiguous_format),
        (nn.BatchNorm2d(6), (0, 6, 5, 7), torch.contiguous_format),
    ],
    ids=["2d", "2d-channels-last", "1d", "empty-batch"],
)
def test_frozen_bn_equals_the_module_bit_for_bit(bn, shape, layout, affine, dtype) -> None:
    bn = eval_bn(type(bn)(6, affine=affine), dtype)
    x = torch.randn(shape, dtype=dtype).contiguous(memory_format=layout)
    ours = output_and_gradient(lambda x: frozen.run_layer(bn, x, "c"), x)
    module = output_and_gradient(bn, x)
    assert ours[0].grad_fn is None  # detached above; the graph below was ours
    for a, b in zip(ours, module, strict=True):
        assert torch.equal(a, b) and a.stride() == b.stride()


def test_frozen_bn_keeps_nothing_of_its_input() -> None:
    bn = eval_bn(nn.BatchNorm2d(6), torch.float32)
    x = torch.randn(8, 6, 5, 7)
    assert saved_elements(bn, x) >= x.numel()  # the module keeps its input
    assert saved_elements(lambda x: frozen.run_layer(bn, x, "c"), x) == 3 * 6  # weight, statistics


def test_the_module_runs_where_frozen_bn_would_not_be_the_same_computation() -> None:
    x = torch.randn(8, 6, 5, 7, requires_grad=True)

    def uses_frozen(bn: nn.Module, x: torch.Tensor = x) -> bool:
        return type(frozen.run_layer(bn, x, "c").grad_fn).__name__ == "FrozenBatchNormBackward"

    assert uses_frozen(eval_bn(nn.BatchNorm2d(6), torch.float32))
    assert not uses_frozen(eval_bn(nn.BatchNorm2d(6), torch.float32).train())  # batch statistics
    assert not uses_frozen(eval_bn(nn.BatchNorm2d(6), torch.float32).requires_grad_(True))
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the module casts as autocast says
        assert not uses_frozen(eval_bn(nn.BatchNorm2d(6), torch.float32))
    hooked = eval_bn(nn.BatchNorm2d(6), torch.float32)
    hooked.register_forward_hook(lambda *_: None)
    assert not uses_frozen(hooked)
    replaced = eval_bn(nn.BatchNorm2d(6), torch.float32)
    replaced.forward = lambda x: x * 2  # a gradient mode's own forward
    assert not uses_frozen(replaced)
    with torch.no_grad():
        assert frozen.run_layer(eval_bn(nn.BatchNorm2d(6), torch.float32), x, "c").grad_fn is None


@pytest.mark.parametrize("name", ["digits_net", "digits_resnet"])
@pytest.mark.parametrize("mode", ["stbp", "rga", "hart"])
def test_an_attack_step_has_the_same_input_gradient_with_frozen_layers(name, mode, monkeypatch):
    torch.manual_seed(2)
    model = build(name, 10, in_channels=1, T=4, lam=0.9).eval()
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,))
    calibrate_batchnorm(model, x)
    model.requires_grad_(False)
    calls = []
    for layer in (frozen.FrozenBatchNorm, frozen.FrozenConvolution):
        real = layer.apply
        monkeypatch.setattr(layer, "apply", lambda *a, real=real: calls.append(a[1]) or real(*a))
    ours = attack_step(model, x, y, mode)
    ran = {type(layer) for layer in calls}  # RGA's pass runs its linear layers as its own
    assert (nn.BatchNorm2d in ran) == (nn.Conv2d in ran) == (mode != "rga")
    monkeypatch.setattr(frozen, "applies", lambda *_: False)  # the modules
    module = attack_step(model, x, y, mode)
    assert ours.abs().sum() > 0 and torch.equal(ours, module)


def test_the_apis_attack_runs_frozen_layers_on_a_model_whose_weights_learn(monkeypatch):
    """A user's model as it comes out of training (weights requiring a gradient): the attack
    freezes its own copy, so the frozen layers run there, the examples are the modules' bit
    for bit, and the user's weights still require a gradient."""
    import snnattack

    torch.manual_seed(2)
    model = build("digits_net", 10, in_channels=1, T=4, lam=0.9).eval()
    x, y = torch.rand(8, 1, 8, 8), torch.randint(0, 10, (8,))
    calibrate_batchnorm(model, x)
    calls = []
    real = frozen.FrozenConvolution.apply
    monkeypatch.setattr(frozen.FrozenConvolution, "apply", lambda *a: calls.append(1) or real(*a))
    ours = snnattack.attack(model, x, y, "pgd", eps=8, steps=2, alpha=2)
    assert calls and all(p.requires_grad for p in model.parameters())
    monkeypatch.setattr(frozen, "applies", lambda *_: False)  # the modules
    model.zero_grad()
    assert torch.equal(ours, snnattack.attack(model, x, y, "pgd", eps=8, steps=2, alpha=2))


def test_a_stepwise_conv_bn_keeps_only_its_parameters_in_an_attack() -> None:
    torch.manual_seed(0)
    layer = StepWise(nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6)))
    eval_bn(layer.module[1], torch.float32)
    layer.requires_grad_(False)
    x = torch.rand(4, 2, 3, 5, 5)  # [T, B, C, H, W], varying over T
    assert saved_elements(layer, x) == 6 * 3 * 3 * 3 + 3 * 6  # conv weight; BN weight, stats


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "conv,layout",
    [
        (nn.Conv2d(4, 6, 3, padding=1, bias=False), torch.contiguous_format),
        (nn.Conv2d(4, 6, 3, padding=1), torch.channels_last),
        (nn.Conv2d(4, 6, 3, stride=2, padding=1), torch.contiguous_format),
        (nn.Conv2d(4, 6, 1, stride=2, bias=False), torch.contiguous_format),
        (nn.Conv2d(4, 8, 3, padding=2, dilation=2, groups=2), torch.contiguous_format),
    ],
    ids=["3x3", "bias-channels-last", "strided", "1x1-shortcut", "dilated-grouped"],
)
def test_frozen_convolution_equals_the_module_bit_for_bit(conv, layout, dtype) -> None:
    torch.manual_seed(1)
    conv = conv.to(dtype).requires_grad_(False)
    x = (torch.rand(8, 4, 9, 7, dtype=dtype) < 0.3).to(dtype).contiguous(memory_format=layout)
    ours = output_and_gradient(lambda x: frozen.frozen_convolution(conv, x, "c"), x)
    module = output_and_gradient(conv, x)
    for a, b in zip(ours, module, strict=True):
        assert torch.equal(a, b) and a.stride() == b.stride()
    saved = saved_elements(lambda x: frozen.frozen_convolution(conv, x, "c"), x)
    assert saved == conv.weight.numel()


def test_a_convolution_the_rate_domain_pass_replaces_runs_as_replaced() -> None:
    """RGA's second pass gives convolutions its own forward (``adjoint_only``): kept as is."""
    from snnattack.gradients.adjoint import adjoint_only

    model = nn.Sequential(nn.Conv2d(2, 3, 3)).requires_grad_(False)
    x = torch.rand(4, 2, 5, 5, requires_grad=True)
    with adjoint_only(model):
        assert frozen.frozen_convolution(model[0], x, "c") is None
