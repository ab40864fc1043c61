"""The config's own blocks parsed into the job's frozen settings (:mod:`snnattack.settings`):
the attack recipe, the data, the masking checks, the analyses, the tracking and the store.

Each layer parses its own part of the config, once, after validation: the attack rows in
:mod:`snnattack.attacks.parse` (only the methods know their rows), the models in
:mod:`snnattack.training.parse` (only the kinds of training know the models they derive);
:func:`snnattack.preparation.config.job_settings` puts the parts together.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from snnattack.errors import ConfigError
from snnattack.settings import (
    AnalysisSettings,
    AttackSettings,
    DataSettings,
    MaskingSettings,
    Recipe,
    StoreSettings,
    TrackingSettings,
)
from snnattack.values import as_typed


def _plain(node: Any) -> Any:
    """A config node as plain Python containers, interpolations resolved."""
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def attack_settings(cfg: DictConfig) -> AttackSettings:
    """The ``attack`` block (and ``compile``), its recipe with the config's ``seed``: the
    parts :class:`~snnattack.settings.AttackSettings` names."""
    return AttackSettings(
        recipe=Recipe(
            grad_mode=cfg.attack.grad_mode,
            grad_params=_plain(cfg.attack.params),
            time_extension=cfg.attack.time_extension,
            eot_samples=cfg.attack.eot_samples,
            steps_curve=tuple(cfg.attack.steps_curve),
            seed=cfg.seed,
            l0_thresholds=tuple(cfg.attack.l0_thresholds),
        ),
        save_examples=cfg.attack.save_examples,
        tune=_plain(cfg.attack.tune),
        fold_bn=cfg.attack.fold_bn,
        compiled=cfg.compile,
        random_eot_samples=cfg.attack.random_eot_samples,
    )


def data_settings(cfg: DictConfig, seed: int | None = None) -> DataSettings:
    """The config's datamodule; ``seed`` (default ``cfg.seed``) orders its training data."""
    return DataSettings(
        name=cfg.dataset.name,
        params=_plain(cfg.dataset.params),
        batch_size=cfg.train.batch_size,
        eval_batch_size=cfg.eval_batch_size,
        seed=cfg.seed if seed is None else seed,
    )


def masking_settings(cfg: DictConfig) -> MaskingSettings:
    """The gradient-masking checks (``checks.masking``)."""
    return MaskingSettings(
        **_plain(cfg.checks.masking), progress=bool(cfg.trainer.enable_progress_bar)
    )


def analysis_settings(cfg: DictConfig) -> AnalysisSettings:
    """The analyses a job runs (``analysis=[...]``), each one's options frozen."""
    return AnalysisSettings(
        selected={name: _plain(opts) for name, opts in (cfg.get("analysis") or {}).items()},
        accelerator=cfg.trainer.accelerator,
    )


def user_tags(cfg: DictConfig) -> tuple[str, ...]:
    """The user's ``tags`` (a word or a list of words)."""
    user = cfg.get("tags") or []
    if isinstance(user, str):
        user = [user]
    if not isinstance(user, list | ListConfig) or not all(
        isinstance(t, str | int | float) for t in user
    ):
        raise ConfigError(
            f"tags={as_typed(user)} is not a list of words; accepted: e.g. tags=[a,b]"
        )
    return tuple(str(t) for t in user)


def tracking_settings(cfg: DictConfig) -> TrackingSettings:
    """Where the job's runs are logged (``logger``), and their tags."""
    wandb = cfg.logger.wandb
    return TrackingSettings(
        csv=bool(cfg.logger.csv),
        wandb=_plain(wandb) if wandb else None,
        tags=user_tags(cfg),
        dataset=cfg.dataset.name,
        model=cfg.model.name,
        grad_mode=cfg.attack.grad_mode,
        seed=cfg.seed,
        cosmetic_keys=tuple(cfg.cosmetic_keys),
    )


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
