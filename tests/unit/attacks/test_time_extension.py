"""The time-extended (TE) attack of RGA Table 2 on a trained digits SNN: other adversarial
examples than the plain attack, judged on the same clean predictions."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from fixtures_digits import trained

from snnattack.attacks.crafting import craft
from snnattack.evaluation.evaluator import AttackEvaluator
from snnattack.settings import AttackSpec, Recipe

EPS = 32 / 255


def test_digits_te_attack_crafts_other_examples_with_the_same_clean_accuracy(
    digits_store: Path,
) -> None:
    model, x, y = trained(digits_store)
    x, y = x[:64], y[:64]
    loader = torch.utils.data.DataLoader(list(zip(x, y, strict=True)), batch_size=32)
    runs = {}
    for k in (1, 2):
        spec = AttackSpec("fgsm", EPS, "white", {})
        evaluator = AttackEvaluator(model, None, [spec], Recipe("stbp", time_extension=k))
        L.Trainer(
            accelerator="cpu", logger=False, enable_progress_bar=False, inference_mode=False
        ).test(evaluator, loader, verbose=False)
        torch.manual_seed(0)
        adv, _ = craft("fgsm", model, x, y, EPS, {}, Recipe("stbp", time_extension=k))
        runs[k] = (evaluator.clean_result, evaluator.results[0], adv)
    (clean1, row1, adv1), (clean2, row2, adv2) = runs[1], runs[2]
    assert clean1 == clean2 and clean1["clean_acc"] > 50
    assert (row1.time_extension, row2.time_extension) == (1, 2)
    changed = (torch.sign(adv1 - x) != torch.sign(adv2 - x)).float().mean()
    assert changed > 0.01  # the extended simulation gives other gradient signs
    assert (adv2 - x).abs().max() <= EPS + 1e-6
