"""The event attacks' budget curves in the record: each row's successes per L0 (``l0_hist``)
and the worst case per sample over a job's event attacks of one box (``event_worst_case``),
checked against the adversarial examples the evaluator kept."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn

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
