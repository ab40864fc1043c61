"""What is read of a kept config, read once.

The Python API composes and validates a config once per distinct argument list and keeps it
read-only (:func:`snnattack.preparation.config.job_config` with ``shared=True``), so that no
caller changes it. What a preparation reads of it (its settings, its resolved tree) is then the
same at every read: :func:`read_once` reads it once while the config lives, again where
a variable of the environment that its interpolations read has changed. A preparation is
made afresh after each optimiser step of a training loop that evaluates each batch (or that
moves a number an adaptation read, a learned decay), and once per model of a loop over
checkpoints, each reading the same config (about 25 ms of resolving its interpolations per
:func:`snnattack.evaluate` preparation), inside the call where the kept one's check failed.
"""

from __future__ import annotations

import os
import re
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

T = TypeVar("T")

# what was read of each kept config, by its identity and what was read, while it lives: the
# variables its interpolations read (:func:`_variables`), their values then, and the value
_READ: dict[tuple[int, Hashable], tuple[tuple[str, ...] | None, Any, Any]] = {}
ENV = re.compile(r"oc\.env:([^,}]+)")  # the variable an interpolation reads


def read_once(cfg: DictConfig, what: Hashable, read: Callable[[], T]) -> T:
    """``read()``, what ``what`` names of ``cfg``: of a kept config (read-only, never changed)
    read at its first call and the same object returned at each later one while ``cfg``
    lives and the variables its interpolations read (``${oc.env:SNNATTACK_STORE,models}``:
    :func:`_variables`) hold the same values, so it must not be changed (a frozen settings
    object, or a copy the caller makes); of any other config read at every call. A variable
    no interpolation names may change meanwhile: the call's own (cuBLAS's workspace, which
    deterministic kernels set for the call, and Lightning's seed) leave the read as it is."""
    if not OmegaConf.is_readonly(cfg):
        return read()
    key = (id(cfg), what)
    kept = _READ.get(key)
    if kept is None:
        weakref.finalize(cfg, _READ.pop, key, None)  # before its id can be another's
        names = _variables(cfg)
    else:
        names = kept[0]
    environment = dict(os.environ) if names is None else [os.environ.get(n) for n in names]
    if kept is None or kept[1] != environment:
        kept = _READ[key] = (names, environment, read())
    return kept[2]


def _variables(cfg: DictConfig) -> tuple[str, ...] | None:
    """The environment variables that ``cfg``'s interpolations read (``${oc.env:NAME}``), or
    None where one is named by another interpolation (``${oc.env:${name}}``): then every
    variable is compared."""
    names = [n.strip(" '\"") for n in ENV.findall(str(OmegaConf.to_container(cfg)))]
    return None if any("$" in n for n in names) else tuple(dict.fromkeys(names))
