"""Kinds of training, chosen by ``train.kind``: each a :class:`Strategy` in its own module that
registers itself in :data:`STRATEGIES` (``stbp``, ``ann``, ``conversion``, ``hybrid``, ...).

This package imports every module, so a new kind is its module (and its block in
``conf/train/_kinds.yaml`` if it reads one).
"""

from snnattack.registry import discover
from snnattack.training.base import STRATEGIES, Strategy, TrainContext, build_net, register
from snnattack.training.classifier import SELECTION, TRAINING_VERSION, Classifier

discover(__name__, __path__)

__all__ = [
    "STRATEGIES",
    "SELECTION",
    "TRAINING_VERSION",
    "Classifier",
    "Strategy",
    "TrainContext",
    "build_net",
    "register",
]
