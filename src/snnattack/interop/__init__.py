"""Foreign spiking networks (spikingjelly, snnTorch, SNN-RAT) as this project's SpikingNet.

``adapt(net, T=4)`` returns a model taking images ``[B, ...]``: the direct encoder repeats
them ``T`` times, a copy of ``net`` whose spiking neurons are
:class:`~snnattack.snn.neurons.LIF` layers with the same dynamics runs on ``[T, B, ...]``, and
``decode`` (default the mean over T) gives the logits; a model with its own time loop is
called on the images as its user calls it (:mod:`snnattack.interop.loops`). Every gradient
mode then differentiates it as it does the project's own models (a loop calling its neurons
one step at a time: the modes that need no whole T loop in one call). The copy's parameters
and buffers share ``net``'s memory, and it holds none of its state, so ``net`` itself is
never modified. Each library's adapter is one module of this package that registers itself
(:mod:`snnattack.interop.adapter`); how each library's neurons map, and what is refused, is
in :mod:`snnattack.interop.spikingjelly`, :mod:`snnattack.interop.snntorch`,
:mod:`snnattack.interop.snn_rat` and ``docs/interop.md``. spikingjelly and snnTorch are
imported only when a network of theirs is adapted (the ``interop`` extra).
"""

from snnattack.interop.foreign import adapt, supported
from snnattack.registry import discover

__all__ = ["adapt", "supported"]

discover(__name__, __path__)  # each adapter module registers its library (interop/adapter.py)
