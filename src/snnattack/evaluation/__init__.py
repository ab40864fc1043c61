"""A job's attack evaluation (:mod:`.evaluator`, under ``Trainer.test``) and what follows it: the
one core that a job and the Python API call (:mod:`.core`), the gradient-masking checks, the
saved adversarial examples, rows reused across a sweep, and the record finished after the
rows (:mod:`.finish`: kinds, analyses, examples)."""
