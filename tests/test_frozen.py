"""An eval-mode BatchNorm with frozen parameters (``snnattack.frozen``): the same values and
input gradient as the module bit for bit, and nothing of its input kept; the module itself
wherever that would not be the same computation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from snnattack import frozen
from snnattack.analysis.cost import attack_step, calibrate_batchnorm
from snnattack.models import build
from snnattack.temporal import StepWise


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


def output_and_gradient(fn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.detach().clone().requires_grad_(True)
    out = fn(x)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    (grad,) = torch.autograd.grad((out * weights).sum(), x)
    return out.detach(), grad


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize(
    "bn,shape,layout",
    [
        (nn.BatchNorm2d(6), (8, 6, 5, 7), torch.contiguous_format),
        (nn.BatchNorm2d(6), (8, 6, 5, 7), torch.channels_last),
        (nn.BatchNorm1d(6), (8, 6), torch.contiguous_format),
    ],
    ids=["2d", "2d-channels-last", "1d"],
)
def test_frozen_bn_equals_the_module_bit_for_bit(bn, shape, layout, affine, dtype) -> None:
    bn = eval_bn(type(bn)(6, affine=affine), dtype)
    x = torch.randn(shape, dtype=dtype).contiguous(memory_format=layout)
    ours = output_and_gradient(lambda x: frozen.run_layer(bn, x), x)
    module = output_and_gradient(bn, x)
    assert ours[0].grad_fn is None  # detached above; the graph below was ours
    for a, b in zip(ours, module, strict=True):
        assert torch.equal(a, b) and a.stride() == b.stride()


def saved_elements(fn, x: torch.Tensor) -> int:
    total = [0]

    def pack(t: torch.Tensor) -> torch.Tensor:
        total[0] += t.numel()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x.detach().clone().requires_grad_(True))
    return total[0]


def test_frozen_bn_keeps_nothing_of_its_input() -> None:
    bn = eval_bn(nn.BatchNorm2d(6), torch.float32)
    x = torch.randn(8, 6, 5, 7)
    assert saved_elements(bn, x) >= x.numel()  # the module keeps its input
    assert saved_elements(lambda x: frozen.run_layer(bn, x), x) == 3 * 6  # weight, statistics


def test_the_module_runs_where_frozen_bn_would_not_be_the_same_computation() -> None:
    x = torch.randn(8, 6, 5, 7, requires_grad=True)

    def uses_frozen(bn: nn.Module, x: torch.Tensor = x) -> bool:
        return type(frozen.run_layer(bn, x).grad_fn).__name__ == "FrozenBatchNormBackward"

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
        assert frozen.run_layer(eval_bn(nn.BatchNorm2d(6), torch.float32), x).grad_fn is None


@pytest.mark.parametrize("name", ["digits_net", "digits_resnet"])
@pytest.mark.parametrize("mode", ["stbp", "rga", "hart"])
def test_an_attack_step_has_the_same_input_gradient_with_frozen_bn(name, mode, monkeypatch):
    torch.manual_seed(2)
    model = build(name, 10, in_channels=1, T=4, lam=0.9).eval()
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,))
    calibrate_batchnorm(model, x)
    model.requires_grad_(False)
    calls = []
    real = frozen.FrozenBatchNorm.apply
    monkeypatch.setattr(frozen.FrozenBatchNorm, "apply", lambda *a: calls.append(1) or real(*a))
    ours = attack_step(model, x, y, mode)
    assert calls  # it ran
    monkeypatch.setattr(frozen, "_frozen_batchnorm", lambda *_: False)
    module = attack_step(model, x, y, mode)
    assert ours.abs().sum() > 0 and torch.equal(ours, module)


def test_a_stepwise_conv_bn_keeps_only_the_conv_input_in_an_attack() -> None:
    torch.manual_seed(0)
    layer = StepWise(nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6)))
    eval_bn(layer.module[1], torch.float32)
    layer.requires_grad_(False)
    x = torch.rand(4, 2, 3, 5, 5)  # [T, B, C, H, W], varying over T
    conv_input = x.numel()
    saved = saved_elements(layer, x)
    assert conv_input <= saved < conv_input + 4 * 2 * 6 * 5 * 5  # not the BN's input too
