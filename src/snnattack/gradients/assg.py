"""ASSG, the adaptive-sharpness surrogate gradient (Wang et al. 2025, "Towards reliable
evaluation of adversarial robustness for spiking neural networks", arXiv 2512.22522;
reference code ``craree/Towards-Reliable-Evaluation-of-Adversarial-Robustness-for-Spiking-
Neural-Networks``, ``my_node.py`` ``ASSGrad``).

Forward values unchanged. Backward: STBP with the atan slope
``alpha / (2 (1 + (pi/2 alpha v)**2))`` whose sharpness ``alpha`` is set per neuron, sample
and time step from the membrane seen over the attack's iterations. Each gradient-recording
forward pass updates, for every step ``t``, moving averages of ``|v_t|`` and of its deviation,

    M_t <- beta_1 M_t + (1 - beta_1) |v_t|            (M_t starts at 1)
    D_t <- beta_2 D_t + (1 - beta_2) | |v_t| - M_t |  (D_t starts at 0, uses the new M_t)
    alpha_t = (2 tan(pi a) / pi) / (M_t + relax D_t + 1e-4)

so neurons that sit far from the threshold get a wider slope and keep a gradient. ``a`` in
(0, 1/2) is the reference's ``a`` (``ASSG_SAPGD(a=0.425)``, ``ASSGrad(alpha)``): its
docstring calls it the upper bound of the expected gradient-vanishing degree ``A/2``
(``my_node.py:91``), and ``tan(pi a)`` is ``tan(pi A / 2)`` (``my_node.py:102``), so the
paper's ``A`` is ``2 a`` in (0, 1).

An infinite membrane (a current of -inf or +inf, :mod:`snnattack.snn.reset`) moves neither
average: ``|v_t|`` would make ``M_t`` infinite and ``D_t`` NaN (``inf - inf``), and with them
that neuron's slope and its gradient, for that pass and every later one at step ``t``. The
averages are those of its finite membranes, and its slope at ``v_t = -inf`` or ``+inf`` is
the atan slope's 0 there, the 0 every other surrogate gives so far from the threshold. A
finite membrane moves them by the formulas above, bit for bit.

The reset uses a detached spike, ``u_t = h_t (1 - s_t.detach())``, as every neuron of the
reference (``my_node.py:772, 921, 1053``); ``detach_reset=False`` keeps the reset's gradient
path (the variant this project ran before, for comparison).

The averages start afresh each time the mode is entered (each attack on each batch), at each
restart of an attack (:func:`snnattack.gradients.base.restart_surrogates`: the reference calls
``set_backpropagation`` before each restart, ``attack.py:352``) and when the batch shape
changes. Unlike the reference, every EOT sample updates them (the reference updates on the
first sample of each step only: the surrogate is not told which draw of a step it sees).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from snnattack.gradients.base import neuron_settings, register
from snnattack.snn.surrogates import Surrogate, atan_slope, finite_entries
from snnattack.values import BOOL, real

EPS = 1e-4  # keeps alpha finite where the membrane has sat at the threshold (reference value)


class AdaptiveSharpness(Surrogate):
    """The atan slope with a sharpness from moving moments of ``|v_t|`` per step."""

    name = "assg"

    def __init__(
        self, a: float = 0.425, relax: float = 1.5, beta_1: float = 0.9, beta_2: float = 0.9
    ) -> None:
        self.a, self.relax, self.beta_1, self.beta_2 = a, relax, beta_1, beta_2
        self._moments: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._recording = False

    def start(self, recording: bool) -> None:
        self._recording = recording

    def restart(self) -> None:
        self._moments = {}

    def observe(self, v: torch.Tensor, t: int) -> torch.Tensor:
        m, d = self._moments.get(t, (None, None))
        if m is None or m.shape != v.shape:
            m, d = torch.ones_like(v), torch.zeros_like(v)
        if self._recording:
            # an infinite membrane moves neither moment (the module docstring): each moved one
            # is lerp(old, new, finite), new exactly at weight 1 and old at weight 0
            finite, kept = finite_entries(v)
            size = kept.abs()
            m = torch.lerp(m, self.beta_1 * m + (1 - self.beta_1) * size, finite)
            d = torch.lerp(d, self.beta_2 * d + (1 - self.beta_2) * (size - m).abs(), finite)
            self._moments[t] = (m, d)
        return (2 * math.tan(math.pi * self.a) / math.pi) / (m + self.relax * d + EPS)

    def grad(self, grad: torch.Tensor, v: torch.Tensor, seen: Any = None) -> torch.Tensor:
        return grad * atan_slope(v, seen)


@register(
    "assg",
    title="ASSG",
    order=70,
    per_step=True,
    a=real(0, 0.5, lo_open=True, hi_open=True),
    relax=real(0),
    beta_1=real(0, 1, hi_open=True),
    beta_2=real(0, 1, hi_open=True),
    detach_reset=BOOL,
)
def assg(
    model: nn.Module,
    a: float = 0.425,
    relax: float = 1.5,
    beta_1: float = 0.9,
    beta_2: float = 0.9,
    detach_reset: bool = True,
):
    return neuron_settings(
        model,
        surrogate=lambda _: AdaptiveSharpness(a, relax, beta_1, beta_2),
        detach_reset=lambda _: detach_reset,
    )
