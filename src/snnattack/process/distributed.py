"""Several processes for one job (Lightning DDP): who writes, who waits, how the others start.

Lightning's ``ddp`` strategy starts ranks 1.. by re-executing the launch command. Inside a
Hydra multirun that command is the whole sweep, and under a launcher that runs jobs in workers
(submitit, joblib) it is the worker's, so :func:`ddp_job` makes it the *job's* own command
(this package's, the job's config and overrides, its output folder) while the job runs, and
afterwards waits for those processes and takes the process group down, so the next job of the
sweep starts clean.

Only one process (global rank 0) trains and writes a model or a result; the others train
alongside it without taking the store's lock and wait for its files (:func:`barrier`).

A rank that stops while the job runs ends the job in one line from rank 0 (:class:`RankWatch`).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.distributed as dist
from hydra.core.hydra_config import HydraConfig
from lightning.fabric.strategies.launchers.subprocess_script import _ChildProcessObserver
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher
from omegaconf import ListConfig, read_write

from snnattack.errors import RankLost

# variables that give a process's rank, whoever launched it (Lightning, torchrun, SLURM, LSF)
RANK_ENV = ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")
# variables Lightning sets in the launching process when it starts the others
LAUNCH_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")
# the watch of a DDP job's other processes: how often it looks at them (s), and how long it
# then leaves rank 0 to fail at its next collective and say so itself (s); how long rank 0,
# failed in a collective, waits for a rank to be seen stopped (its exit follows its socket's)
WATCH_S, GRACE_S, STOPPING_S = 1.0, 10.0, 5.0


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


def _job_argv(hydra_cfg: Any) -> list[str]:
    """The command line of this one job as its other ranks run it (after ``python -m
    snnattack.__main__``): its config folders (Hydra's ``runtime.config_sources``), its config
    name and overrides (its own, and a ``hydra.searchpath`` given on the command line), read
    from Hydra: ``sys.argv`` is the sweep's, or a launcher's worker's (module docstring)."""
    flags = [
        f"--config-path={s.path}" if s.provider == "main" else f"--config-dir={s.path}"
        for s in hydra_cfg.runtime.config_sources
        if s.schema == "file" and s.provider in ("main", "command-line")
    ]
    searchpath = [o for o in hydra_cfg.overrides.hydra if o.startswith("hydra.searchpath=")]
    name = hydra_cfg.job.config_name
    return ["snnattack", *flags, f"--config-name={name}", *searchpath, *hydra_cfg.overrides.task]


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
            sys.argv = _job_argv(hydra_cfg)
            with read_write(hydra_cfg):
                hydra_cfg.run.dir = str(output_dir)
        try:
            yield trainers
        except RuntimeError as err:  # torch.distributed's DistError is one, gloo's lost peer too
            lost = next(filter(None, (w.lost(STOPPING_S) for w in _watches(trainers))), None)
            if lost is None:
                raise
            raise lost from err
        failed = False
    finally:
        for watch in _watches(trainers):
            watch.stop()  # before the ranks are killed here: a killed rank is no lost one
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


class RankWatch(Callback):
    """Watches the processes that rank 0 started for a DDP job's other ranks, in place of
    Lightning's observer, which SIGKILLed rank 0 (and every line it would have said) within
    5 s of one of them stopping.

    Once a rank has stopped (the machine killed it: out of memory), rank 0 fails at its next
    collective (gloo: "Connection reset by peer"), and :func:`ddp_job` raises :meth:`lost`
    for it: one line naming the rank and its log. Where rank 0 does not fail within
    :data:`GRACE_S` (a collective that never returns: NCCL's), the watch says that line
    itself, kills the other ranks and ends the process, as Lightning's observer did."""

    def __init__(self) -> None:
        self.ranks: list[subprocess.Popen] = []
        self.first_rank = 1
        self.log_dir: Path | None = None
        self.done = threading.Event()

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Takes over the watch of the ranks that this Trainer's launch started (none in the
        other ranks, nor where a cluster starts them)."""
        launcher = trainer.strategy.launcher
        if self.ranks or not isinstance(launcher, _SubprocessScriptLauncher) or not launcher.procs:
            return
        for observer in threading.enumerate():
            if (
                isinstance(observer, _ChildProcessObserver)
                and observer._child_processes is launcher.procs
            ):
                observer._child_processes = []  # it ends at its next look, seeing no process
        # Lightning runs local rank i as Hydra's job train_ddp_process_i in this job's folder
        log_dir = Path(HydraConfig.get().run.dir) if HydraConfig.initialized() else None
        self.watch(launcher.procs, trainer.global_rank + 1, log_dir)

    def watch(self, ranks: list[subprocess.Popen], first_rank: int, log_dir: Path | None) -> None:
        """Starts watching ``ranks``, the processes of ranks ``first_rank``, ``first_rank +
        1``, ..., whose logs lie in ``log_dir`` (None: they have none)."""
        self.ranks, self.first_rank, self.log_dir = ranks, first_rank, log_dir
        threading.Thread(target=self._watch, name="rank-watch", daemon=True).start()

    def lost(self, wait: float = 0.0) -> RankLost | None:
        """The stop of the first rank seen stopped (an exit code other than 0), waiting up to
        ``wait`` s for one; None if none has stopped (none is watched)."""
        deadline = time.monotonic() + wait
        while self.ranks:
            for i, proc in enumerate(self.ranks):
                code = proc.poll()
                if code:
                    name = f"train_ddp_process_{i + 1}.log"
                    log = None if self.log_dir is None else self.log_dir / name
                    return RankLost(self.first_rank + i, code, log)
            if time.monotonic() >= deadline:
                break
            time.sleep(WATCH_S / 10)
        return None

    def stop(self) -> None:
        """Ends the watch: the job ends, and awaits or kills its ranks itself."""
        self.done.set()

    def _watch(self) -> None:
        while not self.done.wait(WATCH_S):
            lost = self.lost()
            if lost is None and all(proc.poll() == 0 for proc in self.ranks):
                return  # every rank finished
            if lost is None or self.done.wait(GRACE_S):
                continue  # running; or rank 0 failed, said it and stopped the watch
            print(f"error: {lost}", file=sys.stderr, flush=True)
            for proc in self.ranks:
                proc.kill()
            os._exit(lost.exit_code)


def _watches(trainers: list[L.Trainer]) -> list[RankWatch]:
    """The :class:`RankWatch` of each of ``trainers``."""
    return [c for t in trainers for c in t.callbacks if isinstance(c, RankWatch)]


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
