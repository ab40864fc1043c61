"""Registries that the modules of a package fill themselves: a new entry is one new module.

A package's ``__init__`` calls :func:`discover`, which imports each of its modules; a module
registers what it defines (a gradient mode, a kind of training) with :func:`enter`. Each entry
declares its ``order``, its place in every listing (accepted values, report columns), so the
listings do not follow the modules' alphabetical order.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from typing import Any


def discover(package: str, path: Iterable[str]) -> None:
    """Imports every module of ``package`` (whose ``__path__`` is ``path``)."""
    for module in pkgutil.iter_modules(path):
        importlib.import_module(f"{package}.{module.name}")


def enter(registry: dict[str, Any], name: str, entry: Any) -> None:
    """Adds ``entry`` as ``name``; ``registry`` stays sorted by each entry's ``order``."""
    if name in registry:
        raise ValueError(f"{name!r} is registered twice")
    entries = sorted([*registry.items(), (name, entry)], key=lambda item: item[1].order)
    registry.clear()
    registry.update(entries)
