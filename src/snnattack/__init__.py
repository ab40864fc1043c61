"""snnattack: adversarial robustness of spiking neural networks (STBP training, RGA attacks).

The Python API (:mod:`snnattack.api`): ``snnattack.evaluate``, ``snnattack.attack`` and
``snnattack.gradient_mode``, imported on first use so that ``import snnattack`` stays light.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("snnattack")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

API = ("evaluate", "attack", "gradient_mode")  # the functions of snnattack.api
from snnattack import benchmark as benchmark  # noqa: E402  snnattack.benchmark(model, ...)


def __getattr__(name: str) -> object:
    if name in API:
        from snnattack import api

        return getattr(api, name)
    raise AttributeError(f"module 'snnattack' has no attribute {name!r}")
