"""Input encoders: images ``[B, ...]`` to ``[T, B, ...]`` network inputs (the README's
``encoding`` key).

Each encoder also gives its time average (``expected``), which the rate-domain RGA backward
feeds to the network instead of the T-step input. ``direct``, ``poisson`` and ``frames`` take
images in [0, 1]; ``poisson_signed`` takes the image normalised to [-1, 1] with the fixed
mean and std of :data:`FIXED_NORMALISATION` (the model normalises before encoding).
"""

from __future__ import annotations

import torch

from snnattack.settings import ENCODINGS
from snnattack.snn.temporal import Temporal

# the encodings that draw anew at every forward, whose attacks average gradients over draws (EOT)
RANDOM_ENCODINGS = ("poisson", "poisson_signed")
# encodings fed an image normalised with a fixed per-channel (mean, std), not the dataset's:
# Sharmin et al. (ECCV 2020) normalise with mean = std = 0.5 before their Poisson generator
# (ssharmin/spikingNN-adversarial-attack, evaluate_attacks.py --mean/--std defaults)
FIXED_NORMALISATION = {"poisson_signed": (0.5, 0.5)}


class Encoder(Temporal):
    """Base class: ``T`` steps out, plus the time-averaged input ``[1, B, ...]``."""

    def __init__(self, T: int) -> None:
        super().__init__()
        try:
            whole = int(T) == T and T >= 1
        except (TypeError, ValueError):  # T="abc", T=None: said as the rest are
            whole = False
        if not whole:
            raise ValueError(f"T must be an integer >= 1, got {T!r}")
        self.T = int(T)

    def expected(self, x: torch.Tensor) -> torch.Tensor:
        """Time average of the last encoding of ``x``, shape ``[1, B, ...]``, gradient 1."""
        raise NotImplementedError


class DirectEncoder(Encoder):
    """The analog image at each of the T steps."""

    def simulate(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(0).expand(self.T, *x.shape)

    def expected(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(0)


class PoissonEncoder(Encoder):
    """Bernoulli spikes with probability = pixel intensity, straight-through gradient.

    The last draw's firing rate is kept so that a second pass over the same input (the
    rate-domain backward) sees the same spikes as the simulation. Being random, the encoding
    is attacked with the gradient averaged over draws (``attack.eot_samples``, EOT).
    """

    def __init__(self, T: int) -> None:
        super().__init__(T)
        self.last_rate: torch.Tensor | None = None

    def draw(self, x_t: torch.Tensor) -> torch.Tensor:
        """One spike per step and pixel with probability ``x_t`` (clipped to [0, 1])."""
        return (torch.rand_like(x_t) < x_t).to(x_t.dtype)

    def simulate(self, x: torch.Tensor) -> torch.Tensor:
        x_t = x.unsqueeze(0).expand(self.T, *x.shape)
        spikes = self.draw(x_t)
        self.last_rate = spikes.mean(0).detach()
        return x_t + (spikes - x_t).detach()

    def expected(self, x: torch.Tensor) -> torch.Tensor:
        if self.last_rate is None or self.last_rate.shape != x.shape:
            raise RuntimeError(
                f"{type(self).__name__}.expected needs a simulate() of the same input first"
            )
        return (x + (self.last_rate - x).detach()).unsqueeze(0)


class SignedPoissonEncoder(PoissonEncoder):
    """Signed Poisson spikes of an image in [-1, 1]: ``sign(x)`` with probability ``|x|``.

    Sharmin et al.'s generator (ssharmin/spikingNN-adversarial-attack, ``nn_models.py``,
    ``PoissonGenerator``: ``(rand <= |x|) * sign(x)``), fed the image normalised with mean =
    std = 0.5. The spikes' mean is ``x``; the gradient is straight-through (1), as in their
    attack, which backpropagates to the input spikes and takes that as the image's gradient.
    """

    def draw(self, x_t: torch.Tensor) -> torch.Tensor:
        return (torch.rand_like(x_t) <= x_t.abs()).to(x_t.dtype) * torch.sign(x_t)


class FrameEncoder(Encoder):
    """Pre-binned event frames ``[B, T, C, H, W]`` (e.g. CIFAR10-DVS) to ``[T, B, C, H, W]``."""

    def simulate(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.T:
            raise ValueError(f"input has {x.shape[1]} frames but the model runs T={self.T} steps")
        return x.transpose(0, 1)

    def expected(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(1).unsqueeze(0)


class Quantize(torch.nn.Module):
    """Rounds images in [0, 1] to ``levels`` evenly spaced values (ECCV 2020 input
    pre-quantisation), with a straight-through gradient so attacks act on the analog image."""

    def __init__(self, levels: int) -> None:
        super().__init__()
        if int(levels) != levels or levels < 2:
            raise ValueError(f"levels must be an integer >= 2, got {levels}")
        self.levels = int(levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = self.levels - 1
        quantised = torch.round(x.clamp(0.0, 1.0) * steps) / steps
        return x + (quantised - x).detach()

    def extra_repr(self) -> str:
        return f"levels={self.levels}"


ENCODERS: dict[str, type[Encoder]] = {  # each of ENCODINGS' class
    "direct": DirectEncoder,
    "poisson": PoissonEncoder,
    "poisson_signed": SignedPoissonEncoder,
    "frames": FrameEncoder,
}


def build_encoder(encoding: str, T: int) -> Encoder:
    """The encoder named ``encoding`` (one of :data:`ENCODINGS`)."""
    if encoding not in ENCODERS:
        raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    return ENCODERS[encoding](T)


def encoding_of(encoder: torch.nn.Module) -> str | None:
    """The name of ``encoder`` among :data:`ENCODINGS` (its exact class: a signed Poisson
    encoder is no plain one), or None for an encoder of none of them."""
    return next((name for name, cls in ENCODERS.items() if type(encoder) is cls), None)
