"""A job's attack evaluation (:mod:`.evaluator`, under ``Trainer.test``) and what follows it: the
gradient-masking checks, the saved adversarial examples, rows reused across a sweep, and the
record's annotations (analyses, notes, checks)."""
