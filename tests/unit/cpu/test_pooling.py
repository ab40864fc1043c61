"""Tiled average pooling in one pass of the C kernel (``snnattack.cpu.pooling``) against
``nn.AvgPool2d``: the same outputs and gradients bit for bit (signs of zero included), where
it runs; the module everywhere else."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from snnattack.cpu import native
from snnattack.cpu.pooling import pooled

pytestmark = pytest.mark.skipif(
    native.c_compiler() is None, reason="no C compiler on this machine ($CC or cc)"
)

BITS = {torch.float32: torch.int32, torch.float64: torch.int64}


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.equal(a.view(BITS[a.dtype]), b.view(BITS[b.dtype]))


def both(layer: nn.Module, x: torch.Tensor):
    """(output, input gradient) of the module and of the kernel, for the same input."""
    runs = []
    for run in (layer, lambda v: pooled(layer, v, "c")):
        v = x.clone().requires_grad_(True)
        out = run(v)
        grad = torch.randn(out.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(1))
        grad.view(-1)[::7] = -0.0  # a negative zero's share is +0 in ATen's backward
        runs.append((out, *torch.autograd.grad(out, v, grad)))
    return runs


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "kernel,divisor,shape",
    [
        (2, None, (3, 4, 8, 6)),
        (2, None, (2, 3, 9, 7)),  # a row and a column no window covers: gradient 0
        (3, None, (2, 2, 10, 11)),
        ((2, 3), None, (2, 3, 7, 9)),
        (2, 3, (2, 2, 6, 6)),  # divisor_override
    ],
    ids=str,
)
def test_the_kernel_gives_the_modules_bits(dtype, kernel, divisor, shape) -> None:
    layer = nn.AvgPool2d(kernel, divisor_override=divisor)
    x = torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(0))
    x[0, 0, :2] = -0.0
    (out, grad), (k_out, k_grad) = both(layer, x)
    assert same_bits(out, k_out) and same_bits(grad, k_grad)
    assert (grad == 0).any() and (out != 0).any()


def test_spikes_and_threads_split_the_planes_without_changing_a_bit() -> None:
    x = (torch.rand(4, 64, 16, 16, generator=torch.Generator().manual_seed(2)) < 0.3).float()
    layer = nn.AvgPool2d(2)
    one = both(layer, x)[1]
    threads = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        split = both(layer, x)[1]
    finally:
        torch.set_num_threads(threads)
    assert 4 * 64 * 16 * 16 >= 2 * native.PER_THREAD  # enough for the threads to split it
    assert all(same_bits(a, b) for a, b in zip(one, split, strict=True))
    assert same_bits(one[0], layer(x))


def test_the_kernel_keeps_nothing_of_the_input() -> None:
    packed = []
    x = torch.rand(2, 3, 8, 8, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: packed.append(t) or t, lambda t: t):
        kernel = pooled(nn.AvgPool2d(2), x, "c")
        assert packed == []
        nn.AvgPool2d(2)(x)
    assert len(packed) == 1  # the module keeps its input
    assert type(kernel.grad_fn).__name__ == "TiledAvgPoolBackward"


def test_the_module_runs_where_the_kernel_does_not_apply(monkeypatch) -> None:
    x = torch.rand(2, 3, 8, 8)
    hooked = nn.AvgPool2d(2)
    hooked.register_forward_hook(lambda *a: None)
    for layer in (
        nn.AvgPool2d(2, stride=1),
        nn.AvgPool2d(2, padding=1),
        nn.AvgPool2d(2, ceil_mode=True),
        nn.AvgPool2d(2, divisor_override=0),  # the module's error
        nn.MaxPool2d(2),
        hooked,
    ):
        assert pooled(layer, x, "c") is None, layer
    plain = nn.AvgPool2d(2)
    assert pooled(plain, x.half(), "c") is None
    assert pooled(plain, x.contiguous(memory_format=torch.channels_last), "c") is None
    assert pooled(plain, x[:, :, :1], "c") is None  # smaller than a window: the module's error
    assert pooled(plain, x, "torch") is None  # a network on torch ops
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    assert pooled(plain, x, "c") is None


def test_rgas_simulation_pools_in_the_kernel_with_the_same_gradient(monkeypatch) -> None:
    # RGA's adjoint sets a forward on each pooling (gradients/adjoint.py) that is the
    # module's own in the simulation, which records no gradient: the kernel runs there
    from snnattack.gradients import gradient_mode
    from snnattack.models.zoo import build
    from snnattack.snn.backend import set_backend

    torch.manual_seed(0)
    model = build("digits_net", num_classes=10, in_channels=1, T=4).eval()
    x = torch.rand(5, 1, 8, 8)
    calls, real = [], native.avg_pool
    monkeypatch.setattr(native, "avg_pool", lambda *a: calls.append(a) or real(*a))
    grads, counts = {}, {}
    for backend in ("c", "torch"):
        set_backend(model, backend)
        v = x.clone().requires_grad_(True)
        with gradient_mode(model, "rga"):
            torch.nn.functional.cross_entropy(model(v), torch.arange(5)).backward()
        grads[backend], counts[backend] = v.grad, len(calls)
    pools = sum(isinstance(m, nn.AvgPool2d) for m in model.modules())
    assert pools and counts == {"c": pools, "torch": pools}  # the simulation's, with c alone
    assert torch.equal(grads["c"], grads["torch"]) and grads["c"].abs().sum() > 0
