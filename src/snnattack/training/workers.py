"""The data loader's workers (``dataset.params.num_workers``) against this machine's cores.

More workers than cores froze a job for good (1000 on 2 cores), so they are refused, but only
where the job trains with them. The workers key a trained model (they change its training's
random draws: ``store_key.TRAINING_KEYS``), and a job whose models are all stored trains none:
it reads them on a machine of fewer cores, and its attacks load with as many workers as it has
cores (a worker count changes no attack: each evaluation batch's draws are seeded by its
index, :mod:`snnattack.data.base`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from omegaconf import OmegaConf

from snnattack.config.parse import store_settings
from snnattack.config.validation import spelt
from snnattack.errors import ConfigError
from snnattack.process.distributed import cores
from snnattack.records.store import ModelStore
from snnattack.settings import DataSettings
from snnattack.training.parse import model_settings, source_config
from snnattack.training.source import wanted_models
from snnattack.training.store_key import store_key
from snnattack.values import CHECKS, NOTES, is_int


def most_workers() -> int:
    """The most data-loader workers this process runs: its cores (torch's own suggested
    most), and the defaults' 2 always."""
    return max(cores(), 2)


def _over(resolved: dict[str, Any]) -> int | None:
    """The config's workers where they are more than :func:`most_workers`, else None."""
    workers = (resolved["dataset"].get("params") or {}).get("num_workers")
    return workers if is_int(workers) and workers > most_workers() else None


def trains(resolved: dict[str, Any]) -> bool:
    """Whether a job of the config ``resolved`` trains a model: its target or its black-box
    source is not in the store (``store.dir``; a model file or ``model=external``'s network is
    not trained). Its numbers are spelt as the job's store keys spell them (``lambda=1`` as
    ``1.0``), which the checks' ``resolved`` does not yet."""
    cfg = OmegaConf.create(resolved)
    spelt(cfg, resolved)
    where = store_settings(cfg)
    wanted = wanted_models(where, model_settings(cfg), model_settings(source_config(cfg)))
    store = ModelStore(where.dir)
    return not all(store.has(store_key(model, seed)) for model, seed in wanted)


@CHECKS.register("workers_fit_cores", order=18.2)
def _workers_fit_cores(resolved: dict[str, Any]) -> None:
    """Refuses more data-loader workers than this process's cores for a job that trains with
    them (:func:`trains`)."""
    workers = _over(resolved)
    if workers is not None and trains(resolved):
        most = most_workers()
        raise ConfigError(
            f"dataset.params.num_workers={workers} is more than this machine's {most} cores, "
            f"and its loader would run slow or freeze (torch's warning); accepted: an "
            f"integer in [0, {most}] (models stored with more workers, which key them, are "
            "read with any count: a job whose models are all stored trains none)"
        )


@NOTES.register("workers")
def _workers_note(resolved: dict[str, Any]) -> list[str]:
    """More workers than cores where the job trains no model (its models are stored, model
    files, or ``model=external``'s network), one line: the attacks load with fewer
    (:func:`attack_data`)."""
    workers = _over(resolved)
    if workers is None:
        return []
    return [
        f"dataset.params.num_workers={workers} is more than this machine's {most_workers()} "
        f"cores: the job trains no model (its models are stored or given as files), and its "
        f"attacks load with {most_workers()}"
    ]


def attack_data(data: DataSettings) -> DataSettings:
    """The job's datamodule ``data`` for its attacks (tuning, attacks, annotations): with at
    most :func:`most_workers` workers, which change none of their numbers."""
    workers = data.params.get("num_workers")
    if not is_int(workers) or workers <= most_workers():
        return data
    return replace(data, params={**data.params, "num_workers": most_workers()})
