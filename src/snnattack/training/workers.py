"""The data loader's workers (``dataset.params.num_workers``) against this machine's cores.

More workers than cores froze a job for good (1000 on 2 cores), so they are refused where the
job trains with them (:func:`snnattack.training.training_data.models_to_train`, a lookup of its
store keys: the job's check, not the config's). A job whose models are all stored trains none,
and its attacks load with as many workers as it has cores: a worker count changes no attack
(each batch's draws are seeded by its index).
"""

from __future__ import annotations

from dataclasses import replace

from snnattack.errors import ConfigError
from snnattack.process.distributed import cores
from snnattack.settings import DataSettings
from snnattack.values import is_int


def most_workers() -> int:
    """The most data-loader workers this process runs: its cores (torch's own suggested
    most), and the defaults' 2 always."""
    return max(cores(), 2)


def _over(data: DataSettings) -> int | None:
    """The datamodule ``data``'s workers where they are more than :func:`most_workers`, else
    None."""
    workers = data.params.get("num_workers")
    return workers if is_int(workers) and workers > most_workers() else None


def workers_notes(data: DataSettings, trains: bool) -> list[str]:
    """Refuses more data-loader workers than this process's cores in the datamodule ``data``
    of a job that ``trains`` a model with them; for a job that trains none (its models are
    stored, model files, or ``model=external``'s network), the note that its attacks load with
    fewer (:func:`attack_data`), one line. No line where the workers fit."""
    workers, most = _over(data), most_workers()
    if workers is None:
        return []
    if trains:
        raise ConfigError(
            f"dataset.params.num_workers={workers} is more than this machine's {most} cores, "
            f"and its loader would run slow or freeze (torch's warning); accepted: an "
            f"integer in [0, {most}] (models stored with more workers, which key them, are "
            "read with any count: a job whose models are all stored trains none)"
        )
    return [
        f"dataset.params.num_workers={workers} is more than this machine's {most} cores: the "
        f"job trains no model (its models are stored or given as files), and its attacks load "
        f"with {most}"
    ]


def attack_data(data: DataSettings) -> DataSettings:
    """The job's datamodule ``data`` for its attacks (tuning, attacks, annotations): with at
    most :func:`most_workers` workers, which change none of their numbers."""
    if _over(data) is None:
        return data
    return replace(data, params={**data.params, "num_workers": most_workers()})
