"""A targeted row's targeted success rate (``targeted_asr``, over ``n_targeted`` samples):
the share of the clean-correct samples of another class than the target that the target
model classifies as the target class, beside its ASR (any misclassification), from the same
predictions; None on an untargeted row. docs/event_attacks.md, *A targeted row*."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from torch import nn

from snnattack.attacks import ensemble
from snnattack.attacks.crafting import aimed_classes
from snnattack.attacks.ensemble import Component
from snnattack.evaluation import evaluator, examples
from snnattack.evaluation.evaluator import AttackEvaluator
from snnattack.evaluation.kept import check_kept
from snnattack.process.numerics import manual_seed
from snnattack.settings import AttackSpec, Recipe

# the inputs are the logits (the target model is the identity); target class 2
Y = torch.tensor([0, 1, 2, 0, 1, 0])
CLEAN = torch.tensor(
    [
        [0.9, 0.0, 0.0],  # 0: right
        [0.0, 0.9, 0.0],  # 1: right
        [0.0, 0.0, 0.9],  # 2: right, of the target class: not aimed at
        [0.0, 0.9, 0.0],  # 3: wrong (a 0 taken for a 1): not counted
        [0.0, 0.9, 0.0],  # 4: right
        [0.9, 0.0, 0.0],  # 5: right
    ]
)
ADV = torch.tensor(
    [
        [0.0, 0.0, 0.9],  # 0: now the target class: fooled and reached
        [0.6, 0.0, 0.5],  # 1: class 0 on the target (fooled, not reached); 2 on the source
        [0.0, 0.0, 0.9],  # 2: unchanged
        [0.0, 0.0, 0.9],  # 3: a wrong one, whatever its example
        [0.0, 0.9, 0.0],  # 4: unchanged: neither
        [0.0, 0.0, 0.9],  # 5: fooled and reached
    ]
)


class Scaled(nn.Module):
    """The source: the inputs as logits, class 2's doubled (sample 1's example is class 2
    there, so it reached the attack's class on the source but not on the target)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.tensor([1.0, 1.0, 2.0])


def _crafted(algorithm: str, crafter: nn.Module, x, y, eps, params: dict[str, Any], recipe):
    """The fixed examples :data:`ADV` in place of an attack, with the row's target classes
    as the evaluation takes them from an attack (:func:`aimed_classes`)."""
    return ADV.clone(), 0, {}, aimed_classes(object(), y, params)


@pytest.fixture
def rows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """The rows of two targeted specs (white and black box) and an untargeted one, tested
    with the job's CSV logger (its ``metrics.csv`` under ``tmp_path``, which the
    Lightning loggers' tests read)."""
    monkeypatch.setattr(evaluator, "craft_tracked", _crafted)
    specs = [
        AttackSpec("aimed", 1.0, box, {"target": 2}, algorithm="fgsm") for box in ("white", "black")
    ] + [AttackSpec("fgsm", 1.0, "white", {})]
    job = AttackEvaluator(nn.Identity(), Scaled(), specs, Recipe("stbp"), save_examples=True)
    loader = torch.utils.data.DataLoader(list(zip(CLEAN, Y, strict=True)), batch_size=6)
    L.Trainer(
        accelerator="cpu",
        logger=CSVLogger(tmp_path, name="csv", version=""),
        enable_progress_bar=False,
        inference_mode=False,
    ).test(job, loader, verbose=False)
    return {
        f"{r.method}/{r.box}": replace(r, examples=examples.save(tmp_path, r, parts, None, None))
        for r, parts in zip(job.results, job.examples, strict=True)
    }


def _logged(tmp_path: Path) -> dict[str, str]:
    """The test loop's logged metrics, as the job's CSV logger wrote them (one row)."""
    with (tmp_path / "csv" / "metrics.csv").open() as f:
        (row,) = csv.DictReader(f)
    return {k: v for k, v in row.items() if v}


@pytest.mark.parametrize("box", ["white", "black"])
def test_a_targeted_row_counts_only_the_samples_put_in_its_class(rows, box: str) -> None:
    """5 clean-correct samples (0, 1, 2, 4, 5), 3 fooled (0, 1, 5): ASR 60 %; 4 of them of
    another class than 2 (0, 1, 4, 5), 2 classified as 2 (0, 5): targeted 50 %. Sample 1's
    example, class 2 on the source, is class 0 on the target: it counts for the ASR only."""
    assert Scaled()(ADV[1:2]).argmax(1).item() == 2
    row = rows[f"aimed/{box}"]
    assert (row.n_correct, row.asr) == (5, 60.0)
    assert (row.n_targeted, row.targeted_asr) == (4, 50.0)


def test_an_untargeted_row_has_no_targeted_rate(rows, tmp_path: Path) -> None:
    row = rows["fgsm/white"]
    assert row.asr == 60.0
    assert row.targeted_asr is None and row.n_targeted is None
    saved = examples.load(tmp_path / row.examples)  # no targets to save
    assert "targets" not in saved and "aimed" not in saved


@pytest.mark.parametrize("box", ["white", "black"])
def test_a_targeted_rows_saved_examples_give_its_targeted_rate(rows, tmp_path, box) -> None:
    """``attack.save_examples``: a targeted row's file holds each sample's class and the
    samples its rate counts, from which docs/examples.md's sum gives ``targeted_asr``."""
    row = rows[f"aimed/{box}"]
    saved = examples.load(tmp_path / row.examples)
    assert saved["targets"].tolist() == [2] * len(Y)
    assert saved["aimed"].tolist() == [True, True, False, False, True, True]
    hits = saved["aimed"] & (saved["preds"] == saved["targets"])
    assert int(saved["aimed"].sum()) == row.n_targeted
    assert 100 * int(hits.sum()) / int(saved["aimed"].sum()) == row.targeted_asr


def test_the_lightning_loggers_get_a_targeted_rows_rate_beside_its_asr(rows, tmp_path) -> None:
    """The metrics the test loop logs (the CSV logger's, W&B's charts) hold a targeted row's
    ``targeted_asr/<row>`` beside its ``asr/<row>``, named as in the W&B summary; an
    untargeted row logs none (it logged the ASR alone)."""
    logged = _logged(tmp_path)
    for box in ("white", "black"):
        assert float(logged[f"asr/aimed/{box}/eps255"]) == 60.0
        assert float(logged[f"targeted_asr/aimed/{box}/eps255"]) == 50.0
    assert float(logged["asr/fgsm/white/eps255"]) == 60.0
    assert {k for k in logged if k.startswith("targeted_asr/")} == {
        "targeted_asr/aimed/white/eps255",
        "targeted_asr/aimed/black/eps255",
    }


def test_the_target_classes_of_an_attack() -> None:
    """A drawn class per sample (``target: random``: the attack's ``goals``), the ``target``
    class, or none (untargeted)."""
    y = torch.tensor([0, 1, 2])

    class Drawn:
        goals = torch.tensor([1, 2, 0])

    assert torch.equal(aimed_classes(Drawn(), y, {"target": "random"}), Drawn.goals)
    assert torch.equal(aimed_classes(object(), y, {"target": 1}), torch.tensor([1, 1, 1]))
    assert aimed_classes(object(), y, {"target": -1}) is None
    assert aimed_classes(object(), y, {}) is None


# an ensemble's three components on the six samples above (clean-correct: 0, 1, 2, 4, 5),
# each sample's input carrying its index as a fourth feature the model drops: per component
# (its params' ``plan``), the logits it crafts for a sample it attacks (unchanged if none)
PLANS: dict[str, dict[int, list[float]]] = {
    "first": {4: [0.9, 0.0, 0.0]},  # untargeted: 4 fooled first (class 0), never aimed at
    "aimed": {  # target 2: aims at 0, 1, 5 (2 is of class 2; 4 was fooled already)
        0: [0.0, 0.0, 0.9],  # reached: kept, class 2
        1: [0.9, 0.0, 0.0],  # fooled into class 0, not 2: kept all the same (the worst case)
    },
    "last": {5: [0.0, 0.9, 0.0]},  # untargeted: 5, aimed at above in vain, fooled here
}


class Logits(nn.Module):
    """The target: the first three features are the logits (the fourth, the index, dropped)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :3]


def _planned(algorithm: str, crafter: nn.Module, x, y, eps, params: dict[str, Any], recipe):
    """A component's examples by its :data:`PLANS`, and its target classes as the evaluation
    takes them from an attack (:func:`aimed_classes`)."""
    adv = x.clone()
    for k, index in enumerate(x[:, 3].long().tolist()):
        if index in PLANS[params["plan"]]:
            adv[k, :3] = torch.tensor(PLANS[params["plan"]][index])
    return adv, 0, {}, aimed_classes(object(), y, params)


def _component(plan: str, **params: Any) -> Component:
    return Component(plan, "stbp", "stbp", {}, "fgsm", "fgsm", {"plan": plan, **params})


@pytest.mark.parametrize("targeted", [True, False])
def test_an_ensemble_with_a_targeted_component_counts_what_it_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, targeted: bool
) -> None:
    """4 of the 5 clean-correct samples fooled (0, 1 by the targeted component, 4 before it,
    5 after it): ASR 80 %. The targeted component aimed at 0, 1 and 5 (not 2, of its class,
    nor 4, fooled before it ran); of them only 0's kept example is of class 2: targeted
    33.33 % over 3, in the row and, to the last digit, in the test loop's log. Without a
    targeted component the ensemble row has no targeted rate (it had none either way)."""
    monkeypatch.setattr(ensemble, "craft_tracked", _planned)
    middle = _component("aimed", target=2) if targeted else _component("aimed")
    parts = [_component("first"), middle, _component("last")]
    spec = AttackSpec("ensemble", 1.0, "white", {"components": parts}, algorithm="ensemble")
    assert spec.targeted == targeted
    job = AttackEvaluator(Logits(), None, [spec], Recipe("stbp"))
    x = torch.cat([CLEAN, torch.arange(len(Y)).unsqueeze(1).float()], 1)
    loader = torch.utils.data.DataLoader(list(zip(x, Y, strict=True)), batch_size=6)
    L.Trainer(
        accelerator="cpu",
        logger=CSVLogger(tmp_path, name="csv", version=""),
        enable_progress_bar=False,
        inference_mode=False,
    ).test(job, loader, verbose=False)
    (row,) = job.results
    assert (row.n_correct, row.asr) == (5, 80.0)
    assert [c["first_successes"] for c in row.components] == [1, 2, 1]
    logged = _logged(tmp_path)
    name = "targeted_asr/ensemble/white/eps255"
    if targeted:
        assert row.n_targeted == 3 and row.targeted_asr == pytest.approx(100 / 3)
        assert float(logged[name]) == row.targeted_asr  # not rounded to float32 (33.33333206)
    else:
        assert row.targeted_asr is None and row.n_targeted is None and name not in logged


class Noisy(nn.Module):
    """A random forward (as a Poisson encoder's, or a noise defence's): the inputs as logits
    on the draw of the clean check, which also scores the rows (``clean``, the first number
    it draws); class 0's raised by 0.1 on any other draw, as an ensemble's judge's."""

    def __init__(self, clean: float) -> None:
        super().__init__()
        self.clean = clean

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.rand(()).item() == self.clean:
            return x
        return x + torch.tensor([0.1, 0.0, 0.0])


def _missed_then_own(algorithm: str, crafter: nn.Module, x, y, eps, params, recipe):
    """``target: 0`` misses its class (the sample moved away from it); ``target: 2``, the
    sample's own class, leaves it as it is (event_patch leaves out samples of its class)."""
    adv = x - torch.tensor([0.1, 0.0, 0.0]) if params["target"] == 0 else x.clone()
    return adv, 0, {}, aimed_classes(object(), y, params)


def test_an_ensemble_counts_no_hit_for_a_component_aimed_at_the_samples_own_class(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One sample of class 2, near class 0 ([0.5, 0, 0.55]): the ensemble's first component
    (``target: 0``) aims at it and misses; the second (``target: 2``, its own class) leaves
    it unchanged, which the judge's draw (class 0 raised) calls fooled and keeps, while the
    row's scoring draw, the clean check's, puts it back in class 2. ASR 0 %, and no targeted
    success: a component's own-class target is no goal, as a single row leaves such samples
    out (``target: 0`` alone: 0 of 1; ``target: 2`` alone: none aimed). The ensemble counted
    its kept goal, class 2, as reached: targeted 100 % of 1 beside an ASR of 0 %, in the row
    (metrics.json) and the test loop's log alike, a row that contradicts itself (a hit not
    fooled), which a later job of its sweep refused to copy (``evaluation/kept.py``)."""
    monkeypatch.setattr(ensemble, "craft_tracked", _missed_then_own)
    parts = [Component(f"to{t}", "stbp", "stbp", {}, "fgsm", "fgsm", {"target": t}) for t in (0, 2)]
    spec = AttackSpec("ensemble", 1.0, "white", {"components": parts}, algorithm="ensemble")
    job = AttackEvaluator(nn.Identity(), None, [spec], Recipe("stbp"))
    manual_seed(job._draw(0))
    job.target = Noisy(torch.rand(()).item())
    x, y = torch.tensor([[0.5, 0.0, 0.55]]), torch.tensor([2])
    L.Trainer(
        accelerator="cpu",
        logger=CSVLogger(tmp_path, name="csv", version=""),
        enable_progress_bar=False,
        inference_mode=False,
    ).test(job, torch.utils.data.DataLoader(list(zip(x, y, strict=True))), verbose=False)
    (row,) = job.results
    assert [c["first_successes"] for c in row.components] == [0, 1]  # the judge's verdict
    assert (row.n_correct, row.asr, row.adv_acc) == (1, 0.0, 100.0)  # the row's: not fooled
    assert (row.n_targeted, row.targeted_asr) == (1, 0.0)
    assert float(_logged(tmp_path)["targeted_asr/ensemble/white/eps255"]) == 0.0
    # a row the sweep's reuse copies: its hits are fooled samples (it refused the 100 %)
    check_kept(replace(row, reused_from="job"), spec)
