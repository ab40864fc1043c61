"""Networks of the SNN-RAT code family (``putshua/SNN-RAT``, ``models/layers.py``): their own
``forward`` with ``LIFSpike`` neurons, run as it is.

Their models merge T into the batch: ``add_dimention`` repeats the image, ``MergeTemporalDim``
flattens ``[T, B, ...]`` to ``[T * B, ...]`` (t-major), each ``LIFSpike`` unmerges, runs its
loop and merges back, and ``ExpandTemporalDim`` gives the output ``[T, B, K]`` (their
callers average it over T). The adapted copy (:mod:`snnattack.interop.loops`) replaces each
``LIFSpike`` by a LIF between an unmerge and a merge (:class:`~snnattack.interop.loops.
MergedLIF`) and each ``ExpandTemporalDim`` by an unmerge, both by the batch of the images,
so a rate-domain pass of one step runs too. ``LIFSpike`` computes ``mem = mem * tau + x``,
``spike = ZIF(mem - thresh)`` (``1[v >= 0]``), ``mem = (1 - spike) * mem``: the LIF with
``lam = tau``, ``theta = thresh`` and the hard reset; its ``ZIF`` surrogate is the triangle of
half-width ``gama``, the LIF's own (:mod:`snnattack.interop.surrogates`): ``stbp`` gives their
gradient.
Refused: ``mode != 'bptt'`` (their ``RateBp`` is another neuron), ``T <= 0`` (their ANN
mode), ``tau`` outside (0, 1], ``thresh <= 0``.
"""

from __future__ import annotations

from torch import nn

from snnattack.interop import surrogates
from snnattack.interop.adapter import register
from snnattack.interop.common import looks_like_neuron, refuse, scalar, shared_copy
from snnattack.interop.loops import MergedLIF, Unmerge
from snnattack.snn.neurons import LIF

NEURON = "LIFSpike"
SUPPORTED = ("SNN-RAT's models.layers.LIFSpike",)
EXPAND = "ExpandTemporalDim"
# the other way in: their file into this project's native model (records/checkpoints.py)
LOADER = "snnattack.load(name, path, lam=..., theta=...)"


def owns(net: nn.Module) -> bool:
    """Whether ``net`` holds an SNN-RAT ``LIFSpike``."""
    return any(_is(m, NEURON) for m in net.modules())


def has_own_loop(net: nn.Module) -> bool:
    """Always: their models make their time steps in their ``forward``."""
    return True


def own_loop(net: nn.Module) -> nn.Module:
    """The copy of ``net`` with each ``LIFSpike`` a LIF on the merged batch and each
    ``ExpandTemporalDim`` an unmerge."""
    replacements: dict[nn.Module, nn.Module] = {}
    mapped: list[str] = []
    for path, module in net.named_modules():
        if any(path.startswith(f"{p}.") for p in mapped):
            continue  # a LIFSpike's own children (its expand, merge, relu)
        if _is(module, NEURON):
            replacements[module] = MergedLIF(_lif(path, module))
            mapped.append(path)
        elif _is(module, EXPAND):
            replacements[module] = Unmerge()
        elif looks_like_neuron(module):
            raise refuse(path, module, "is not a neuron the adapter knows", SUPPORTED)
    return shared_copy(net, replacements)


def _is(module: nn.Module, name: str) -> bool:
    """Whether ``module`` is their class ``name`` (a class of the user's code, by name)."""
    cls = type(module)
    return cls.__name__ == name and not cls.__module__.startswith(("snnattack.", "torch."))


def _lif(path: str, spike: nn.Module) -> LIF:
    """The LIF that computes ``spike``'s (a ``LIFSpike``'s) spikes."""
    tau = scalar(spike.tau, "tau", path, spike, SUPPORTED)
    thresh = scalar(spike.thresh, "thresh", path, spike, SUPPORTED)
    why = None
    if getattr(spike, "mode", "bptt") != "bptt":
        why = f"has mode={spike.mode!r} (its RateBp neuron); accepted: mode='bptt'"
    elif int(getattr(spike, "T", 0)) <= 0:
        why = f"has T={spike.T} (their ANN mode, a ReLU); accepted: T >= 1"
    elif not 0.0 < tau <= 1.0 or thresh <= 0.0:
        why = f"has tau={tau}, thresh={thresh}; accepted: 0 < tau <= 1, thresh > 0"
    if why is not None:
        raise refuse(path, spike, f"{why}, or load its file: {LOADER}", SUPPORTED)
    return LIF(lam=tau, theta=thresh, reset="hard", surrogate=surrogates.snn_rat(path, spike))


@register("snn_rat", order=30)
class SnnRat:
    """The SNN-RAT adapter (:class:`~snnattack.interop.adapter.Adapter`). Its models always
    make their time steps themselves, so it has no ``body``."""

    neurons = ()
    supported = SUPPORTED
    owns = staticmethod(owns)
    has_own_loop = staticmethod(has_own_loop)
    own_loop = staticmethod(own_loop)
