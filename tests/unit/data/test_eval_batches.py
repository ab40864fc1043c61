"""Evaluation batches: ``limit_val/test_batches`` as Lightning documents them, applied once to
the whole split, and processes left without a batch of their own (padding, skipped)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from harness import QUICK
from torch.utils.data import TensorDataset

from snnattack.data.base import WholeBatchSampler, is_padding
from snnattack.data.digits import DigitsDataModule
from snnattack.training.classifier import Classifier

# the digits test split: 15 batches of 32 (the last one short)
DIGITS_TEST_BATCHES = 15


@pytest.mark.parametrize("share", [0.5, 0.05])
def test_a_share_of_the_test_split_attacks_lightnings_count_of_batches(
    run_job, share: float
) -> None:
    metrics = run_job(*QUICK, "boxes=[white]", f"trainer.limit_test_batches={share}")
    # int(share x batches), at least one: 7 of 15 (not 3, the share taken twice) and 1 (not
    # Lightning's refusal of 0.05 x 1 batch)
    assert metrics["n"] == max(int(share * DIGITS_TEST_BATCHES), 1) * 32


def test_ranks_without_a_batch_pad_with_one_that_no_step_counts() -> None:
    data = TensorDataset(torch.arange(70.0))  # 3 batches of 32, the last one short
    samplers = [WholeBatchSampler(data, 32, 4, rank, max_batches=2) for rank in range(4)]
    assert [s.padding for s in samplers] == [False, False, True, True]
    assert all(len(s) > 0 for s in samplers)  # Lightning refuses an empty loader on a rank
    counted = sorted(i for s in samplers if not s.padding for i in s)
    assert counted == list(range(64))
    assert not is_padding(SimpleNamespace(sampler=None))


def test_a_padding_validation_batch_leaves_the_metrics_untouched() -> None:
    module = Classifier(torch.nn.Linear(3, 2), num_classes=2)
    padded = WholeBatchSampler(TensorDataset(torch.zeros(4, 3)), 4, 2, 1)
    module.trainer = SimpleNamespace(val_dataloaders=SimpleNamespace(sampler=padded))
    module.validation_step((torch.zeros(4, 3), torch.zeros(4, dtype=torch.long)), 0)
    assert not any(m.update_called for m in (module.val_acc, module.val_loss, module.val_n))


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_batches_bound_for_a_gpu_come_from_page_locked_memory(device: str) -> None:
    """Pinned host memory lets the copy to the GPU run asynchronously (issue 55, point 4);
    a CPU job pins nothing. The device is the trainer's, read without touching CUDA."""
    data = DigitsDataModule(batch_size=32, eval_batch_size=32, seed=0)
    data.trainer = SimpleNamespace(
        strategy=SimpleNamespace(root_device=torch.device(device)), world_size=1, global_rank=0
    )
    loader = data._dataloader(TensorDataset(torch.arange(4.0)), 2, None)
    assert loader.pin_memory is (device == "cuda")
