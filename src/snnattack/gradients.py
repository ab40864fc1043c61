"""Gradient modes: how the spiking layers of a model are differentiated during an attack.

``with gradient_mode(model, "rga"): loss(model(x)).backward()`` leaves the forward values
unchanged and replaces the backward pass:

- ``stbp``: BPTT through the unrolled simulation with the triangle surrogate (the default).
- ``rga``: rate gradient approximation (Bu et al., CVPR 2023), computed in the rate domain:
  the network is simulated once without autograd, then one differentiable pass runs on
  time-averaged tensors ``[1, B, ...]`` in which each spiking layer returns its true firing
  rate with the derivative of the static rate-current curve at its mean input current. All
  other layers must be linear and time-invariant (conv, BN in eval, average pooling, linear,
  residual add, flatten), so this gives the layer-wise RGA gradient at about 1/T the cost.
- ``rga_layerwise``: the same gradient applied layer by layer on ``[T, B, ...]`` tensors, as
  the reference code does; kept as the test oracle and the cost baseline.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from snnattack.encoding import Encoder
from snnattack.neurons import LIF
from snnattack.temporal import Temporal, temporal_modules


def rate_slope(
    current: torch.Tensor, lam: float, theta: float, beta: float = 2.0, gamma: float = 0.2
) -> torch.Tensor:
    """Derivative of the RGA rate-current curve at mean current ``current`` (SPEC §4, Eq. S8).

    ``gamma`` on ``[0, (1 - lam) theta]``, the linear ramp's slope on ``((1 - lam) theta,
    beta theta]``, 0 elsewhere; the intervals are half-open so no current counts twice.
    """
    low, high = (1.0 - lam) * theta, beta * theta
    ramp = (1.0 - gamma * theta + gamma * theta * lam) / ((beta + lam - 1.0) * theta)
    slope = torch.zeros_like(current)
    slope = torch.where((current >= 0) & (current <= low), gamma, slope)
    return torch.where((current > low) & (current <= high), ramp, slope)


class _RateGrad(torch.autograd.Function):
    """Returns the recorded firing rate; backward multiplies by the rate-current slope."""

    @staticmethod
    def forward(ctx, mean_current, rate, lam, theta, beta, gamma):  # type: ignore[override]
        ctx.save_for_backward(rate_slope(mean_current, lam, theta, beta, gamma))
        return rate

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (slope,) = ctx.saved_tensors
        return grad * slope, None, None, None, None, None


class _LayerwiseRateGrad(torch.autograd.Function):
    """True spikes forward; backward spreads ``slope(mean_t I) * mean_t grad`` over steps."""

    @staticmethod
    def forward(ctx, current, lif, beta, gamma):  # type: ignore[override]
        with torch.no_grad():
            spikes = lif.simulate(current)
        ctx.save_for_backward(rate_slope(current.mean(0), lif.lam, lif.theta, beta, gamma))
        return spikes

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (slope,) = ctx.saved_tensors
        return (slope * grad.mean(0)).expand_as(grad).contiguous(), None, None, None


def _check_rga_params(beta: float, gamma: float) -> None:
    if beta <= 0:
        raise ValueError(f"rga: beta must be > 0, got {beta}")
    if gamma < 0:
        raise ValueError(f"rga: gamma must be >= 0, got {gamma}")


@contextmanager
def _stbp(model: nn.Module, width: float | None = None) -> Iterator[None]:
    lifs = [m for m in temporal_modules(model) if isinstance(m, LIF)]
    saved = [m.width for m in lifs]
    if width is not None:
        if width <= 0:
            raise ValueError(f"stbp: width must be > 0, got {width}")
        for m in lifs:
            m.width = width
    try:
        yield
    finally:
        for m, w in zip(lifs, saved, strict=True):
            m.width = w


@contextmanager
def _rga_layerwise(model: nn.Module, beta: float = 2.0, gamma: float = 0.2) -> Iterator[None]:
    _check_rga_params(beta, gamma)

    def lif_backward(lif: LIF, current: torch.Tensor) -> torch.Tensor:
        return _LayerwiseRateGrad.apply(current, lif, beta, gamma)

    with _overriding(model, {LIF: lif_backward}):
        yield


@contextmanager
def _rga(model: nn.Module, beta: float = 2.0, gamma: float = 0.2) -> Iterator[None]:
    _check_rga_params(beta, gamma)
    rates: dict[int, deque] = defaultdict(deque)
    phase = {"now": "record"}

    def lif_rate(lif: LIF, current: torch.Tensor) -> torch.Tensor:
        if phase["now"] != "rate":
            spikes = lif.simulate(current)
            if phase["now"] == "record":
                rates[id(lif)].append(spikes.mean(0, keepdim=True))
            return spikes
        rate = rates[id(lif)].popleft()
        mean_current = current.mean(0, keepdim=True)
        return _RateGrad.apply(mean_current, rate, lif.lam, lif.theta, beta, gamma)

    def encoder_rate(encoder: Encoder, x: torch.Tensor) -> torch.Tensor:
        return encoder.expected(x) if phase["now"] == "rate" else encoder.simulate(x)

    def simulate_first(module: nn.Module, args: tuple) -> None:
        rates.clear()
        if not torch.is_grad_enabled():  # no backward will follow: one plain simulation
            phase["now"] = "simulate"
            return
        _require_eval(module)
        phase["now"] = "record"
        with torch.no_grad():
            phase["true_output"] = module.forward(*args)
        phase["now"] = "rate"

    def combine(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        if phase["now"] == "simulate":
            return output
        true_output = phase.pop("true_output")
        return true_output + (output - output.detach())

    with _overriding(model, {LIF: lif_rate, Encoder: encoder_rate}):
        pre = model.register_forward_pre_hook(simulate_first)
        post = model.register_forward_hook(combine)
        try:
            yield
        finally:
            pre.remove()
            post.remove()


def _require_eval(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm | nn.Dropout) and m.training:
            raise RuntimeError(
                "gradient mode 'rga' needs the model in eval mode (call model.eval()): "
                f"{type(m).__name__} in training mode is not time-invariant"
            )


@contextmanager
def _overriding(model: nn.Module, overrides: dict[type, object]) -> Iterator[None]:
    """Installs ``overrides[type]`` as the forward of every temporal module of that type."""
    modules = temporal_modules(model)
    saved = [m.override for m in modules]
    for m in modules:
        for cls, fn in overrides.items():
            if isinstance(m, cls):
                m.override = fn
    try:
        yield
    finally:
        for m, fn in zip(modules, saved, strict=True):
            m.override = fn


GRADIENT_MODES = {"stbp": _stbp, "rga": _rga, "rga_layerwise": _rga_layerwise}


@contextmanager
def gradient_mode(model: nn.Module, mode: str, **params: float) -> Iterator[nn.Module]:
    """Within the block, ``model``'s forward is unchanged and its backward is ``mode``'s.

    ``params`` are the mode's own settings: ``width`` for ``stbp``; ``beta``, ``gamma`` for
    ``rga`` and ``rga_layerwise``.
    """
    if mode not in GRADIENT_MODES:
        raise ValueError(f"unknown gradient mode {mode!r}; accepted: {sorted(GRADIENT_MODES)}")
    if not any(isinstance(m, Temporal) for m in model.modules()):
        raise ValueError("gradient_mode: the model has no spiking layers (snnattack LIF/encoders)")
    try:
        ctx = GRADIENT_MODES[mode](model, **params)
    except TypeError as err:
        raise ValueError(f"gradient mode {mode!r}: bad parameters {params}: {err}") from None
    with ctx:
        yield model
