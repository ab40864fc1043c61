"""The config parsed into the job's frozen settings (:mod:`snnattack.settings`): the one
place below ``job.py`` where the config tree is read, once, after validation.

Models derived from the configured one (the black-box source, the model a kind of training
starts from, a fine-tuning recipe) are derived here on the config, before its interpolations
resolve (``reset`` follows ``train.kind``, ``trainer.max_epochs`` follows ``train.epochs``),
and each is parsed into its own :class:`~snnattack.settings.ModelSettings`.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from snnattack.attacks.grids import tunes
from snnattack.config.specs import attack_specs
from snnattack.errors import ConfigError
from snnattack.settings import (
    AnalysisSettings,
    AttackSettings,
    CheckSettings,
    DataSettings,
    JobSettings,
    ModelSettings,
    Recipe,
    StoreSettings,
    TrackingSettings,
    freeze,
)
from snnattack.training import STRATEGIES

SOURCE_SETTINGS = {"source_lambda": "lambda", "source_T": "T", "source_model": "model.name"}


def _plain(node: Any) -> Any:
    """A config node as plain Python containers, interpolations resolved."""
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def recipe(cfg: DictConfig) -> Recipe:
    """The recipe of the config's ``attack`` block and ``seed``."""
    return Recipe(
        grad_mode=cfg.attack.grad_mode,
        grad_params=freeze(_plain(cfg.attack.params)),
        time_extension=cfg.attack.time_extension,
        eot_samples=cfg.attack.eot_samples,
        steps_curve=tuple(cfg.attack.steps_curve),
        seed=cfg.seed,
        l0_thresholds=tuple(cfg.attack.l0_thresholds),
    )


def attack_settings(cfg: DictConfig) -> AttackSettings:
    """The ``attack`` block: its recipe, whether examples are saved, its tuning, the
    attacked models' preparation (``attack.fold_bn``, ``compile``) and the EOT draws of a
    target whose forward is random (``attack.random_eot_samples``)."""
    return AttackSettings(
        recipe=recipe(cfg),
        save_examples=cfg.attack.save_examples,
        tune=freeze(_plain(cfg.attack.tune)),
        fold_bn=cfg.attack.fold_bn,
        compiled=cfg.compile,
        random_eot_samples=cfg.attack.random_eot_samples,
    )


def data_settings(cfg: DictConfig, seed: int | None = None) -> DataSettings:
    """The config's datamodule; ``seed`` (default ``cfg.seed``) orders its training data."""
    return DataSettings(
        name=cfg.dataset.name,
        params=freeze(_plain(cfg.dataset.params)),
        batch_size=cfg.train.batch_size,
        eval_batch_size=cfg.eval_batch_size,
        seed=cfg.seed if seed is None else seed,
    )


def check_settings(cfg: DictConfig) -> CheckSettings:
    """The gradient-masking checks (``checks.masking``)."""
    return CheckSettings(
        **_plain(cfg.checks.masking), progress=bool(cfg.trainer.enable_progress_bar)
    )


def analysis_settings(cfg: DictConfig) -> AnalysisSettings:
    """The analyses a job runs (``analysis=[...]``)."""
    selected = cfg.get("analysis") or {}
    return AnalysisSettings(
        selected=dict(selected.items()),
        accelerator=cfg.trainer.accelerator,
        lam=cfg["lambda"],
        theta=cfg.theta,
    )


def user_tags(cfg: DictConfig) -> tuple[str, ...]:
    """The user's ``tags`` (a word or a list of words)."""
    user = cfg.get("tags") or []
    if isinstance(user, str):
        user = [user]
    if not isinstance(user, list | ListConfig) or not all(
        isinstance(t, str | int | float) for t in user
    ):
        raise ConfigError(f"tags={user!r} is not a list of words; accepted: e.g. tags=[a,b]")
    return tuple(str(t) for t in user)


def tracking_settings(cfg: DictConfig) -> TrackingSettings:
    """Where the job's runs are logged (``logger``), and their tags."""
    wandb = cfg.logger.wandb
    return TrackingSettings(
        csv=bool(cfg.logger.csv),
        wandb=freeze(_plain(wandb)) if wandb else None,
        tags=user_tags(cfg),
        dataset=cfg.dataset.name,
        model=cfg.model.name,
        grad_mode=cfg.attack.grad_mode,
        seed=cfg.seed,
        cosmetic_keys=tuple(cfg.cosmetic_keys),
    )


def with_train(cfg: DictConfig, **train: Any) -> DictConfig:
    """A copy of ``cfg`` whose ``train`` keys are replaced by ``train`` (e.g. ``kind="ann"``)."""
    copy = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    for key, value in train.items():
        copy.train[key] = value
    return copy


def model_settings(cfg: DictConfig, derive: bool = True) -> ModelSettings:
    """The model ``cfg`` describes, with the model its kind starts from and its fine-tuning
    recipe (each the config its kind derives, parsed in turn; ``derive=False``: neither, for
    a recipe, which only trains)."""
    strategy = STRATEGIES[cfg.train.kind]
    tree = freeze(OmegaConf.to_container(cfg, resolve=True))
    base = strategy.base_train if derive else None
    tuning = strategy.fine_tuning(tree["train"]) if derive else None
    return ModelSettings(
        tree=tree,
        data=data_settings(cfg),
        base=None if base is None else model_settings(with_train(cfg, **base)),
        fine_tuning=None if tuning is None else model_settings(with_train(cfg, **tuning), False),
    )


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


def store_settings(cfg: DictConfig) -> StoreSettings:
    """Where the job's models come from: the store, model files, seeds, the black box."""
    return StoreSettings(
        dir=cfg.store.dir,
        checkpoint=cfg.checkpoint or None,
        source_checkpoint=cfg.source_checkpoint or None,
        seed=cfg.seed,
        source_seed=cfg.seed + cfg.source_seed_offset,
        black_box="black" in cfg.boxes,
    )


def job_settings(cfg: DictConfig, notes: tuple[str, ...] = ()) -> JobSettings:
    """The settings of the validated ``cfg``; ``notes`` are what validation returned."""
    return JobSettings(
        attack=attack_settings(cfg),
        data=data_settings(cfg),
        checks=check_settings(cfg),
        analysis=analysis_settings(cfg),
        specs=tuple(attack_specs(cfg)),
        tunes=tunes(OmegaConf.to_container(cfg, resolve=True)),
        model=model_settings(cfg),
        source=model_settings(source_config(cfg)),
        store=store_settings(cfg),
        tracking=tracking_settings(cfg),
        notes=tuple(notes),
    )
