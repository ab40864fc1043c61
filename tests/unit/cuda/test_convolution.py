"""The GPU's convolutions (``snnattack.cuda.convolution``): the input gradient as a forward
convolution equals autograd's transposed one within rounding for every geometry it takes, the
weight's and bias's gradients (training) autograd's, and nothing of the input is kept where
the parameters are frozen (an attack); the module runs wherever the geometry, the backend or
the device do not allow it; spikingjelly's ``layer.Conv2d`` is adapted to a ``FoldedConv2d``
over the copy's own parameters; RGA's adjoint on a GPU takes the same gradient. On the CPU the
path runs with the backend ``triton`` (the GPU's paths), which is how the default suite tests
it; the ``cuda`` tests run it where it is meant to."""

from __future__ import annotations

import copy

import pytest
import torch
from frozen_layers import output_and_gradient, saved_elements
from torch import nn

from snnattack.cuda import convolution as gpu
from snnattack.evaluation.attacked import attacked_models
from snnattack.snn.temporal import FoldedConv2d, StepWise

pytestmark = pytest.mark.usefixtures("interpreter")  # the GPU's paths on the CPU

TAKEN = {
    "3x3": nn.Conv2d(4, 6, 3, padding=1, bias=False),
    "3x3-bias": nn.Conv2d(4, 6, 3, padding=1),
    "3x3-unpadded": nn.Conv2d(4, 6, 3),
    "3x3-padded-k-1": nn.Conv2d(4, 6, 3, padding=2),
    "5x5": nn.Conv2d(3, 5, 5, padding=2),
    "1x1": nn.Conv2d(6, 2, 1),
    "3x1": nn.Conv2d(4, 6, (3, 1), padding=(1, 0)),
}
REFUSED = {
    "strided": nn.Conv2d(4, 6, 3, stride=2, padding=1),
    "dilated": nn.Conv2d(4, 6, 3, padding=2, dilation=2),
    "grouped": nn.Conv2d(4, 6, 3, padding=1, groups=2),
    "same": nn.Conv2d(4, 6, 3, padding="same"),
    "over-padded": nn.Conv2d(4, 6, 3, padding=3),
    "reflect": nn.Conv2d(4, 6, 3, padding=1, padding_mode="reflect"),
}


def frozen_layer(conv: nn.Conv2d, dtype: torch.dtype) -> nn.Conv2d:
    """A copy of ``conv`` (the tables' modules stay as they are) in ``dtype``, frozen."""
    return learning_layer(conv, dtype).requires_grad_(False)


def learning_layer(conv: nn.Conv2d, dtype: torch.dtype) -> nn.Conv2d:
    """A copy of ``conv`` in ``dtype`` whose parameters require a gradient."""
    return copy.deepcopy(conv).to(dtype)


def spikes(conv: nn.Conv2d, dtype: torch.dtype, device: str = "cpu") -> torch.Tensor:
    torch.manual_seed(2)
    return (torch.rand(8, conv.in_channels, 9, 7, dtype=dtype, device=device) < 0.3).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", TAKEN)
def test_the_input_gradient_is_autogradss_within_rounding(name: str, dtype: torch.dtype) -> None:
    conv = frozen_layer(TAKEN[name], dtype)
    assert gpu.transposable(conv)
    x = spikes(conv, dtype)
    out, grad = output_and_gradient(lambda x: gpu.convolution(conv, x, "triton"), x)
    ref_out, ref_grad = output_and_gradient(conv, x)
    assert torch.equal(out, ref_out)  # the module's own forward op
    tolerance = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(grad, ref_grad, rtol=tolerance, atol=tolerance)
    run = lambda x: gpu.convolution(conv, x, "triton")  # noqa: E731
    assert saved_elements(run, x) == conv.weight.numel()  # the weight, nothing of x


@pytest.mark.parametrize("name", ["3x3-bias", "1x1", "3x1"])
def test_in_training_the_parameters_gradients_are_autogradss(name: str) -> None:
    conv = learning_layer(TAKEN[name], torch.float64)
    x = spikes(conv, torch.float64).requires_grad_(True)
    grads = []
    for run in (lambda x: gpu.convolution(conv, x, "triton"), conv):
        out = run(x)
        weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
        grads.append(torch.autograd.grad((out * weights).sum(), [x, *conv.parameters()]))
    for ours, theirs in zip(*grads, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    images = spikes(conv, torch.float64)  # a first layer's input: no gradient of its own
    out = gpu.convolution(conv, images, "triton")
    (dw,) = torch.autograd.grad(out.sum(), conv.weight)
    torch.testing.assert_close(dw, torch.autograd.grad(conv(images).sum(), conv.weight)[0])


def test_a_gradient_towards_the_images_alone_computes_no_weights_gradient() -> None:
    """An attack on a model whose weights require a gradient (a user's, or adversarial
    training's crafting): autograd's own node computes the input's alone, and so does this."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Ops(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.names: list[str] = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.names.append(func.__name__)
            return func(*args, **(kwargs or {}))

    conv = learning_layer(TAKEN["3x3-bias"], torch.float32)
    x = spikes(conv, torch.float32).requires_grad_(True)
    out = gpu.convolution(conv, x, "triton")
    with Ops() as ops:
        torch.autograd.grad(out.sum(), x)
    assert "convolution_backward.default" not in ops.names and conv.weight.grad is None
    with Ops() as ops:
        gpu.convolution(conv, x, "triton").sum().backward()  # training: the weights' too
    assert "convolution_backward.default" in ops.names and conv.weight.grad is not None


def test_a_users_weight_changed_through_data_gives_the_new_weights_gradient() -> None:
    """Weight clipping or a hand-written update through ``.data`` reaches no version counter:
    the flipped weights of a user's layer are made at each call; those of the package's
    attacked copy (changed only by ``copy_``) are kept while their version holds."""
    conv = frozen_layer(TAKEN["3x3"], torch.float32)
    x = spikes(conv, torch.float32)

    def input_gradient(layer: nn.Conv2d, backend: str) -> torch.Tensor:
        xi = x.clone().requires_grad_(True)
        out = StepWise(layer, backend=backend)(xi.unsqueeze(0))
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        return xi.grad

    input_gradient(conv, "triton")
    conv.weight.data.mul_(-3.0)
    torch.testing.assert_close(input_gradient(conv, "triton"), input_gradient(conv, "torch"))
    copied, _ = attacked_models(conv, None, fold_bn=False, compiled=False)
    assert gpu.flipped(copied.weight) is gpu.flipped(copied.weight)  # kept: no copy launched
    with torch.no_grad():
        copied.weight.copy_(conv.weight * 2)
    torch.testing.assert_close(gpu.flipped(copied.weight), gpu.flipped(conv.weight) * 2)


@pytest.mark.parametrize("name", REFUSED)
def test_a_geometry_it_does_not_take_runs_the_module(name: str) -> None:
    conv = frozen_layer(REFUSED[name], torch.float32)
    assert not gpu.transposable(conv)
    x = spikes(conv, torch.float32).requires_grad_(True)
    assert gpu.convolution(conv, x, "triton") is None
    out = StepWise(conv, backend="triton")(x.unsqueeze(0).expand(2, *x.shape).contiguous())
    assert type(out.grad_fn.next_functions[0][0]).__name__ == "ConvolutionBackward0"


def test_it_runs_where_a_gradient_is_recorded_on_the_gpus_paths() -> None:
    """A gradient recorded for the input or the weights, the backend ``triton`` on the CPU
    (``c`` and ``triton`` on a GPU); else the module, or the CPU's own frozen layer."""
    conv = frozen_layer(nn.Conv2d(4, 6, 3, padding=1), torch.float32)
    x = spikes(conv, torch.float32).unsqueeze(0).expand(3, 8, 4, 9, 7).contiguous()

    def node(layer: nn.Module, backend: str, requires_grad: bool = True) -> str:
        """The convolution's autograd node under the per-step wrapper's reshape."""
        out = StepWise(layer, backend=backend)(x.clone().requires_grad_(requires_grad))
        return "" if out.grad_fn is None else type(out.grad_fn.next_functions[0][0]).__name__

    assert node(conv, "triton") == gpu.Convolution._backward_cls.__name__
    assert node(conv, "torch") == "ConvolutionBackward0"  # the module
    assert node(conv, "triton", requires_grad=False) == ""  # nothing needs a gradient
    learning = nn.Conv2d(4, 6, 3, padding=1)
    assert node(learning, "triton") == gpu.Convolution._backward_cls.__name__  # training
    with torch.no_grad():
        assert gpu.convolution(conv, x[0].requires_grad_(True), "triton") is None
    assert not gpu.applies("c", x[0], conv)  # the CPU's own paths take backend c there


def test_without_the_interpreter_the_cpu_runs_the_torch_ops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``backend=triton`` on the CPU takes the GPU's paths under Triton's interpreter only, as
    the neurons do: without it, the torch module's gradient bit for bit (the convolution's
    other summation order trained another model)."""
    monkeypatch.delenv("TRITON_INTERPRET")
    conv = learning_layer(TAKEN["3x3"], torch.float32)
    x = spikes(conv, torch.float32).unsqueeze(0).expand(2, 8, 4, 9, 7).contiguous()
    grads = []
    for backend in ("triton", "torch"):
        given = x.clone().requires_grad_(True)
        out = StepWise(conv, backend=backend)(given)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        grads.append(given.grad)
    assert torch.equal(*grads)
    assert not gpu.applies("triton", x[0], conv)


def test_a_folded_convolution_shares_the_layers_memory_not_its_parameter_objects() -> None:
    pytest.importorskip("spikingjelly")
    from spikingjelly.activation_based import functional, layer, neuron

    from snnattack.interop.spikingjelly import body

    net = nn.Sequential(layer.Conv2d(2, 4, 3, padding=1), neuron.LIFNode(), layer.Flatten())
    functional.set_step_mode(net, "m")
    copied = body(net)
    conv = copied[0]
    assert type(conv) is FoldedConv2d
    assert conv.weight.data_ptr() == net[0].weight.data_ptr()
    conv.requires_grad_(False)  # as an attack freezes its copy
    assert net[0].weight.requires_grad
    x = torch.rand(3, 2, 2, 5, 5)
    functional.reset_net(net)
    assert torch.equal(conv(x), net[0](x))
    seen = []
    net[0].register_forward_hook(lambda *_: seen.append(1))  # a user's hook: the layer stays
    hooked = body(net)[0]
    assert type(hooked) is layer.Conv2d and (hooked(x) is not None and seen)


@pytest.mark.cuda
@pytest.mark.parametrize("name", TAKEN)
def test_on_a_gpu_it_gives_autogradss_input_gradient(name: str, determinism) -> None:
    """With the project's GPU numerics (deterministic, no TF32): the module's output bit for
    bit, its input gradient within float32 rounding, the same twice."""
    determinism(True)
    conv = frozen_layer(TAKEN[name], torch.float32).cuda()
    x = spikes(conv, torch.float32, "cuda")
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        runs = [output_and_gradient(lambda x: gpu.convolution(conv, x, "c"), x) for _ in range(2)]
        ref_out, ref_grad = output_and_gradient(conv, x)
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    assert torch.equal(runs[0][0], ref_out)
    assert torch.equal(runs[0][1], runs[1][1])
    torch.testing.assert_close(runs[0][1], ref_grad, rtol=1e-5, atol=1e-5)


@pytest.mark.cuda
def test_on_a_gpu_rgas_adjoint_takes_the_same_input_gradient() -> None:
    from snnattack.gradients.adjoint import adjoint_only

    conv = frozen_layer(nn.Conv2d(4, 6, 3, padding=1), torch.float32)
    x = spikes(conv, torch.float32)
    grads = {}
    for device in ("cpu", "cuda"):
        model = nn.Sequential(conv).to(device)
        xd = x.to(device).requires_grad_(True)
        with adjoint_only(model):
            out = model(xd)
        (grads[device],) = torch.autograd.grad(out, xd, torch.ones_like(out))
    torch.testing.assert_close(grads["cuda"].cpu(), grads["cpu"], rtol=1e-5, atol=1e-5)
