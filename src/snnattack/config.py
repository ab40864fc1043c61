"""Checks of a composed config, before any work: one clear message per wrong value."""

from __future__ import annotations

import numbers

from omegaconf import DictConfig

from snnattack.encoding import ENCODINGS
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES
from snnattack.neurons import RESETS
from snnattack.training import STRATEGIES
from snnattack.training.ann import INPUT_ENCODINGS
from snnattack.training.conversion import CONVERTIBLE_MODELS

BOXES = ("white", "black")


def _number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def eps_values(cfg: DictConfig) -> list:
    """The attack radii in 1/255 units; a single value (``eps=8``) counts as a list of one."""
    eps = cfg.eps
    if isinstance(eps, str | bytes) or not hasattr(eps, "__iter__"):
        return [eps]
    return list(eps)


def validate(cfg: DictConfig) -> None:
    """Raises :class:`ConfigError` naming the first key whose value is out of range."""
    lam = cfg["lambda"]
    if not _number(lam) or not 0.0 < lam <= 1.0:
        raise ConfigError(f"lambda={lam!r} is out of range; accepted: 0 < lambda <= 1")
    if not _int(cfg.T) or cfg.T < 1:
        raise ConfigError(f"T={cfg.T!r} is out of range; accepted: an integer >= 1")
    if not _number(cfg.theta) or cfg.theta <= 0:
        raise ConfigError(f"theta={cfg.theta!r} is out of range; accepted: theta > 0")
    if cfg.reset not in RESETS:
        raise ConfigError(f"reset={cfg.reset!r} is unknown; accepted: {', '.join(RESETS)}")
    if cfg.encoding not in ENCODINGS:
        raise ConfigError(f"encoding={cfg.encoding!r} is unknown; accepted: {', '.join(ENCODINGS)}")
    accepted = list(cfg.dataset.encodings)
    if cfg.encoding not in accepted:
        raise ConfigError(
            f"encoding={cfg.encoding!r} does not fit dataset={cfg.dataset.name}; "
            f"accepted: {', '.join(accepted)}"
        )
    frames = cfg.dataset.params.get("frames")
    if frames is not None and frames != cfg.T:
        raise ConfigError(f"dataset.params.frames={frames} does not match T={cfg.T}; accepted: "
                          "frames equal to T (the default, frames: ${T})")
    eps = eps_values(cfg)
    if not all(_number(e) and e >= 0 for e in eps):
        raise ConfigError(f"eps={list(eps)!r} is out of range; accepted: a list of numbers >= 0 "
                          "in units of 1/255, e.g. eps=[8,16]")
    if not set(cfg.boxes) <= set(BOXES) or not len(cfg.boxes):
        raise ConfigError(f"boxes={list(cfg.boxes)!r} is out of range; accepted: "
                          "a non-empty subset of [white, black]")
    if cfg.attack.grad_mode not in GRADIENT_MODES:
        raise ConfigError(f"attack.grad_mode={cfg.attack.grad_mode!r} is unknown; "
                          f"accepted: {', '.join(GRADIENT_MODES)}")
    if not cfg.get("method"):
        raise ConfigError("method is empty; accepted: one or more of fgsm, pgd, e.g. method=[pgd]")
    for key in ("epochs", "batch_size"):
        if not _int(cfg.train[key]) or cfg.train[key] < 1:
            raise ConfigError(f"train.{key}={cfg.train[key]!r} is out of range; "
                              "accepted: an integer >= 1")
    for key in ("lr", "weight_decay", "momentum"):
        if not _number(cfg.train[key]) or cfg.train[key] < 0:
            raise ConfigError(f"train.{key}={cfg.train[key]!r} is out of range; accepted: >= 0")
    _validate_kinds(cfg)
    threads = cfg.threads
    if threads != "auto" and (not _int(threads) or threads < 1):
        raise ConfigError(f"threads={threads!r} is out of range; accepted: an integer >= 1 or auto")
    strategy = str(cfg.trainer.get("strategy", "auto"))
    if "spawn" in strategy or "fork" in strategy or "notebook" in strategy:
        raise ConfigError(
            f"trainer.strategy={strategy} is not supported: processes started that way cannot "
            "share the checkpoint store safely; accepted: auto, ddp (e.g. trainer=ddp_cpu)"
        )


def _validate_kinds(cfg: DictConfig) -> None:
    """Checks of ``train.kind``, ``source_train``, ``encoding_levels`` and the kinds' settings."""
    kinds = ", ".join(STRATEGIES)
    if cfg.train.kind not in STRATEGIES:
        raise ConfigError(f"train.kind={cfg.train.kind!r} is unknown; accepted: {kinds}")
    source = cfg.get("source_train")
    if source is not None and source not in STRATEGIES:
        raise ConfigError(f"source_train={source!r} is unknown; accepted: null or {kinds}")
    levels = cfg.get("encoding_levels")
    if levels is not None and (not _int(levels) or levels < 2):
        raise ConfigError(f"encoding_levels={levels!r} is out of range; "
                          "accepted: null (off) or an integer >= 2")
    used = {cfg.train.kind} | ({source} if source and "black" in cfg.boxes else set())
    if used - {"stbp"} and cfg.encoding not in INPUT_ENCODINGS:
        raise ConfigError(f"encoding={cfg.encoding} has no ANN counterpart (train kinds "
                          f"{sorted(used)}); accepted: {', '.join(INPUT_ENCODINGS)}")
    if used & {"conversion", "hybrid"} and cfg.model.name not in CONVERTIBLE_MODELS:
        raise ConfigError(f"model={cfg.model.name} cannot be converted (train kinds "
                          f"{sorted(used)}); accepted: {', '.join(CONVERTIBLE_MODELS)}")
    p = cfg.train.conversion.percentile
    if not _number(p) or not 0 < p <= 100:
        raise ConfigError(f"train.conversion.percentile={p!r} is out of range; "
                          "accepted: 0 < percentile <= 100")
    for key in ("conversion.batches", "hybrid.epochs"):
        block, leaf = key.split(".")
        if not _int(cfg.train[block][leaf]) or cfg.train[block][leaf] < 1:
            raise ConfigError(f"train.{key}={cfg.train[block][leaf]!r} is out of range; "
                              "accepted: an integer >= 1")
    if not _number(cfg.train.hybrid.lr) or cfg.train.hybrid.lr < 0:
        raise ConfigError(f"train.hybrid.lr={cfg.train.hybrid.lr!r} is out of range; "
                          "accepted: >= 0")
