"""The attacks: the methods (:mod:`.methods`, one module each), crafting an adversarial
example under a gradient mode (:mod:`.crafting`), the convergence curve, the worst-case
ensemble, tuning a gradient mode on validation images (:mod:`.spec`: its grids, and whether
a config tunes), and the rules of their keys (:mod:`.checks`, declared on import for the
validation: :func:`snnattack.config.validation.validate`)."""

from snnattack.attacks import checks as checks
