"""The benchmark: fixed protocols (``experiments/benchmark/``), one entry per model and
protocol, and the leaderboard page built from a folder of entries (docs/benchmark.md).

- :mod:`~snnattack.benchmark.protocol`: the protocol files, by name and version;
- :mod:`~snnattack.benchmark.release`: the released protocol files' hashes, ``python -m
  snnattack.benchmark.release``;
- :mod:`~snnattack.benchmark.entry`: an entry from a job record, its schema and its check;
- :mod:`~snnattack.benchmark.run`: ``snnattack.benchmark(model, protocol=..., name=...)``;
- :mod:`~snnattack.benchmark.callback`: the entry of a ``run.py`` job launched on a protocol;
- :mod:`~snnattack.benchmark.leaderboard`: ``python -m snnattack.benchmark.leaderboard DIR``.

The package is the top layer, above the Python API it calls. It is also callable, so that
``snnattack.benchmark(model, ...)`` runs :func:`snnattack.benchmark.run.benchmark` while
``snnattack.benchmark.leaderboard`` stays a module: Python lets a module set its own class
to a subclass of ``ModuleType`` (the data model's "Customizing module attribute access").
Importing it stays light: the run's modules load on the first call.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any


class _Benchmark(ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from snnattack.benchmark.run import benchmark

        return benchmark(*args, **kwargs)

    __call__.__doc__ = "snnattack.benchmark(model, ...): see snnattack.benchmark.run.benchmark."


sys.modules[__name__].__class__ = _Benchmark
