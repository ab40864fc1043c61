"""The benchmark: fixed protocols (``experiments/benchmark/``), one entry per model and
protocol, and the leaderboard page built from a folder of entries (docs/benchmark.md).

- :mod:`~snnattack.benchmark.protocol`: the protocol files, by name and version;
- :mod:`~snnattack.benchmark.release`: the released protocol files' hashes, ``python -m
  snnattack.benchmark.release``;
- :mod:`~snnattack.benchmark.entry`: an entry from a job record, its schema and its check;
- :mod:`~snnattack.benchmark.evaluation`: :func:`evaluate`, ``snnattack.benchmark.evaluate(model,
  protocol=..., name=...)``, its arguments checked before any work by
  :mod:`~snnattack.benchmark.arguments`;
- :mod:`~snnattack.benchmark.callback`: the entry of a ``run.py`` job launched on a protocol;
- :mod:`~snnattack.benchmark.leaderboard`: ``python -m snnattack.benchmark.leaderboard DIR``.

The package is the top layer, above the Python API it calls. ``import snnattack`` does not
import it: the root serves ``snnattack.benchmark`` on first use (``snnattack.__getattr__``).
Nor does the package import its evaluation (the API, the attacks, torch) until
``snnattack.benchmark.evaluate`` is first used (a module ``__getattr__``, PEP 562), so that the
leaderboard, the entries and the protocols' release answer without torch.
"""

EVALUATION = ("evaluate",)  # the functions of snnattack.benchmark.evaluation
__all__ = [*EVALUATION]


def __getattr__(name: str) -> object:
    if name in EVALUATION:
        from snnattack.benchmark import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module 'snnattack.benchmark' has no attribute {name!r}")
