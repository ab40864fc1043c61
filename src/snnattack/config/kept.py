"""What is read of a kept config, read once.

The Python API composes and validates a config once per distinct argument list and keeps it
read-only (:func:`snnattack.preparation.config.job_config` with ``shared=True``), so that no
caller changes it. What a preparation reads of it (its settings, its resolved tree) is then the
same at every read: :func:`read_once` reads it once while the config lives, again where
the environment that its interpolations read has changed. A preparation is
made afresh after each optimiser step of a training loop that attacks or evaluates each batch,
and once per model of a loop over checkpoints, each reading the same config (about 25 ms of
resolving its interpolations per :func:`snnattack.evaluate` preparation).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

T = TypeVar("T")

# what was read of each kept config, by its identity and what was read, while it lives: the
# environment it was read in, and the value
_READ: dict[tuple[int, Hashable], tuple[dict[str, str], Any]] = {}


def read_once(cfg: DictConfig, what: Hashable, read: Callable[[], T]) -> T:
    """``read()``, what ``what`` names of ``cfg``: of a kept config (read-only, never changed)
    read at its first call and the same object returned at each later one while ``cfg``
    lives and the environment is the same (its interpolations read variables:
    ``${oc.env:SNNATTACK_STORE,models}``), so it must not be changed (a frozen settings
    object, or a copy the caller makes); of any other config read at every call."""
    if not OmegaConf.is_readonly(cfg):
        return read()
    key, environment = (id(cfg), what), dict(os.environ)
    kept = _READ.get(key)
    if kept is None:
        weakref.finalize(cfg, _READ.pop, key, None)  # before its id can be another's
    if kept is None or kept[0] != environment:
        kept = _READ[key] = (environment, read())
    return kept[1]
