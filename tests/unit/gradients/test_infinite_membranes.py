"""PDSG and ASSG at infinite membranes (a current of -inf or +inf; the hard reset gives its
limit, ``snnattack.snn.reset``): their statistics are those of the finite membranes, so the
gradients are finite numbers, by hand (``test_gradient_modes``'s references with the spread or
the moments of the finite membranes) and as without the infinite membrane. (Before, one
infinite membrane made PDSG's spread of its channel and ASSG's moments of its neuron NaN.)"""

from __future__ import annotations

import math

import pytest
import torch
from test_gradient_modes import ASSG, B, F, T, assg_gradients, current, pdsg_gradients, weights
from torch import nn

from snnattack.gradients import gradient_mode
from snnattack.snn.neurons import LIF

INF = math.inf


def finite_std(h: torch.Tensor, dims: list[int]) -> torch.Tensor:
    """The unbiased std over ``dims`` (kept) of the finite entries of ``h``, in two passes;
    NaN for fewer than two, as the reference's std of a single value."""
    finite = h.isfinite()
    n = finite.sum(dims, keepdim=True)
    mean = h.where(finite, 0.0).sum(dims, keepdim=True) / n
    return ((h - mean).where(finite, 0.0).square().sum(dims, keepdim=True) / (n - 1)).sqrt()


@pytest.mark.parametrize("shape", [(T, 3, 2, 4, 4), (T, B, F)])
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("impl", ["fused", "unrolled"])
@pytest.mark.parametrize("pool", [None, "batch"])  # None: the mode's default, per sample
def test_pdsg_spread_is_that_of_the_finite_membranes(shape, reset, impl, pool) -> None:
    torch.manual_seed(3)
    x = torch.rand(*shape, dtype=torch.float64) * 1.6 - 0.4
    w = torch.randn(*shape, dtype=torch.float64)
    x[1, 0].view(-1)[3] = -INF  # one neuron (a unit, or a position of channel 0) from step 1
    x[3, 1].view(-1)[2] = INF  # one fires at step 3 (a hard reset: finite again after it)
    x[0, 2, 1] = -INF  # sample 2's unit or channel 1 at every step: no finite membrane
    grad, reference = pdsg_gradients(x, w, LIF(lam=0.8, reset=reset, impl=impl), pool, finite_std)
    assert grad.isfinite().all() and grad.abs().sum() > 0
    torch.testing.assert_close(grad, reference, rtol=1e-10, atol=1e-12)


def pdsg_grad(x: torch.Tensor, w: torch.Tensor, impl: str = "fused") -> torch.Tensor:
    """The input gradient of ``(w * spikes).sum()`` of a LIF under ``pdsg`` pooled over the
    batch (``pool: batch``: a unit's spread is taken over every sample)."""
    x = x.clone().requires_grad_(True)
    lif = LIF(lam=0.8, impl=impl)
    with gradient_mode(nn.Sequential(lif), "pdsg", pool="batch"):
        (w * lif(x)).sum().backward()
    return x.grad


@pytest.mark.parametrize("impl", ["fused", "unrolled"])
def test_pdsg_gradient_beside_an_infinite_membrane_is_the_gradient_without_it(impl) -> None:
    """Sample 0's membrane of unit 0 is -inf at every step: the unit's other samples get the
    gradient of the batch without sample 0, sample 0 gets 0 there."""
    x, w = current().detach().clone(), weights()
    x[:, 0, 0] = -INF
    grad = pdsg_grad(x, w, impl)
    without = pdsg_grad(x[:, 1:, :1], w[:, 1:, :1], impl)
    assert grad.isfinite().all() and without.abs().sum() > 0
    assert grad[:, 0, 0].eq(0).all()
    torch.testing.assert_close(grad[:, 1:, :1], without, rtol=1e-12, atol=0)


def test_pdsg_spread_beyond_the_dtype_is_a_flat_gaussian() -> None:
    """Two membranes of 0.9 times the largest float64 in unit 0 (their sum overflows: the
    mean is inf, then inf - inf in the next step's merge) and two of +- that in unit 1 (the
    squares overflow): the spread is inf, whose Gaussian has slope 0 at every membrane of the
    unit (the limit of ever wider ones); the other units get their gradients without them."""
    x, w = current().detach().clone(), weights()
    big = 0.9 * torch.finfo(torch.float64).max
    x[0, :2, 0], x[0, :2, 1] = big, torch.tensor([big, -big], dtype=torch.float64)
    grad = pdsg_grad(x, w)
    assert grad[:, :, :2].eq(0).all()
    torch.testing.assert_close(grad[:, :, 2:], pdsg_grad(x[:, :, 2:], w[:, :, 2:]))


@pytest.mark.parametrize("detach_reset", [True, False])
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("impl", ["fused", "unrolled"])
def test_assg_moments_are_those_of_the_finite_membranes(reset, impl, detach_reset) -> None:
    """An earlier pass with infinite membranes leaves those neurons' moments at its steps as
    they were; the differentiated pass has one too: finite gradients, as by hand."""
    torch.manual_seed(4)
    passes = [torch.rand(T, B, F, dtype=torch.float64) * 1.6 - 0.4 for _ in range(3)]
    w = torch.randn(T, B, F, dtype=torch.float64)
    passes[1][1, 0, 3], passes[1][3, 1, 2] = -INF, INF  # -inf from step 1; +inf fires at 3
    passes[2][2, 2, 1] = -INF
    lif = LIF(lam=0.9, reset=reset, impl=impl)
    grad, reference = assg_gradients(passes, w, lif, **ASSG, detach_reset=detach_reset)
    assert grad.isfinite().all() and grad.abs().sum() > 0
    torch.testing.assert_close(grad, reference, rtol=1e-10, atol=1e-12)
