"""Registries that the modules of a package fill themselves: a new entry is one new module.

Every kind of extension (gradient modes, kinds of training, attack methods, datasets, models,
analyses, report tables and figures, foreign-library adapters, surrogates) is registered the
same way: a :class:`Registry` beside the kind's interface, a module per entry decorated with
its ``register``, and the package's ``__init__`` calling :func:`discover`, which imports each
of its modules. An entry may declare
its ``order``, its place in every listing (accepted values, report columns and tables), so
the listings do not follow the modules' alphabetical order; entries of equal order keep the
order they were registered in.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from typing import TypeVar

Entry = TypeVar("Entry")
Registered = TypeVar("Registered")


def discover(package: str, path: Iterable[str]) -> None:
    """Imports every module of ``package`` (whose ``__path__`` is ``path``), each of which
    registers what it defines; ``__main__`` (a command line, run with ``python -m``) is not
    imported."""
    for module in pkgutil.iter_modules(path):
        if module.name != "__main__":
            importlib.import_module(f"{package}.{module.name}")


class Registry(dict[str, Entry]):
    """Entries by name, kept in their declared order: a dict its package's modules fill."""

    def __init__(self) -> None:
        super().__init__()
        self.orders: dict[str, float] = {}

    def enter(self, name: str, entry: Entry, order: float = 0.0) -> None:
        """Adds ``entry`` as ``name`` at its place by ``order``; a name given twice is a
        ``ValueError`` (two modules claiming one name)."""
        if name in self:
            raise ValueError(f"{name!r} is registered twice")
        self.orders[name] = order
        place = self.orders.get  # an entry set as a plain item (a test's patch) counts as 0
        entries = sorted([*self.items(), (name, entry)], key=lambda item: place(item[0], 0.0))
        self.clear()
        self.update(entries)

    def register(self, name: str, /, *, order: float = 0.0) -> Callable[[Registered], Registered]:
        """Decorator: what it decorates (a class or a function) is the entry ``name``."""

        def add(entry: Registered) -> Registered:
            self.enter(name, entry, order)  # type: ignore[arg-type]
            return entry

        return add

    def __delitem__(self, name: str) -> None:
        super().__delitem__(name)
        self.orders.pop(name, None)
