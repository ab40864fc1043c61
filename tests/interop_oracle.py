"""What the adapter tests of every library share: the gradient modes they compare, the images,
an input gradient under a mode, and the relative difference they bound."""

from __future__ import annotations

import torch
from torch import nn

from snnattack.gradients import GRADIENT_MODES, gradient_mode
from snnattack.snn.surrogates import SURROGATES

T = 4  # time steps of the adapted networks
# every gradient mode, STBP once per surrogate
MODES = [("stbp", {"surrogate": name}) for name in SURROGATES] + [
    (mode, {}) for mode in GRADIENT_MODES if mode != "stbp"
]


class Heaviside(nn.Module):
    """A neuron of the user's own: a threshold with no surrogate; ``calls`` counts its
    forwards (a refusal must come before any)."""

    calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        Heaviside.calls += 1
        return (x >= 1.0).to(x.dtype)


def images() -> torch.Tensor:
    """Six digits-shaped float64 images, the same in every test."""
    torch.manual_seed(1)
    return torch.rand(6, 1, 8, 8, dtype=torch.float64)


def input_gradient(model: nn.Module, mode: str, params: dict) -> torch.Tensor:
    """The input gradient of a fixed weighting of ``model``'s logits under ``mode``."""
    x = images().requires_grad_(True)
    with gradient_mode(model, mode, **params):
        weighted_backward(model(x))
    return x.grad


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    """``|a - b| / |b|``."""
    return ((a - b).norm() / b.norm()).item()


def weighted_backward(out: torch.Tensor) -> None:
    """Backpropagates the fixed weighting of logits that :func:`input_gradient` uses."""
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    (out * weights).sum().backward()


def assert_same_model(adapted: nn.Module, reference: nn.Module, mode: str, params: dict) -> None:
    """Equal logits, and equal non-zero input gradients under ``mode`` (1e-6 relative)."""
    with torch.no_grad():
        torch.testing.assert_close(adapted(images()), reference(images()))
    ours, theirs = input_gradient(adapted, mode, params), input_gradient(reference, mode, params)
    assert theirs.abs().sum() > 0
    assert relative(ours, theirs) <= 1e-6


def spikes_of(model: nn.Module, kinds: tuple[type, ...], x: torch.Tensor) -> list[torch.Tensor]:
    """The outputs of every module of ``kinds`` in one forward of ``model`` on ``x``."""
    seen: list[torch.Tensor] = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: seen.append(o.detach().clone()))
        for m in model.modules()
        if isinstance(m, kinds)
    ]
    model(x)
    for hook in hooks:
        hook.remove()
    return seen
