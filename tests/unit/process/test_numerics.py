"""TF32 on CUDA: off unless ``tf32=true``, and ``metrics.json`` says which held."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from harness import QUICK

from snnattack.process.numerics import set_tf32, tf32_allowed

FLAGS = (torch.backends.cuda.matmul, torch.backends.cudnn)


@pytest.fixture
def flags_restored() -> Iterator[None]:
    saved = [flags.allow_tf32 for flags in FLAGS]
    yield
    for flags, value in zip(FLAGS, saved, strict=True):
        flags.allow_tf32 = value


@pytest.mark.parametrize("allowed", [False, True])
def test_the_tf32_key_sets_torchs_flags_and_metrics_json_records_it(
    run_job, flags_restored: None, allowed: bool
) -> None:
    set_tf32(not allowed)
    overrides = [*QUICK, "boxes=[white]", "trainer.limit_test_batches=1"]
    metrics = run_job(*overrides, *([] if not allowed else ["tf32=true"]))
    assert [flags.allow_tf32 for flags in FLAGS] == [allowed, allowed]
    assert tf32_allowed() is allowed
    assert metrics["tf32"] is allowed
    assert metrics["config"]["tf32"] is allowed
