"""Checks of the machine and the files a job needs, before any work.

The GPUs asked for, the model files to attack, the data files and the folders to write: each
check is a function of the resolved config in :data:`~snnattack.values.CHECKS`, after the
combinations (folders: :func:`writable`; a job's data files: :func:`data_files`). That the
model files load and the user's factory builds a network that runs is checked as the job
reads them, once, before any work (:func:`snnattack.training.trained.built_models`).
The memory for the activations is checked beside the passes a job runs
(:mod:`snnattack.training.memory`).
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins import environments as env

from snnattack.config.combinations import takes_gpus
from snnattack.config.folders import writable
from snnattack.config.keys import shipped
from snnattack.cuda.guard import OLDEST_GPU, compiled_for
from snnattack.data import build_datamodule
from snnattack.errors import ConfigError, UserError
from snnattack.process.distributed import cores
from snnattack.records.checkpoints import require_whole
from snnattack.settings import FORMATS
from snnattack.values import CHECKS, NOTES, is_int


@CHECKS.register("devices_exist", order=18)
def _devices_exist(resolved: dict[str, Any]) -> None:
    trainer = resolved["trainer"]
    devices = trainer.get("devices")
    accelerator = trainer.get("accelerator")
    if accelerator == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(
            "trainer.accelerator=mps but this machine has no Apple GPU (MPS) for torch; "
            "accepted: trainer=cpu or trainer=default (auto)"
        )
    if accelerator == "tpu" and importlib.util.find_spec("torch_xla") is None:
        raise ConfigError(
            "trainer.accelerator=tpu needs torch_xla, which is not installed; accepted: "
            "trainer=cpu or trainer=default (auto), or a TPU machine with torch_xla"
        )
    nodes = trainer.get("num_nodes") or 1
    if is_int(nodes) and nodes > 1 and not _cluster():
        raise ConfigError(
            f"trainer.num_nodes={nodes} but this process was not started on several machines "
            "(no SLURM, torchrun or LSF job, no NODE_RANK): it would wait for the others "
            "forever; accepted: trainer.num_nodes=1, or a launch on the cluster "
            "(hydra/launcher=submitit_slurm, docs/running.md)"
        )
    on_cpu = accelerator == "cpu" or (accelerator == "auto" and not torch.cuda.is_available())
    have = cores()
    most = 2 * max(have, 2)  # 3 processes on 2 cores test DDP's padding in 40 s
    if on_cpu and is_int(devices) and devices > most:  # 64 processes on 2 cores: no epoch ended
        raise ConfigError(
            f"trainer.devices={devices} is more than twice this machine's {have} cores, and as "
            f"many DDP processes would wait for each other; accepted: an integer in [1, {most}]"
        )
    # accelerator=auto takes the GPUs where there are any (Lightning's choice): the default
    # trainer with trainer.devices=2 on a machine of one GPU asks for two GPUs
    if takes_gpus(accelerator):
        have = torch.cuda.device_count()
        if have == 0:
            raise ConfigError(
                f"trainer.accelerator={trainer['accelerator']} but this machine has "
                "no GPU; accepted: trainer=cpu or trainer=default (auto)"
            )
        if is_int(devices) and devices > have:
            taken = " (trainer.accelerator=auto takes the GPUs)" if accelerator == "auto" else ""
            raise ConfigError(
                f"trainer.devices={devices} is more than this machine's {have} "
                f"GPUs{taken}; accepted: an integer in [1, {have}] (or trainer=cpu)"
            )


@CHECKS.register("compiled_for_the_gpus", order=18.2)  # after the devices exist
def _compiled_for_the_gpus(resolved: dict[str, Any]) -> None:
    """``compile=true`` on a machine whose GPU Triton does not compile for (compute
    capability below 7.0, a Pascal P100): torch.compile writes Triton kernels for the GPU, and
    the first compiled step failed in torch's ``GPUTooOldForTriton``, after the training data
    were read. The neurons' own kernels step aside there (:mod:`snnattack.cuda.guard`); the
    compiler cannot."""
    gpu = takes_gpus(resolved["trainer"].get("accelerator"))
    if not resolved.get("compile") or not gpu or compiled_for():
        return
    old = [
        f"{torch.cuda.get_device_name(i)} ({'.'.join(map(str, capability))})"
        for i in range(torch.cuda.device_count())
        if (capability := torch.cuda.get_device_capability(i)) < OLDEST_GPU
    ]
    raise ConfigError(
        f"compile=true compiles with Triton, which needs a GPU of compute capability "
        f"{'.'.join(map(str, OLDEST_GPU))} or later, and this machine has {', '.join(old)}; "
        "accepted: compile=false (or trainer=cpu)"
    )


@NOTES.register("threads")
def _threads_note(resolved: dict[str, Any]) -> list[str]:
    """``threads`` above the cores, one line: each thread waits for a core (1000 threads on
    2 cores ran a 6 s job in 174 s)."""
    threads, usable = resolved.get("threads"), cores()
    if not is_int(threads) or threads <= usable:
        return []
    return [
        f"threads={threads} is more than this machine's {usable} cores: the threads wait for "
        "each other, and the job runs slower than with threads=auto"
    ]


def _cluster() -> bool:
    """Whether this process runs in a job of several machines that Lightning detects."""
    found = (env.SLURMEnvironment, env.TorchElasticEnvironment, env.LSFEnvironment)
    return "NODE_RANK" in os.environ or any(e.detect() for e in found)


@CHECKS.register("model_files_exist", order=18.5)
def _model_files_exist(resolved: dict[str, Any]) -> None:
    """``checkpoint`` and ``source_checkpoint`` name files, and those the job reads (a source
    file: where a row is black box) whole ones: a file cut short, empty or of another kind is
    refused here, so a sweep whose every job names it is refused before its first job."""
    for key in ("checkpoint", "source_checkpoint"):
        path = resolved.get(key)
        if path is None:
            continue
        if not Path(path).expanduser().is_file():  # '~/x.pt' as a shell reads it
            raise ConfigError(
                f"{key}={path!r} is not a file; accepted: null or the path of a model file "
                f"({FORMATS})"
            )
        if key == "checkpoint" or "black" in resolved["boxes"]:
            require_whole(Path(path).expanduser(), key)


@NOTES.register("model_files")
def _model_file_notes(resolved: dict[str, Any]) -> list[str]:
    """A ``source_checkpoint`` that no row reads (no black box), or beside a
    ``source_seed_offset`` set away from ``conf/config.yaml``'s: the file's source was trained
    by no seed here, so a sweep over the offset repeated its rows. One line."""
    path = resolved.get("source_checkpoint")
    if path is None:
        return []
    if "black" not in resolved["boxes"]:
        return [
            f"source_checkpoint={path} is read by black-box rows only, and "
            f"boxes={resolved['boxes']} has none: the file is not read"
        ]
    offset = resolved["source_seed_offset"]
    if offset == shipped()["source_seed_offset"]:
        return []
    return [
        f"source_seed_offset={offset} is not read with source_checkpoint={path}: the source is "
        "the file's model, trained by no seed here"
    ]


def device_exists(key: str, device: str) -> None:
    """Refuses a ``cuda`` or ``cuda:N`` device that this machine does not have (``auto`` and
    ``gpu`` fall back to the CPU)."""
    if not device.startswith("cuda"):
        return
    have = torch.cuda.device_count()
    if int(device.partition(":")[2] or 0) >= have:
        raise ConfigError(
            f"{key}={device} but this machine has {have} GPUs; accepted: "
            + (f"cuda:0 to cuda:{have - 1}, auto or cpu" if have else "auto or cpu")
        )


@CHECKS.register("analysis_devices_exist", order=19)
def _analysis_devices_exist(resolved: dict[str, Any]) -> None:
    for name, opts in (resolved.get("analysis") or {}).items():
        device_exists(f"analysis.{name}.device", str(opts.get("device", "auto")))


def absent_gpu(key: str, device: str) -> list[str]:
    """A note where ``gpu`` is asked and this machine has none: it measures on the CPU, which
    the user should read in the record, not find out from its numbers (``auto`` says "the GPU
    if present" and gets none; ``cuda`` is refused, :func:`device_exists`)."""
    if device != "gpu" or torch.cuda.is_available():
        return []
    return [f"{key}=gpu but this machine has no GPU: it runs on the CPU (its device: cpu)"]


@NOTES.register("analysis_devices")
def _analysis_device_notes(resolved: dict[str, Any]) -> list[str]:
    """An analysis asked to run on a GPU this machine lacks (:func:`absent_gpu`)."""
    return [
        n
        for name, o in (resolved.get("analysis") or {}).items()
        for n in absent_gpu(f"analysis.{name}.device", str(o.get("device")))
    ]


def data_files(
    resolved: dict[str, Any], fetched: dict[str, UserError | None] | None = None
) -> None:
    """The job's data files are where its datamodule reads them, with nothing foreign among
    them (``check_files``: N-MNIST, DVS-Gesture, CIFAR10-DVS, CIFAR), checked before the job writes
    anything, and that a frame cache folder ``dataset.params.cache_dir`` can be written or
    created. Only for a job: the Python API reads the user's data, never these files.
    ``fetched`` (a sweep's, its jobs on this machine): what a download would fetch is fetched
    now, once per dataset block (its refusal kept for the next job of that block), so that the
    jobs share one download and a failed one is one line before the first job."""
    dataset = resolved["dataset"]
    cache_dir = (dataset.get("params") or {}).get("cache_dir")
    if cache_dir is not None:  # an event dataset's frame cache (a read-only one may hold all)
        writable(Path(cache_dir).expanduser(), "dataset.params.cache_dir", must_exist=False)
    data = build_datamodule(
        dataset["name"],
        resolved["train"]["batch_size"],
        resolved["eval_batch_size"],
        resolved["seed"],
        **(dataset.get("params") or {}),
    )
    if fetched is not None:
        key = json.dumps(dataset, sort_keys=True, default=str)
        if key not in fetched:
            try:
                data.fetch_missing()
                fetched[key] = None
            except UserError as err:
                fetched[key] = err
        if fetched[key] is not None:
            raise fetched[key]
    data.check_files()
