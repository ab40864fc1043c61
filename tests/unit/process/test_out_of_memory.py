"""A job's GPU memory running out said in one line (:mod:`snnattack.process.out_of_memory`):
torch's report cut to how much was free, the keys to make smaller with their values."""

from __future__ import annotations

import pytest
import torch

from snnattack.process.out_of_memory import job_line, torch_says


@pytest.mark.parametrize(
    "report,kept",
    [
        (
            "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of "
            "79.19 GiB of which 1.06 GiB is free. Process 7 has 78.1 GiB memory in use. "
            "Including non-PyTorch memory, this process has 78.12 GiB memory in use. If "
            "reserved but unallocated memory is large try setting "
            "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation. See "
            "documentation for Memory Management (https://pytorch.org/docs/stable/notes/"
            "cuda.html#environment-variables)",
            "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of "
            "79.19 GiB of which 1.06 GiB is free",
        ),
        (
            "MPS backend out of memory (MPS allocated: 1.00 GB, other allocations: 2.00 GB, "
            "max allowed: 3.00 GB). Tried to allocate 256.00 MB on private pool. Use "
            "PYTORCH_MPS_HIGH_WATERMARK_RATIO=0.0 to disable upper limit for memory "
            "allocations (may cause system failure).",
            "MPS backend out of memory (MPS allocated: 1.00 GB, other allocations: 2.00 GB, "
            "max allowed: 3.00 GB). Tried to allocate 256.00 MB on private pool",
        ),
        ("out of memory", "out of memory"),
    ],
    ids=["cuda", "mps", "bare"],
)
def test_torchs_report_is_kept_to_how_much_was_free(report: str, kept: str) -> None:
    assert torch_says(torch.OutOfMemoryError(report)) == kept


def test_the_line_names_each_key_with_its_value_where_it_reads() -> None:
    """A key whose value the config cannot give (an interpolation that fails) is named bare."""
    line = job_line(torch.OutOfMemoryError("CUDA out of memory."), {"T": 8}.get)
    assert line.startswith("the GPU ran out of memory: CUDA out of memory; accepted: a smaller ")
    assert "smaller train.batch_size or eval_batch_size or T (now 8) (the log's" in line
