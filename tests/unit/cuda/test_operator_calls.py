"""Operator calls per PGD step on the path a GPU takes (issue 55): with the Triton LIF, at most
1.5x those of the same network with ReLU in place of its LIFs attacked by torchattacks, as a
spikingjelly user would; with the torch ops' loops, far more (one set of ops per time step).

Counted with ``torch.profiler`` on the CPU under Triton's interpreter: every operator event
of a 3-step call less those of a 1-step call, halved; a Triton op counts as one call, the
interpreter's own copies inside it (not on a GPU's path) do not."""

from __future__ import annotations

import pytest
import torch
import torchattacks
from torch import nn
from torch.profiler import ProfilerActivity, profile

import snnattack
from snnattack.interop.external import as_spiking_net
from snnattack.snn.backend import set_backend

pytest.importorskip("spikingjelly")
T = 4
RGA_OVER_STBP = 1.12  # operator calls of an RGA step over an STBP step, Triton LIF


@pytest.fixture(autouse=True)
def interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRITON_INTERPRET", "1")


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


def calls(attack) -> float:
    """Operator calls per step of ``attack(steps)``, outside the Triton ops' insides."""
    counts = []
    for steps in (1, 3):
        attack(steps)  # warm: the first call prepares what later calls reuse
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            attack(steps)
        counts.append(sum(not _inside_kernel_op(e) for e in prof.events()))
    return (counts[1] - counts[0]) / 2


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
