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
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

from snnattack.analysis import run_analyses
from snnattack.checkpoints import load_model_file
from snnattack.config import eps_values, validate
from snnattack.data import build_datamodule
from snnattack.distributed import ddp_job, thread_share
from snnattack.errors import UserError
from snnattack.evaluation import AttackEvaluator, AttackSpec
from snnattack.provenance import provenance
from snnattack.results import print_table, write_json
from snnattack.store import RESUME_FILE, ModelStore
from snnattack.tracking import attack_loggers, log_results, train_loggers
from snnattack.training import KIND_BLOCKS, SELECTION, STRATEGIES, STBPClassifier, TrainContext
from snnattack.training.base import with_train

log = logging.getLogger(__name__)


def build_model(cfg: DictConfig) -> torch.nn.Module:
    """The untrained model the config describes (its kind of training decides which)."""
    return STRATEGIES[cfg.train.kind].build(cfg)


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
    """Everything that affects a trained model: the key of the checkpoint store.

    Includes the kind of training (``train.kind``) and, for a kind that starts from another
    model (conversion, hybrid), that model's key (``base``).
    """
    strategy = STRATEGIES[cfg.train.kind]
    c = OmegaConf.to_container(cfg, resolve=True)
    ignore = set(cfg.store.ignore_dataset_params)
    dataset = {k: v for k, v in c["dataset"].items() if k not in ("params", "encodings")}
    dataset["params"] = {k: v for k, v in c["dataset"]["params"].items() if k not in ignore}
    train = {k: v for k, v in c["train"].items() if k not in KIND_BLOCKS or k in strategy.blocks}
    spec = {
        "dataset": dataset,
        "model": c["model"],
        "neuron": {k: c[k] for k in ("T", "lambda", "reset", "theta")},
        "encoding": c["encoding"],
        "encoding_levels": c.get("encoding_levels"),
        "train": train,
        "trainer": {k: c["trainer"].get(k) for k in cfg.store.trainer_keys},
        "seed": seed,
        "selection": SELECTION,
    }
    base = strategy.base(cfg)
    if base is not None:
        spec["base"] = training_spec(base, seed)
    return strategy.key(spec)


def trained_model(
    cfg: DictConfig, seed: int, store: ModelStore, trainers: list[L.Trainer]
) -> tuple[torch.nn.Module, dict]:
    """The model trained with ``seed``: from the store, or trained now (or resumed) and stored.

    How it is trained is the strategy of its kind (``train.kind``); ``record["kind"]`` says it.
    """
    strategy = STRATEGIES[cfg.train.kind]

    def make() -> torch.nn.Module:
        L.seed_everything(seed, workers=True, verbose=False)
        return strategy.build(cfg)

    spec = training_spec(cfg, seed)
    context = TrainContext(
        seed=seed,
        fit=lambda recipe, model, workdir: fit(recipe, seed, spec, trainers, model, workdir),
        trained=lambda other: trained_model(other, seed, store, trainers),
        datamodule=lambda conf: datamodule(conf, seed),
    )

    def train(workdir: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
        L.seed_everything(seed, workers=True, verbose=False)
        return strategy.train(cfg, workdir, context)

    model, record = store.get_or_train(spec, make, train)
    return model.eval(), {**record, "kind": cfg.train.kind}


def fit(
    cfg: DictConfig,
    seed: int,
    spec: dict[str, Any],
    trainers: list[L.Trainer],
    model: torch.nn.Module,
    workdir: Path,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Lightning-fits ``model`` with ``cfg.train``'s recipe in ``workdir`` (resuming from
    its ``last.ckpt`` if there is one); the best validation checkpoint's weights are kept."""
    resume = workdir / RESUME_FILE
    resumed_from = _epochs_done(resume) if resume.exists() else None
    log.info(
        "training model (seed %d) into %s%s",
        seed,
        workdir,
        f", resuming after {resumed_from} epochs" if resume.exists() else "",
    )
    module = STBPClassifier(
        model,
        cfg.dataset.num_classes,
        lr=cfg.train.lr,
        momentum=cfg.train.momentum,
        weight_decay=cfg.train.weight_decay,
        nesterov=cfg.train.nesterov,
    )
    best = ModelCheckpoint(
        dirpath=workdir, filename="best", monitor="val_score", mode="max", save_last=True
    )
    trainer = job_trainer(
        cfg,
        trainers,
        logger=train_loggers(cfg, spec, workdir),
        callbacks=[best, EpochSeed(seed), LearningRateMonitor(logging_interval="epoch")],
        default_root_dir=workdir,
    )
    start = time.time()
    trainer.fit(
        module, datamodule=datamodule(cfg, seed), ckpt_path=str(resume) if resume.exists() else None
    )
    if not trainer.is_global_zero:  # rank 0 stores the model; the store reads it back
        return model, {}
    state = torch.load(best.best_model_path, map_location="cpu", weights_only=True)
    model.load_state_dict(
        {k.removeprefix("model."): v for k, v in state["state_dict"].items()}, strict=True
    )
    os.remove(best.best_model_path)
    return model, {
        "seed": seed,
        **module.validation_record(int(state["epoch"])),
        "best_epoch": int(state["epoch"]),
        "epochs": trainer.current_epoch,
        "resumed_after_epochs": resumed_from,
        "world_size": trainer.world_size,
        "train_seconds": round(time.time() - start, 1),
        **provenance(),
    }


def _epochs_done(checkpoint: Path) -> int:
    """How many epochs a Lightning checkpoint saved at an epoch's end has finished."""
    return int(torch.load(checkpoint, map_location="cpu", weights_only=False)["epoch"]) + 1


class EpochSeed(L.Callback):
    """Reseeds every RNG at each epoch's start from (seed, epoch), so a resumed run continues
    with the same random numbers (dropout, Poisson draws, augmentation) as an uninterrupted one.
    Logs each epoch's start: from the second on, a checkpoint to resume from is on disk."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        L.seed_everything(self.seed * 100_003 + trainer.current_epoch, verbose=False)
        log.info("epoch %d of %d starts", trainer.current_epoch + 1, trainer.max_epochs)


def job_trainer(cfg: DictConfig, trainers: list[L.Trainer], **kwargs: Any) -> L.Trainer:
    """A Lightning Trainer with the configured ``trainer`` keys, registered with the job."""
    trainer = L.Trainer(**OmegaConf.to_container(cfg.trainer, resolve=True), **kwargs)
    trainers.append(trainer)
    return trainer


def model_from_file(cfg: DictConfig, path: str) -> tuple[torch.nn.Module, dict]:
    """The configured model with the weights of ``path`` (``checkpoint=``, any format of
    :mod:`snnattack.checkpoints`) instead of one from the store."""
    model = build_model(cfg)
    return model.eval(), {**load_model_file(path, model), "kind": cfg.train.kind}


SOURCE_SETTINGS = {"source_lambda": "lambda", "source_T": "T", "source_model": "model.name"}


def source_config(cfg: DictConfig) -> DictConfig:
    """The black-box source's config: the target's, trained as ``source_train`` (null: the
    target's own kind) and with the ``source_lambda``, ``source_T`` and ``source_model`` that
    are set. Its seed is the target's plus ``source_seed_offset``."""
    kind = cfg.get("source_train")
    source = cfg if kind is None or kind == cfg.train.kind else with_train(cfg, kind=kind)
    changes = {
        key: cfg[option] for option, key in SOURCE_SETTINGS.items() if cfg.get(option) is not None
    }
    if not changes:
        return source
    source = OmegaConf.create(OmegaConf.to_container(source, resolve=False))
    for key, value in changes.items():
        OmegaConf.update(source, key, value)
    return source


def with_kinds(
    rows: list[dict], target: dict, source: dict | None, crafting: dict[str, DictConfig]
) -> list[dict]:
    """Result rows with the target's kind and the crafting model's kind, architecture, λ and T
    (white box: the target's; black box: the source's)."""
    out = []
    for r in rows:
        model = crafting[r["box"]]
        out.append(
            {
                **r,
                "target_kind": target["kind"],
                "source_kind": target["kind"] if r["box"] == "white" else source["kind"],
                "source_model": model.model.name,
                "source_lambda": model["lambda"],
                "source_T": model.T,
            }
        )
    return out


def attack_specs(cfg: DictConfig) -> list[AttackSpec]:
    """Every (method, eps, box) the config asks for, eps converted to [0, 1] units."""
    specs = []
    for box in cfg.boxes:
        for key, method in cfg.method.items():
            params = {
                k: v for k, v in OmegaConf.to_container(method, resolve=True).items() if k != "name"
            }
            if params.get("alpha") is not None:
                params["alpha"] = params["alpha"] / 255.0
            for eps in eps_values(cfg):
                specs.append(AttackSpec(key, eps / 255.0, box, params, algorithm=method.name))
    return specs


def result_spec(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config without its cosmetic keys (``cosmetic_keys``): what fixes a result."""
    spec = OmegaConf.to_container(cfg, resolve=True)
    for dotted in cfg.cosmetic_keys:
        *parents, leaf = dotted.split(".")
        node = spec
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return spec


def is_complete(path: Path, cfg: DictConfig, n_rows: int) -> bool:
    """Whether ``path`` holds the finished result of this config (cosmetic keys aside)."""
    try:
        done = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return done.get("result_spec") == result_spec(cfg) and len(done.get("results", [])) == n_rows


def run(cfg: DictConfig, output_dir: Path) -> dict[str, Any]:
    """Trains (or reuses) the target and black-box source, attacks, writes metrics.json."""
    validate(cfg, output_dir)
    torch.set_num_threads(thread_share(cfg.threads, cfg.trainer))
    resolved = OmegaConf.to_container(cfg, resolve=True)
    specs = attack_specs(cfg)
    metrics_path = output_dir / "metrics.json"
    if is_complete(metrics_path, cfg, len(specs)):
        log.info("%s is complete for this config: skipping the job", metrics_path)
        return json.loads(metrics_path.read_text())

    store = ModelStore(cfg.store.dir)
    with ddp_job(output_dir) as trainers:
        if cfg.checkpoint:
            target, target_record = model_from_file(cfg, cfg.checkpoint)
        else:
            target, target_record = trained_model(cfg, cfg.seed, store, trainers)
        source, source_record, source_cfg = None, None, source_config(cfg)
        if "black" in cfg.boxes and cfg.source_checkpoint:
            source, source_record = model_from_file(cfg, cfg.source_checkpoint)
        elif "black" in cfg.boxes:
            source, source_record = trained_model(
                source_cfg, cfg.seed + cfg.source_seed_offset, store, trainers
            )

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
        job_loggers = attack_loggers(
            cfg, output_dir, resolved, {"target": target_record, "source": source_record}
        )
        trainer = job_trainer(
            cfg,
            trainers,
            logger=job_loggers or False,
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
        record = {
            **evaluator.clean_result,
            "results": with_kinds(
                evaluator.results, target_record, source_record, {"white": cfg, "black": source_cfg}
            ),
            "models": {"target": target_record, "source": source_record},
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
            log_results(job_loggers, record, metrics_path)
    return record
