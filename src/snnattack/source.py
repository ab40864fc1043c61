"""The black-box source: the model adversarial examples are crafted on and transferred from.

It is the target's config changed by the ``source_*`` settings (another kind of training,
``lambda``, ``T`` or architecture), trained with the seed ``seed + source_seed_offset``, or
the model file ``source_checkpoint=``.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import lightning as L
from omegaconf import DictConfig, OmegaConf
from torch import nn

from snnattack.interop.external import is_external
from snnattack.records.results import AttackRow
from snnattack.records.store import ModelStore
from snnattack.training.base import with_train
from snnattack.training.spec import training_spec
from snnattack.training.trained import build_model, model_from_file, trained_model

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


def source_model(
    cfg: DictConfig, store: ModelStore, trainers: list[L.Trainer]
) -> tuple[nn.Module | None, dict | None]:
    """The source model and its record; (None, None) when no black-box attack is asked for."""
    if "black" not in cfg.boxes:
        return None, None
    if cfg.source_checkpoint:
        return model_from_file(cfg, cfg.source_checkpoint, "source_checkpoint")
    return trained_model(source_config(cfg), cfg.seed + cfg.source_seed_offset, store, trainers)


def crafting_configs(cfg: DictConfig) -> dict[str, DictConfig]:
    """The config of the model each box crafts on: white, the target's; black, the source's."""
    return {"white": cfg, "black": source_config(cfg)}


def with_kinds(
    rows: list[AttackRow], target: dict, source: dict | None, crafting: dict[str, DictConfig]
) -> list[AttackRow]:
    """Result rows with the target's kind and the crafting model's kind, architecture, λ and T
    (white box: the target's; black box: the source's). λ is the model's own where its record
    lists its neurons (``model=external``: the config's ``lambda`` is unused there)."""
    out = []
    for r in rows:
        model = crafting[r.box]
        record = target if r.box == "white" else source
        out.append(
            replace(
                r,
                target_kind=target["kind"],
                source_kind=record["kind"],
                source_model=model.model.name,
                source_lambda=own_lambda(record, model["lambda"]),
                source_T=model.T,
            )
        )
    return out


def own_lambda(record: dict, configured: float) -> float | None:
    """A model's leak λ: its LIFs' own where its record lists them (None if they differ by
    layer), else the ``configured`` one."""
    if "neurons" not in record:
        return configured
    lams = {n["lambda"] for n in record["neurons"]}
    return lams.pop() if len(lams) == 1 else None


def check_stored(cfg: DictConfig, store: ModelStore) -> None:
    """Refuses, before any training, an unusable stored model that the job will read (the
    target's or the black-box source's)."""
    wanted = [] if cfg.checkpoint or is_external(cfg) else [(cfg, cfg.seed)]
    if "black" in cfg.boxes and not cfg.source_checkpoint:
        wanted.append((source_config(cfg), cfg.seed + cfg.source_seed_offset))
    store.check([(training_spec(c, seed), partial(build_model, c)) for c, seed in wanted])
