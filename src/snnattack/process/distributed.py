"""Several processes for one job (Lightning DDP): who writes, who waits, how the others start.

Lightning's ``ddp`` strategy starts ranks 1.. by re-executing the launch command. Inside a
Hydra multirun that command is the whole sweep, and under a launcher that runs jobs in workers
(submitit, joblib) it is the worker's, so :func:`ddp_job` makes it the *job's* own command
(this package's, the job's config and overrides, its output folder) while the job runs, and
afterwards waits for those processes and takes the process group down, so the next job of the
sweep starts clean.

Only one process (global rank 0) trains and writes a model or a result; the others train
alongside it without taking the store's lock and wait for its files (:func:`barrier`).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.distributed as dist
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher
from omegaconf import ListConfig, read_write

# variables that give a process's rank, whoever launched it (Lightning, torchrun, SLURM, LSF)
RANK_ENV = ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")
# variables Lightning sets in the launching process when it starts the others
LAUNCH_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")


def is_writer() -> bool:
    """Whether this process is global rank 0: the one that trains into and writes files."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return all(int(os.environ.get(v) or 0) == 0 for v in RANK_ENV)


def agree(value: Any) -> Any:
    """Rank 0's ``value`` on every process once a process group is up; ``value`` otherwise."""
    if not (dist.is_available() and dist.is_initialized()):
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    """Waits for every process of the group (a no-op in a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _job_argv(sources: list[Any], name: str, overrides: list[str]) -> list[str]:
    """The command line of this one job as its other ranks run it (after ``python -m
    snnattack.__main__``): its config folders (Hydra's ``runtime.config_sources``), its config
    ``name`` and ``overrides`` (its own, and a ``hydra.searchpath`` given on the command line);
    never the sweep's. Read from Hydra, not from ``sys.argv``: under a launcher that runs jobs
    in workers (submitit, joblib) that is the worker's command."""
    flags = [
        f"--config-path={s.path}" if s.provider == "main" else f"--config-dir={s.path}"
        for s in sources
        if s.schema == "file" and s.provider in ("main", "command-line")
    ]
    return ["snnattack", *flags, f"--config-name={name}", *overrides]


@contextmanager
def ddp_job(output_dir: Path) -> Iterator[list[L.Trainer]]:
    """Runs one job so that DDP ranks started inside it run this job only, in ``output_dir``.

    Yields a list to which the job appends its Trainers; on leaving, the ranks those Trainers
    started are awaited (or killed if the job failed) and the process group is destroyed.
    """
    saved_argv, saved_env = list(sys.argv), {k: os.environ.get(k) for k in LAUNCH_ENV}
    main = sys.modules["__main__"]
    saved_spec = getattr(main, "__spec__", None)
    hydra_cfg = HydraConfig.get() if HydraConfig.initialized() else None
    saved_run_dir = None if hydra_cfg is None else hydra_cfg.run.dir
    trainers: list[L.Trainer] = []
    failed = True
    try:
        if hydra_cfg is not None:
            # Lightning starts the ranks as ``python -m <__main__'s module> <sys.argv[1:]>``:
            # this package's command (a ``.__main__`` module, which spawned workers never re-run)
            main.__spec__ = importlib.util.find_spec("snnattack.__main__")
            searchpath = [o for o in hydra_cfg.overrides.hydra if o.startswith("hydra.searchpath=")]
            overrides = [*searchpath, *hydra_cfg.overrides.task]
            sys.argv = _job_argv(
                list(hydra_cfg.runtime.config_sources), hydra_cfg.job.config_name, overrides
            )
            with read_write(hydra_cfg):
                hydra_cfg.run.dir = str(output_dir)
        yield trainers
        failed = False
    finally:
        for trainer in trainers:
            launcher = trainer.strategy.launcher
            if isinstance(launcher, _SubprocessScriptLauncher):
                for proc in launcher.procs:
                    if failed:
                        proc.kill()
                    proc.wait()
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        sys.argv = saved_argv
        main.__spec__ = saved_spec
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if hydra_cfg is not None:
            with read_write(hydra_cfg):
                hydra_cfg.run.dir = saved_run_dir


def local_rank() -> int:
    """This process's rank on its machine (Lightning's ``LOCAL_RANK``; 0 in one process): under
    DDP, the index of its GPU among the machine's, before Lightning sets the device."""
    return int(os.environ.get("LOCAL_RANK") or 0)


def processes(trainer: Mapping[str, Any]) -> int:
    """The processes a job's ``trainer`` keys start on this machine: one per device under
    DDP (``devices: auto`` on a GPU: every GPU), one otherwise."""
    devices = trainer["devices"]
    if isinstance(devices, int):
        return devices
    if devices == "auto" and trainer["accelerator"] in ("gpu", "cuda", "auto"):
        return max(torch.cuda.device_count(), 1)
    return len(devices) if isinstance(devices, list | tuple | ListConfig) else 1


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the system says it: Linux;
    else the machine's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def thread_share(threads: int | str, trainer: Mapping[str, Any]) -> int:
    """Torch threads for this process: ``threads``, or with ``auto`` this process's share of the
    cores it may use (at most a submitit launcher's ``cpus_per_task``: its local executor starts
    every job at once on this machine's cores), among the jobs a joblib launcher runs at once
    and the DDP processes (on the CPU as on GPUs: each GPU process loads data and runs its host
    side on these cores)."""
    if threads != "auto":
        return int(threads)
    usable = cores()
    parallel = 1
    if HydraConfig.initialized():
        launcher = HydraConfig.get().launcher
        n_jobs, cpus = launcher.get("n_jobs"), launcher.get("cpus_per_task")
        if isinstance(n_jobs, int):
            parallel = usable if n_jobs < 0 else n_jobs
        if isinstance(cpus, int) and cpus > 0:
            usable = min(usable, cpus)
    return max(usable // (parallel * processes(trainer)), 1)
