"""Spiking network architectures, built by name: ``build("digits_net", num_classes=10, ...)``.

Each architecture registers itself (``@register`` in its module); this package imports every
module, so a new one is its module and its ``conf/model/<name>.yaml``.
"""

from snnattack.models.zoo import MODELS, build, register
from snnattack.registry import discover

discover(__name__, __path__)

__all__ = ["MODELS", "build", "register"]
