"""Spiking network architectures, built by name: ``build("digits_net", num_classes=10, ...)``."""

from snnattack.models import digits, resnet, vgg, wrn  # noqa: F401  (registers their architectures)
from snnattack.models.registry import MODELS, build, register

__all__ = ["MODELS", "build", "register"]
