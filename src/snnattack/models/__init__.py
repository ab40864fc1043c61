"""Spiking network architectures, built by name: ``build("digits_net", num_classes=10, ...)``."""

from snnattack.models import digits  # noqa: F401  (registers its architectures)
from snnattack.models.registry import MODELS, build, register

__all__ = ["MODELS", "build", "register"]
