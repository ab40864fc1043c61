"""A time-constant input (direct encoding) runs a layer's per-sample prefix once: same numbers."""

import copy

import pytest
import torch
from torch import nn

from snnattack.models import build
from snnattack.snn.temporal import StepWise, time_constant


def conv_bn() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4)).double()


@pytest.mark.parametrize("training", [False, True])
def test_a_time_constant_input_gives_the_per_step_numbers_and_gradients(training: bool) -> None:
    torch.manual_seed(1)
    image = torch.randn(5, 2, 6, 6, dtype=torch.float64)
    weight = torch.randn(3, 5, 4, 6, 6, dtype=torch.float64)  # a loss that differs per step
    results = []
    for constant in (True, False):
        layer = StepWise(conv_bn())
        layer.train(training)
        if not training:
            layer.module[1].running_mean.uniform_(-1, 1)
            layer.module[1].running_var.uniform_(0.5, 2)
        x = image.clone().requires_grad_(True)
        inp = x.unsqueeze(0).expand(3, *x.shape)
        if not constant:
            inp = inp.contiguous()
        assert time_constant(inp) is constant
        out = layer(inp)
        (out * weight).sum().backward()
        bn = layer.module[1]
        results.append(
            [out, x.grad, *(p.grad for p in layer.parameters()), bn.running_mean, bn.running_var]
        )
    for fast, slow in zip(*results, strict=True):
        torch.testing.assert_close(fast, slow, rtol=1e-12, atol=1e-12)


def test_only_the_per_sample_prefix_runs_once_in_training() -> None:
    calls = []
    conv = nn.Conv2d(1, 2, 3, padding=1)
    bn = nn.BatchNorm2d(2)
    conv.register_forward_hook(lambda m, i, o: calls.append(("conv", i[0].shape[0])))
    bn.register_forward_hook(lambda m, i, o: calls.append(("bn", i[0].shape[0])))
    layer = StepWise(nn.Sequential(conv, bn)).train()
    x = torch.rand(2, 1, 4, 4).unsqueeze(0).expand(4, 2, 1, 4, 4)
    assert layer(x).shape == (4, 2, 2, 4, 4)
    assert calls == [("conv", 2), ("bn", 8)]  # conv once on B; train-mode BN on all T * B copies
    calls.clear()
    layer.eval()
    out = layer(x)
    assert calls == [("conv", 2), ("bn", 2)] and time_constant(out)


@pytest.mark.parametrize("name", ["digits_net", "digits_resnet"])
def test_a_digits_model_gives_the_same_input_gradient_with_and_without_the_shortcut(
    name: str,
) -> None:
    torch.manual_seed(0)
    model = build(name, num_classes=10, in_channels=1, T=4, lam=0.9, reset="hard").double()
    x = torch.rand(8, 1, 8, 8, dtype=torch.float64)
    model.train()
    with torch.no_grad():
        model(x)  # BN statistics that make it spike
    model.eval()
    slow = copy.deepcopy(model)
    direct = slow.encoder.simulate
    slow.encoder.simulate = lambda image: direct(image).contiguous()
    out = []
    for m in (model, slow):
        xi = x.clone().requires_grad_(True)
        loss = nn.functional.cross_entropy(m(xi), torch.arange(8) % 10)
        loss.backward()
        out.append((loss.detach(), xi.grad))
    torch.testing.assert_close(out[0], out[1], rtol=1e-12, atol=1e-12)
