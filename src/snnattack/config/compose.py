"""Hydra's compose in one place: the job config of ``conf/`` with the command line's overrides,
as ``run.py`` composes it, for every entrance that composes one in the process (the Python API,
the benchmark through it, and outside the package the measurements of the checkout's
``tools/stored.py``)."""

from __future__ import annotations

from collections.abc import Sequence

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
