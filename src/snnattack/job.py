"""One job, start to end: validate -> trained models from the store -> attack -> record."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from snnattack.attacks.universal import fits
from snnattack.config import validate
from snnattack.config.settings import job_settings
from snnattack.data import datamodule, first_samples
from snnattack.evaluation.annotate import annotate
from snnattack.evaluation.attacked import attacked_models
from snnattack.evaluation.core import evaluation_record
from snnattack.evaluation.reuse import earlier_rows, remember, row_keys, sweep_folder
from snnattack.process.distributed import ddp_job, thread_share
from snnattack.process.malloc import set_malloc
from snnattack.process.numerics import set_tf32
from snnattack.records.results import (
    JobRecord,
    is_complete,
    job_table,
    read_record,
    result_spec,
    write_json,
)
from snnattack.records.store import ModelStore
from snnattack.records.tracking import attack_loggers, log_results
from snnattack.runtime.console import quiet_libraries
from snnattack.training.fit import lightning_trainer
from snnattack.training.source import check_stored, crafting_models, source_model, with_kinds
from snnattack.training.trained import target_model

log = logging.getLogger(__name__)


def run(cfg: DictConfig, output_dir: Path) -> JobRecord:
    """Trains (or reuses) the target and black-box source, attacks, writes metrics.json."""
    quiet_libraries()
    started = time.time()
    job = job_settings(cfg, (checked := validate(cfg, output_dir)).notes)  # + what it built
    log.info("job folder %s", output_dir)
    process_settings(cfg.threads, cfg.trainer, cfg.malloc, cfg.tf32)
    specs, resolved = list(job.specs), OmegaConf.to_container(cfg, resolve=True)
    spec = result_spec(resolved)  # what fixes the result: the relaunch check, row keys, record
    metrics_path = output_dir / "metrics.json"
    if is_complete(metrics_path, spec, len(specs)):
        log.info("%s is complete for this config: skipping the job", metrics_path)
        return read_record(metrics_path)
    store = ModelStore(job.store.dir)
    check_stored(job, store)
    with ddp_job(output_dir) as trainers:
        target, target_record = target_model(job, store, trainers, checked.built)
        source, source_record = source_model(job, store, trainers, checked.built)
        models = {"target": target_record, "source": source_record}
        L.seed_everything(job.store.seed, workers=True, verbose=False)
        attacked = attacked_models(target, source, fold_bn=cfg.attack.fold_bn, compiled=cfg.compile)
        loggers = attack_loggers(job.tracking, output_dir, resolved, models)
        trainer = attack_trainer(resolved, trainers, loggers, output_dir)
        sweep = sweep_folder()  # a single run keeps no rows: no keys (nor weight digest) to make
        world = trainer.world_size
        shared = row_keys(resolved, spec, specs, models, target, source, world) if sweep else {}
        reused = earlier_rows(shared, specs, sweep)
        data = datamodule(job.data)  # the job's one datamodule: tuning, attacks, annotations
        record, evaluator = evaluation_record(
            attacked,
            specs,
            job,
            data,
            validation(data, job.attack.tune["val_size"]) if job.tunes or fits(resolved) else None,
            trainer,
            models=models,
            config=resolved,
            result_spec=spec,
            probed=target,
            reused=reused,
        )
        record.results = with_kinds(record.results, *models.values(), crafting_models(job))
        if trainer.is_global_zero:
            record = annotate(job, record, target, evaluator, data, output_dir)
            write_json(metrics_path, record.to_json())
            remember(shared, record.results, output_dir, sweep)
            log.info("results\n%s", job_table(record))
            log_results(loggers, record, metrics_path)
            log.info("wrote %s in %.1f s", metrics_path, time.time() - started)
    return record


def attack_trainer(
    resolved: dict, trainers: list[L.Trainer], loggers: list, output_dir: Path
) -> L.Trainer:
    """The Lightning Trainer the attacks run under: the config's ``trainer`` keys, the job's
    loggers, gradients enabled (attacks differentiate the input), registered with the job."""
    return lightning_trainer(
        resolved["trainer"],
        trainers,
        logger=loggers or False,
        inference_mode=False,
        default_root_dir=output_dir,
    )


def validation(data: L.LightningDataModule, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``size`` images of ``data``'s validation split, which tuning chooses on (the
    test split is never read for it)."""
    data.setup("validate")
    return first_samples(data.val_dataloader(), size)


def process_settings(threads: int | str, trainer: DictConfig, malloc: str, tf32: bool) -> None:
    """This process's torch threads (``threads``, shared among the ``trainer``'s devices),
    allocator policy (``malloc``) and TF32 on CUDA (``tf32``), as the config sets them."""
    torch.set_num_threads(thread_share(threads, trainer))
    set_malloc(malloc)
    set_tf32(tf32)
