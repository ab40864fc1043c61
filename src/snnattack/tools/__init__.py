"""Developer tools, run as ``python -m``: the step-time and memory bench (:mod:`.bench`) and the
timings of the documented commands (:mod:`.timings`)."""
