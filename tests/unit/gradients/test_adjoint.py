"""The adjoint-only layers: input gradients equal autograd's, and the rate-domain RGA step
computes each convolution and linear layer once (in the simulation), not twice."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from snnattack.gradients import gradient_mode
from snnattack.gradients.adjoint import adjoint_only
from snnattack.models import build


@pytest.mark.parametrize(
    "layer",
    [
        nn.Conv2d(4, 6, 3, padding=1),
        nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False),
        nn.Conv2d(4, 8, 3, stride=2, padding=2, dilation=2, groups=2),
        nn.Conv2d(4, 6, 1, stride=2),
        nn.Linear(7, 5),
    ],
    ids=["same", "strided", "dilated-grouped", "projection", "linear"],
)
def test_adjoint_gives_autograds_input_gradient_bit_for_bit(layer: nn.Module) -> None:
    layer = layer.double()
    shape = (3, 7) if isinstance(layer, nn.Linear) else (3, 4, 9, 9)
    x = torch.rand(shape, dtype=torch.float64, requires_grad=True)
    out = layer(x)
    grad_out = torch.randn_like(out)
    (expected,) = torch.autograd.grad(out, x, grad_out)
    with adjoint_only(layer):
        skipped = layer(x)
        (got,) = torch.autograd.grad(skipped, x, grad_out)
    assert skipped.shape == out.shape and not skipped.any()
    assert torch.equal(got, expected)
    assert "forward" not in vars(layer)  # the layer's own forward is back
    assert torch.equal(layer(x), out)


class CountLayers(TorchFunctionMode):
    """Counts the convolutions and linear layers computed."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += func in (F.conv2d, F.linear)
        return func(*args, **(kwargs or {}))


def test_rate_domain_rga_computes_each_layer_once() -> None:
    torch.manual_seed(0)
    model = build("digits_resnet", num_classes=10, in_channels=1, T=4, lam=0.9).eval()
    x = torch.rand(5, 1, 8, 8, requires_grad=True)
    with torch.no_grad(), CountLayers() as forward:
        expected = model(x)
    with gradient_mode(model, "rga"), CountLayers() as step:
        out = model(x)
        (grad,) = torch.autograd.grad(F.cross_entropy(out, torch.arange(5)), x)
    assert forward.calls > 0
    assert step.calls == forward.calls
    assert torch.equal(out, expected)
    assert grad.abs().sum() > 0
