"""The memory that a job's passes need, checked before any work: the activations of one
forward/backward pass of each batch a job runs (training, the attacks, tuning and a universal
attack's fitting, the masking checks), against the free memory where it runs.

Declared beside the kinds that decide which passes a job runs (a kind of training that trains
at T, a method that fits on validation data), for
:func:`snnattack.config.validation.validate`, after the combinations.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from snnattack.attacks.grids import tunes
from snnattack.attacks.universal import fits
from snnattack.errors import ConfigError
from snnattack.models import MODELS
from snnattack.models.shapes import outputs_per_step
from snnattack.process.distributed import local_rank
from snnattack.training.base import STRATEGIES
from snnattack.values import CHECKS


def _free_memory(resolved: dict[str, Any]) -> tuple[int, str]:
    """Bytes free where the job will run: this process's GPU if it uses one (under DDP its
    local rank's, not every rank's context on GPU 0), else the RAM."""
    accelerator = resolved["trainer"].get("accelerator", "auto")
    if accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        return torch.cuda.mem_get_info(local_rank())[0], "free GPU memory"
    return _available_ram(), "available RAM"


def _available_ram() -> int:
    """Bytes of RAM available to a new process (Linux's MemAvailable; free pages elsewhere)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _batches(resolved: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(key, batch size, time-step factor) of each pass a job runs: training at T (not for a
    converted SNN: T=2000 is fine), the attacks and tuning's one validation batch
    (``attack.tune.val_size`` images at once; a universal attack fits on it too) at T times
    ``attack.time_extension``, and the masking checks' one batch of
    ``checks.masking.probe_size`` images at T."""
    extension = resolved["attack"].get("time_extension", 1)
    out = [("eval_batch_size", resolved["eval_batch_size"], extension)]
    if STRATEGIES[resolved["train"]["kind"]].trains_at_T:
        out.insert(0, ("train.batch_size", resolved["train"]["batch_size"], 1))
    if tunes(resolved) or fits(resolved):  # a universal attack fits on the same batch
        out.append(("attack.tune.val_size", resolved["attack"]["tune"]["val_size"], extension))
    masking = resolved["checks"].get("masking") or {}
    if masking.get("enabled"):
        out.append(("checks.masking.probe_size", masking["probe_size"], 1))
    return out


@CHECKS.register("fits_in_memory", order=20)
def _fits_in_memory(resolved: dict[str, Any]) -> None:
    checks = resolved.get("checks")
    if not checks or not checks["memory"] or "image_size" not in resolved["dataset"]:
        return
    if resolved["model"]["name"] not in MODELS:  # the factory's or the caller's network:
        return  # its layers are not known before it runs
    per_step = outputs_per_step(resolved, resolved["model"]["name"])
    free, where = _free_memory(resolved)
    for key, batch, factor in _batches(resolved):
        need = per_step * resolved["T"] * factor * batch * 4 * checks["memory_factor"]
        if need > free:
            steps, smaller = f"T={resolved['T']}", "T"
            if factor > 1:
                steps += f" x attack.time_extension={factor}"
                smaller += ", attack.time_extension"
            raise ConfigError(
                f"{steps} with {key}={batch} needs about {need / 2**30:.1f} GiB for the "
                f"activations of one forward/backward pass, more than the {free / 2**30:.1f} "
                f"GiB of {where}; accepted: a smaller {smaller} or {key}"
            )
