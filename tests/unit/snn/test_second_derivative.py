"""A gradient penalty (``autograd.grad`` with ``create_graph=True``, then a gradient of that
gradient) through the package's hand-written backwards (the fused LIF in the C kernel, on
torch ops and in the Triton kernels; the C pooling; the GPU's
convolution) is refused in one line naming the settings that differentiate twice (the torch
ops'): the fused LIF's second derivative silently lacked the LIF's own part."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from snnattack.snn.backend import set_backend
from snnattack.snn.neurons import LIF
from snnattack.snn.temporal import StepWise

REFUSED = re.escape("has no second derivative (autograd.grad with create_graph=True); accepted: ")


def penalty_gradient(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """d|dL/dx|²/dW of the first layer's weight W, L the sum of ``net(x)``."""
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(net(x).sum(), x, create_graph=True)
    return torch.autograd.grad((g**2).sum(), next(net.parameters()))[0]


def layers(backend: str, impl: str, conv: bool = False) -> nn.Module:
    torch.manual_seed(1)
    if conv:
        first = StepWise(nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.AvgPool2d(2)))
    else:
        first = nn.Linear(5, 5)
    net = nn.Sequential(first, LIF(0.9, 0.6, "hard", impl=impl))
    set_backend(net, backend)
    return net


def currents(conv: bool = False) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(4, 2, 2, 4, 4) if conv else torch.rand(4, 2, 5) * 1.6 - 0.3


@pytest.mark.usefixtures("lif_loops")
@pytest.mark.parametrize("backend", ["c", "torch"])
def test_the_fused_lif_refuses_a_second_derivative_the_unrolled_one_gives_it(
    backend: str,
) -> None:
    with pytest.raises(RuntimeError, match=f"^MultiStepLIF {REFUSED}neuron_impl=unrolled"):
        penalty_gradient(layers(backend, "fused"), currents())
    with_torch_ops = penalty_gradient(layers("torch", "unrolled"), currents())
    assert with_torch_ops.isfinite().all() and with_torch_ops.any()


def test_the_triton_kernels_and_the_gpus_convolution_and_the_c_pooling_refuse_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    with pytest.raises(RuntimeError, match=f"^LIF {REFUSED}"):
        penalty_gradient(layers("triton", "fused"), currents())
    with pytest.raises(RuntimeError, match=f"^Convolution {REFUSED}"):
        penalty_gradient(layers("triton", "unrolled", conv=True), currents(conv=True))
    with pytest.raises(RuntimeError, match=f"^TiledAvgPool {REFUSED}"):
        penalty_gradient(layers("c", "unrolled", conv=True), currents(conv=True))
    assert penalty_gradient(layers("torch", "unrolled", conv=True), currents(conv=True)).any()
