"""The sweep's jobs: Hydra's basic sweeper, where a setting of one choice of a multi-select
group goes only to the jobs that choose it.

``-m 'method=[fgsm],[pgd]' method.pgd.steps=3`` is a sweep of two jobs, one of which runs
PGD. Hydra gives every job every override, so the FGSM job's ``method.pgd.steps=3`` named a
method it does not hold and the whole sweep was refused. Here a job's override of
``method.<key>...`` (``analysis.<key>...``) is left out where the job's ``method=``
(``analysis=``) does not choose ``key`` but another job of the sweep does; a setting that no
job's choice reads is still refused, as in a single run.

Before the first job launches, the jobs' configs are composed and checked as each job would
check its own (:func:`snnattack.config.validation.check_sweep`): a mistake of every job is
refused once, and the launch writes nothing. A launch that passes is recorded in the sweep
folder with its jobs (:mod:`snnattack.records.launches`), for the report.

A job's ``hydra.job.override_dirname`` (a folder per value:
``hydra.sweep.subdir=${hydra.job.override_dirname}``) leaves out the keys of
``hydra.job.config.override_dirname.exclude_keys``, the cosmetic ones, so that a relaunch with
other threads or on other devices finds its jobs' folders. A sweep over such a key
(``threads=1,2``, ``trainer=cpu,gpu``: a speed comparison) would then put its jobs in one
folder, where the second skipped the first's results as its own (or, run at once, both wrote
there): its jobs' names keep the keys it varies (:func:`names_varied`).
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.hydra_config import HydraConfig
from hydra.core.object_type import ObjectType
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, ValueType
from hydra.core.utils import setup_globals
from omegaconf import DictConfig, OmegaConf, open_dict, read_write
from omegaconf.errors import OmegaConfBaseException

GROUPS = ("method", "analysis")  # multi-select groups whose choices have settings of their own
EXCLUDE_KEYS = "hydra.job.config.override_dirname.exclude_keys"  # what the names leave out
# the launchers whose jobs run on this machine (Hydra's own, joblib's, submitit's local one):
# the jobs' devices, cores and files are this machine's, checked before the sweep launches
LOCAL_LAUNCHERS = ("BasicLauncher", "JoblibLauncher", "LocalLauncher")
# the sweeps whose values Hydra lists (a=1,2 and range(...), shuffled or sorted or not; not
# interval(...), which only a sampling sweeper draws from)
LISTED = (ValueType.CHOICE_SWEEP, ValueType.SIMPLE_CHOICE_SWEEP, ValueType.RANGE_SWEEP)


class ChoiceSweeper(BasicSweeper):
    """Hydra's basic sweeper (``hydra.sweeper``); each job's overrides as the module says."""

    def sweep(self, arguments: list[str]) -> Any:
        """Hydra's sweep of ``arguments`` (the command line's overrides), refused before its
        first job where every job's config is refused (:func:`check_sweep`), or where its
        launcher is Slurm's and this machine has no ``srun`` (submitit's traceback)."""
        from snnattack.config.validation import check_sweep
        from snnattack.errors import UserError
        from snnattack.job import check_model_files  # (declares every kind's rules)
        from snnattack.runtime.launchers import local_jobs_stop_with_the_launch, worker_lost
        from snnattack.runtime.lifecycle import sweep_jobs_ended

        assert self.hydra_context is not None and self.config is not None
        launcher = str(self.config.hydra.launcher.get("_target_", "")).rpartition(".")[2]
        if launcher == "SlurmLauncher" and shutil.which("srun") is None:
            raise UserError(
                "hydra/launcher=slurm submits the jobs to Slurm, whose srun this machine does "
                "not have (it is no cluster's login node); accepted: hydra/launcher=parallel or "
                "local_submitit on this machine, or the command on the cluster"
            )
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides([*self._parse_config(), *arguments])
        refuse_empty_sweeps(overrides)
        jobs = [job for batch in self.split_arguments(overrides, None) for job in batch]
        check_sweep(self._job_configs(jobs), launcher in LOCAL_LAUNCHERS, check_model_files)
        self._launch: tuple[list[list[str]], list[str | None], list[str | None]] = (jobs, [], [])
        excluded = self.config.hydra.job.config.override_dirname.exclude_keys
        self._named = names_varied(list(excluded), jobs)
        try:
            if launcher != "LocalLauncher":
                returns = super().sweep(arguments)
            else:
                with local_jobs_stop_with_the_launch():  # submitit's local jobs stop with it
                    returns = super().sweep(arguments)
        except (Exception, SystemExit) as err:  # a worker or task killed: one line
            lost = worker_lost(err)
            if lost is None:
                raise
            raise lost from None
        sweep_jobs_ended(Path(self.config.hydra.sweep.dir))  # a stop now cuts short no job
        return returns

    def get_job_batch(self) -> Sequence[Sequence[str]]:
        """Hydra's next jobs, each with the override that names its folder by the keys the
        sweep varies (:func:`names_varied`): a Hydra override, which the jobs' recorded
        overrides (``.hydra/overrides.yaml``, ``launches.jsonl``) and the launch's command
        leave out; each job's ``.hydra/hydra.yaml`` holds it."""
        return [[*job, *self._named] for job in super().get_job_batch()]

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        """Hydra's compose of each job of ``batch`` before its launch, which also gives what
        each job runs (:func:`settings_hash` of its config, None where it reads what only its
        launch sets) and its folder (:func:`_job_folder`); once every job has them, the launch
        is recorded in the sweep folder (:mod:`snnattack.records.launches`) for the report."""
        from snnattack.records.cosmetic import settings_hash
        from snnattack.records.launches import record_launch

        assert self.hydra_context is not None and self.config is not None
        jobs, hashes, folders = self._launch
        for overrides in batch:
            cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            with open_dict(cfg):
                cfg.hydra.job.num = len(hashes)  # as the launchers number the sweep's jobs
            task = copy.deepcopy(cfg)
            with read_write(task), open_dict(task):
                del task["hydra"]
            known, unset = _resolved_here(task, cfg.hydra)
            hashes.append(None if known is None or unset else settings_hash(known))
            folders.append(_job_folder(cfg))
        if len(hashes) == len(jobs):
            sweep_dir = Path(self.config.hydra.sweep.dir)
            record_launch(sweep_dir, self._command(), jobs, hashes, folders)

    def _command(self) -> dict[str, Any]:
        """The parts of Hydra's node that say this launch's command (as the report reads
        them in ``multirun.yaml``: :mod:`snnattack.report.origin`)."""
        from snnattack.records.launches import launch_command

        assert self.config is not None
        hydra = OmegaConf.to_container(self.config.hydra, resolve=False)
        return launch_command(hydra, "MULTIRUN")

    def _job_configs(self, jobs: list[list[str]]) -> Iterator[tuple[list[str], DictConfig | None]]:
        """Each job's overrides and config, as the launcher composes it (its ``hydra.job.num``
        set, Hydra's node held where ``${hydra:...}`` reads it, the task's config without
        it), or None where the config reads a key of Hydra's node that only the job's launch
        sets (:func:`_resolved_here`); Hydra's node is the sweep's again after."""
        assert self.hydra_context is not None and self.config is not None
        held = HydraConfig.instance().cfg
        try:
            for num, job in enumerate(jobs):
                cfg = self.hydra_context.config_loader.load_sweep_config(self.config, job)
                with open_dict(cfg):
                    cfg.hydra.job.num = num
                task = copy.deepcopy(cfg)
                with read_write(task), open_dict(task):
                    del task["hydra"]
                if _resolved_here(task, cfg.hydra)[1]:
                    yield job, None
                    continue
                HydraConfig.instance().set_config(cfg)
                yield job, task
        finally:
            HydraConfig.instance().cfg = held

    @staticmethod
    def split_arguments(
        overrides: list[Override], max_batch_size: int | None
    ) -> list[list[list[str]]]:
        """Hydra's jobs, each without the settings of the choices it does not make; a job
        that is then another's (``method.pgd.steps=1,2`` beside ``method=[fgsm],[pgd]``: the
        FGSM job twice) runs once."""
        from snnattack.runtime.launchers import FORCED

        batches = BasicSweeper.split_arguments(overrides, max_batch_size)
        batches = [[[_as_typed(line, FORCED) for line in job] for job in b] for b in batches]
        parser = OverridesParser.create()
        chosen = [[_chosen(job, parser) for job in batch] for batch in batches]
        made = [c for batch in chosen for c in batch]
        swept = {g: set().union(*(c.get(g, set()) for c in made)) for g in GROUPS}
        seen: set[tuple[str, ...]] = set()
        out = []
        for batch, choices in zip(batches, chosen, strict=True):
            kept = []
            for job, choice in zip(batch, choices, strict=True):
                own = _own(job, choice, swept)
                if tuple(own) not in seen:
                    seen.add(tuple(own))
                    kept.append(own)
            if kept:
                out.append(kept)
        return out


def refuse_empty_sweeps(overrides: Sequence[Override]) -> None:
    """Refuses a sweep override of no value (``seed=range(0,0)``, ``T=range(5,1)``) or a glob
    of no choice (``model=glob(vggg*)``, ``lambda=glob(*)``: a glob picks a config group's
    choices): Hydra made a sweep of no job, which wrote its folder, reported nothing and
    exited 0. ``overrides`` are parsed with the config loader, which lists a group's choices.
    """
    from snnattack.errors import ConfigError

    for override in overrides:
        if override.value_type in LISTED and not list(override.sweep_string_iterator()):
            raise ConfigError(
                f"{override.input_line} sweeps no value, so the sweep would run no job; "
                "accepted: one value or more (a list a,b,c, or range(start,stop,step) with "
                "start < stop: its values stop before stop, range(1,4) is 1, 2, 3)"
            )
        if override.value_type is ValueType.GLOB_CHOICE_SWEEP and not list(
            override.sweep_string_iterator()
        ):
            assert override.config_loader is not None
            group = override.key_or_group
            choices = override.config_loader.get_group_options(group, ObjectType.CONFIG)
            accepted = (
                f"accepted: a glob that matches one or more of {', '.join(choices)}"
                if choices
                else f"{group} is no config group; accepted: a list a,b,c or range(start,stop,"
                "step) of its values (glob picks a config group's choices: model=glob(vgg*))"
            )
            raise ConfigError(
                f"{override.input_line} matches no choice, so the sweep would run no job; "
                + accepted
            )


def names_varied(excluded: list[str], jobs: list[list[str]]) -> list[str]:
    """The Hydra override that has ``hydra.job.override_dirname`` name the keys of
    ``excluded`` (``exclude_keys``, matched as Hydra matches them: by whole key) that the
    sweep's ``jobs`` set to several values (or leave out in some): ``exclude_keys`` without
    them, so that its jobs get a folder each; none where the sweep varies none of them (a
    relaunch with one value of ``threads`` or ``trainer=`` finds the folders named without
    it)."""
    parser = OverridesParser.create()
    lines = [{o.key_or_group: o.input_line for o in parser.parse_overrides(job)} for job in jobs]
    varied = {key for key in excluded if len({job.get(key) for job in lines}) > 1}
    if not varied:
        return []
    kept = ",".join(f"'{key}'" for key in excluded if key not in varied)
    return [f"{EXCLUDE_KEYS}=[{kept}]"]


def _job_folder(cfg: DictConfig) -> str | None:
    """The folder of the job whose config is ``cfg`` in its sweep (``hydra.sweep.subdir``, as
    its launcher resolves it), None where it reads what only the launch sets (``job.id``):
    a killed job's folder, which holds no record of its overrides where Hydra writes none
    (``hydra.output_subdir=null``), is known by it."""
    try:
        subdir = OmegaConf.select(cfg, "hydra.sweep.subdir", throw_on_missing=True)
    except OmegaConfBaseException:
        return None
    return None if subdir is None else Path(str(subdir)).as_posix()


def _resolved_here(task: DictConfig, hydra: DictConfig) -> tuple[dict[str, Any] | None, bool]:
    """``task`` resolved before the job's launch, its ``${hydra:...}`` reads from Hydra's
    node ``hydra`` (None where it does not resolve), and whether it reads a key of that node
    that is not set before the launch (``${hydra:runtime.output_dir}``, ``job.id``, or one
    that reads them), however it is written; Hydra's own resolver is back after."""
    unset = []

    def read(path: str) -> Any:
        try:
            value = OmegaConf.select(hydra, path, throw_on_missing=True)
        except OmegaConfBaseException:
            value = None
        if value is None:
            unset.append(path)
        return value

    OmegaConf.register_new_resolver("hydra", read, replace=True)
    try:
        resolved = OmegaConf.to_container(task, resolve=True)
    except OmegaConfBaseException:
        resolved = None  # another value that does not resolve: the check's to judge
    finally:
        setup_globals()  # Hydra's resolvers, as its launchers set them
    return resolved, bool(unset)


def _chosen(job: list[str], parser: OverridesParser) -> dict[str, set[str]]:
    """The choices of each group that the job's overrides select (a group left at its
    default is absent)."""
    out: dict[str, set[str]] = {}
    for line in job:
        key, _, _ = line.partition("=")
        if key in GROUPS:
            value: Any = parser.parse_overrides([line])[0].value()
            out[key] = {str(v) for v in (value if isinstance(value, list) else [value])}
    return out


def _as_typed(line: str, forced: set[str]) -> str:
    """``line`` without the ``++`` that the command line's rewrite gave the null setting of a
    swept choice (:func:`snnattack.runtime.launchers.swept_choice_settings`, the keys
    ``forced``): the jobs that choose it get it as typed, and it stays out of the others."""
    key = line.partition("=")[0]
    return line[2:] if key.startswith("++") and key[2:] in forced else line


def _own(job: list[str], chosen: dict[str, set[str]], swept: dict[str, set[str]]) -> list[str]:
    """``job``'s overrides without the settings of a choice it does not make but another job
    of the sweep makes."""

    def other_jobs(line: str) -> bool:
        group, _, rest = line.lstrip("+~").partition("=")[0].partition(".")
        key = rest.partition(".")[0]
        return group in chosen and key not in chosen[group] and key in swept[group]

    return [line for line in job if not other_jobs(line)]
