"""The attacks: the methods (:mod:`.methods`, one module each), crafting an adversarial
example under a gradient mode (:mod:`.crafting`), the convergence curve, the worst-case
ensemble, tuning a gradient mode on validation images, and the rows a config asks for
(:mod:`.spec`)."""
