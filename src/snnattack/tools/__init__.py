"""The measurement a user runs: an attack step per gradient mode, beside the RGA paper's
Table S2 on a GPU (``python -m snnattack.tools.step_cost``, :mod:`.step_cost`), its options
and output in :mod:`.command`. The developer's measurements and checks (thread count, the
ensemble, Spike-Retiming, the peer, the README's timings, the GPU check) live in the
checkout's ``tools/`` folder, the comparisons with other projects' code in its ``fidelity/``
folder: neither is installed."""
