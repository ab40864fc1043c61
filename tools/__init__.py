"""The developer's measurements and checks of this project, run from a checkout's root
(``python -m tools.<name>``; this folder is not installed: the wheel holds none of it, as it
holds none of ``fidelity/`` beside it):

- ``python -m tools.thread_cost --threads 1 2``: a forward and an STBP step per torch thread
  count, interleaved (:mod:`tools.thread_cost`);
- ``python -m tools.ensemble_cost``: the default ensemble with today's Square and this
  project's, on the same batches (:mod:`tools.ensemble_cost`);
- ``python -m tools.retime_cost``: a Spike-Retiming step over a PGD step
  (:mod:`tools.retime_cost`);
- ``python -m tools.peer_compare --out report.md``: this project against torchattacks on a
  spikingjelly network, one markdown report (:mod:`tools.peer_compare`, the peer's side in
  :mod:`tools.peer_nets`);
- ``python -m tools.timings``: the wall times of the documented commands, written into the
  README (:mod:`tools.timings`);
- ``python -m tools.gpu_check``: this checkout's test suite and jobs on a CUDA GPU, one
  markdown report (:mod:`tools.gpu_check`, with :mod:`tools.gpu_suite` and
  :mod:`tools.gpu_rows`).

They import the package (the shared options and output of
:mod:`snnattack.tools.command`; a stored job's model and data from :mod:`tools.stored`); the
package imports none of them (tests/unit/test_layout.py). The measurement a user runs, the
attack step per gradient mode beside the RGA paper's Table S2, stays in the package:
``python -m snnattack.tools.step_cost``.
"""
