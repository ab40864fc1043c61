"""A retiming attack's budget in the record: events moved, their share and the total delay per
success (``retiming``), checked against its examples; its rows in the per-sample worst case."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch import nn

from snnattack.attacks.ensemble import Component
from snnattack.attacks.parse import retimes_events
from snnattack.evaluation.budget import (
    EventBudget,
    l0_histogram,
    recording_summary,
    sample_moves,
)
from snnattack.evaluation.evaluator import AttackEvaluator
from snnattack.evaluation.masking import largest_l0
from snnattack.settings import AttackSpec, Recipe


def test_moves_and_delay_are_the_least_any_retiming_needs() -> None:
    x = torch.zeros(2, 5, 1, 1, 2)  # [B, T, C, H, W]: two lines per sample
    adv = torch.zeros_like(x)
    x[0, [0, 1], 0, 0, 0], adv[0, [2, 3], 0, 0, 0] = 1, 1  # two spikes, each 2 bins later
    x[0, 4, 0, 0, 1], adv[0, 0, 0, 0, 1] = 1, 1  # one spike 4 bins earlier
    x[1, [1, 2], 0, 0, 0], adv[1, [2, 3], 0, 0, 0] = 1, 1  # a chain: one move of 2 bins
    x[1, 0, 0, 0, 1], adv[1, 0, 0, 0, 1] = 3, 3  # an integer packet that stays
    moved, delay = sample_moves(adv - x)
    assert moved.tolist() == [3.0, 1.0] and delay.tolist() == [8.0, 2.0]


def test_the_summary_gives_means_medians_shares_and_histograms_of_successes() -> None:
    budget = EventBudget(retimes=True)
    x = torch.zeros(3, 3, 1, 1, 4)
    x[:, 0] = 1  # four events per sample, one per line
    adv = x.clone()
    adv[0, 0, ..., 0], adv[0, 2, ..., 0] = 0, 1  # 1 moved by 2
    adv[1, 0, ..., :2], adv[1, 1, ..., :2] = 0, 1  # 2 moved by 1
    adv[2, 0, ..., :3], adv[2, 2, ..., :3] = 0, 1  # not fooled: left out
    budget.update(torch.tensor([True, True, False]), adv - x, x)
    summary = budget.summary((1, 2))["retiming"]
    assert summary["moved_mean"] == 1.5 and summary["moved_median"] == 1.5
    assert summary["moved_share_mean"] == pytest.approx(37.5)
    assert summary["delay_mean"] == 2.0 and summary["delay_median"] == 2.0
    assert summary["moved_within"] == {"1": 50.0, "2": 100.0}
    assert summary["delay_within"] == {"1": 0.0, "2": 100.0}
    assert summary["moved_hist"] == {"1": 1, "2": 1} and summary["delay_hist"] == {"2": 2}
    assert EventBudget(retimes=True).summary((5,))["retiming"]["moved_within"] == {"5": None}
    assert "retiming" not in EventBudget().summary((5,))


def test_a_row_that_fooled_nothing_keeps_its_budget_keys_as_none() -> None:
    """``retiming`` and ``recording`` left out their means and medians where nothing was
    fooled, so ``row.recording["changed_mean"]`` (docs/interop.md's example) raised KeyError
    on such a row, where the row's ``l0_mean`` is None."""
    retiming = EventBudget(retimes=True).summary((5,))["retiming"]
    recording = recording_summary(torch.zeros(0, 4), (5,))
    for said, keys in (
        (retiming, ("moved_mean", "moved_median", "moved_share_mean", "delay_mean")),
        (recording, ("changed_mean", "changed_median", "inserted_mean", "flipped_mean")),
    ):
        assert all(said[key] is None for key in keys)
    assert retiming["moved_hist"] == {} and recording["changed_within"] == {"5": None}


def test_a_job_records_retiming_budgets_and_puts_retime_in_the_worst_case() -> None:
    """A retime row beside an SDA row on a fixed linear model of binary frames [T=4, 2, 3, 3]:
    its moves and delay are those of its examples, its L0 twice its moves, and the worst case
    is, per sample, the fewest events over both rows."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(72, 3)).eval()
    x = (torch.rand(16, 4, 2, 3, 3) < 0.3).float()
    with torch.no_grad():
        y = model(x).argmax(1)
    specs = [
        AttackSpec("retime", 0.0, "white", {"steps": 10, "budget": 2}),
        AttackSpec("sda", 0.0, "white", {}),
    ]
    evaluator = AttackEvaluator(model, None, specs, Recipe("stbp"), save_examples=True)
    loader = torch.utils.data.DataLoader(list(zip(x, y, strict=True)), batch_size=8)
    L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, inference_mode=False
    ).test(evaluator, loader, verbose=False)
    kept = [
        (torch.cat([p["adv"] for p in parts]), torch.cat([p["preds"] for p in parts]) != y)
        for parts in evaluator.examples
    ]
    least = torch.stack(
        [(adv - x).abs().flatten(1).sum(1).where(fooled, float("inf")) for adv, fooled in kept]
    ).amin(0)
    retime, sda = evaluator.results
    (adv, fooled), _ = kept
    moved, delay = sample_moves(adv - x)
    assert retime.asr > 0 and torch.equal(adv.sum(1), x.sum(1))
    assert retime.retiming["moved_hist"] == l0_histogram(moved[fooled])
    assert retime.retiming["delay_hist"] == l0_histogram(delay[fooled])
    assert retime.l0_mean == pytest.approx(2 * retime.retiming["moved_mean"])
    assert sda.retiming is None
    worst = evaluator.event_worst_case["white"]
    assert worst["methods"] == ["retime/white/eps0", "sda/white/eps0"]
    assert worst["l0_hist"] == l0_histogram(least[torch.isfinite(least)])
    # random flips change counts: not the gradient-free variant of a retiming
    assert largest_l0(retime.__dict__) is None and largest_l0(sda.__dict__) is not None


def test_an_ensemble_of_retiming_attacks_reports_the_retiming_of_the_examples_it_kept() -> None:
    """Every example an ensemble of ``retime`` components keeps is one of theirs, a retiming:
    its row has ``retiming`` as a single retime row has, from its kept examples against the
    clean frames (before, only the L0 fields: the report's retiming table and figure had no
    row for it). An ensemble of other event attacks has none, nor would a mix (refused: two
    threat models), whose insertions and deletions no count of moves describes."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(72, 3)).eval()
    x = (torch.rand(16, 4, 2, 3, 3) < 0.3).float()
    with torch.no_grad():
        y = model(x).argmax(1)
    one_bin = {"steps": 2, "budget": 1}
    retimes = [
        Component("retime_short/stbp", "stbp", "stbp", {}, "retime_short", "retime", one_bin),
        Component("retime/stbp", "stbp", "stbp", {}, "retime", "retime", {"steps": 10}),
    ]
    flips = [Component("sda/stbp", "stbp", "stbp", {}, "sda", "sda", {})]
    specs = [
        AttackSpec("ensemble", 0.0, "white", {"components": retimes}, algorithm="ensemble"),
        AttackSpec("ensemble_sda", 0.0, "white", {"components": flips}, algorithm="ensemble"),
    ]
    assert retimes_events("ensemble", {"components": retimes})
    assert not retimes_events("ensemble", {"components": [*retimes, *flips]})
    evaluator = AttackEvaluator(model, None, specs, Recipe("stbp"), save_examples=True)
    loader = torch.utils.data.DataLoader(list(zip(x, y, strict=True)), batch_size=8)
    L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, inference_mode=False
    ).test(evaluator, loader, verbose=False)
    ensemble, sda = evaluator.results
    adv = torch.cat([p["adv"] for p in evaluator.examples[0]])
    fooled = torch.cat([p["preds"] for p in evaluator.examples[0]]) != y
    moved, delay = sample_moves(adv - x)
    assert ensemble.asr > 0 and torch.equal(adv.sum(1), x.sum(1))  # every line's count kept
    assert ensemble.retiming["moved_hist"] == l0_histogram(moved[fooled])
    assert ensemble.retiming["delay_hist"] == l0_histogram(delay[fooled])
    share = 100 * moved[fooled] / x.flatten(1).sum(1)[fooled]
    assert ensemble.retiming["moved_share_mean"] == pytest.approx(float(share.mean()))
    assert ensemble.l0_mean == pytest.approx(2 * ensemble.retiming["moved_mean"])
    assert sda.l0_hist and sda.retiming is None
