"""The black-box source: the model adversarial examples are crafted on and transferred from.

It is the target's config changed by the ``source_*`` settings (another kind of training,
``lambda``, ``T`` or architecture), trained with the seed ``seed + source_seed_offset``, or
the model file ``source_checkpoint=``. Its settings are derived from the config once
(:func:`snnattack.training.parse.source_config`) and carried in ``JobSettings.source``.
"""

from __future__ import annotations

from functools import partial

import lightning as L
from torch import nn

from snnattack.interop.external import is_external
from snnattack.records.store import ModelStore
from snnattack.settings import JobSettings
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


def check_stored(job: JobSettings, store: ModelStore) -> None:
    """Refuses, before any training, an unusable stored model that the job will read (the
    target's or the black-box source's)."""
    where = job.store
    target = where.checkpoint or is_external(job.model.tree)
    wanted = [] if target else [(job.model, where.seed)]
    if where.black_box and not where.source_checkpoint:
        wanted.append((job.source, where.source_seed))
    store.check([(store_key(m, seed), partial(build_model, m)) for m, seed in wanted])
