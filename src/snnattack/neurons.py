"""Leaky integrate-and-fire neurons on ``[T, B, ...]`` currents, trained with STBP.

Dynamics (Bu et al., CVPR 2023; keys in the README's *Configuration*):
``u_t = lam * u_{t-1} + I_t``; spike when ``u_t >= theta``; hard reset ``u <- u * (1 - s)``
or soft reset ``u <- u - theta * s``. The default backward is STBP: backprop through time
with the triangle surrogate, the gradient flowing through the reset.
"""

from __future__ import annotations

import math

import torch

from snnattack.temporal import Temporal

RESETS = ("hard", "soft")


class TriangleSpike(torch.autograd.Function):
    """Heaviside spike ``1[v >= 0]`` whose backward is the triangle ``max(0, w - |v|) / w**2``."""

    @staticmethod
    def forward(ctx, v: torch.Tensor, width: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(v)
        ctx.width = width
        return (v >= 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (v,) = ctx.saved_tensors
        w = ctx.width
        return grad * (w - v.abs()).clamp_(min=0) / (w * w), None


class LIF(Temporal):
    """Multi-step LIF layer: input currents ``[T, B, ...]`` to spikes ``[T, B, ...]`` (0/1).

    ``lam = 1`` is the IF neuron. ``width`` is the STBP triangle surrogate's half-width
    (unit area, so ``width = 1`` gives ``max(0, 1 - |u - theta|)``).
    """

    def __init__(
        self, lam: float = 1.0, theta: float = 1.0, reset: str = "hard", width: float = 1.0
    ) -> None:
        super().__init__()
        if not 0.0 < lam <= 1.0:
            raise ValueError(f"lam must be in (0, 1], got {lam}")
        if theta <= 0:
            raise ValueError(f"theta must be > 0, got {theta}")
        if reset not in RESETS:
            raise ValueError(f"reset must be one of {RESETS}, got {reset!r}")
        if width <= 0:
            raise ValueError(f"surrogate width must be > 0, got {width}")
        self.lam, self.theta, self.reset, self.width = lam, theta, reset, width

    def simulate(self, x: torch.Tensor) -> torch.Tensor:
        u = torch.zeros_like(x[0])
        spikes = []
        for t in range(x.shape[0]):
            u = self.lam * u + x[t]
            s = TriangleSpike.apply(u - self.theta, self.width)
            u = u * (1.0 - s) if self.reset == "hard" else u - self.theta * s
            spikes.append(s)
        return torch.stack(spikes)

    def extra_repr(self) -> str:
        return f"lam={self.lam}, theta={self.theta}, reset={self.reset}, width={self.width}"


def static_rate(current: float, lam: float, theta: float = 1.0) -> float:
    """Firing rate of one neuron fed a constant ``current`` from rest (Bu et al., CVPR 2023,
    Supp. §1).

    IF (``lam = 1``): ``I / theta`` clipped to [0, 1] (the long-run soft-reset rate).
    LIF (``lam < 1``): one spike per ``ceil(log_lam((I + theta (lam - 1)) / I))`` steps, the
    time to reach ``theta`` from rest (exact for the hard reset).
    """
    if lam == 1.0:
        return min(max(current / theta, 0.0), 1.0)
    onset = (1.0 - lam) * theta  # u tends to I / (1 - lam): at or below onset it never fires
    if current <= onset or math.isclose(current, onset, rel_tol=1e-12):
        return 0.0
    steps = math.log((current + theta * (lam - 1.0)) / current) / math.log(lam)
    return 1.0 / max(math.ceil(steps - 1e-12), 1)
