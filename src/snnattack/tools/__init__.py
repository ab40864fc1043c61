"""Measurements a user runs, one command each (``python -m snnattack.tools.<name>``): an attack
step per gradient mode (:mod:`.step_cost`), a step per torch thread count
(:mod:`.thread_cost`), the default ensemble (:mod:`.ensemble_cost`), a Spike-Retiming step over
a PGD step (:mod:`.retime_cost`), the timings of the documented commands (:mod:`.timings`) and
the checks of a GPU (:mod:`.gpu_check`); their shared options and output in :mod:`.command`.
The comparisons with other projects' code live in the checkout's ``fidelity/`` folder, not
here."""
