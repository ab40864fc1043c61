"""A job's GPU running out of memory (``torch.OutOfMemoryError``) said in one line: torch's
report (to how much memory was free) and the settings that shrink what a job holds at once,
each with its value.

Not a user's mistake (the config is valid; the GPU, or the jobs sharing it, had too little
memory) and not a bug: a single run ends with exit code 3, as a DDP rank or a sweep's worker
killed for memory (:class:`~snnattack.errors.RankLost`); in a sweep the job fails alone and is
listed, as one that ran past its time limit, and the next job runs. The CPU's memory running
out is the system's kill, not an exception (docs/running.md, "Out of GPU memory"). The Python
API lets torch's error through: a script may catch it and halve its batch.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from typing import Any

import torch

ERROR = torch.OutOfMemoryError  # what torch raises where a device's allocation fails
EXIT_CODE = 3  # neither a user's mistake (2) nor a signal of this process's (128 + n)
SMALLER = ("train.batch_size", "eval_batch_size", "T")  # what a job holds at once scales with


def torch_says(err: BaseException) -> str:
    """torch's report of ``err`` to how much memory was free (``CUDA out of memory. Tried to
    allocate 2.00 GiB. GPU 0 has a total capacity of 79.19 GiB of which 1.06 GiB is free``),
    without the rest (other processes, the allocator's figures, its advice and link)."""
    sentences = re.split(r"(?<=\.)\s+", " ".join(str(err).split()))
    for i, sentence in enumerate(sentences):
        if "is free" in sentence:
            return " ".join(sentences[: i + 1]).rstrip(".")
    kept = sentences[:2] if sentences[1:2] and sentences[1].startswith("Tried") else sentences[:1]
    return " ".join(kept).rstrip(".")


def job_line(err: BaseException, value: Callable[[str], Any]) -> str:
    """The one line of a job that ran out of GPU memory (``err``): torch's report and the
    keys to make smaller, each with its ``value`` (the job's config's; None where it cannot be
    read). ``trainer=ddp`` shares a training step's batch among several GPUs and keeps the
    model's store key; a smaller ``train.batch_size`` or ``T`` trains another model."""
    now = (f"{key} (now {held})" if (held := value(key)) is not None else key for key in SMALLER)
    return (
        f"the GPU ran out of memory: {torch_says(err)}; accepted: a smaller {' or '.join(now)} "
        "(the log's last lines say whether it trained or attacked; a smaller train.batch_size "
        "or T trains another model, trainer=ddp shares a training's batches among several "
        "GPUs), or fewer jobs on the GPU; a relaunch resumes a training after its last "
        "finished epoch and skips a sweep's finished jobs"
    )


def freed() -> None:
    """Gives the memory of a failed job back (its tensors, held by the error's frames until
    now; the allocator's cache), for the next job of a sweep and the other processes."""
    gc.collect()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
