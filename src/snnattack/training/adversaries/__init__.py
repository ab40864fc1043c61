"""The adversaries of adversarial training (``train.adversary.method``), one module each: a
:class:`~snnattack.training.adversaries.base.Method` subclass decorated with ``@register``
(:mod:`snnattack.training.adversaries.base`). Not the attack methods (``method=``,
:mod:`snnattack.attacks.methods`) but their training-time counterparts, with their own loop.
"""

from snnattack.registry import discover
from snnattack.training.adversaries.base import (
    ADVERSARIES,
    Method,
    kl_divergence,
    register,
    set_training_mode,
)

__all__ = ["ADVERSARIES", "Method", "kl_divergence", "register", "set_training_mode"]

discover(__name__, __path__)
