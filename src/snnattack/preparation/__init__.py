"""The one preparation seam of the Python API and the benchmark: the arguments as a job config
(:mod:`~snnattack.preparation.config`, one compose) and the evaluation prepared once and run
through the evaluation core (:mod:`~snnattack.preparation.evaluation`). Both entrances
(:mod:`snnattack.api`, :mod:`snnattack.benchmark.evaluation`) import it; it imports neither."""
