"""`python -m fidelity.patch`: every update on the same mini-batches, with a stand-in for the
reference's file."""

from pathlib import Path

import pytest
import torch
from measured import output

from fidelity.patch import PATH as PATCH_FILE
from fidelity.patch import main

# A stand-in for the AE-Patch reference's attack/adversarial_patchs_targeted.py (yszbb/AE-Patch
# has no licence, so the bench imports a user's clone): its patch_attack's call signature and
# return, one signed step per iteration, no stopping rule (the reference's is what the bench
# measures); its relative import and its CUDA tensor type are the reference's.
PATCH_STAND_IN = """
import torch

from .fun import LOSS_SCALE


def patch_attack(image, applied_patch, mask, patch, x, y, t, probability_threshold, model,
                 target_probability, predicted, target, device, lr=1., max_iteration=100):
    mask = mask.type(torch.cuda.FloatTensor)
    out = applied_patch
    for _ in range(max_iteration):
        p = out.clone().requires_grad_(True)
        logits = model(mask * p + (1 - mask) * image).mean(0)
        score = torch.log_softmax(logits, 1)[:, target] * predicted
        g = torch.autograd.grad(LOSS_SCALE * score.mean(), p)[0] * mask
        out = (out + lr * g.sign()).clamp(0, 1)
        print("total_loss")
    return None, out, 0.0
"""


@pytest.mark.slow
def test_the_patch_reference_bench_compares_every_update_on_the_same_mini_batches(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "attack").mkdir()
    (tmp_path / PATCH_FILE).write_text(PATCH_STAND_IN)
    (tmp_path / "attack" / "fun.py").write_text("LOSS_SCALE = 1000.0\n")
    record, table = output(main, ["--reference", str(tmp_path), "--samples", "4"], capsys)
    assert record["samples"] == 4 and list(record["settings"]) == [str(k) for k in range(10)]
    for sides in record["settings"].values():
        ours, theirs = sides["ours"], sides["reference"]
        assert ours["batches"] == theirs["batches"] > 0
        assert (
            ours["one_step_equal"] == ours["batches"]
            and theirs["one_step_equal"] == theirs["batches"]
        )
        assert 0 <= ours["test_succeeded"] <= ours["test_eligible"] <= 4
    assert "event_patch_universal beside the reference's patch_attack" in table
    assert torch.cuda.FloatTensor is not torch.FloatTensor  # restored after the reference ran
