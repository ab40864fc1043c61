"""Comparisons of this project's attacks with other projects' code, run from a checkout's root
(this folder is not installed: the wheel holds none of it, since every comparison imports a
user's clone of a repository with no licence, which this project never copies).

Each prints its table on stderr and its record as JSON on stdout, on one torch thread;
``--seed``, ``--samples N`` and ``--help`` as everywhere, ``--event-output spiking`` (an LIF
layer after the event net's readout) and ``--event-grad pdsg`` where the comparison takes
them (docs/event_attacks.md, "Fidelity", gives the results):

- ``python -m fidelity.sda --reference PDSG-SDA [--model fixture] [--store DIR]``: the
  reference's one-sample SDA loop (a clone of github.com/ryime/PDSG-SDA) beside the batched
  ``sda`` on the same event digits, timed (:mod:`fidelity.sda`);
- ``python -m fidelity.retime --reference Spike-Retiming-Attacks``: the reference's
  Spike-Retiming classes (github.com/yuyi-sd/Spike-Retiming-Attacks) one sample at a time
  beside the batched ``retime`` (:mod:`fidelity.retime`);
- ``python -m fidelity.gsattack --reference GumbelSoftmaxAttack``: GSAttack's reference loop
  (github.com/JY-ura/GumbelSoftmaxAttack) beside ``gsattack`` on raw event digits
  (:mod:`fidelity.gsattack`);
- ``python -m fidelity.patch --reference AE-Patch``: the reference AE-Patch's patch update
  (github.com/yszbb/AE-Patch) beside ``event_patch_universal``'s on the same mini-batches
  (:mod:`fidelity.patch`);
- ``python -m fidelity.spikefool_universal --reference SPAA``: SpikeFool's
  ``universal_attack`` (github.com/jubueche/SPAA) beside ``sparsefool_universal``
  (:mod:`fidelity.spikefool_universal`).

Shared: the options and output (:mod:`fidelity.command`), the reference's file imported from
the clone (:mod:`fidelity.reference`), the event net attacked (:mod:`fidelity.nets`, also the
event attacks' test fixture). tests/fidelity/ checks each with a stand-in for the reference.
"""
