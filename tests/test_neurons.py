"""LIF dynamics against their equations and the static rate curves of RGA (Bu et al., CVPR 2023)."""

import math

import pytest
import torch

from snnattack.neurons import LIF, static_rate


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
