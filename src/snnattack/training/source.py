"""The black-box source: the model adversarial examples are crafted on and transferred from.

It is the target's config changed by the ``source_*`` settings (another kind of training,
``lambda``, ``T`` or architecture), trained with the seed ``seed + source_seed_offset``, or
the model file ``source_checkpoint=``. Its settings are derived from the config once
(:func:`snnattack.config.settings.source_config`) and carried in ``JobSettings.source``.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import lightning as L
from torch import nn

from snnattack.interop.external import is_external
from snnattack.records.results import AttackRow
from snnattack.records.store import ModelStore
from snnattack.settings import JobSettings, ModelSettings
from snnattack.training.store_key import store_key
from snnattack.training.trained import Built, build_model, model_from_file, trained_model


def source_model(
    job: JobSettings, store: ModelStore, trainers: list[L.Trainer], built: Built
) -> tuple[nn.Module | None, dict | None]:
    """The source model and its record; (None, None) when no black-box attack is asked for.
    A ``source_checkpoint=`` file validation ``built`` (loaded) is not read again."""
    where = job.store
    if not where.black_box:
        return None, None
    if where.source_checkpoint:
        return model_from_file(job.model, where.source_checkpoint, built.source_checkpoint)
    return trained_model(job.source, where.source_seed, store, trainers, job.tracking)


def crafting_models(job: JobSettings) -> dict[str, ModelSettings]:
    """The model each box crafts on: white, the target; black, the source."""
    return {"white": job.model, "black": job.source}


def with_kinds(
    rows: list[AttackRow], target: dict, source: dict | None, crafting: dict[str, ModelSettings]
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
                source_model=model.name,
                source_lambda=own_lambda(record, model.tree["lambda"]),
                source_T=model.tree["T"],
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


def check_stored(job: JobSettings, store: ModelStore) -> None:
    """Refuses, before any training, an unusable stored model that the job will read (the
    target's or the black-box source's)."""
    where = job.store
    target = where.checkpoint or is_external(job.model.tree)
    wanted = [] if target else [(job.model, where.seed)]
    if where.black_box and not where.source_checkpoint:
        wanted.append((job.source, where.source_seed))
    store.check([(store_key(m, seed), partial(build_model, m)) for m, seed in wanted])
