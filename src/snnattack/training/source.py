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

from snnattack.errors import UserError
from snnattack.interop.external import is_external
from snnattack.records.store import ModelStore
from snnattack.settings import JobSettings, ModelSettings, StoreSettings
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


def check_not_target(target: dict | None, source: dict | None) -> None:
    """Refuses a black-box source that is the target itself: the same store model (a
    ``checkpoint=`` of the store's source seed), or a file of the same bytes (one file for
    both however its paths are spelt, or a copy of it), whose black-box rows would be
    white-box rows, as ``source_seed_offset=0`` is refused for."""
    said = {"key": "key", "sha256": "file contents, sha256"}
    same = [
        f"{said[key]} {target[key]}"
        for key in said
        if target and source and target.get(key) is not None and target[key] == source.get(key)
    ]
    if same:
        raise UserError(
            f"the black-box source is the target itself (the same {same[0]}): its black-box "
            "rows would be white-box rows; accepted: another source (source_checkpoint=, "
            "source_seed_offset, a source_* setting), or boxes=[white]"
        )


def check_stored(job: JobSettings, store: ModelStore) -> None:
    """Refuses, before any training, an unusable stored model that the job will read (the
    target's or the black-box source's)."""
    wanted = wanted_models(job.store, job.model, job.source)
    store.check([(store_key(m, seed), partial(build_model, m)) for m, seed in wanted])


def wanted_models(
    where: StoreSettings, model: ModelSettings, source: ModelSettings
) -> list[tuple[ModelSettings, int]]:
    """The models a job reads from the store, each with its seed: the target ``model``
    (unless a model file or ``model=external``'s network is attacked) and the black-box
    ``source`` (where one is attacked from and no model file is named)."""
    target = where.checkpoint or is_external(model.tree)
    wanted = [] if target else [(model, where.seed)]
    if where.black_box and not where.source_checkpoint:
        wanted.append((source, where.source_seed))
    return wanted
