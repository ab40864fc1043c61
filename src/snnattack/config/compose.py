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
    right-hand side of a Hydra override: a protocol's settings, the Python API's arguments,
    which Hydra reads back as ``value`` (``stbp`` bare; ``'8'``, ``'true'`` quoted). Not
    :func:`~snnattack.values.as_typed`, a message's spelling (every text quoted, spaces after
    commas): these are Hydra's to parse, and an entry records them as they are."""
    value = scalar(value)
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and not _bare(value):  # Hydra escapes \\ before ' or the end
        escaped = re.sub(r"(\\*)('|$)", lambda m: m[1] * 2 + "\\" * bool(m[2]) + m[2], value)
        return f"'{escaped}'"
    return str(value)


def scalar(value: Any) -> Any:
    """``value``, or its number where it is a 0-d tensor or array: the Python API takes those
    wherever it takes a number or a switch (``eps=torch.tensor(8)``, ``tune=np.bool_(True)``)."""
    return value.item() if getattr(value, "ndim", None) == 0 and hasattr(value, "item") else value


def _bare(text: str) -> bool:
    """Whether Hydra reads ``text`` unquoted as that text: a name or a path, not a number
    (``8``, ``1e3``, ``-inf``), a switch or null (``true``, ``NULL``)."""
    try:
        float(text)
    except ValueError:
        named = re.fullmatch(r"[A-Za-z0-9_.\-/]+", text) is not None
        return named and text.lower() not in ("true", "false", "null")  # Hydra's, any case
    return False
