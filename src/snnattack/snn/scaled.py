"""An adapted neuron's input scale: :class:`InputScale`, and :class:`ScaledNeuron`, the scale
then the neuron, which the fused LIF's T loop (C or Triton kernels) runs in one pass.

Foreign neurons whose charge scales their input (spikingjelly's LIF with ``decay_input``:
``1/tau``) are adapted as the scale, then this project's LIF
(:mod:`snnattack.interop.spikingjelly`). They live here, beside the neuron, so that the
gradient modes (:mod:`snnattack.gradients.adjoint`) know the scale as a linear layer.
"""

from __future__ import annotations

import torch
from torch import nn

from snnattack.cpu.guard import hooked
from snnattack.snn.learned import Learned, Value
from snnattack.snn.neurons import LIF


class InputScale(nn.Module):
    """``x * scale``: the factor a neuron's charge applies to its input (spikingjelly's LIF
    with ``decay_input``: ``1/tau``), kept outside the LIF so every gradient mode
    differentiates it as the linear layer it is. ``learned``: the foreign parameters the factor
    follows and trains with (a PLIF's ``sigmoid(w)``, :mod:`snnattack.snn.learned`)."""

    def __init__(self, scale: float, learned: Learned | None = None) -> None:
        super().__init__()
        self.scale = float(scale)
        self.learned = learned

    def factor(self) -> Value:
        """The factor as the forward runs it: a tensor of the learned parameters while they
        train, else a number (renewed after a change of them)."""
        if self.learned is not None and self.learned.live():
            return self.learned.tensors()["scale"]
        if self.learned is not None:
            self.learned.refresh(self)
        return self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor()

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class ScaledNeuron(nn.Sequential):
    """An adapted neuron with an input scale: ``InputScale(k)`` then the neuron (a
    :class:`~snnattack.snn.neurons.LIF`, or a one-step one).

    Called as a whole, a LIF running its own dynamics (no gradient mode's ``override``) with
    the two modules plain (no hooks, their class's forward) gets ``k`` for its fused path
    (:meth:`~snnattack.snn.neurons.LIF.simulate`), which multiplies it in its T loop
    (:func:`~snnattack.snn.multistep.fused`: ``x_t * k`` forward, ``dL/dI_t * k`` backward,
    each rounded once as the product and its autograd round it; in the C and Triton
    kernels no extra pass over memory per layer and pass). Everywhere else (the gradient
    modes that install a forward, a hook that would see the product, a learned factor while
    it trains) the two modules run in turn, as a plain ``nn.Sequential``: every gradient mode
    sees the scale as the linear layer it is, and the numbers are the same.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale, neuron = self
        lif = neuron if isinstance(neuron, LIF) else getattr(neuron, "lif", None)
        if scale.learned is not None and lif is not None and lif.override is not None:
            with scale.learned.as_numbers():  # the mode's own forward reads numbers
                return neuron(scale(x))
        own = isinstance(neuron, LIF) and neuron.override is None
        learning = scale.learned is not None and scale.learned.live()
        if own and not learning and _plain(scale, neuron):
            return neuron.simulate(x, scale.factor())
        return neuron(scale(x))


def _plain(*modules: nn.Module) -> bool:
    """Whether calling ``modules`` runs their class's forward alone: no hook of any kind on
    them or on every module (:func:`~snnattack.cpu.guard.hooked`), no forward set on the
    instance."""
    return not hooked(*modules) and not any("forward" in vars(m) for m in modules)
