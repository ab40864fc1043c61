"""Operator calls per PGD step on the path a GPU takes (issue 55): with the Triton LIF, at most
1.5x those of the same network with ReLU in place of its LIFs attacked by torchattacks, as a
spikingjelly user would; with the torch ops' loops, far more (one set of ops per time step).

Counted on the CPU under Triton's interpreter, a 3-step call's less a 1-step call's, halved,
each after a warm call at its step count (a first call prepares the attack for its
arguments): with ``torch.profiler``, every operator event; with :class:`Launches`, the
operators that launch a kernel on a GPU (views and allocations launch none). A Triton kernel's
launch counts as one call (:func:`launches_as_ops`), the interpreter's own copies inside it
(not on a GPU's path) do not."""

from __future__ import annotations

import pytest
import torch
import torchattacks
from torch import nn
from torch.profiler import ProfilerActivity, profile
from torch.utils._python_dispatch import TorchDispatchMode

import snnattack
from snnattack.analysis.cost import calibrate_batchnorm
from snnattack.cuda import ops
from snnattack.interop.external import as_spiking_net
from snnattack.snn.backend import set_backend

pytestmark = pytest.mark.usefixtures("interpreter")  # the GPU's paths on the CPU

pytest.importorskip("spikingjelly")
T = 4
RGA_OVER_STBP = 1.12  # operator calls of an RGA step over an STBP step, Triton LIF
# kernels a PGD step launches on the VGG-style network over the ReLU network's (issue 55's aim:
# 1.5); reached 1.20 and 1.47 (STBP: the spikes kept as bytes, a copy each way per spiking
# layer; RGA: two means, the input scale's product, the rate slope and its two products)
OVER_RELU = {"stbp": 1.22, "rga": 1.5}
aten = torch.ops.aten
NO_KERNEL = {  # allocations and views whose schema does not say so: they launch no kernel
    aten.empty,
    aten.empty_like,
    aten.empty_strided,
    aten.new_empty,
    aten.new_empty_strided,
    aten.resize_,
    aten._unsafe_view,
}


@pytest.fixture(autouse=True)
def launches_as_ops(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each Triton kernel launched through its custom op, so that it counts as one call and
    what Triton's interpreter runs inside it is not counted: on a GPU a launch dispatches no
    operator at all (:mod:`snnattack.cuda.ops` launches the kernels as they are)."""
    monkeypatch.setattr(ops, "_launch_forward", ops.lif_forward)
    monkeypatch.setattr(ops, "_launch_backward", ops.lif_backward)
    monkeypatch.setattr(ops, "_launch_rate_slope", ops.rate_slope_op)


def cnn(relu: bool) -> nn.Module:
    """Three layers of spikingjelly, multi-step: conv, LIF (or ReLU), pool, twice, linear."""
    from spikingjelly.activation_based import functional, layer, neuron

    torch.manual_seed(0)
    act = nn.ReLU if relu else lambda: neuron.LIFNode(tau=2.0, v_threshold=0.5)
    net = nn.Sequential(
        layer.Conv2d(1, 8, 3, padding=1),
        act(),
        layer.AvgPool2d(2),
        layer.Conv2d(8, 16, 3, padding=1),
        act(),
        layer.AvgPool2d(2),
        layer.Flatten(),
        layer.Linear(16 * 2 * 2, 10),
    )
    functional.set_step_mode(net, "m")
    return net


class Rate(nn.Module):
    """The body fed the image T times, its outputs averaged: how a user wraps it for a peer."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.unsqueeze(0).expand(T, *x.shape)).mean(0)


def per_step(attack, count) -> float:
    """What ``count(run)`` finds in a run of ``attack(steps)``, per step: a 3-step call's less a
    1-step call's, halved, each after a warm call at its step count (the first call prepares
    what later calls reuse)."""
    counts = []
    for steps in (1, 3):
        attack(steps)
        counts.append(count(lambda steps=steps: attack(steps)))
    return (counts[1] - counts[0]) / 2


def calls(attack) -> float:
    """Operator calls per step of ``attack(steps)``, outside the Triton ops' insides."""

    def profiled(run) -> int:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            run()
        return sum(not _inside_kernel_op(e) for e in prof.events())

    return per_step(attack, profiled)


class Launches(TorchDispatchMode):
    """Counts the operators dispatched that launch a kernel on a GPU: all but views and
    allocations (a Triton op counts as one: what runs inside it is not dispatched here)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        returns = func._schema.returns
        view = any(r.alias_info is not None and not r.alias_info.is_write for r in returns)
        self.count += not (view or func.overloadpacket in NO_KERNEL)
        return func(*args, **(kwargs or {}))


def launches(attack) -> float:
    """Kernel launches per step of ``attack(steps)`` (:class:`Launches`)."""

    def dispatched(run) -> int:
        with Launches() as launched:
            run()
        return launched.count

    return per_step(attack, dispatched)


def vgg(relu: bool) -> nn.Module:
    """``tools.peer_nets.spikingjelly_vgg11`` at a small size, multi-step: conv, BN and
    ``LIFNode`` (ATan; the input scaled by 1 / tau, adapted as an input scale and the LIF)
    or ReLU, six layers of 8 channels, 2x2 average pooling after every second (8x8 images
    to 1x1), a linear classifier."""
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for i in range(6):
        act = nn.ReLU() if relu else neuron.LIFNode(surrogate_function=surrogate.ATan())
        layers += [layer.Conv2d(3 if i == 0 else 8, 8, 3, padding=1, bias=False)]
        layers += [layer.BatchNorm2d(8), act, *([layer.AvgPool2d(2)] if i % 2 else [])]
    net = nn.Sequential(*layers, layer.Flatten(), layer.Linear(8, 10))
    functional.set_step_mode(net, "m")
    return net


def _inside_kernel_op(event) -> bool:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith("snnattack::"):
            return True
        parent = parent.cpu_parent
    return False


def test_a_pgd_step_with_the_triton_lif_makes_at_most_1_5x_the_relu_networks_calls() -> None:
    x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 3])
    peer = Rate(cnn(relu=True)).eval()
    relu = calls(lambda s: torchattacks.PGD(peer, 8 / 255, 2 / 255, s, random_start=False)(x, y))
    ratios = {}
    for backend in ("triton", "torch"):
        net = set_backend(as_spiking_net(cnn(relu=False), T, example=x), backend)
        ratios[backend] = calls(lambda s, n=net: snnattack.attack(n, x, y, eps=8, steps=s, T=T))
        ratios[backend] /= relu
    assert ratios["triton"] <= 1.5 < ratios["torch"], ratios


def test_an_rga_step_makes_no_more_calls_than_an_stbp_step() -> None:
    """RGA's step is one plain simulation and its rate-domain backward, the adapted
    network's spikingjelly layers skipped in that pass as the torch ones (one autograd node
    per chain of them): no more operator calls than STBP's step, which records the forward
    and differentiates it; on the torch ops, fewer (its LIFs run once, without autograd)."""
    x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 3])
    counts = {}
    for backend in ("triton", "torch"):
        net = set_backend(as_spiking_net(cnn(relu=False), T, example=x), backend)
        for mode in ("stbp", "rga"):
            step = lambda s, n=net, m=mode: snnattack.attack(  # noqa: E731
                n, x, y, eps=8, steps=s, T=T, grad_mode=m
            )
            counts[backend, mode] = calls(step)
    assert counts["triton", "rga"] <= RGA_OVER_STBP * counts["triton", "stbp"], counts
    assert counts["torch", "rga"] < counts["torch", "stbp"], counts


def test_a_vgg_style_pgd_step_launches_at_most_1_5x_the_relu_networks_kernels() -> None:
    """peer_compare's network at a small size, the kernels of a PGD step with the Triton LIF
    against the same network with ReLU attacked by torchattacks (one kernel per activation
    and pass: what a fused spiking kernel costs at best). STBP adds a copy each way per
    spiking layer (its spikes kept as bytes for the backward); RGA computes in the simulation
    the input scale's product and the mean current and rate, and in its backward the rate
    slope and its products with the gradient and the scale."""
    x, y = torch.rand(2, 3, 8, 8), torch.tensor([0, 1])
    peer = Rate(vgg(relu=True))
    calibrate_batchnorm(peer, x)
    relu = launches(lambda s: torchattacks.PGD(peer, 8 / 255, 2 / 255, s, random_start=False)(x, y))
    body = vgg(relu=False)
    calibrate_batchnorm(Rate(body), x)
    net = set_backend(as_spiking_net(body, T, example=x), "triton")
    ratios = {}
    for mode in OVER_RELU:
        step = lambda s, m=mode: snnattack.attack(  # noqa: E731
            net, x, y, eps=8, steps=s, T=T, grad_mode=m
        )
        ratios[mode] = launches(step) / relu
    assert all(ratios[m] <= bound <= 1.5 for m, bound in OVER_RELU.items()), (relu, ratios)
