"""snnattack: adversarial robustness of spiking neural networks (STBP training, RGA attacks).

The Python API (:mod:`snnattack.api`): ``snnattack.evaluate``, ``snnattack.attack`` and
``snnattack.gradient_mode``; ``snnattack.load`` (:mod:`snnattack.models.files`) reads a model
file into a native model. Each is imported on first use so that ``import snnattack`` stays
light.
"""

from snnattack.package import __version__

API = ("evaluate", "attack", "gradient_mode")  # the functions of snnattack.api
LOADERS = ("load",)  # the functions of snnattack.models.files
__all__ = ["__version__", *API, *LOADERS]
from snnattack import benchmark as benchmark  # noqa: E402  snnattack.benchmark(model, ...)


def __getattr__(name: str) -> object:
    if name in API:
        from snnattack import api

        return getattr(api, name)
    if name in LOADERS:
        from snnattack.models import files

        return getattr(files, name)
    raise AttributeError(f"module 'snnattack' has no attribute {name!r}")
