"""The adjoint-only layers: input gradients equal autograd's, and the rate-domain RGA step
computes each convolution and linear layer once (in the simulation), not twice."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from snnattack.gradients import gradient_mode
from snnattack.gradients.adjoint import adjoint_only
from snnattack.models import build


def _batch_norm() -> nn.BatchNorm2d:
    """An eval-mode batch norm with statistics and an affine map away from the identity."""
    layer = nn.BatchNorm2d(4).eval()
    with torch.no_grad():
        layer.running_mean.uniform_(-1, 1)
        layer.running_var.uniform_(0.5, 2)
        layer.weight.uniform_(0.5, 2)
    return layer


LAYERS = {
    "same": lambda: nn.Conv2d(4, 6, 3, padding=1),
    "strided": lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1, bias=False),
    "dilated-grouped": lambda: nn.Conv2d(4, 8, 3, stride=2, padding=2, dilation=2, groups=2),
    "projection": lambda: nn.Conv2d(4, 6, 1, stride=2),
    "linear": lambda: nn.Linear(7, 5),
    "batch-norm": _batch_norm,
    "avg-pool": lambda: nn.AvgPool2d(2),
}
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)]


@pytest.mark.parametrize("batch", [3, 0])
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", LAYERS)
def test_adjoint_gives_autograds_input_gradient_bit_for_bit(
    name: str, device: str, batch: int
) -> None:
    layer = LAYERS[name]().double().to(device)
    shape = (batch, 7) if isinstance(layer, nn.Linear) else (batch, 4, 9, 9)
    x = torch.rand(shape, dtype=torch.float64, device=device, requires_grad=True)
    out = layer(x)
    grad_out = torch.randn_like(out)
    (expected,) = torch.autograd.grad(out, x, grad_out)
    with adjoint_only(layer):
        skipped = layer(x)
        (got,) = torch.autograd.grad(skipped, x, grad_out)
    assert skipped.shape == out.shape and not skipped.any()
    if device == "cpu":
        assert torch.equal(got, expected)
    else:  # cuDNN may pick another algorithm for the same call
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)
    assert "forward" not in vars(layer)  # the layer's own forward is back
    assert torch.equal(layer(x), out)


class BatchNormBackwards(TorchDispatchMode):
    """The arguments of each batch-norm backward call, tensors as (dtype, size)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten.native_batch_norm_backward.default:
            self.calls.append(
                [(a.dtype, a.shape) if isinstance(a, torch.Tensor) else a for a in args]
            )
        return func(*args, **(kwargs or {}))


def test_the_batch_norm_adjoint_calls_its_backward_as_autograds_node_does() -> None:
    """CUDA's kernel asserts that the saved statistics are tensors (empty in eval mode), where
    the CPU's also takes None: the adjoint passes what autograd's own node passes."""
    layer, x = _batch_norm(), torch.rand(3, 4, 5, 5, requires_grad=True)
    grad_out = torch.randn(3, 4, 5, 5)
    with BatchNormBackwards() as autograds:
        torch.autograd.grad(layer(x), x, grad_out)
    with BatchNormBackwards() as adjoints, adjoint_only(layer):
        torch.autograd.grad(layer(x), x, grad_out)
    assert adjoints.calls == autograds.calls and len(autograds.calls) == 1


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


def multi_step_layers() -> list[nn.Module]:
    """spikingjelly's stateless layers in step mode 'm' (their forward folds [T, B])."""
    layer = pytest.importorskip("spikingjelly.activation_based.layer")
    bn = layer.BatchNorm2d(4, step_mode="m")
    bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2), bn.weight.data.uniform_()
    return [
        layer.Conv2d(4, 6, 3, padding=1, step_mode="m"),
        layer.Conv2d(4, 8, 3, stride=2, padding=2, dilation=2, groups=2, step_mode="m"),
        bn.eval(),
        layer.AvgPool2d(2, step_mode="m"),
        layer.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, step_mode="m"),
        layer.Flatten(step_mode="m"),
        nn.AvgPool2d(2),
        nn.Flatten(),
    ]


@pytest.mark.parametrize("index", range(8))
def test_foreign_multi_step_layers_are_skipped_as_their_torch_class(index: int) -> None:
    layer = multi_step_layers()[index].double()
    x = torch.rand(3, 2, 4, 9, 9, dtype=torch.float64, requires_grad=True)  # [T, B, C, H, W]
    if type(layer).__module__.startswith("torch."):
        x = x[0]  # a torch layer on [B, C, H, W]
    out = layer(x)
    grad_out = torch.randn_like(out)
    (expected,) = torch.autograd.grad(out, x, grad_out)
    with adjoint_only(layer):
        skipped = layer(x)
        assert type(skipped.grad_fn).__name__ == "_AdjointBackward"
        (got,) = torch.autograd.grad(skipped, x, grad_out)
    assert skipped.shape == out.shape and not skipped.any()
    assert torch.equal(got, expected)
    assert "forward" not in vars(layer)


def test_a_layer_whose_forward_does_more_than_fold_time_runs() -> None:
    layer = pytest.importorskip("spikingjelly.activation_based.layer")

    class Shifted(layer.Conv2d):  # a subclass with a forward of its own: not the torch conv
        def forward(self, x):
            return super().forward(x) + 1

    single = layer.Conv2d(4, 6, 3, step_mode="s")  # step mode 's': a 5-D input is refused
    train_bn = layer.BatchNorm2d(4, step_mode="m")  # batch statistics: not linear
    x = torch.rand(3, 2, 4, 6, 6, requires_grad=True)
    for module in (Shifted(4, 6, 3, step_mode="m"), single, train_bn):
        with adjoint_only(module):
            if module is single:
                out = module(x[0])
            else:
                out = module(x)
            assert out.grad_fn is None or "Adjoint" not in type(out.grad_fn).__name__


def test_a_chain_of_skipped_layers_is_one_node_with_the_same_gradient() -> None:
    torch.manual_seed(0)
    layers = multi_step_layers()
    conv, bn, pool = layers[1], type(layers[2])(8, step_mode="m").eval(), layers[4]
    chain = nn.Sequential(conv, bn, pool).double()
    x = torch.rand(3, 2, 4, 8, 8, dtype=torch.float64, requires_grad=True)
    out = chain(x)
    grad_out = torch.randn_like(out)
    (expected,) = torch.autograd.grad(out, x, grad_out)
    with adjoint_only(chain):
        skipped = chain(x)
        assert skipped.grad_fn.next_functions[0][0] is not None  # straight to x
        assert skipped.grad_fn.next_functions[0][0].variable is x
        (got,) = torch.autograd.grad(skipped, x, grad_out)
    assert torch.equal(got, expected)
