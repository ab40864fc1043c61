"""BPTR, HART and the ANN proxy: each backward equals its formula on a tiny hand-checked
network (float64), the forward values stay the SNN's, and the modes differ where they should."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from snnattack.attacks.methods import build_attack
from snnattack.gradients import GRADIENT_MODES, gradient_mode
from snnattack.gradients.ann import quantised_relu
from snnattack.gradients.base import restart_surrogates, temporarily
from snnattack.interop import adapt
from snnattack.models.base import SpikingNet
from snnattack.snn.backend import set_backend
from snnattack.snn.encoding import DirectEncoder
from snnattack.snn.neurons import LIF
from snnattack.snn.reset import HardReset
from snnattack.snn.temporal import FoldedBatchNorm2d, FoldedSequential, StepWise

T, B, F = 6, 4, 5


def current() -> torch.Tensor:
    torch.manual_seed(0)
    return (torch.rand(T, B, F, dtype=torch.float64) * 1.6 - 0.5).requires_grad_(True)


def weights() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(T, B, F, dtype=torch.float64)


@pytest.mark.parametrize("lam,reset", [(1.0, "hard"), (0.8, "soft")])
def test_bptr_passes_each_steps_spike_gradient_where_the_neuron_fired(lam, reset) -> None:
    lif, x, w = nn.Sequential(LIF(lam=lam, reset=reset)), current(), weights()
    with gradient_mode(lif, "bptr"):
        spikes = lif(x)
        (w * spikes).sum().backward()
    assert torch.equal(spikes, lif(x.detach()))
    fired = (spikes.mean(0, keepdim=True) > 0).to(x.dtype)
    assert 0 < fired.mean() < 1  # some neurons silent: the gate matters
    torch.testing.assert_close(x.grad, w * fired, rtol=0, atol=1e-12)


@pytest.mark.parametrize("lam,reset,width", [(1.0, "hard", 1.0), (0.7, "soft", 0.5)])
def test_hart_gives_every_step_the_mean_surrogate_gradient_without_temporal_path(
    lam, reset, width
) -> None:
    lif, x, w = nn.Sequential(LIF(lam=lam, reset=reset)), current(), weights()
    with gradient_mode(lif, "hart", gamma=width):
        spikes = lif(x)
        (w * spikes).sum().backward()
    assert torch.equal(spikes, lif(x.detach()))
    u, per_step = torch.zeros(B, F, dtype=x.dtype), []  # by hand: membrane, surrogate slope
    with torch.no_grad():
        for t in range(T):
            u = lam * u + x[t]
            per_step.append(w[t] * (width - (u - 1.0).abs()).clamp(min=0) / width**2)
            s = (u >= 1.0).to(x.dtype)
            u = u * (1 - s) if reset == "hard" else u - s
    expected = torch.stack(per_step).mean(0, keepdim=True).expand(T, B, F)
    torch.testing.assert_close(x.grad, expected, rtol=0, atol=1e-12)


def test_ann_proxy_is_the_gradient_of_the_quantised_relu_network() -> None:
    torch.manual_seed(2)
    first, second = nn.Linear(F, 7).double(), nn.Linear(7, 3).double()
    lif = LIF(lam=0.9, theta=0.8)
    net = nn.Sequential(first, lif, second)
    x, w = current(), torch.randn(T, B, 3, dtype=torch.float64)
    with gradient_mode(net, "ann"):
        out = net(x)
        (w * out).sum().backward()
    torch.testing.assert_close(out, net(x.detach()))  # the SNN's values
    xa = x.detach().clone().requires_grad_(True)  # by hand: the ANN on the mean input
    proxy = second(quantised_relu(first(xa).mean(0, keepdim=True), 0.8, T))
    (w.sum(0, keepdim=True) * proxy).sum().backward()
    torch.testing.assert_close(x.grad, xa.grad, rtol=0, atol=1e-12)
    assert x.grad.abs().sum() > 0


def test_quantised_relu_has_t_levels_and_a_straight_through_floor() -> None:
    i = torch.linspace(-0.5, 1.5, 41, dtype=torch.float64, requires_grad=True)
    y = quantised_relu(i, theta=1.0, levels=4)
    assert set(y.tolist()) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    y.sum().backward()
    inside = (i > 0) & (i < 1)
    assert torch.all(i.grad[inside] == 1.0) and torch.all(i.grad[(i < 0) | (i > 1)] == 0)


def spiking_net() -> nn.Module:
    torch.manual_seed(3)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = DirectEncoder(T)
            self.body = nn.Sequential(
                nn.Linear(F, 16), LIF(lam=0.9), nn.Linear(16, 16), LIF(lam=0.9), nn.Linear(16, 3)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(self.encoder(x)).mean(0)

    net = Net().double().eval()
    for m in net.body:
        if isinstance(m, nn.Linear):
            nn.init.uniform_(m.bias, 0.2, 0.8)
    return net


def test_the_modes_give_different_input_gradients_and_the_same_outputs() -> None:
    net, x = spiking_net(), torch.rand(8, F, dtype=torch.float64)
    y = torch.arange(8) % 3
    grads, outputs = {}, {}
    for mode in GRADIENT_MODES:
        xi = x.clone().requires_grad_(True)
        with gradient_mode(net, mode):
            out = net(xi)
            nn.functional.cross_entropy(out, y).backward()
        grads[mode], outputs[mode] = xi.grad, out.detach()
    for mode in GRADIENT_MODES:
        torch.testing.assert_close(outputs[mode], outputs["stbp"])
        assert grads[mode].abs().sum() > 0
    torch.testing.assert_close(grads["rga"], grads["rga_layerwise"])  # one gradient, two ways
    distinct = ["stbp", "rga", "bptr", "hart", "ann"]
    for i, a in enumerate(distinct):
        for b in distinct[i + 1 :]:
            assert not torch.allclose(grads[a], grads[b]), (a, b)


class Residual(nn.Module):
    """A linear layer plus its input, then a LIF: the shortcut added in place (``out +=
    x``, as spikingjelly's and torchvision's ``BasicBlock`` do) or out of place."""

    def __init__(self, in_place: bool) -> None:
        super().__init__()
        self.linear, self.lif, self.in_place = nn.Linear(16, 16), LIF(lam=0.9), in_place

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x)
        if self.in_place:
            out += x
        else:
            out = out + x
        return self.lif(out)


class CountZeros(TorchDispatchMode):
    """Counts the zeros given memory of their own (``new_zeros``: a kernel each)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls += func.overloadpacket is torch.ops.aten.new_zeros
        return func(*args, **(kwargs or {}))


def residual_gradients(in_place: bool) -> tuple[list[torch.Tensor], list[int]]:
    """``rga``'s input gradients of three calls of a net holding a :class:`Residual`, and the
    zeros each call gave memory of their own."""
    net = spiking_net()
    net.body.insert(2, Residual(in_place).double().eval())
    x, y = torch.rand(8, F, dtype=torch.float64), torch.arange(8) % 3
    grads, zeros = [], []
    with gradient_mode(net, "rga"):
        for _ in range(3):
            xi = x.clone().requires_grad_(True)
            with CountZeros() as counted:
                nn.functional.cross_entropy(net(xi), y).backward()
            grads.append(xi.grad)
            zeros.append(counted.calls)
    return grads, zeros


def test_rga_on_a_residual_added_in_place_gives_the_out_of_place_gradient() -> None:
    """rga's pass returns each linear layer's output as one broadcast zero, which autograd
    refuses to write into: ``out += x`` failed (the zoo ResNets' ``BasicBlock``). The first
    call runs its pass again with zeros of their own; later calls give them to the layer
    written in place only, and without it to none (after the first call's broadcast zero)."""
    expected, zeros = residual_gradients(in_place=False)
    assert expected[0].abs().sum() > 0 and zeros[1:] == [0, 0]
    grads, zeros = residual_gradients(in_place=True)
    for grad in grads:
        torch.testing.assert_close(grad, expected[0], rtol=0, atol=0)
    assert zeros[1:] == [1, 1]


def test_rga_beta_and_gamma_from_the_command_line_reach_the_gradient() -> None:
    from harness import compose
    from omegaconf import OmegaConf

    cfg = compose("attack=rga", "attack.params.beta=3", "attack.params.gamma=0.1")
    params = OmegaConf.to_container(cfg.attack.params, resolve=True)
    assert params == {"beta": 3.0, "gamma": 0.1}
    net, x = spiking_net(), torch.rand(8, F, dtype=torch.float64)
    grads = []
    for p in (params, {"beta": 2.0, "gamma": 0.2}):
        xi = x.clone().requires_grad_(True)
        with gradient_mode(net, "rga", **p):
            nn.functional.cross_entropy(net(xi), torch.arange(8) % 3).backward()
        grads.append(xi.grad)
    assert not torch.allclose(grads[0], grads[1])


def test_stbp_surrogate_from_the_command_line_reaches_the_gradient() -> None:
    from harness import compose
    from omegaconf import OmegaConf

    cfg = compose("attack.params.surrogate=atan", "attack.params.alpha=3")
    params = OmegaConf.to_container(cfg.attack.params, resolve=True)
    assert params == {"surrogate": "atan", "width": None, "alpha": 3.0}
    net, x = spiking_net(), torch.rand(8, F, dtype=torch.float64)
    grads = []
    for p in (params, {**params, "alpha": 2.0}, {**params, "surrogate": "triangle"}):
        xi = x.clone().requires_grad_(True)
        with gradient_mode(net, "stbp", **p):
            nn.functional.cross_entropy(net(xi), torch.arange(8) % 3).backward()
        grads.append(xi.grad)
    assert not torch.allclose(grads[0], grads[1])
    assert not torch.allclose(grads[0], grads[2])


def reference_lif(lif: LIF, x: torch.Tensor, spike, detach_reset: bool = False) -> torch.Tensor:
    """The LIF by hand; ``spike(v, t, history)`` returns the step's spike with its gradient;
    ``detach_reset``: the reset uses ``s.detach()`` (the ASSG reference's neurons). The hard
    reset is ``h (1 - s)``, at an infinite membrane its limit (``HardReset``, checked against
    huge finite membranes in ``tests/unit/snn/test_multistep.py``)."""
    u, out, history = torch.zeros_like(x[0]), [], []
    for t in range(x.shape[0]):
        h = lif.lam * u + x[t]
        history.append(h.detach())
        s = spike(h - lif.theta, t, history)
        r = s.detach() if detach_reset else s
        u = HardReset.apply(h, r) if lif.reset == "hard" else h - lif.theta * r
        out.append(s)
    return torch.stack(out)


def with_slope_of(v: torch.Tensor, antiderivative: torch.Tensor) -> torch.Tensor:
    """H(v) forward, d antiderivative / dv backward."""
    return (v >= 0).to(v.dtype) + (antiderivative - antiderivative.detach())


def reference_std(h: torch.Tensor, dims: list[int]) -> torch.Tensor:
    """The PDSG reference's spread: ``std`` (unbiased) over ``dims``, kept."""
    return h.std(dim=dims, keepdim=True)


def pdsg_spike(spread: Callable[[torch.Tensor, list[int]], torch.Tensor] = reference_std):
    """The reference's PDSG spike by hand: the Gaussian slope of mean ``sigma / 2`` and width
    ``sigma``, the ``spread`` of the membranes so far per channel (conv) or unit (linear)."""

    def spike(v: torch.Tensor, t: int, history: list) -> torch.Tensor:
        keep = 2  # the channel (conv) or unit (linear) dimension of [t, B, C, ...]
        dims = [d for d in range(v.dim() + 1) if d != keep]
        sigma = spread(torch.stack(history), dims).squeeze(0)
        # the reference's NaN of a single value (one sample's linear unit at t = 0) counts as 1
        sigma = torch.where((sigma == 0) | sigma.isnan(), torch.ones_like(sigma), sigma)
        gaussian_cdf = 0.5 * (1 + torch.erf((v - sigma / 2) / (math.sqrt(2) * sigma)))
        return with_slope_of(v, gaussian_cdf)

    return spike


def pdsg_gradients(
    x: torch.Tensor, w: torch.Tensor, lif: LIF, pool: str | None, spread=reference_std
) -> tuple[torch.Tensor, torch.Tensor]:
    """The input gradients of ``(w * spikes).sum()`` of ``lif`` under ``pdsg`` (``pool``
    None: the mode's default, per sample) and by hand (:func:`pdsg_spike` of ``spread``)."""
    x = x.clone().requires_grad_(True)
    with gradient_mode(nn.Sequential(lif), "pdsg", **({"pool": pool} if pool else {})):
        spikes = lif(x)
        (w * spikes).sum().backward()
    assert torch.equal(spikes, lif(x.detach()))
    xr = x.detach().clone().requires_grad_(True)
    # per sample: the reference run on one sample at a time (a batch of one, as its SDA)
    parts = [xr] if pool == "batch" else [xr[:, i : i + 1] for i in range(x.shape[1])]
    out = torch.cat([reference_lif(lif, part, pdsg_spike(spread)) for part in parts], dim=1)
    (w * out).sum().backward()
    return x.grad, xr.grad


@pytest.mark.parametrize("shape", [(T, 3, 2, 4, 4), (T, B, F)])
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("impl", ["fused", "unrolled"])
@pytest.mark.parametrize("pool", [None, "batch"])  # None: the mode's default, per sample
def test_pdsg_slope_is_a_gaussian_of_the_membrane_spread_so_far(shape, reset, impl, pool) -> None:
    torch.manual_seed(3)
    x = torch.rand(*shape, dtype=torch.float64) * 1.6 - 0.4
    w = torch.randn(*shape, dtype=torch.float64)
    grad, reference = pdsg_gradients(x, w, LIF(lam=0.8, reset=reset, impl=impl), pool)
    assert grad.abs().sum() > 0
    torch.testing.assert_close(grad, reference, rtol=1e-10, atol=1e-12)


def assg_spike(a: float, relax: float, b1: float, b2: float, moments: dict):
    """The reference's ``ASSGrad`` by hand: the atan slope of sharpness
    ``(2 tan(pi a) / pi) / (M_t + relax D_t + 1e-4)``, the moments moved by every call where
    the membrane is finite (an infinite one moves neither: the reference's would be NaN)."""

    def spike(v: torch.Tensor, t: int, history: list) -> torch.Tensor:
        m, d = moments.get(t, (torch.ones_like(v), torch.zeros_like(v)))
        finite, size = v.isfinite(), v.detach().abs()
        m = torch.where(finite, b1 * m + (1 - b1) * size, m)
        d = torch.where(finite, b2 * d + (1 - b2) * (size - m).abs(), d)
        moments[t] = (m, d)
        alpha = (2 * math.tan(math.pi * a) / math.pi) / (m + relax * d + 1e-4)
        return with_slope_of(v, torch.atan(math.pi / 2 * alpha * v) / math.pi + 0.5)

    return spike


def assg_gradients(
    passes: list[torch.Tensor], w: torch.Tensor, lif: LIF, **params: float | bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """The input gradients of ``(w * spikes).sum()`` of ``lif`` on the last of ``passes``
    under ``assg`` with ``params``, after the earlier passes (attack iterations: the moments
    move; a pass without gradient between them leaves them), and by hand (:func:`assg_spike`,
    the reset detached unless ``detach_reset`` is False)."""
    with gradient_mode(nn.Sequential(lif), "assg", **params):
        for x in passes[:-1]:
            lif(x.clone().requires_grad_(True))
            with torch.no_grad():
                lif(x + 0.3)
        x = passes[-1].clone().requires_grad_(True)
        spikes = lif(x)
        (w * spikes).sum().backward()
    assert torch.equal(spikes, lif(x.detach()))
    assert not lif.detach_reset  # the setting restored after the attack

    spike = assg_spike(params["a"], params["relax"], params["beta_1"], params["beta_2"], {})
    detached = params.get("detach_reset") is not False  # the reference's detached reset
    for x_pass in passes[:-1]:
        with torch.no_grad():
            reference_lif(lif, x_pass, spike, detached)
    xr = passes[-1].clone().requires_grad_(True)
    (w * reference_lif(lif, xr, spike, detached)).sum().backward()
    return x.grad, xr.grad


ASSG = {"a": 0.4, "relax": 1.5, "beta_1": 0.9, "beta_2": 0.8}  # a, beta_2: not the defaults


@pytest.mark.parametrize("detach_reset", [None, True, False])  # None: the mode's default
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("impl", ["fused", "unrolled"])
def test_assg_sharpness_follows_moving_moments_over_recording_passes(
    reset, impl, detach_reset
) -> None:
    torch.manual_seed(4)
    passes = [torch.rand(T, B, F, dtype=torch.float64) * 1.6 - 0.4 for _ in range(3)]
    w = torch.randn(T, B, F, dtype=torch.float64)
    params = ASSG if detach_reset is None else {**ASSG, "detach_reset": detach_reset}
    grad, reference = assg_gradients(passes, w, LIF(lam=0.9, reset=reset, impl=impl), **params)
    assert grad.abs().sum() > 0
    torch.testing.assert_close(grad, reference, rtol=1e-10, atol=1e-12)


def reference_net(net: nn.Module, x: torch.Tensor, spike, detach_reset: bool) -> torch.Tensor:
    """:func:`spiking_net`'s forward with every LIF written out by :func:`reference_lif`."""
    h = net.encoder(x)
    for m in net.body:
        h = reference_lif(m, h, spike(m), detach_reset) if isinstance(m, LIF) else m(h)
    return h.mean(0)


def test_assg_input_gradient_is_the_references_detached_reset_and_differs_from_attached() -> None:
    net, y = spiking_net(), torch.arange(8) % 3
    torch.manual_seed(5)
    x = torch.rand(8, F, dtype=torch.float64)

    def mode_grad(**params) -> torch.Tensor:
        xi = x.clone().requires_grad_(True)
        with gradient_mode(net, "assg", **params):
            nn.functional.cross_entropy(net(xi), y).backward()
        return xi.grad

    def reference_grad(detach_reset: bool) -> torch.Tensor:
        spikes = {id(m): assg_spike(0.425, 1.5, 0.9, 0.9, {}) for m in net.body}
        xi = x.clone().requires_grad_(True)
        out = reference_net(net, xi, lambda m: spikes[id(m)], detach_reset)
        nn.functional.cross_entropy(out, y).backward()
        return xi.grad

    from harness import compose
    from omegaconf import OmegaConf

    configured = OmegaConf.to_container(compose("attack=assg").attack.params, resolve=True)
    assert configured["detach_reset"] is True and configured["a"] == 0.425  # attack=assg
    default, detached = mode_grad(**configured), reference_grad(True)
    attached, reference_attached = mode_grad(detach_reset=False), reference_grad(False)
    relative = lambda g, r: ((g - r).norm() / r.norm()).item()  # noqa: E731
    assert relative(default, detached) <= 1e-9
    assert relative(attached, reference_attached) <= 1e-9
    assert relative(attached, detached) > 0.01  # the reset's path changes the gradient


def test_restarting_the_surrogates_starts_assg_moments_afresh() -> None:
    net, y = spiking_net(), torch.arange(8) % 3
    torch.manual_seed(6)
    x, other = torch.rand(8, F, dtype=torch.float64), torch.rand(8, F, dtype=torch.float64)

    def grad(*earlier: torch.Tensor, restart: bool = False) -> torch.Tensor:
        with gradient_mode(net, "assg"):
            for e in earlier:
                net(e.clone().requires_grad_(True))  # an earlier iteration moves the moments
            if restart:
                restart_surrogates(net)
            xi = x.clone().requires_grad_(True)
            nn.functional.cross_entropy(net(xi), y).backward()
        return xi.grad

    fresh = grad()
    assert not torch.allclose(grad(other), fresh)
    torch.testing.assert_close(grad(other, restart=True), fresh, rtol=0, atol=0)


@pytest.mark.parametrize("method", ["apgd", "sapgd"])
def test_every_restart_of_the_adaptive_attacks_restarts_the_surrogates(method, monkeypatch) -> None:
    import snnattack.attacks.methods.apgd
    import snnattack.attacks.methods.sapgd

    calls = []
    for module in (snnattack.attacks.methods.apgd, snnattack.attacks.methods.sapgd):
        monkeypatch.setattr(module, "restart_surrogates", lambda model: calls.append(model))
    net = nn.Sequential(nn.Flatten(), spiking_net())  # on images [B, 1, 1, F], as APGD wants
    x = torch.rand(8, 1, 1, F, dtype=torch.float64)
    with torch.no_grad():
        y = net(x).argmax(1)  # every sample correct, so APGD restarts on all of them
    attack = build_attack(method, net, 1e-6, steps=2, n_restarts=3)
    with gradient_mode(net, "assg"):
        attack(x, y)
    assert calls == [net] * 3


def conv_bn_net(backend: str, channels_last: bool) -> SpikingNet:
    """A conv-BN-LIF network of one time step in eval mode, frozen as attacks run it, its
    statistics away from the identity."""
    torch.manual_seed(5)
    body = nn.Sequential(
        StepWise(nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4))),
        LIF(0.5, 0.5, "soft"),
        StepWise(nn.Sequential(nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4))),
        LIF(0.5, 0.5, "soft"),
        StepWise(nn.Sequential(nn.Flatten(), nn.Linear(64, 3))),
    )
    net = SpikingNet(DirectEncoder(1), body, None).double()
    with torch.no_grad():
        for bn in net.modules():
            if isinstance(bn, nn.BatchNorm2d):
                bn.running_var.uniform_(0.5, 1.5)
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.uniform_(0.2, 0.8)
    net = set_backend(net.eval(), backend).requires_grad_(False)
    return net.to(memory_format=torch.channels_last) if channels_last else net


def jelly_conv_bn_net(norm: str, backend: str, channels_last: bool) -> SpikingNet:
    """:func:`conv_bn_net`'s layers and weights in spikingjelly (multi-step), adapted: its BNs
    are spikingjelly's, which fold ``[T, B]`` themselves: a ``layer.BatchNorm2d`` (``norm``
    ``layer``) or an ``nn.BatchNorm2d`` in a ``layer.SeqToANNContainer`` (``container``)."""
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    def node() -> nn.Module:  # conv_bn_net's LIF: lam 0.5, theta 0.5, soft reset, Triangle(1)
        return neuron.LIFNode(
            tau=2.0,
            decay_input=False,
            v_threshold=0.5,
            v_reset=None,
            surrogate_function=surrogate.PiecewiseQuadratic(1.0),
        )

    def bn() -> nn.Module:
        if norm == "layer":
            return layer.BatchNorm2d(4)
        return layer.SeqToANNContainer(nn.BatchNorm2d(4))

    net = nn.Sequential(
        layer.Conv2d(2, 4, 3, padding=1),
        bn(),
        node(),
        layer.Conv2d(4, 4, 3, padding=1, bias=False),
        bn(),
        node(),
        layer.Flatten(),
        layer.Linear(64, 3),
    ).double()
    functional.set_step_mode(net, "m")
    weights = conv_bn_net(backend, False).body.state_dict().values()
    net.load_state_dict(dict(zip(net.state_dict(), weights, strict=True)))
    adapted = set_backend(adapt(net.eval(), T=1), backend).requires_grad_(False)
    folding = [m for m in adapted.modules() if isinstance(m, FoldedBatchNorm2d | FoldedSequential)]
    assert len(folding) == 2 and {m.backend for m in folding} == {backend}
    return adapted.to(memory_format=torch.channels_last) if channels_last else adapted


def one_sample_gradient(
    make: Callable[[str, bool], SpikingNet], mode: str, backend: str, channels_last: bool
) -> torch.Tensor:
    """The input gradient under ``mode`` of ``make(backend, channels_last)``'s loss on one
    sample of one time step, in channels-last memory or contiguous."""
    torch.manual_seed(2)
    x = torch.rand(1, 2, 4, 4, dtype=torch.float64)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    xi = x.clone(memory_format=layout).requires_grad_(True)
    net = make(backend, channels_last)
    with gradient_mode(net, mode):
        nn.functional.cross_entropy(net(xi), torch.tensor([0])).backward()
    return xi.grad


@pytest.mark.parametrize("backend", ["c", "torch"])
@pytest.mark.parametrize("mode", GRADIENT_MODES)
def test_one_sample_in_channels_last_memory_gets_the_input_gradient_of_contiguous(
    mode: str, backend: str
) -> None:
    """T = 1 and batch 1: the one sample's batch stride is free, and ATen's batch-norm
    backward misread the one a reshape leaves in channels-last memory."""
    contiguous = one_sample_gradient(conv_bn_net, mode, backend, False)
    channels_last = one_sample_gradient(conv_bn_net, mode, backend, True)
    torch.testing.assert_close(channels_last, contiguous, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("backend", ["c", "torch"])
@pytest.mark.parametrize("mode", GRADIENT_MODES)
@pytest.mark.parametrize("norm", ["layer", "container"])
def test_spikingjellys_batch_norm_on_one_channels_last_sample_gets_the_native_gradient(
    norm: str, mode: str, backend: str
) -> None:
    """The same case through the adapter: spikingjelly's own multi-step BN (and
    SeqToANNContainer) folded that sample with its free batch stride (HART, BPTR and
    layer-wise RGA, whose gradients reach it in another layout, got wrong ones); either
    layout now gets the native model's gradient."""
    pytest.importorskip("spikingjelly")
    native = one_sample_gradient(conv_bn_net, mode, backend, False)
    assert native.abs().sum() > 0
    jelly = partial(jelly_conv_bn_net, norm)
    for channels_last in (False, True):
        adapted = one_sample_gradient(jelly, mode, backend, channels_last)
        torch.testing.assert_close(adapted, native, rtol=1e-12, atol=1e-15)


class Counted(nn.Module):
    """A module that counts the assignments to its ``surrogate``."""

    def __init__(self, surrogate: object) -> None:
        super().__init__()
        object.__setattr__(self, "sets", 0)
        self.surrogate = surrogate

    def __setattr__(self, name: str, value: object) -> None:
        if name == "surrogate":
            object.__setattr__(self, "sets", self.sets + 1)
        super().__setattr__(name, value)


def test_temporarily_sets_only_what_changes_and_restores_what_the_block_changed() -> None:
    """A gradient mode that keeps each neuron's own surrogate, entered at every attack call,
    set and restored every neuron's anyway; now an attribute holding the very object is left
    alone, and whatever the block itself changed is still restored."""
    own, other = object(), object()
    kept, swapped = Counted(own), Counted(own)
    kept.sets = swapped.sets = 0
    with temporarily([kept, swapped], "surrogate", [own, other]):
        assert kept.surrogate is own and swapped.surrogate is other
        assert (kept.sets, swapped.sets) == (0, 1)
        kept.surrogate = other  # the block's own change
    assert kept.surrogate is own and swapped.surrogate is own
    assert (kept.sets, swapped.sets) == (2, 2)
