"""Checks of a composed config, before any work: one clear line per wrong value.

In order: every key is one the project reads (:mod:`.keys`), each key's value passes its rule
(:mod:`.rules`), the keys fit together (:mod:`.combinations`), and the machine and the files
can do the job (:mod:`.preflight`). :func:`validate` runs them all, and hands the job what
it built to check (:class:`Validation`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from snnattack.config.combinations import COMBINATIONS
from snnattack.config.keys import check_keys
from snnattack.config.notes import notes
from snnattack.config.preflight import PREFLIGHT, built_models, data_files, writable
from snnattack.config.rules import RULES, check_rules
from snnattack.errors import ConfigError
from snnattack.training.trained import Built
from snnattack.values import Rule

__all__ = [
    "COMBINATIONS",
    "PREFLIGHT",
    "RULES",
    "Rule",
    "Validation",
    "notes",
    "validate",
    "writable",
]

log = logging.getLogger(__name__)


def _flat(node: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted key, value) of a resolved config; lists are values, dicts are walked."""
    for k, v in node.items():
        if isinstance(v, dict):
            yield from _flat(v, f"{prefix}{k}.")
        else:
            yield prefix + k, v


def _resolved(cfg: DictConfig) -> dict[str, Any]:
    try:
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "config"
        first = str(err).strip().splitlines()[0]
        raise ConfigError(
            f"{key} cannot be resolved ({first}); accepted: a value or an "
            "interpolation that resolves, e.g. ${{oc.env:NAME,default}}"
        ) from None


@dataclass(frozen=True)
class Validation:
    """What :func:`validate` hands the job: the ``notes`` (settings accepted with a note), and
    the models it ``built`` to check them (model files loaded, the user's factory's network),
    which the job uses instead of building them again."""

    notes: tuple[str, ...]
    built: Built


def validate(cfg: DictConfig, output_dir: Path | None = None) -> Validation:
    """Raises :class:`ConfigError` naming the first key whose value is not accepted.

    Unknown keys first, then each key's own rule, then the checks of several keys together,
    then the machine, then the model files and the user's factory (:func:`built_models`),
    then (with ``output_dir``: a job) the data files and that the output folder and the store
    can be written. Settings
    accepted with a note (:mod:`.notes`) are logged, and returned: computed once here, the
    job's settings keep them for its record (:class:`~snnattack.settings.JobSettings`). So
    are the models built: the job attacks them as they are (:class:`Validation`).
    """
    check_keys(OmegaConf.to_container(cfg, resolve=False))
    resolved = _resolved(cfg)
    if not isinstance(resolved.get("eps"), list):
        resolved["eps"] = [resolved.get("eps")]  # eps=8 counts as a list of one
    check_rules(_flat(resolved))
    for check in (*COMBINATIONS, *PREFLIGHT):
        check(resolved)
    built = built_models(resolved)
    if output_dir is not None:
        data_files(resolved)
        writable(Path(output_dir), "the output folder")
        writable(Path(resolved["store"]["dir"]), "store.dir", must_exist=False)
    found = tuple(notes(resolved))
    for line in found:
        log.warning("note: %s", line)
    return Validation(found, built)
