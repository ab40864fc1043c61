"""Rate gradient approximation (Bu et al., CVPR 2023), in the rate domain and layer by layer.

``rga`` runs in the rate domain: the network is simulated once without autograd, then one
differentiable pass runs on time-averaged tensors ``[1, B, ...]`` in which each spiking layer
returns its true firing rate with the derivative of the static rate-current curve at its mean
input current. All other layers must be linear and time-invariant (conv, BN in eval, average
pooling, linear, residual add, flatten), so this gives the layer-wise RGA gradient at about
1/T the cost. On a model with a max pooling, which picks by values that pass never computes
(it routed each window's gradient to its first element), ``rga`` gives the layer-wise
gradient by the layer-wise pass. So it does on a model of SEW-ResNet blocks that multiply
spikes (``AND``, ``IAND``): one such product is exact, but stacked ones pass each other a
gradient that differs by step, which one time-averaged pass cannot hold; a product in a
model's own code is not seen. ``rga_layerwise`` applies
the same gradient layer by layer on ``[T, B, ...]`` tensors, like the reference code: the
test oracle and the cost baseline. It gives each step the slope times the mean of the steps'
spike gradients, the reference's backward each step's own: the same input gradient where
every step's spike gradient is the same (linear time-invariant layers after the neurons, the
output averaged over T), not behind a max pooling (``docs/gradient_modes.md``).
:func:`rate_domain` is the machinery, shared with other proxies that act on mean currents.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
from torch import nn

from snnattack.cpu import native
from snnattack.cpu.guard import applies
from snnattack.cuda import guard as gpu
from snnattack.errors import UserError
from snnattack.gradients.adjoint import adjoint_only
from snnattack.gradients.base import GRADIENT_MODES, overriding, register, require_eval
from snnattack.snn.encoding import Encoder
from snnattack.snn.neurons import LIF
from snnattack.snn.temporal import Temporal
from snnattack.values import real

# layers that pick by value: rga differentiates a model holding one layer by layer
MAX_POOLS = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)
# SEW-ResNet's connect functions (spikingjelly's block attribute ``cnf``) that multiply spikes
PRODUCTS = ("AND", "IAND")
# (lif, mean input current [1, B, ...], true firing rate [1, B, ...], T) -> the layer's output;
# recorded (rate_domain): (lif, the pass's current, rate, T, the simulation's mean current)
RateLayer = Callable[..., torch.Tensor]


def _ramp(lam: float, theta: float, beta: float, gamma: float) -> tuple[float, float]:
    """The rise in rate of RGA's ramp (from ``gamma (1 - lam) theta`` to 1) and its run in
    current (from ``(1 - lam) theta`` to ``beta theta``), computed once for the slope and its
    refusal: at the limits (``lam=0.9, beta=0.1``) another spelling of the same sum rounds to
    the other side of 0."""
    return 1.0 - gamma * theta + gamma * theta * lam, (beta + lam - 1.0) * theta


def rate_slope(
    current: torch.Tensor,
    lam: float,
    theta: float,
    beta: float = 2.0,
    gamma: float = 0.2,
    backend: str = "c",
) -> torch.Tensor:
    """Derivative of the RGA rate-current curve at mean current ``current`` (Bu et al.,
    CVPR 2023, Eq. S8).

    ``gamma`` on ``[0, (1 - lam) theta]``, the linear ramp's slope on ``((1 - lam) theta,
    beta theta]``, 0 elsewhere; the intervals are half-open so no current counts twice.
    ``backend``: that of the LIF, ``c`` computing it in one pass of the C kernel where the
    CPU paths apply (:func:`snnattack.cpu.guard.applies`), ``torch`` on torch ops; the same
    values; ``triton`` (and ``c`` on a GPU) computing it in one Triton kernel where those run
    (:func:`snnattack.cuda.guard.applies`), the same values.
    """
    low, high = (1.0 - lam) * theta, beta * theta
    rise, run = _ramp(lam, theta, beta, gamma)
    ramp = rise / run
    if applies(backend, current):
        fast = native.rate_slope(current, low, high, gamma, ramp)  # one pass, the same values
        if fast is not None:
            return fast
    if gpu.applies(backend, current):  # one launch of a Triton kernel, the same values
        from snnattack.cuda import ops

        return ops.rate_slope(current, low, high, gamma, ramp)
    slope = torch.zeros_like(current)
    slope = torch.where((current >= 0) & (current <= low), gamma, slope)
    return torch.where((current > low) & (current <= high), ramp, slope)


class _RateGrad(torch.autograd.Function):
    """Returns the recorded firing rate; backward multiplies by the rate-current slope at
    ``mean_current`` (the simulation's), the gradient going to ``current`` (the pass's)."""

    @staticmethod
    def forward(ctx, current, mean_current, rate, lif, beta, gamma):  # type: ignore[override]
        slope = rate_slope(mean_current, lif.lam, lif.theta, beta, gamma, lif.backend)
        ctx.save_for_backward(slope)
        return rate

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (slope,) = ctx.saved_tensors
        return grad * slope, None, None, None, None, None


class _Graft(torch.autograd.Function):
    """``value`` with the gradient path of ``path`` (its gradient as it is): ``value + (path
    - path.detach())`` in one node."""

    @staticmethod
    def forward(ctx, path, value):  # type: ignore[override]
        return value

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        return grad, None


class _LayerwiseRateGrad(torch.autograd.Function):
    """True spikes forward; backward spreads ``slope(mean_t I) * mean_t grad`` over steps."""

    @staticmethod
    def forward(ctx, current, lif, beta, gamma):  # type: ignore[override]
        with torch.no_grad():
            spikes = lif.simulate(current)
        slope = rate_slope(current.mean(0), lif.lam, lif.theta, beta, gamma, lif.backend)
        ctx.save_for_backward(slope)
        return spikes

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (slope,) = ctx.saved_tensors
        return (slope * grad.mean(0)).expand_as(grad).contiguous(), None, None, None


# the ramp's end (beta * theta) and the slope below the firing onset
RANGES = {"beta": real(0, lo_open=True), "gamma": real(0)}


def curve_complaint(lam: float, theta: float, params: Mapping[str, Any]) -> str | None:
    """Why RGA's rate-current curve (Eq. S8) does not exist at ``params`` for a neuron of
    leak ``lam`` and threshold ``theta``, None if it does: its ramp runs from the firing onset
    ``(1 - lam) theta``, where the rate is ``gamma (1 - lam) theta``, up to ``beta theta``,
    where it is 1, so the ramp must end above its start (else a division by zero, or no
    ramp) and start below a rate of 1 (else its slope is 0 or negative)."""
    beta, gamma = params["beta"], params["gamma"]
    onset = 1.0 - lam
    rise, run = _ramp(lam, theta, beta, gamma)
    if run <= 0.0:
        return (
            f"{{prefix}}beta={beta:g} ends RGA's ramp at or below its start, the firing onset "
            f"(1 - lambda) theta of lambda={lam:g}; accepted: beta > {onset:g} (1 - lambda)"
        )
    if rise <= 0.0:
        return (
            f"{{prefix}}gamma={gamma:g} gives a rate of {gamma * onset * theta:g} >= 1 at the "
            f"firing onset of lambda={lam:g}, theta={theta:g}, where RGA's ramp to rate 1 "
            f"starts; accepted: gamma < {1.0 / (onset * theta):g} (1 / ((1 - lambda) theta))"
        )
    return None


def _require_curves(model: nn.Module, mode: str, beta: float, gamma: float) -> None:
    """Refuses ``beta`` and ``gamma`` where a spiking layer of ``model`` has no RGA curve."""
    problem = GRADIENT_MODES[mode].layer_complaint(model, {"beta": beta, "gamma": gamma})
    if problem is not None:
        raise UserError(problem)


@register("rga_layerwise", title="RGA (layer-wise)", order=21, neurons=curve_complaint, **RANGES)
@contextmanager
def rga_layerwise(model: nn.Module, beta: float = 2.0, gamma: float = 0.2) -> Iterator[None]:
    _require_curves(model, "rga_layerwise", beta, gamma)

    def lif_backward(lif: LIF, current: torch.Tensor) -> torch.Tensor:
        return _LayerwiseRateGrad.apply(current, lif, beta, gamma)

    with overriding(model, {LIF: lif_backward}):
        yield


@contextmanager
def rate_domain(
    model: nn.Module, name: str, layer: RateLayer, recorded: bool = False
) -> Iterator[None]:
    """The model's output values with the gradient of one pass over time-averaged tensors.

    With gradients enabled, a call of ``model`` first simulates it without autograd (keeping
    each spiking layer's firing rate), then runs it on ``[1, B, ...]`` tensors (the encoder's
    time average) where each spiking layer returns ``layer(lif, mean current, rate, T)``; the
    call returns the true output plus that pass's zero-valued gradient path. Any other
    temporal module (a membrane read-out, :mod:`snnattack.interop.readout`) returns, in the
    pass, its ``rate(mean input, T)``: its output as a function of its mean input over the
    simulation's T steps.

    ``recorded``: the mean currents are those of the simulation (equal to the pass's up to
    float rounding, every layer between spiking layers being linear), so the pass computes no
    linear layer, only their input gradients
    (:func:`snnattack.gradients.adjoint.adjoint_only`): ``layer`` is called as ``layer(lif,
    current, rate, T, mean)``, ``current`` the pass's gradient path (its values unread) and
    ``mean`` the simulation's mean current. For a ``layer`` whose output value does not
    depend on the mean current (its output is the recorded rate); parameters get no
    gradient. The pass's output carries the true output's value (one node). A pass refused
    for writing into a skipped layer's output in place (a residual ``out += x``) runs again,
    the spiking layers' rates served afresh.
    """
    rates: dict[int, list] = defaultdict(list)
    served: dict[int, int] = defaultdict(int)  # of each LIF's rates, those the pass took
    phase = {"now": "record"}

    def lif_rate(lif: LIF, current: torch.Tensor) -> torch.Tensor:
        if phase["now"] != "rate":
            spikes = lif.simulate(current)
            if phase["now"] == "record":
                mean = current.mean(0, keepdim=True) if recorded else None
                rates[id(lif)].append((spikes.mean(0, keepdim=True), mean, current.shape[0]))
            return spikes
        rate, mean, steps = rates[id(lif)][served[id(lif)]]
        served[id(lif)] += 1
        passed = current if current.shape[0] == 1 else current.mean(0, keepdim=True)
        if mean is not None:  # the simulation's value, the pass's gradient path
            return layer(lif, passed, rate, steps, mean)
        return layer(lif, passed, rate, steps)

    def readout_rate(module: Temporal, current: torch.Tensor) -> Any:
        """A temporal module that is neither a LIF nor an encoder (a membrane read-out,
        :mod:`snnattack.interop.readout`): simulated, then, in the pass, its ``rate`` of its
        mean input (``recorded``: the simulation's value on the pass's gradient path) over the
        simulation's steps."""
        if phase["now"] != "rate":
            if phase["now"] == "record":
                mean = current.mean(0, keepdim=True) if recorded else None
                rates[id(module)].append((None, mean, current.shape[0]))
            return module.simulate(current)
        _, mean, steps = rates[id(module)][served[id(module)]]
        served[id(module)] += 1
        passed = current if current.shape[0] == 1 else current.mean(0, keepdim=True)
        if mean is not None:
            passed = _Graft.apply(passed, mean)
        return module.rate(passed, steps)

    def encoder_rate(encoder: Encoder, x: torch.Tensor) -> torch.Tensor:
        return encoder.expected(x) if phase["now"] == "rate" else encoder.simulate(x)

    def simulate_first(module: nn.Module, args: tuple) -> None:
        rates.clear()
        served.clear()
        if not torch.is_grad_enabled():  # no backward will follow: one plain simulation
            phase["now"] = "simulate"
            return
        require_eval(module, name)
        phase["now"] = "record"
        with torch.no_grad():
            phase["true_output"] = module.forward(*args)
        phase["now"] = "rate"

    def combine(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        if phase["now"] == "simulate":
            return output
        rates.clear()  # the pass is over (a refused pass ran again before this)
        return _Graft.apply(output, phase.pop("true_output"))

    with (
        overriding(model, {LIF: lif_rate, Encoder: encoder_rate, Temporal: readout_rate}),
        adjoint_only(model, rewind=served.clear) if recorded else nullcontext(),
    ):
        pre = model.register_forward_pre_hook(simulate_first)
        post = model.register_forward_hook(combine)
        try:
            yield
        finally:
            pre.remove()
            post.remove()


@register(
    "rga",
    title="RGA",
    order=20,
    time_invariant=True,
    compiles=False,  # its adjoint chains each layer's autograd node (adjoint.adjoint_only)
    neurons=curve_complaint,
    **RANGES,
)
@contextmanager
def rga(model: nn.Module, beta: float = 2.0, gamma: float = 0.2) -> Iterator[None]:
    _require_curves(model, "rga", beta, gamma)
    if any(
        isinstance(m, MAX_POOLS) or getattr(m, "cnf", None) in PRODUCTS for m in model.modules()
    ):
        with rga_layerwise(model, beta, gamma):  # values the one pass never made, or products
            yield
        return

    def layer(
        lif: LIF, current: torch.Tensor, rate: torch.Tensor, T: int, mean: torch.Tensor
    ) -> torch.Tensor:
        return _RateGrad.apply(current, mean, rate, lif, beta, gamma)

    with rate_domain(model, "rga", layer, recorded=True):
        yield
