"""A targeted row's targeted success rate (``targeted_asr``, over ``n_targeted`` samples):
the share of the clean-correct samples of another class than the target that the target
model classifies as the target class, beside its ASR (any misclassification), from the same
predictions; None on an untargeted row. docs/event_attacks.md, *A targeted row*."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from torch import nn

from snnattack.attacks.crafting import aimed_classes
from snnattack.evaluation import evaluator
from snnattack.evaluation.evaluator import AttackEvaluator
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
    job = AttackEvaluator(nn.Identity(), Scaled(), specs, Recipe("stbp"))
    loader = torch.utils.data.DataLoader(list(zip(CLEAN, Y, strict=True)), batch_size=6)
    L.Trainer(
        accelerator="cpu",
        logger=CSVLogger(tmp_path, name="csv", version=""),
        enable_progress_bar=False,
        inference_mode=False,
    ).test(job, loader, verbose=False)
    return {f"{r.method}/{r.box}": r for r in job.results}


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


def test_an_untargeted_row_has_no_targeted_rate(rows) -> None:
    row = rows["fgsm/white"]
    assert row.asr == 60.0
    assert row.targeted_asr is None and row.n_targeted is None


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
