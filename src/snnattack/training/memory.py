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
from snnattack.training.base import STRATEGIES, spikes
from snnattack.training.checks import source_kind
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
    out = _trained_and_attacked(resolved, resolved["train"]["kind"])
    if tunes(resolved) or fits(resolved):  # a universal attack fits on the same batch
        out.append(("attack.tune.val_size", resolved["attack"]["tune"]["val_size"], extension))
    masking = resolved["checks"].get("masking") or {}
    if masking.get("enabled"):
        out.append(("checks.masking.probe_size", masking["probe_size"], 1))
    return out


def _source_batches(resolved: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(key, batch size, time-step factor) of the black-box source's passes, none without a
    black box or for an ANN source (one step, ``source_T`` unread): its training at its T
    (its own kind's rule) and the attacks crafted on it at T times ``attack.time_extension``.
    ``source_T=1000000000000`` passed the target's check and failed at its first forward
    with torch's "can't allocate memory" traceback, after the job's folders were made."""
    kind = source_kind(resolved)
    if "black" not in resolved["boxes"] or not spikes(kind):
        return []
    return _trained_and_attacked(resolved, kind)


def _trained_and_attacked(resolved: dict[str, Any], kind: str) -> list[tuple[str, int, int]]:
    """(key, batch size, time-step factor) of the training of a model of ``kind``, where it
    trains at T, and of the attacks on it at T times ``attack.time_extension``."""
    extension = resolved["attack"].get("time_extension", 1)
    out = [("eval_batch_size", resolved["eval_batch_size"], extension)]
    if STRATEGIES[kind].trains_at_T:
        out.insert(0, ("train.batch_size", resolved["train"]["batch_size"], 1))
    return out


@CHECKS.register("fits_in_memory", order=20)
def _fits_in_memory(resolved: dict[str, Any]) -> None:
    """The target's passes at ``T`` (:func:`_batches`) and the black-box source's at
    ``source_T`` (null: ``T``), each with its own model (``source_model``)."""
    checks = resolved.get("checks")
    if not checks or not checks["memory"] or "image_size" not in resolved["dataset"]:
        return
    free, where = _free_memory(resolved)
    source_T = resolved.get("source_T")
    networks = [
        (resolved["model"]["name"], "T", resolved["T"], _batches(resolved)),
        (
            resolved.get("source_model") or resolved["model"]["name"],
            "T" if source_T is None else "source_T",
            resolved["T"] if source_T is None else source_T,
            _source_batches(resolved),
        ),
    ]
    for name, steps_key, steps, batches in networks:
        if name not in MODELS:  # the factory's or the caller's network:
            continue  # its layers are not known before it runs
        per_step = outputs_per_step(resolved, name)
        for key, batch, factor in batches:
            need = per_step * steps * factor * batch * 4 * checks["memory_factor"]
            if need > free:
                said, smaller = f"{steps_key}={steps}", steps_key
                if factor > 1:
                    said += f" x attack.time_extension={factor}"
                    smaller += ", attack.time_extension"
                raise ConfigError(
                    f"{said} with {key}={batch} needs about {need / 2**30:.1f} GiB for the "
                    f"activations of one forward/backward pass, more than the "
                    f"{free / 2**30:.1f} GiB of {where}; accepted: a smaller {smaller} or {key}"
                )
