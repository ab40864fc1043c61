"""LIF dynamics against their equations and the static rate curves of RGA (Bu et al., CVPR 2023)."""

import math

import pytest
import torch

from snnattack.snn.neurons import LIF, static_rate


def reference_lif(currents: list[float], lam: float, theta: float, reset: str) -> list[float]:
    u, out = 0.0, []
    for i in currents:
        u = lam * u + i
        s = 1.0 if u >= theta else 0.0
        u = u * (1 - s) if reset == "hard" else u - theta * s
        out.append(s)
    return out


@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("lam", [1.0, 0.9, 0.5])
@pytest.mark.parametrize("theta", [1.0, 0.5, 2.0])
def test_lif_follows_equations_step_by_step(reset: str, lam: float, theta: float) -> None:
    currents = torch.rand(20, 3, 4, dtype=torch.float64) * 1.5 * theta
    spikes = LIF(lam=lam, theta=theta, reset=reset)(currents)
    assert spikes.shape == currents.shape
    for b in range(3):
        for n in range(4):
            expected = reference_lif(currents[:, b, n].tolist(), lam, theta, reset)
            assert spikes[:, b, n].tolist() == expected


def test_lif_spikes_at_exact_threshold() -> None:
    spikes = LIF(lam=1.0, theta=1.0)(torch.tensor([[1.0], [0.5]]))
    assert spikes[:, 0].tolist() == [1.0, 0.0]


@pytest.mark.parametrize("lam", [0.9, 0.7, 0.5])
@pytest.mark.parametrize("current", [0.15, 0.3, 0.55, 0.8, 1.2])
def test_hard_reset_lif_fires_at_static_rate(lam: float, current: float) -> None:
    spikes = LIF(lam=lam, reset="hard")(torch.full((400, 1), current, dtype=torch.float64))
    times = torch.nonzero(spikes[:, 0]).flatten().tolist()
    expected = static_rate(current, lam)
    if expected == 0:
        assert times == []
        return
    intervals = {b - a for a, b in zip(times, times[1:], strict=False)} | {times[0] + 1}
    assert intervals == {round(1 / expected)}


@pytest.mark.parametrize("current", [0.0, 0.1, 0.37, 0.5, 0.93, 1.0])
def test_soft_reset_if_fires_at_current_over_theta(current: float) -> None:
    n = 1000
    spikes = LIF(lam=1.0, reset="soft", theta=1.0)(torch.full((n, 1), current, dtype=torch.float64))
    assert abs(spikes.mean().item() - static_rate(current, 1.0)) <= 1.0 / n + 1e-12


def test_static_rate_formula_values() -> None:
    assert static_rate(0.5, 1.0, theta=2.0) == 0.25
    assert static_rate(0.1, 0.9) == 0.0  # at the onset (1 - λ)θ: never reaches θ
    # λ = 0.5, I = 0.75: u = 0.75, 1.125 -> two steps
    assert static_rate(0.75, 0.5) == 0.5
    assert static_rate(1.0, 0.5) == 1.0
    # the LIF staircase tends to 1/ceil(θ/I) as λ -> 1
    assert static_rate(0.3, 1 - 1e-9) == pytest.approx(1 / math.ceil(1 / 0.3))


@pytest.mark.parametrize("kwargs", [{"lam": 0.0}, {"lam": 1.1}, {"theta": 0.0}, {"reset": "x"}])
def test_lif_rejects_bad_parameters(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        LIF(**kwargs)


@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("setting", ["none", "detach_reset", "detach_membrane"])
def test_backward_settings_cut_the_paths_they_name(reset: str, setting: str) -> None:
    """Two steps by hand: d(s0 + s1)/dx0 = g(v0) + g(v1) lam du0/dh0, with du0/dh0 the reset's
    derivative (hard: 1 - s0 - h0 g(v0); soft: 1 - theta g(v0)); detach_reset drops the g
    term, detach_membrane the whole second term."""
    lam, theta = 0.8, 1.0
    x = torch.tensor([[0.3, 0.9, 1.2, 1.7], [0.5, 0.6, 0.4, 0.9]], dtype=torch.float64)
    x.requires_grad_(True)
    flags = {
        "detach_reset": setting == "detach_reset",
        "detach_membrane": setting == "detach_membrane",
    }
    LIF(lam=lam, theta=theta, reset=reset, **flags)(x).sum().backward()
    with torch.no_grad():
        g = lambda v: (1 - v.abs()).clamp(min=0)  # noqa: E731  triangle, width 1
        h0 = x[0]
        s0 = (h0 >= theta).double()
        reset_path = 0 if setting == "detach_reset" else 1
        if reset == "hard":
            u0, du0 = h0 * (1 - s0), 1 - s0 - reset_path * h0 * g(h0 - theta)
        else:
            u0, du0 = h0 - theta * s0, 1 - reset_path * theta * g(h0 - theta)
        v1 = lam * u0 + x[1] - theta
        temporal = 0 if setting == "detach_membrane" else 1
        expected0 = g(h0 - theta) + temporal * g(v1) * lam * du0
    torch.testing.assert_close(x.grad[0], expected0, rtol=0, atol=1e-15)
    torch.testing.assert_close(x.grad[1], g(v1), rtol=0, atol=1e-15)
