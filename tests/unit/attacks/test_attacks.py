"""ASR definition, attack construction from config units, and the L∞ geometry of attacks."""

import math

import pytest
import torch
from torch import nn

from snnattack.attacks.methods import build_attack
from snnattack.errors import ConfigError
from snnattack.evaluation.evaluator import AttackCounts


def asr(clean_pred: torch.Tensor, adv_pred: torch.Tensor, labels: torch.Tensor) -> float:
    """ASR in % of predictions on clean and adversarial inputs, as the evaluation counts it."""
    counts = AttackCounts()
    counts.update(clean_pred == labels, adv_pred == labels)
    return counts.compute()["asr"]


def test_asr_counts_only_originally_correct_samples() -> None:
    labels = torch.tensor([0, 1, 2, 0, 4])
    clean = torch.tensor([0, 1, 2, 3, 4])  # four correct
    adv = torch.tensor([0, 2, 2, 0, 1])  # fools two of them; the wrong one becomes right
    assert asr(clean, adv, labels) == pytest.approx(50.0)


def test_attack_counts_report_adversarial_and_clean_accuracy() -> None:
    counts = AttackCounts()
    counts.update(torch.tensor([True, True, False, True]), torch.tensor([False, True, True, True]))
    counts.update(torch.tensor([False, True]), torch.tensor([False, False]))
    c = counts.compute()
    assert (c["n"], c["n_correct"]) == (6, 4)
    assert c["asr"] == pytest.approx(50.0)
    assert c["adv_acc"] == pytest.approx(50.0)
    assert c["clean_acc"] == pytest.approx(100 * 4 / 6)


def test_asr_is_nan_when_nothing_was_correct() -> None:
    labels = torch.tensor([1, 1])
    assert math.isnan(asr(torch.tensor([0, 0]), torch.tensor([1, 1]), labels))


def linear_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 3)).eval()


def test_fgsm_moves_every_pixel_by_exactly_eps() -> None:
    model = linear_model()
    x = 0.3 + 0.4 * torch.rand(5, 3, 2, 2)  # far from the [0, 1] box edges
    y = torch.tensor([0, 1, 2, 0, 1])
    eps = 16 / 255
    adv = build_attack("fgsm", model, eps)(x, y)
    torch.testing.assert_close((adv - x).abs(), torch.full_like(x, eps), rtol=0, atol=1e-6)


def test_fgsm_clips_to_the_pixel_box() -> None:
    model = linear_model()
    x = torch.rand(5, 3, 2, 2).round()  # pixels at 0 or 1
    adv = build_attack("fgsm", model, 32 / 255)(x, torch.zeros(5, dtype=torch.long))
    assert adv.min() >= 0 and adv.max() <= 1


def test_pgd_stays_in_the_eps_ball_and_default_alpha_scales_with_eps() -> None:
    model = linear_model()
    x = torch.rand(6, 3, 2, 2)
    eps = 32 / 255
    atk = build_attack("pgd", model, eps, steps=7, alpha=None, eps_per_alpha=3.1)
    assert atk.alpha == pytest.approx(eps / 3.1)
    adv = atk(x, torch.zeros(6, dtype=torch.long))
    assert (adv - x).abs().max() <= eps + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1


def test_unknown_method_or_parameter_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="accepted"):
        build_attack("cw", linear_model(), 0.1)
    with pytest.raises(ConfigError, match="method.pgd"):
        build_attack("pgd", linear_model(), 0.1, stepz=3)
