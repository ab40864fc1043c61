"""One job, start to end: validate -> trained models from the store -> attack -> record."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, Logger
from omegaconf import DictConfig, OmegaConf

from snnattack.config import eps_values, validate
from snnattack.data import build_datamodule
from snnattack.evaluation import AttackEvaluator, AttackSpec
from snnattack.models import build
from snnattack.provenance import provenance
from snnattack.results import print_table, write_json
from snnattack.store import ModelStore
from snnattack.training import SELECTION, STBPClassifier

log = logging.getLogger(__name__)


def build_model(cfg: DictConfig) -> torch.nn.Module:
    """The untrained spiking model the config describes."""
    return build(
        cfg.model.name,
        num_classes=cfg.dataset.num_classes,
        in_channels=cfg.dataset.in_channels,
        T=cfg.T,
        lam=cfg["lambda"],
        theta=cfg.theta,
        reset=cfg.reset,
        encoding=cfg.encoding,
        surrogate_width=cfg.train.surrogate_width,
        mean=cfg.dataset.mean,
        std=cfg.dataset.std,
    )


def datamodule(cfg: DictConfig, seed: int) -> L.LightningDataModule:
    """The configured datamodule; ``seed`` sets its training-data order."""
    return build_datamodule(
        cfg.dataset.name,
        batch_size=cfg.train.batch_size,
        eval_batch_size=cfg.eval_batch_size,
        seed=seed,
        **OmegaConf.to_container(cfg.dataset.params, resolve=True),
    )


def training_spec(cfg: DictConfig, seed: int) -> dict[str, Any]:
    """Everything that affects a trained model: the key of the checkpoint store."""
    c = OmegaConf.to_container(cfg, resolve=True)
    ignore = set(cfg.store.ignore_dataset_params)
    dataset = {k: v for k, v in c["dataset"].items() if k not in ("params", "encodings")}
    dataset["params"] = {k: v for k, v in c["dataset"]["params"].items() if k not in ignore}
    return {
        "dataset": dataset,
        "model": c["model"],
        "neuron": {k: c[k] for k in ("T", "lambda", "reset", "theta")},
        "encoding": c["encoding"],
        "train": c["train"],
        "trainer": {k: c["trainer"].get(k) for k in cfg.store.trainer_keys},
        "seed": seed,
        "selection": SELECTION,
    }


def trained_model(cfg: DictConfig, seed: int, store: ModelStore) -> tuple[torch.nn.Module, dict]:
    """The model trained with ``seed``: from the store, or trained now and stored."""

    def make() -> torch.nn.Module:
        L.seed_everything(seed, workers=True, verbose=False)
        return build_model(cfg)

    def train(workdir: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
        log.info("training model (seed %d) into %s", seed, workdir)
        model = make()
        module = STBPClassifier(
            model, cfg.dataset.num_classes, lr=cfg.train.lr, momentum=cfg.train.momentum,
            weight_decay=cfg.train.weight_decay, nesterov=cfg.train.nesterov,
        )
        best = ModelCheckpoint(dirpath=workdir, filename="best", monitor="val_score", mode="max")
        trainer = L.Trainer(
            **OmegaConf.to_container(cfg.trainer, resolve=True),
            logger=CSVLogger(workdir, name="", version=""), callbacks=[best],
            default_root_dir=workdir,
        )
        start = time.time()
        trainer.fit(module, datamodule=datamodule(cfg, seed))
        state = torch.load(best.best_model_path, map_location="cpu", weights_only=True)
        model.load_state_dict(
            {k.removeprefix("model."): v for k, v in state["state_dict"].items()}, strict=True
        )
        os.remove(best.best_model_path)
        return model, {
            "seed": seed, **module.validation_record(int(state["epoch"])),
            "best_epoch": int(state["epoch"]), "epochs": trainer.current_epoch,
            "train_seconds": round(time.time() - start, 1), **provenance(),
        }

    model, record = store.get_or_train(training_spec(cfg, seed), make, train)
    return model.eval(), record


def attack_specs(cfg: DictConfig) -> list[AttackSpec]:
    """Every (method, eps, box) the config asks for, eps converted to [0, 1] units."""
    specs = []
    for box in cfg.boxes:
        for method in cfg.method.values():
            params = {k: v for k, v in OmegaConf.to_container(method).items() if k != "name"}
            if params.get("alpha") is not None:
                params["alpha"] = params["alpha"] / 255.0
            for eps in eps_values(cfg):
                specs.append(AttackSpec(method.name, eps / 255.0, box, params))
    return specs


def loggers(cfg: DictConfig, output_dir: Path, resolved: dict) -> list[Logger]:
    """The job's loggers: CSV in the output folder and, if configured, a W&B run."""
    out: list[Logger] = []
    if cfg.logger.csv:
        out.append(CSVLogger(output_dir, name="csv", version=""))
    if cfg.logger.wandb:
        from lightning.pytorch.loggers import WandbLogger

        w = cfg.logger.wandb
        out.append(WandbLogger(
            project=w.project, entity=w.entity, mode=w.mode, save_dir=str(output_dir),
            group=w.group or output_dir.parent.name, name=output_dir.name, config=resolved,
        ))
    return out


def is_complete(path: Path, resolved: dict, n_rows: int) -> bool:
    """Whether ``path`` holds the finished result of this very config."""
    try:
        done = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return done.get("config") == resolved and len(done.get("results", [])) == n_rows


def run(cfg: DictConfig, output_dir: Path) -> dict[str, Any]:
    """Trains (or reuses) the target and black-box source, attacks, writes metrics.json."""
    validate(cfg, output_dir)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    specs = attack_specs(cfg)
    metrics_path = output_dir / "metrics.json"
    if is_complete(metrics_path, resolved, len(specs)):
        log.info("%s is complete for this config: skipping the job", metrics_path)
        return json.loads(metrics_path.read_text())

    store = ModelStore(cfg.store.dir)
    target, target_record = trained_model(cfg, cfg.seed, store)
    source, source_record = None, None
    if "black" in cfg.boxes:
        source, source_record = trained_model(cfg, cfg.seed + cfg.source_seed_offset, store)

    L.seed_everything(cfg.seed, workers=True, verbose=False)
    evaluator = AttackEvaluator(
        target, source, specs, cfg.attack.grad_mode,
        OmegaConf.to_container(cfg.attack.params, resolve=True), seed=cfg.seed,
    )
    job_loggers = loggers(cfg, output_dir, resolved)
    trainer = L.Trainer(
        **OmegaConf.to_container(cfg.trainer, resolve=True),
        logger=job_loggers or False, inference_mode=False, default_root_dir=output_dir,
    )
    start = time.time()
    trainer.test(evaluator, datamodule=datamodule(cfg, cfg.seed), verbose=False)
    record = {
        **evaluator.clean_result,
        "results": evaluator.results,
        "models": {"target": target_record, "source": source_record},
        "attack_seconds": round(time.time() - start, 1),
        "config": resolved,
        **provenance(),
    }
    if trainer.is_global_zero:
        write_json(metrics_path, record)
        print_table(record)
    if cfg.logger.wandb:
        import wandb

        wandb.finish()
    return record
