"""One job, start to end: validate -> trained models from the store -> attack -> record."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from snnattack.attacks.spec import attack_specs
from snnattack.attacks.tuning import tune_specs
from snnattack.config import validate
from snnattack.data import datamodule
from snnattack.distributed import ddp_job, thread_share
from snnattack.errors import UserError
from snnattack.evaluation.annotate import annotate
from snnattack.evaluation.attacked import attacked_models
from snnattack.evaluation.evaluator import AttackEvaluator
from snnattack.evaluation.reuse import earlier_rows, remember, row_keys, sweep_folder
from snnattack.malloc import set_malloc
from snnattack.records.provenance import provenance
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
from snnattack.settings import JobSettings
from snnattack.source import check_stored, crafting_configs, source_model, with_kinds
from snnattack.training.fit import job_trainer
from snnattack.training.trained import target_model

log = logging.getLogger(__name__)


def run(cfg: DictConfig, output_dir: Path) -> JobRecord:
    """Trains (or reuses) the target and black-box source, attacks, writes metrics.json."""
    quiet_libraries()
    started = time.time()
    validate(cfg, output_dir)
    job = JobSettings.from_config(cfg)  # typed settings: what the layers below receive
    log.info("job folder %s", output_dir)
    process_settings(cfg)
    specs = attack_specs(cfg)
    metrics_path = output_dir / "metrics.json"
    if is_complete(metrics_path, cfg, len(specs)):
        log.info("%s is complete for this config: skipping the job", metrics_path)
        return read_record(metrics_path)

    resolved = OmegaConf.to_container(cfg, resolve=True)
    store = ModelStore(cfg.store.dir)
    check_stored(cfg, store)
    with ddp_job(output_dir) as trainers:
        target, target_record = target_model(cfg, store, trainers)
        source, source_record = source_model(cfg, store, trainers)
        models = {"target": target_record, "source": source_record}
        L.seed_everything(cfg.seed, workers=True, verbose=False)
        attacked = attacked_models(target, source, fold_bn=cfg.attack.fold_bn, compiled=cfg.compile)
        loggers = attack_loggers(cfg, output_dir, resolved, models)
        trainer = job_trainer(
            cfg,
            trainers,
            logger=loggers or False,
            inference_mode=False,
            default_root_dir=output_dir,
        )
        sweep = sweep_folder()  # a single run keeps no rows: no keys (nor weight digest) to make
        shared = row_keys(cfg, specs, models, target, source, trainer.world_size) if sweep else {}
        reused = earlier_rows(shared, specs, sweep)
        data = datamodule(job.data)  # the job's one datamodule: tuning, attacks, annotations
        specs = tune_specs(job.attack, specs, *attacked, data, skip=reused)
        evaluator = AttackEvaluator(
            *attacked, specs, job.attack.recipe, job.attack.save_examples, reused
        )
        seconds = attack(cfg, trainer, evaluator, data)

        record = job_record(cfg, evaluator, models, seconds, trainer.world_size, resolved)
        if trainer.is_global_zero:
            record = annotate(job, record, target, evaluator, data, output_dir)
            write_json(metrics_path, record.to_json())
            remember(shared, record.results, output_dir, sweep)
            log.info("results\n%s", job_table(record))
            log_results(loggers, record, metrics_path)
            log.info("wrote %s in %.1f s", metrics_path, time.time() - started)
    return record


def process_settings(cfg: DictConfig) -> None:
    """This process's torch threads and allocator policy, as the config sets them."""
    torch.set_num_threads(thread_share(cfg.threads, cfg.trainer))
    set_malloc(cfg.malloc)


def job_record(
    cfg: DictConfig,
    evaluator: AttackEvaluator,
    models: dict[str, dict],
    seconds: float,
    world_size: int,
    resolved: dict,
) -> JobRecord:
    """The record of ``metrics.json``: the evaluator's counts and rows (each with the kinds of
    the models that crafted and judged it), the models, the resolved config, provenance."""
    return JobRecord(
        **evaluator.clean_result,
        results=with_kinds(
            evaluator.results, models["target"], models["source"], crafting_configs(cfg)
        ),
        models=models,
        attack_seconds=seconds,
        row_seconds=evaluator.timings,
        event_worst_case=evaluator.event_worst_case,
        world_size=world_size,
        device=str(evaluator.device),
        config=resolved,
        result_spec=result_spec(cfg),
        **provenance(),
    )


def attack(
    cfg: DictConfig, trainer: L.Trainer, evaluator: AttackEvaluator, data: L.LightningDataModule
) -> float:
    """Runs every attack on the test split of ``data``; the seconds it took. Refuses a split
    left empty. ``data`` is handed back without the trainer, so what reads it after the attacks
    (the analyses) sees the whole splits, not the trainer's ``limit_test_batches``."""
    start = time.time()
    trainer.test(evaluator, datamodule=data, verbose=False)
    data.trainer = None
    if not evaluator.clean_result.get("n"):
        raise UserError(
            f"no test sample was attacked (trainer.limit_test_batches="
            f"{cfg.trainer.limit_test_batches}); accepted: a limit that leaves "
            "at least one batch, or null"
        )
    return round(time.time() - start, 1)
