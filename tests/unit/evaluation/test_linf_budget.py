"""An L-infinity method's examples beyond its radius are refused, not recorded at that
radius: a method of one's own that forgot to project its examples once gave a 24/255 attack
recorded as the 8/255 row."""

from __future__ import annotations

import copy

import pytest
import torch
from fixtures_digits import trained

import snnattack
from snnattack.errors import UserError
from snnattack.evaluation import evaluator
from snnattack.evaluation.evaluator import BUDGET_SLACK, check_radius
from snnattack.settings import AttackSpec

EPS = 8 / 255


def test_a_row_within_its_radius_passes_and_one_beyond_it_is_refused() -> None:
    check_radius(AttackSpec("fgsm", EPS, "white"), EPS + BUDGET_SLACK / 2)  # float32 rounding
    with pytest.raises(UserError, match=r"^method=fgsm crafted examples 24/255 .* eps=8/255"):
        check_radius(AttackSpec("fgsm", EPS, "white"), 3 * EPS)


def test_a_method_of_another_threat_model_is_not_held_to_the_radius() -> None:
    check_radius(AttackSpec("sparsefool", EPS, "white"), 1.0)  # events flipped: no L∞ radius
    check_radius(AttackSpec("retime", EPS, "white", {"norm": "linf"}), 1.0)  # events moved


def test_an_ensemble_of_linf_methods_is_held_to_its_radius(compose) -> None:
    from snnattack.attacks.parse import attack_specs

    cfg = compose("method=[ensemble]", "eps=[8]", "boxes=[white]")
    (spec,) = attack_specs(cfg)
    with pytest.raises(UserError, match="method=ensemble crafted examples"):
        check_radius(spec, 2 * EPS)


@pytest.fixture(scope="module")
def digits(request: pytest.FixtureRequest):
    """The session's 4-epoch digits SNN and its first 200 test images."""
    return trained(request.getfixturevalue("digits_store"))


def test_evaluate_refuses_a_methods_examples_beyond_eps(digits, monkeypatch) -> None:
    model, x, y = digits
    crafted = evaluator.craft_tracked

    def unprojected(algorithm, crafter, x, y, eps, params, recipe):
        adv, queries, snapshots, goals = crafted(algorithm, crafter, x, y, eps, params, recipe)
        return (x + 3 * eps * torch.sign(adv - x)).clamp(0, 1), queries, snapshots, goals

    monkeypatch.setattr(evaluator, "craft_tracked", unprojected)
    with pytest.raises(UserError, match="crafted examples .* beyond eps=8/255"):
        snnattack.evaluate(model, (x[:16], y[:16]), methods="fgsm", masking=False, progress=False)


def test_a_coarser_dtype_rounds_within_its_own_slack(digits) -> None:
    """bfloat16's x ± eps rounds 0.06/255 beyond 16/255 (a unit in its last place near 1 is
    2^-7): a bfloat16 model's FGSM, which projects, was refused as a method that did not."""
    check_radius(AttackSpec("fgsm", EPS, "white"), EPS + 2e-4, torch.finfo(torch.bfloat16).eps)
    model, x, y = digits
    record = snnattack.evaluate(
        copy.deepcopy(model).to(torch.bfloat16),
        (x[:16].to(torch.bfloat16), y[:16]),
        eps=16,
        methods="fgsm",
        masking=False,
        progress=False,
    )
    assert record.results[0].linf > 16 / 255 - 1e-3
