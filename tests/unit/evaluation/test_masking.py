"""Gradient-masking checks: each flag fires on a model or result built to mask and stays quiet
on a plain digits SNN attacked properly."""

from __future__ import annotations

import math
from dataclasses import asdict

import lightning as L
import torch
from torch import nn

from snnattack.evaluation.evaluator import AttackEvaluator
from snnattack.evaluation.masking import (
    apgd_weaker_than_pgd,
    asr_falls,
    black_box_stronger,
    flip_budgets,
    largest_l0,
    masking_checks,
    random_flips_asr,
    random_flips_stronger,
)
from snnattack.settings import AttackSpec, MaskingSettings, Recipe

SETTINGS = MaskingSettings(
    enabled=True,
    probe_size=64,
    zero_grad_share=0.0,
    unbounded_steps=20,
    unbounded_asr=99.0,
    tolerance=1.0,
)
SPECS = [
    AttackSpec(m, eps / 255, "white", p)
    for eps in (16, 32)
    for m, p in (("pgd", {"steps": 10}), ("apgd", {"steps": 20}), ("square", {"n_queries": 300}))
]


class ZeroGradient(nn.Module):
    """Identity forward, zero backward: a layer that hides the input gradient."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.detach() + 0.0 * x


def rows_of(model, x, y, specs=SPECS, eot: int = 1) -> list[dict]:
    evaluator = AttackEvaluator(model, None, specs, Recipe("stbp", eot_samples=eot))
    loader = torch.utils.data.DataLoader(list(zip(x, y, strict=True)), batch_size=len(x))
    L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, inference_mode=False
    ).test(evaluator, loader, verbose=False)
    return [asdict(r) for r in evaluator.results]


def flags(model, x, y, rows, eot: int = 1) -> list[str]:
    result = masking_checks(SETTINGS, model, x, y, rows, {"stbp": {}}, eot)
    return result["flagged"]


def test_no_flag_on_a_plain_digits_snn(direct) -> None:
    model, x, y = direct
    x, y = x[:64], y[:64]
    assert flags(model, x, y, rows_of(model, x, y)) == []


def test_a_zero_gradient_layer_is_flagged(direct) -> None:
    model, x, y = direct
    x, y = x[:64], y[:64]
    masked = nn.Sequential(ZeroGradient(), model).eval()
    found = flags(masked, x, y, rows_of(masked, x, y))
    assert {"zero_gradients", "black_box_stronger", "unbounded_eps"} <= set(found)


def test_probe_images_of_which_none_is_classified_right_flag_nothing(direct) -> None:
    """Their ASR is undefined (NaN, as the rows'), not 0 %: unbounded_eps flagged it."""
    model, x, y = direct
    x = x[:32]
    with torch.no_grad():
        wrong = (model(x).argmax(1) + 1) % 10  # labels the model never gives
    rows = rows_of(model, x, wrong)
    result = masking_checks(SETTINGS, model, x, wrong, rows, {"stbp": {}}, 1)
    assert result["flagged"] == []
    (unbounded,) = [c for c in result["checks"] if c["name"] == "unbounded_eps"]
    assert unbounded["asr"] != unbounded["asr"] and "nothing to attack" in unbounded["detail"]
    assert math.isnan(random_flips_asr(Constant(), torch.zeros(4, 8), torch.ones(4).long(), 2, 1))


def test_a_random_forward_attacked_without_eot_is_flagged(poisson) -> None:
    model, x, y = poisson
    x, y = x[:32], y[:32]
    specs = [AttackSpec("pgd", 32 / 255, "white", {"steps": 5})]
    assert "random_forward_without_eot" in flags(model, x, y, rows_of(model, x, y, specs))
    with_eot = rows_of(model, x, y, specs, eot=4)
    assert "random_forward_without_eot" not in flags(model, x, y, with_eot, eot=4)


def _row(method: str, eps: float, asr: float, **extra) -> dict:
    return {
        "method": method,
        "eps_255": eps,
        "box": "white",
        "grad_mode": "stbp",
        "asr": asr,
        **extra,
    }


def test_asr_falling_with_eps_or_steps_is_flagged() -> None:
    assert asr_falls([_row("pgd", 8, 50.0), _row("pgd", 16, 40.0)], 1.0)["flagged"]
    assert not asr_falls([_row("pgd", 8, 50.0), _row("pgd", 16, 49.5)], 1.0)["flagged"]
    curve = [{"steps": 5, "asr": 30.0}, {"steps": 10, "asr": 20.0}]
    assert asr_falls([_row("apgd", 8, 20.0, asr_curve=curve)], 1.0)["flagged"]


def test_asr_falling_by_one_sample_is_noise_and_by_two_is_flagged() -> None:
    def falls(fooled_at_8: int, fooled_at_16: int) -> bool:
        rows = [
            {**_row("pgd", eps, 100 * fooled / 20), "n_correct": 20}  # a sample is 5 points
            for eps, fooled in ((8, fooled_at_8), (16, fooled_at_16))
        ]
        return asr_falls(rows, 1.0)["flagged"]

    assert not falls(10, 9) and falls(10, 8)
    curve = [{"steps": 5, "asr": 50.0}, {"steps": 10, "asr": 45.0}]  # one sample fewer
    assert not asr_falls([{**_row("apgd", 8, 45.0, asr_curve=curve), "n_correct": 20}], 1.0)[
        "flagged"
    ]


def test_apgd_weaker_than_pgd_is_flagged() -> None:
    rows = [_row("pgd", 8, 60.0), _row("apgd", 8, 40.0), _row("apgd", 16, 40.0)]
    check = apgd_weaker_than_pgd(rows, 1.0)
    assert check["flagged"] and "eps 8" in check["detail"] and "eps 16" not in check["detail"]
    assert not apgd_weaker_than_pgd([_row("pgd", 8, 60.0), _row("apgd", 8, 60.0)], 1.0)["flagged"]
    black = [{**r, "box": "black"} for r in rows]  # a transfer: APGD returns unfooled clean
    assert not apgd_weaker_than_pgd(black, 1.0)["flagged"]


def test_a_black_box_lead_of_one_sample_is_noise_and_of_two_is_flagged() -> None:
    def rows(square_fooled: int) -> list[dict]:
        white = {**_row("pgd", 16, 100 * 10 / 57), "n_correct": 57}
        square = {**_row("square", 16, 100 * square_fooled / 57), "n_correct": 57}
        return [white, {**square, "grad_mode": "none"}]

    assert not black_box_stronger(rows(11), tolerance=1.0)["flagged"]
    assert black_box_stronger(rows(12), tolerance=1.0)["flagged"]


class FirstBits(nn.Module):
    """Class 1 as soon as one of the first four bits is set, else class 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hits = x[:, :4].sum(1)
        return torch.stack([0.5 - hits, hits - 0.5], 1)


class Constant(nn.Module):
    """Class 0 whatever the input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tensor([1.0, 0.0]).expand(len(x), 2)


def test_random_flips_fool_a_sample_when_a_flip_must_hit_what_the_model_reads() -> None:
    x, y = torch.zeros(6, 8), torch.zeros(6, dtype=torch.long)
    assert random_flips_asr(FirstBits(), x, y, budget=5, draws=1) == 100.0  # 5 of 8 bits
    assert random_flips_asr(FirstBits(), x[:, :4], y, budget=1, draws=1) == 100.0
    assert random_flips_asr(Constant(), x, y, budget=8, draws=4) == 0.0


def test_an_event_attack_that_random_flips_at_its_budget_beat_is_flagged() -> None:
    rows = [
        {
            "method": "sda",
            "box": "white",
            "grad_mode": "stbp",
            "asr": 40.0,
            "n_correct": 200,
            "l0_hist": {"3": 10, "12": 70},
        },
        {
            "method": "sda",
            "box": "black",
            "grad_mode": "stbp",
            "asr": 10.0,
            "n_correct": 200,
            "l0_hist": {"5": 20},
        },
        {"method": "pgd", "box": "white", "grad_mode": "stbp", "asr": 5.0, "n_correct": 200},
    ]
    flagged = random_flips_stronger(rows, {12: 55.0}, tolerance=1.0)
    assert (
        flagged["flagged"]
        and flagged["detail"] == "sda/stbp: random flips of 12 events 55.0 % > 40.0 %"
    )
    assert not random_flips_stronger(rows, {12: 40.5}, tolerance=1.0)["flagged"]  # within 1 point


def test_a_targeted_event_attack_is_not_held_against_random_flips() -> None:
    """A targeted row must reach its class; random flips only leave the true one: no budget is
    probed for it, and no flag compares the two (the AE-Patch ``target=3`` row once was)."""
    row = {
        "method": "event_patch",
        "box": "white",
        "grad_mode": "stbp",
        "asr": 14.9,
        "n_correct": 200,
        "l0_hist": {"4": 30},
    }
    assert largest_l0(row) == 4 and flip_budgets([row]) == [4]
    targeted = {**row, "targeted": True}
    assert largest_l0(targeted) is None and flip_budgets([targeted]) == []
    assert not random_flips_stronger([targeted], {4: 21.7}, tolerance=1.0)["flagged"]
