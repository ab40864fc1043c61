"""BN folded into the conv/linear before it: the same function in float64, fewer layers."""

from collections.abc import Callable

import pytest
import torch
from torch import nn

from snnattack.analysis.cost import calibrate_batchnorm
from snnattack.models import build
from snnattack.models.fold import folded
from snnattack.models.vgg import vgg_body
from snnattack.models.zoo import MODELS

BN = nn.modules.batchnorm._BatchNorm


def tiny_vgg(num_classes: int, in_channels: int, neuron: Callable[[], nn.Module]) -> nn.Module:
    """The VGG layout (conv-BN pairs inside one per-step module) at digits size."""
    return vgg_body((8, "A", 16), (32,), num_classes, in_channels, 8, neuron)


@pytest.mark.parametrize(
    ("name", "shape"),
    [("digits_net", (1, 8, 8)), ("digits_resnet", (1, 8, 8)), ("tiny_vgg", (3, 8, 8))],
)
def test_folding_changes_outputs_and_input_gradients_only_by_rounding(
    name: str, shape: tuple[int, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(MODELS, "tiny_vgg", tiny_vgg)
    torch.manual_seed(0)
    model = build(name, num_classes=10, in_channels=shape[0], T=4, lam=0.9, reset="hard")
    model = model.double()
    x = torch.rand(6, *shape, dtype=torch.float64)
    calibrate_batchnorm(model, x)
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, BN)):
            bn.weight.uniform_(0.5, 1.5)  # affine parameters a trained model would have
            bn.bias.uniform_(-0.2, 0.2)
    fold = folded(model)
    assert not any(isinstance(m, BN) for m in fold.modules())
    assert any(isinstance(m, BN) for m in model.modules())  # the original is left as it was
    out = []
    for m in (model, fold):
        xi = x.clone().requires_grad_(True)
        logits = m(xi)
        (grad,) = torch.autograd.grad(nn.functional.cross_entropy(logits, torch.arange(6)), xi)
        out.append((logits, grad))
    assert out[0][0].abs().max() > 0  # the model spikes through to its read-out
    torch.testing.assert_close(out[0], out[1], rtol=1e-10, atol=1e-10)
