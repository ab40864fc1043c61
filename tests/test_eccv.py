"""Sharmin et al.'s (ECCV 2020) settings: signed Poisson input, threshold scaling of the
hybrid SNN, and the ECCV experiment files read back per kind."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from snnattack.encoding import SignedPoissonEncoder, build_encoder
from snnattack.models import build
from snnattack.neurons import LIF
from snnattack.training import STRATEGIES


def test_signed_poisson_spikes_are_signed_units_whose_mean_is_the_normalised_image() -> None:
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 21).view(1, 21)
    spikes = build_encoder("poisson_signed", 4000)(x)
    assert set(spikes.unique().tolist()) <= {-1.0, 0.0, 1.0}
    assert (spikes * torch.sign(x) >= 0).all()  # a spike has its pixel's sign
    torch.testing.assert_close(spikes.mean(0), x, atol=0.03, rtol=0)


def test_signed_poisson_gradient_is_straight_through_and_its_rate_is_kept_for_rga() -> None:
    encoder = SignedPoissonEncoder(8)
    x = (torch.rand(3, 5) * 2 - 1).requires_grad_(True)
    encoder(x).sum().backward()
    torch.testing.assert_close(x.grad, torch.full_like(x, 8.0))  # 1 per step, T steps
    expected = encoder.expected(x)
    assert expected.shape == (1, 3, 5) and torch.equal(expected[0], encoder.last_rate)


def test_signed_poisson_model_normalises_with_mean_and_std_one_half() -> None:
    model = build("digits_net", 10, in_channels=1, T=2, encoding="poisson_signed")
    x = torch.tensor([0.0, 0.25, 1.0]).view(3, 1, 1, 1).expand(3, 1, 8, 8)
    torch.testing.assert_close(model.normalize(x)[:, 0, 0, 0], torch.tensor([-1.0, -0.5, 1.0]))


def kind_cfg(kind: str, **top: object) -> OmegaConf:
    return OmegaConf.create(
        {
            "T": 4,
            "lambda": 1.0,
            "theta": 1.0,
            "reset": "soft",
            "encoding": "poisson_signed",
            "encoding_levels": None,
            "model": {"name": "digits_net"},
            "dataset": {"num_classes": 10, "in_channels": 1, "mean": [0.3], "std": [0.4]},
            "train": {"kind": kind, "surrogate_width": 1.0, "hybrid": {"threshold_scale": 0.7}},
            **top,
        }
    )


def test_the_ann_of_a_signed_poisson_snn_sees_the_spikes_expected_value() -> None:
    ann = STRATEGIES["ann"].build(kind_cfg("ann"))
    assert ann.T == 1 and type(ann.encoder).__name__ == "DirectEncoder"
    x = torch.full((1, 1, 8, 8), 0.75)
    torch.testing.assert_close(ann.normalize(x), torch.full_like(x, 0.5))


@pytest.mark.parametrize(("kind", "theta"), [("conversion", 1.0), ("hybrid", 0.7)])
def test_hybrid_snn_runs_with_its_thresholds_scaled(kind: str, theta: float) -> None:
    model = STRATEGIES[kind].build(kind_cfg(kind))
    thetas = [m.theta for m in model.modules() if isinstance(m, LIF)]
    assert thetas and thetas == pytest.approx([theta] * len(thetas))
