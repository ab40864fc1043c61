"""snnattack: adversarial robustness of spiking neural networks (STBP training, RGA attacks).

The Python API (:mod:`snnattack.api`): ``snnattack.evaluate``, ``snnattack.attack`` and
``snnattack.gradient_mode``; ``snnattack.load`` (:mod:`snnattack.training.files`) reads a model
file into a native model; ``snnattack.benchmark`` (:mod:`snnattack.benchmark`) is the benchmark,
``snnattack.benchmark.evaluate(model, protocol=..., name=...)``; ``snnattack.interop.adapt``
(:mod:`snnattack.interop`) adapts a network of another library. Each is imported on first use
(a module ``__getattr__``, PEP 562) so that ``import snnattack`` stays light.
"""

import importlib
import random

from snnattack.package import __version__

API = ("evaluate", "attack", "gradient_mode")  # the functions of snnattack.api
LOADERS = ("load",)  # the functions of snnattack.training.files
# subpackages served as attributes: snnattack.benchmark.evaluate, snnattack.interop.adapt
PACKAGES = ("benchmark", "interop")
__all__ = ["__version__", *API, *LOADERS, *PACKAGES]


def __getattr__(name: str) -> object:
    if name not in (*API, *LOADERS, *PACKAGES):
        raise AttributeError(f"module 'snnattack' has no attribute {name!r}")
    drawn = random.getstate()  # a library imported on first use draws from it (rich's ids)
    try:
        if name in API:
            from snnattack import api

            return getattr(api, name)
        if name in LOADERS:
            from snnattack.training import files

            return getattr(files, name)
        return importlib.import_module(f"snnattack.{name}")
    finally:  # the user's seeded draws as without the call
        random.setstate(drawn)
