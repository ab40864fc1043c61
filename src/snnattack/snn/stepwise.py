"""A LIF run one time step per call, for networks whose own code loops over the steps.

snnTorch's tutorial classes (``for step in range(T): spk, mem = self.lif(cur, mem)``) and
spikingjelly networks in step mode ``'s'`` call each neuron once per step with ``[B, ...]``.
:class:`StepLIF` computes the step of its :class:`~snnattack.snn.neurons.LIF` (charge, fire,
reset, the same operations as the LIF's unrolled loop) and keeps the membrane until
:meth:`StepLIF.restart`, which the adapted network calls before each of its forwards, so every
forward starts from a zero membrane and two networks share nothing.

The gradient modes that only set the neurons' settings (surrogate, ``detach_membrane``: stbp,
pdsg, assg) apply as they do to the LIF, the step index being the surrogate's ``t``. A mode
that installs a forward of its own on the whole ``[T, B, ...]`` current (its ``override``)
runs here only if that forward declares ``per_step(lif) -> (surrogate, detach_membrane)``, an
equivalent that needs no future step in the forward (bptr's gate, read in the backward); the
others need the whole T loop in one call (:func:`snnattack.gradients.checked_mode` refuses
them before any work).
"""

from __future__ import annotations

import torch
from torch import nn

from snnattack.errors import UserError
from snnattack.snn.neurons import LIF
from snnattack.snn.surrogates import Spike, Surrogate


class StepLIF(nn.Module):
    """One step ``[B, ...]`` of ``lif`` per call, the membrane kept between calls until
    :meth:`restart`; ``steps`` counts the calls since."""

    def __init__(self, lif: LIF) -> None:
        super().__init__()
        self.lif = lif
        self.restart()

    def restart(self) -> None:
        """Back to a zero membrane at step 0. (Not named ``reset``: spikingjelly's
        ``reset_net``, which a user's forward may call after its loop, calls every module's
        ``reset``; the adapted network restarts its neurons itself.)"""
        self.u: torch.Tensor | None = None
        self.h: torch.Tensor | None = None
        self.steps = 0
        self.rule: tuple[Surrogate, bool] | None = None
        self.settings: tuple | None = None  # lam, theta, drop of this forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lif = self.lif
        if self.u is None:  # the first step of a forward
            self.rule = step_rule(lif)
            self.rule[0].start(torch.is_grad_enabled() and x.requires_grad)
            self.settings = lif.settings()
            self.u = torch.zeros_like(x)
        elif x.shape != self.u.shape:
            raise UserError(
                f"interop: a neuron called once per step got inputs {list(x.shape)} after "
                f"{list(self.u.shape)} in one forward: the network runs one neuron for layers "
                "of two sizes, and its one membrane cannot take both; accepted: a neuron of its "
                "own for each layer"
            )
        surrogate, detach_membrane = self.rule
        lam, theta, drop = self.settings
        u = self.u.detach() if detach_membrane else self.u
        h = lam * u + x
        v = h - theta
        s = Spike.apply(v, surrogate, surrogate.observe(v.detach(), self.steps))
        self.h, self.u = h, lif.reset_membrane(h, s, drop)
        self.steps += 1
        return s

    def extra_repr(self) -> str:
        return "one step per call"


def step_rule(lif: LIF) -> tuple[Surrogate, bool]:
    """The surrogate and ``detach_membrane`` a step of ``lif`` runs with under the gradient
    mode now set: the LIF's own settings, or its override's ``per_step`` equivalent."""
    if lif.override is None:
        return lif.surrogate, lif.detach_membrane
    per_step = getattr(lif.override, "per_step", None)
    if per_step is None:
        raise RuntimeError(
            "a gradient mode that needs the whole T loop in one call runs on a network whose "
            "own code calls its neurons one step at a time (checked_mode refuses it first)"
        )
    return per_step(lif)


def step_neurons(model: nn.Module) -> list[StepLIF]:
    """The :class:`StepLIF` layers of ``model``."""
    return [m for m in model.modules() if isinstance(m, StepLIF)]
