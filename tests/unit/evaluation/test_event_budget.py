"""The event attacks' budget curves in the record: each row's successes per L0 (``l0_hist``)
and the worst case per sample over a job's event attacks of one box (``event_worst_case``),
checked against the adversarial examples the evaluator kept."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch import nn

from snnattack.attacks.ensemble import Component
from snnattack.evaluation.budget import EventBudget, WorstL0, l0_histogram, sample_l0
from snnattack.evaluation.evaluator import AttackEvaluator
from snnattack.settings import AttackSpec, Recipe


def test_the_histogram_counts_successes_per_whole_event_count() -> None:
    assert l0_histogram(torch.tensor([3.0, 1.0, 3.0, 12.0])) == {"1": 1, "3": 2, "12": 1}
    budget = EventBudget()
    delta = torch.tensor([[1.0, -1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, -1.0]])
    budget.update(torch.tensor([True, True, False]), delta)
    assert budget.summary((2,))["l0_hist"] == {"2": 1, "3": 1}
    assert sample_l0(delta).tolist() == [2.0, 3.0, 1.0]


def test_a_single_success_gives_its_own_budget() -> None:
    """torchmetrics hands one success back as a 0-d tensor; the row and the worst case still
    count it (a short sweep fooled exactly one sample and stopped on ``len()`` of it)."""
    budget = EventBudget()
    budget.update(torch.tensor([False, True]), torch.tensor([[1.0, 0.0], [1.0, -1.0]]))
    summary = budget.summary((2, 5))
    assert summary["l0_hist"] == {"2": 1} and summary["l0_median"] == 2.0
    assert (summary["inserted_mean"], summary["deleted_mean"]) == (1.0, 1.0)
    assert summary["l0_under"] == {"2": 0.0, "5": 100.0}
    worst = WorstL0()
    worst.update(torch.tensor([float("inf"), 3.0]))
    assert worst.summary(["sda/white/eps0"], n_correct=4)["l0_hist"] == {"3": 1}
    assert worst.summary(["sda/white/eps0"], n_correct=4)["asr"] == 25.0


def test_the_worst_case_keeps_each_samples_fewest_events_and_leaves_out_the_unbroken() -> None:
    worst = WorstL0()
    worst.update(torch.tensor([4.0, float("inf"), 2.0]))
    worst.update(torch.tensor([float("inf"), 7.0]))
    summary = worst.summary(["a/white/eps0", "b/white/eps0"], n_correct=8)
    assert summary == {
        "methods": ["a/white/eps0", "b/white/eps0"],
        "n_correct": 8,
        "asr": 37.5,
        "l0_hist": {"2": 1, "4": 1, "7": 1},
    }


def test_a_job_records_per_row_histograms_and_the_per_sample_worst_case() -> None:
    """Two SDA rows (a short one: one iteration of one candidate; the default one) on a fixed
    linear model of binary frames [T=2, 2, 3, 3]: the worst case is, per sample, the fewest
    flips of the two examples that fooled it."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 3)).eval()
    x = (torch.rand(24, 2, 2, 3, 3) < 0.3).float()
    with torch.no_grad():
        y = model(x).argmax(1)
    y[:4] = (y[:4] + 1) % 3  # four samples start misclassified: never successes
    specs = [
        AttackSpec("sda_short", 0.0, "white", {"k_init": 1, "n_iter": 1}, algorithm="sda"),
        AttackSpec("sda", 0.0, "white", {}),
    ]
    evaluator = AttackEvaluator(model, None, specs, Recipe("stbp"), save_examples=True)
    loader = torch.utils.data.DataLoader(list(zip(x, y, strict=True)), batch_size=10)
    L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, inference_mode=False
    ).test(evaluator, loader, verbose=False)
    least = torch.full((24,), float("inf"))
    for row, parts in zip(evaluator.results, evaluator.examples, strict=True):
        adv = torch.cat([p["adv"] for p in parts])
        clean = torch.cat([p["clean"] for p in parts])
        assert torch.equal(clean, x)
        fooled = (torch.cat([p["preds"] for p in parts]) != y) & (torch.arange(24) >= 4)
        l0 = (adv - x).abs().flatten(1).sum(1)
        assert row.l0_hist == l0_histogram(l0[fooled])
        assert sum(row.l0_hist.values()) == round(row.asr * row.n_correct / 100)
        least = torch.minimum(least, l0.where(fooled, torch.tensor(float("inf"))))
    short, full = evaluator.results
    assert short.asr < full.asr  # one candidate flip fools fewer samples
    worst = evaluator.event_worst_case["white"]
    assert worst["methods"] == ["sda_short/white/eps0", "sda/white/eps0"]
    assert worst["n_correct"] == 20
    assert worst["l0_hist"] == l0_histogram(least[torch.isfinite(least)])
    assert worst["asr"] == 100.0 * int(torch.isfinite(least).sum()) / 20 >= full.asr


def test_a_row_s_means_do_not_depend_on_the_order_its_batches_are_gathered_in() -> None:
    """Under DDP a row's values arrive rank after rank (batches 0, 2, then 1 on 2 processes),
    not in the split's order: the shares of a sample's events (floats) summed in that order
    gave ``recording.changed_share_mean`` and ``retiming.moved_share_mean`` other last bits
    than one process (seen on digits_events, 3 test batches on 2 gloo processes)."""
    gen = torch.Generator().manual_seed(26)  # draws whose float means differ by order
    batches = []
    for _ in range(3):
        clean = torch.randint(0, 2, (16, 4, 2, 3, 3), generator=gen).double()
        delta = torch.randint(-1, 2, clean.shape, generator=gen).double()
        changed = torch.randint(1, 40, (16, 3), generator=gen)
        events = torch.randint(50, 900, (16, 1), generator=gen)
        batches.append((delta, clean, torch.cat([changed, events], 1)))
    shares = [100.0 * c[:, :3].sum(1).double() / c[:, 3] for _, _, c in batches]
    orders = ([0, 1, 2], [0, 2, 1])  # one process; rank 0's batches 0, 2, then rank 1's 1
    naive = [float(torch.cat([shares[i] for i in order]).mean()) for order in orders]
    assert naive[0] != naive[1]  # the data show the order's last bits
    summaries = []
    for order in orders:
        budget = EventBudget(retimes=True, recordings=True)
        for i in order:
            delta, clean, changes = batches[i]
            budget.update(torch.ones(16, dtype=torch.bool), delta, clean=clean, changes=changes)
        summaries.append(budget.summary((2, 5)))
    single, ddp = summaries
    assert ddp["recording"]["changed_share_mean"] == single["recording"]["changed_share_mean"]
    assert ddp["retiming"]["moved_share_mean"] == single["retiming"]["moved_share_mean"]
    assert ddp == single


def test_an_ensemble_of_event_attacks_is_an_event_row_and_joins_the_worst_case() -> None:
    """An ensemble whose components are all event attacks changes events as they do: its row
    gets the L0 fields from the examples it kept (before, none: ``l0_hist`` null, and the
    report's L0 table had no row for it) and its samples join its box's worst case."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 3)).eval()
    x = (torch.rand(24, 2, 2, 3, 3) < 0.3).float()
    with torch.no_grad():
        y = model(x).argmax(1)
    y[:4] = (y[:4] + 1) % 3  # four samples start misclassified: never successes
    short = {"k_init": 1, "n_iter": 1}
    parts = [
        Component("sda_short/stbp", "stbp", "stbp", {}, "sda_short", "sda", short),
        Component("sda/stbp", "stbp", "stbp", {}, "sda", "sda", {}),
    ]
    specs = [  # the ensemble first: no single row's recordings before it
        AttackSpec("ensemble", 0.0, "white", {"components": parts}, algorithm="ensemble"),
        AttackSpec("sda_short", 0.0, "white", short, algorithm="sda"),
    ]
    evaluator = AttackEvaluator(model, None, specs, Recipe("stbp"), save_examples=True)
    loader = torch.utils.data.DataLoader(list(zip(x, y, strict=True)), batch_size=10)
    L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, inference_mode=False
    ).test(evaluator, loader, verbose=False)
    least = torch.full((24,), float("inf"))
    for row, kept in zip(evaluator.results, evaluator.examples, strict=True):
        adv = torch.cat([p["adv"] for p in kept])
        assert torch.equal(torch.cat([p["clean"] for p in kept]), x)  # for the frames figure
        fooled = (torch.cat([p["preds"] for p in kept]) != y) & (torch.arange(24) >= 4)
        delta = (adv - x).flatten(1)
        l0 = delta.abs().sum(1)
        assert row.l0_hist == l0_histogram(l0[fooled])
        assert row.l0_mean == pytest.approx(float(l0[fooled].mean()))
        assert row.inserted_mean == pytest.approx(float(delta.clamp(min=0).sum(1)[fooled].mean()))
        assert row.deleted_mean == pytest.approx(float((-delta).clamp(min=0).sum(1)[fooled].mean()))
        assert row.l0_under == {"200": 100.0, "800": 100.0}
        least = torch.minimum(least, l0.where(fooled, torch.tensor(float("inf"))))
    ensemble, single = evaluator.results
    assert ensemble.method == "ensemble" and ensemble.asr > single.asr
    worst = evaluator.event_worst_case["white"]
    assert worst["methods"] == ["ensemble/white/eps0", "sda_short/white/eps0"]
    assert worst["l0_hist"] == l0_histogram(least[torch.isfinite(least)])
    assert worst["asr"] == ensemble.asr  # the short SDA's successes are the ensemble's too
