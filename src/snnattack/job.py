"""One job, start to end: validate -> settings -> trained models from the store -> the one
evaluation core (:func:`snnattack.evaluation.core.record_attacks`) -> ``metrics.json``.

Each layer parses its own part of the config into the job's settings
(:func:`~snnattack.preparation.config.job_settings`): the config's own blocks
(:mod:`snnattack.config.parse`), the attack rows (:mod:`snnattack.attacks.parse`) and the
models (:mod:`snnattack.training.parse`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig, OmegaConf

from snnattack.analysis.checks import check_built
from snnattack.attacks.parse import component_settings
from snnattack.config.spelling import spelt
from snnattack.config.validation import logged, validate
from snnattack.data import datamodule
from snnattack.errors import FinishedElsewhere
from snnattack.evaluation.core import RunSettings, record_attacks
from snnattack.evaluation.reuse import about_weights, finished_in_sweep
from snnattack.preparation.config import job_settings
from snnattack.process.distributed import ddp_job, thread_share
from snnattack.process.malloc import set_malloc
from snnattack.process.numerics import set_determinism, set_tf32
from snnattack.records.launches import launch_command
from snnattack.records.results import (
    JobRecord,
    check_not_replacing,
    complete_record,
    job_table,
    result_spec,
    write_json,
)
from snnattack.records.store import ModelStore
from snnattack.records.tracking import (
    attack_loggers,
    log_pending_results,
    log_results,
    mark_results_pending,
)
from snnattack.runtime.console import quiet_libraries
from snnattack.runtime.lifecycle import run_results_complete, running_alone
from snnattack.training.conversion import calibration_notes
from snnattack.training.parse import model_settings
from snnattack.training.source import check_not_target, check_stored, source_model
from snnattack.training.trained import Built, Trained, built_models, target_model
from snnattack.training.training_data import models_to_train, read_training_data
from snnattack.training.workers import attack_data, workers_notes

log = logging.getLogger(__name__)


def run(cfg: DictConfig, output_dir: Path) -> JobRecord:
    """Trains (or reuses) the target and black-box source, attacks, writes metrics.json."""
    quiet_libraries()
    started = time.time()
    job = job_settings(cfg, validate(cfg, output_dir))
    specs, resolved = list(job.specs), spelt(cfg)
    # this process's torch threads (shared among the trainer's devices), allocator policy, TF32
    # and deterministic kernels, before any GPU work: cuBLAS reads its workspace setting once
    torch.set_num_threads(thread_share(resolved["threads"], resolved["trainer"]))
    set_malloc(resolved["malloc"])
    set_tf32(resolved["tf32"])
    set_determinism(resolved["deterministic"])
    built = check_built(resolved, built_models(job.model))  # model files, factory's net: checked
    log.info("job folder %s", output_dir)
    # what fixes the result: the relaunch check, row keys, record
    spec = result_spec(resolved, component_settings(specs))
    identity = built_identity(built, resolved)
    # the relaunch check, and another launch running the job waited for
    with running_alone(
        output_dir, lambda: finished(output_dir, resolved, spec, len(specs), identity)
    ) as done:
        if done is not None:
            run_results_complete(output_dir / "metrics.json")  # a stop now cuts short no result
            log_pending_results(job.tracking, output_dir, resolved, done)  # a stop cut them short
            return done
        store = ModelStore(job.store.dir)
        check_stored(job, store)
        # more workers than cores: refused where the job trains (its own store keys), else a note
        training = models_to_train(job, store)
        job = replace(job, notes=job.notes + logged(workers_notes(job.data, bool(training))))
        read_training_data(training)  # before the store's lock: a refusal leaves nothing there
        with ddp_job(output_dir) as trainers:
            target, target_record = target_model(job, store, trainers, built)
            target_record = {**target_record, **about_weights(target)}
            source, source_record = source_model(job, store, trainers, built)
            check_not_target(target_record, source_record)
            models = {"target": target_record, "source": source_record}
            # a conversion's batches capped at the data's: only its record tells
            job = replace(job, notes=job.notes + logged(calibration_notes(models)))
            loggers = attack_loggers(job.tracking, output_dir, resolved, models)
            keep = partial(_keep, output_dir / "metrics.json", loggers, started, _command())
            # the job's one datamodule: tuning, attacks, annotations
            data = datamodule(attack_data(job.data))
            run_settings = RunSettings(
                resolved["trainer"], trainers, tuple(loggers), output_dir, keep
            )
            return record_attacks(
                job, target, source, data, data, run_settings, models=models, config=resolved
            )


def _command() -> dict[str, Any] | None:
    """A single run's command, as Hydra's node says it (:func:`launch_command`), which its
    record keeps: where Hydra writes no record of the run (``hydra.output_subdir=null``) the
    report reads it there. None in a sweep's job (its sweep folder's ``multirun.yaml`` and
    ``launches.jsonl`` say the command) and outside Hydra."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.RUN:
        return None
    hydra = OmegaConf.to_container(HydraConfig.get(), resolve=False)
    return launch_command(hydra, "RUN")


def _keep(
    metrics_path: Path,
    loggers: list[Logger],
    started: float,
    command: dict[str, Any] | None,
    record: JobRecord,
) -> None:
    """Writes the job's record to ``metrics_path`` with a single run's ``command``
    (:func:`_command`), shows the results and logs them to ``loggers`` (rank 0:
    :attr:`RunSettings.keep`), saying how long the job took since ``started``."""
    record = replace(record, command=command)
    mark_results_pending(loggers, metrics_path)  # until log_results returns
    write_json(metrics_path, record.to_json())
    run_results_complete(metrics_path)  # a stop from here on cuts short no result
    log.info("results\n%s", job_table(record))
    log_results(loggers, record, metrics_path)
    log.info("wrote %s in %.1f s", metrics_path, time.time() - started)


def finished(
    output_dir: Path,
    resolved: dict[str, Any],
    spec: dict[str, Any],
    n_rows: int,
    built: dict[str, tuple[str, str, str]],
) -> JobRecord | None:
    """The record a relaunched job skips to: that of ``output_dir``, complete for the result
    ``spec`` of its ``n_rows`` rows and the models it ``built`` (:func:`built_identity`);
    :class:`FinishedElsewhere` where another folder of the sweep holds it, whatever its own
    folder holds (a relaunch of the values in another order: the other job's results); None
    where the job runs (refused where it would replace another config's record)."""
    metrics_path = output_dir / "metrics.json"
    done = complete_record(metrics_path, spec, n_rows, built)
    if done is not None:
        log.info("%s is complete for this config: skipping the job", metrics_path)
        return done
    elsewhere = finished_in_sweep(output_dir, resolved, spec, n_rows, built)
    if elsewhere is not None:
        log.info("%s holds this job's finished results: skipping the job", elsewhere)
        raise FinishedElsewhere(elsewhere)
    check_not_replacing(metrics_path, spec)
    return None


def built_identity(built: Built, resolved: Mapping[str, Any]) -> dict[str, tuple[str, str, str]]:
    """What names each model the job ``built`` from a file or a factory, by the setting that
    names it (``checkpoint=PATH``, ``source_checkpoint=PATH``,
    ``model.factory._target_=NAME``): its role in the record's ``models``, the field there
    and its value now (a model file's ``sha256``, the ``weights`` of ``model=external``'s
    factory network). A relaunch compares them with the finished record's
    (:func:`check_same_models`): the config names a file by its path only."""
    made: dict[str, tuple[str, str, str]] = {}

    def file(key: str, role: str, loaded: Trained) -> None:
        made[f"{key}={resolved[key]}"] = (role, "sha256", loaded[1]["sha256"])

    if built.checkpoint is not None:
        file("checkpoint", "target", built.checkpoint)
    elif built.external is not None:
        factory = resolved["model"]["factory"]["_target_"]
        weights = about_weights(built.external)["weights"]
        made[f"model.factory._target_={factory}"] = ("target", "weights", weights)
    if built.source_checkpoint is not None:
        file("source_checkpoint", "source", built.source_checkpoint)
    return made


def check_model_files(cfg: DictConfig) -> None:
    """Loads the model files of the checked ``cfg`` into its configured model (and builds a
    ``model=external`` factory's network), as :func:`run` does before any work: a sweep's
    check before its first job (:func:`snnattack.config.validation.check_sweep`), so a file
    that fits no job is one refusal, not a failure per job."""
    check_built(spelt(cfg), built_models(model_settings(cfg)))
