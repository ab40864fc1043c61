"""Hydra's compose in one place: the job config of ``conf/`` with the command line's overrides,
as ``run.py`` composes it, for every entrance that composes one in the process (the Python API,
the benchmark through it, and outside the package the measurements of the checkout's
``tools/stored.py``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from snnattack.package import CONF_DIR


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The job config (``conf/config.yaml``) with ``overrides`` (``key=value`` strings, as on
    the command line), composed, not validated
    (:func:`snnattack.config.validation.validate`). Hydra's refusal of an override raises its
    own exception."""
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def hydra_value(value: Any) -> str:
    """``value`` (a YAML scalar, list or dict; a 0-d tensor or array: its number) as the
    right-hand side of a Hydra override: a protocol's settings, the Python API's arguments."""
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and not re.fullmatch(r"[A-Za-z0-9_.\-/]+", value):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)
