"""The models of a job parsed from the config: each a frozen
:class:`~snnattack.settings.ModelSettings`, with the models derived from it.

The training layer parses its own part of the settings, because only the kinds of training
know the models they derive (:data:`~snnattack.training.STRATEGIES`: the model a kind starts
from, its fine-tuning recipe), and the black-box source is a trained model of its own
(``source_train``, ``source_lambda``, ...). Each derived model is derived on the config,
before its interpolations resolve (``reset`` follows ``train.kind``, ``trainer.max_epochs``
follows ``train.epochs``), and parsed in turn.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from snnattack.config.parse import data_settings
from snnattack.config.spelling import spelt
from snnattack.settings import ModelSettings
from snnattack.training.base import STRATEGIES
from snnattack.training.store_key import store_key

# the black-box source's own settings and the key of the target's that each replaces: a
# source_model replaces the whole model node (a zoo model's is its name alone), so none of a
# model=external target's factory and kwargs reaches the source's store key
SOURCE_SETTINGS = {"source_lambda": "lambda", "source_T": "T", "source_model": "model"}


def with_train(cfg: DictConfig, **train: Any) -> DictConfig:
    """A copy of ``cfg`` whose ``train`` keys are replaced by ``train`` (e.g. ``kind="ann"``)."""
    copy = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    for key, value in train.items():
        copy.train[key] = value
    return copy


def model_settings(cfg: DictConfig, derive: bool = True) -> ModelSettings:
    """The model ``cfg`` describes, with the model its kind starts from and its fine-tuning
    recipe (each the config its kind derives, parsed in turn; ``derive=False``: neither, for
    a recipe, which only trains). Its tree holds each number as its key's rule spells it,
    interpolated ones too (:func:`~snnattack.config.spelling.spelt`): the store key's."""
    strategy = STRATEGIES[cfg.train.kind]
    tree = spelt(cfg)
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
        key: {"name": cfg[option]} if key == "model" else cfg[option]
        for option, key in SOURCE_SETTINGS.items()
        if cfg.get(option) is not None
    }
    if not changes:
        return source
    source = OmegaConf.create(OmegaConf.to_container(source, resolve=False))
    for key, value in changes.items():
        OmegaConf.update(source, key, value, merge=False)
    return source


def source_key(cfg: DictConfig) -> dict[str, Any]:
    """The store key of the black-box source ``cfg`` trains, under seed 0: what trains it, to
    compare two configs' sources (a benchmark job's standard surrogate with its protocol's)."""
    return store_key(model_settings(source_config(cfg)), 0)
