"""The command line: ``snnattack [-m] key=value ...``, ``python -m snnattack`` and
``python run.py`` are one command, a Hydra app on the package's own ``conf/``.

Hydra composes the config from :data:`snnattack.package.CONF_DIR` (``-cd experiments`` adds a
folder of sweeps in front of it) and writes every job folder below the launch folder
(``outputs/``, ``multirun/``; the store ``models/`` too), never into the installed package.
"""

from __future__ import annotations

import logging
import os
import sys
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from snnattack.config.plain_rules import check_rules
from snnattack.errors import FinishedElsewhere, Preempted, RankLost, UserError
from snnattack.package import CONF_DIR
from snnattack.records.cosmetic import settings_hash
from snnattack.records.failures import record_failure
from snnattack.runtime import cli
from snnattack.runtime.launchers import timed_out_line
from snnattack.runtime.lifecycle import (
    forget_complete,
    launched_here,
    refused_at_start,
    restore_kept,
    restore_skipped,
    stop_line,
    stopped,
    stops_as_preemption,
)


def job(cfg: DictConfig) -> None:
    """One job of the command (Hydra's task function): a user's mistake is one line, exit 2
    for a single run; in a sweep it is recorded and the sweep goes on."""
    # the job's stack (torch, Lightning, W&B: seconds of imports) loads once Hydra starts a job:
    # ``--help`` and the refusals before it come at once
    from snnattack.job import run
    from snnattack.process import out_of_memory
    from snnattack.records.tracking import closing_runs
    from snnattack.runtime.console import one_console

    one_console()  # Lightning's lines once; DDP's ranks 1..: in their own logs only
    hydra_cfg = HydraConfig.get()
    output_dir = Path(hydra_cfg.runtime.output_dir)
    # as typed: an interpolation in an override (${oc.env:NAME}) is the job's to resolve
    overrides = OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False)
    failed = None  # a failed job's line: the sweep goes on
    refused = False  # whether it failed as a user's mistake (not by submitit's timeout)
    memory = False  # whether it ran out of GPU memory
    with closing_runs():
        try:
            started = refused_at_start(output_dir)  # a callback's, as the job started
            if started is not None:
                raise started
            cli.refuse_chdir(hydra_cfg.job.chdir)
            if hydra_cfg.mode != RunMode.MULTIRUN:
                _refuse_a_sweep_run_once(hydra_cfg, overrides)
            with stops_as_preemption():
                run(cfg, output_dir)
            restore_skipped(output_dir)  # at once: a launch stopped later keeps it so
        except UserError as err:
            kept = restore_kept(output_dir)  # a folder that was there stays as it was
            if hydra_cfg.mode != RunMode.MULTIRUN:
                cli.refuse(err, None if kept else output_dir)
            failed, refused = cli.one_line(err), True
            if not kept:
                cli.discard_job_folder(output_dir)
        except FinishedElsewhere:  # skipped: its folder holds only what Hydra wrote
            # a folder that was there (an earlier launch's stopped job: its log) stays as it
            # was; a worker cannot know (restore_kept: True), and removes a new one itself
            if not restore_kept(output_dir) or not launched_here():
                cli.discard_job_folder(output_dir)
        except Preempted as stop:  # said once: by the launching process, by DDP's rank 0
            if launched_here():  # Hydra's basic launcher's job: the exit passes main()'s guard
                stopped()
            _stopped(stop, quiet=not launched_here() or int(os.environ.get("LOCAL_RANK", 0)) > 0)
        except RankLost as lost:  # rank 0's, which started the ranks: kept as is, as a stop
            print(f"error: {lost}", file=sys.stderr)
            raise SystemExit(lost.exit_code) from None
        except out_of_memory.ERROR as err:  # the GPU's memory: this job's failure
            value = partial(OmegaConf.select, cfg, throw_on_resolution_failure=False)
            failed, memory = out_of_memory.job_line(err, value), True
        except Exception as err:  # submitit's timeout: this job's failure; else a bug's
            failed = timed_out_line(err, hydra_cfg.launcher)
            if failed is None or hydra_cfg.mode != RunMode.MULTIRUN:
                raise
        if failed is None:
            return
        print(f"error: {failed}", file=sys.stderr)
        if memory:  # what the error's frames held, gone with them: the next job's
            out_of_memory.freed()
            if hydra_cfg.mode != RunMode.MULTIRUN:  # its folder kept, as a lost rank's
                raise SystemExit(out_of_memory.EXIT_CODE)
        try:  # what it would have run: the report names it unless that has results
            runs = settings_hash(OmegaConf.to_container(cfg, resolve=True))
        except OmegaConfBaseException:
            runs = None
        sweep = Path(hydra_cfg.sweep.dir)
        record_failure(sweep, hydra_cfg.job.num, output_dir, overrides, failed, runs, refused)


def _refuse_a_sweep_run_once(hydra_cfg: Any, overrides: list[str]) -> None:
    """Refuses the ``-cn`` config of a sweep (its ``hydra.sweeper.params`` keys:
    ``experiments/``), as Hydra's node ``hydra_cfg`` says it, run without ``-m`` unless its
    command-line ``overrides`` set every key it sweeps: it would run one job at their defaults,
    not the sweep."""
    name, swept = hydra_cfg.job.config_name, list(hydra_cfg.sweeper.get("params") or {})
    sources = hydra_cfg.runtime.config_sources
    folder = next((s.path for s in sources if s.provider == "command-line"), "")  # -cd's
    given = {o.split("=", 1)[0].lstrip("+~") for o in overrides}
    unset = [key for key in swept if key not in given]
    if unset:
        shown = Path(folder)
        if shown.is_relative_to(Path.cwd()):  # as the user typed it: experiments, not /home/..
            shown = shown.relative_to(Path.cwd())
        cd = f" -cd {shown.as_posix()}" if folder else ""
        raise UserError(
            f"-cn {name} is a sweep (hydra.sweeper.params: {', '.join(swept)}), run without -m "
            f"and without {', '.join(unset)}: it would run one job at their defaults; accepted: "
            f"python run.py -m{cd} -cn {name} (the sweep), or one value of each "
            f"({', '.join(f'{k}=...' for k in unset)})"
        )


def check_swept(values: list[tuple[str, Any]]) -> None:
    """Refuses a sweep's value that a rule naming a kind refuses (``-m reset=hard,sofft``,
    ``encoding=direct,poison``), or a gradient mode's parameter out of every taking mode's
    range (``attack.params.beta=2,-1``), before its first job, not once the others ran: those rules
    need the job's stack, which a sweep loads anyway. A sweep of config groups alone (no
    swept key's values) loads nothing here."""
    if not values:
        return
    import snnattack.job  # noqa: F401  (declares every kind's rules)
    from snnattack.gradients import check_swept_params

    check_rules(values)
    check_swept_params(values)


def main() -> None:
    """The command's entry point (``sys.argv`` holds its arguments)."""
    app = hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")(job)
    forget_complete()  # what an earlier command of this process held complete (the tests')
    # SIGTERM or Ctrl-C while a launcher waits for jobs in other processes (joblib's) stops them:
    # joblib ends its workers on an exception in this process, not when it dies of a signal
    with stops_as_preemption():
        try:
            cli.main(app, CONF_DIR, check_swept)
        except Preempted as stop:
            stopped()  # the folders that the sweep's end would put back, which never comes
            _stopped(stop)
        except Exception:  # a bug's: its traceback, the last thing printed, and exit code 1
            stopped()  # as a stop's: Hydra raises it before the sweep's end, which never comes
            raise


def _stopped(stop: Preempted, quiet: bool = False) -> NoReturn:
    """Ends the command stopped by a signal: one line (:func:`stop_line`; none where
    ``quiet``: a worker of a launch whose launching process says it), exit code 128 + the
    signal's number (143: SIGTERM, 130: Ctrl-C)."""
    if not quiet:
        print(f"error: {stop_line(stop)}", file=sys.stderr)
    # a stop while torch was being imported left its loggers at the root's level (it sets its
    # own at the import's end): its exit report (FakeTensor cache stats, INFO) followed this line
    logging.getLogger("torch").setLevel(logging.WARNING)
    raise SystemExit(128 + stop.signum) from None
