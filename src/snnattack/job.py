"""One job, start to end: validate -> trained models from the store -> attack -> record."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from snnattack.analysis import run_analyses
from snnattack.config import validate
from snnattack.data import datamodule
from snnattack.distributed import ddp_job, thread_share
from snnattack.errors import UserError
from snnattack.evaluation import AttackEvaluator, attack_specs
from snnattack.provenance import provenance
from snnattack.results import is_complete, print_table, result_spec, write_json
from snnattack.source import source_config, source_model, with_kinds
from snnattack.store import ModelStore
from snnattack.tracking import attack_loggers, log_results
from snnattack.training.fit import job_trainer
from snnattack.training.trained import target_model

log = logging.getLogger(__name__)


def run(cfg: DictConfig, output_dir: Path) -> dict[str, Any]:
    """Trains (or reuses) the target and black-box source, attacks, writes metrics.json."""
    validate(cfg, output_dir)
    torch.set_num_threads(thread_share(cfg.threads, cfg.trainer))
    specs = attack_specs(cfg)
    metrics_path = output_dir / "metrics.json"
    if is_complete(metrics_path, cfg, len(specs)):
        log.info("%s is complete for this config: skipping the job", metrics_path)
        return json.loads(metrics_path.read_text())

    resolved = OmegaConf.to_container(cfg, resolve=True)
    store = ModelStore(cfg.store.dir)
    with ddp_job(output_dir) as trainers:
        target, target_record = target_model(cfg, store, trainers)
        source, source_record = source_model(cfg, store, trainers)
        models = {"target": target_record, "source": source_record}

        L.seed_everything(cfg.seed, workers=True, verbose=False)
        evaluator = AttackEvaluator(
            target,
            source,
            specs,
            cfg.attack.grad_mode,
            OmegaConf.to_container(cfg.attack.params, resolve=True),
            seed=cfg.seed,
            time_extension=cfg.attack.time_extension,
            eot_samples=cfg.attack.eot_samples,
        )
        loggers = attack_loggers(cfg, output_dir, resolved, models)
        trainer = job_trainer(
            cfg,
            trainers,
            logger=loggers or False,
            inference_mode=False,
            default_root_dir=output_dir,
        )
        start = time.time()
        trainer.test(evaluator, datamodule=datamodule(cfg, cfg.seed), verbose=False)
        if not evaluator.clean_result.get("n"):
            raise UserError(
                f"no test sample was attacked (trainer.limit_test_batches="
                f"{cfg.trainer.limit_test_batches}); accepted: a limit that leaves "
                "at least one batch, or null"
            )
        crafting = {"white": cfg, "black": source_config(cfg)}
        record = {
            **evaluator.clean_result,
            "results": with_kinds(evaluator.results, target_record, source_record, crafting),
            "models": models,
            "attack_seconds": round(time.time() - start, 1),
            "world_size": trainer.world_size,
            "device": str(evaluator.device),
            "config": resolved,
            "result_spec": result_spec(cfg),
            **provenance(),
        }
        if trainer.is_global_zero:
            record["analyses"] = run_analyses(cfg, target, datamodule(cfg, cfg.seed))
            write_json(metrics_path, record)
            print_table(record)
            log_results(loggers, record, metrics_path)
    return record
