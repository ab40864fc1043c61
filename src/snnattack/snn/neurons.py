"""Leaky integrate-and-fire neurons on ``[T, B, ...]`` currents, split into charge, fire, reset.

Dynamics (Bu et al., CVPR 2023): charge ``h_t = lam * u_{t-1} + I_t``; fire
``s_t = H(h_t - theta)``; reset ``u_t = h_t * (1 - s_t)`` (hard; at an infinite membrane its
limit, :mod:`snnattack.snn.reset`) or ``u_t = h_t - theta * s_t`` (soft; ``reset_by`` instead
of ``theta`` where given). The forward values depend only on
``lam``, ``theta`` and the reset. How the neuron is
differentiated is a set of settings, as in spikingjelly's ``BaseNode``:

- ``surrogate``: the spike's backward slope (:mod:`snnattack.snn.surrogates`, triangle by default);
- ``detach_reset``: no gradient through the spike inside the reset;
- ``detach_membrane``: no gradient along the membrane from one step to the next (HART).

The default backward, every setting at its default, is STBP: backprop through time with the
triangle surrogate, the gradient flowing through the reset. ``impl`` says how that backward is
computed: ``fused`` (:class:`snnattack.snn.multistep.MultiStepLIF`, one autograd node saving only
the membrane; after a train-mode BN, :class:`~snnattack.snn.multistep.BatchNormLIF`, saving
nothing but the BN's input, :mod:`snnattack.cpu.recompute`; without autograd, the loop alone; on
the CPU each loop one pass of a C kernel, :mod:`snnattack.cpu.native`) or ``unrolled`` (plain
autograd through the loop, the reference); both give the same values and gradients.
``backend`` says whether the CPU paths and on a GPU the Triton kernels run (``c``, the default,
where :func:`snnattack.cpu.guard.applies` and :func:`snnattack.cuda.guard.applies`), the
Triton kernels alone (``triton``) or the torch ops (``torch``): the same values and
gradients. See ``docs/neuron.md``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from snnattack.cpu.guard import Backend
from snnattack.cpu.recompute import recomputes, source
from snnattack.snn.binary import mark
from snnattack.snn.learned import Learned, Value
from snnattack.snn.multistep import batchnorm_lif, fused, spikes
from snnattack.snn.reset import HardReset
from snnattack.snn.surrogates import Spike, Surrogate, Triangle
from snnattack.snn.temporal import Temporal

RESETS = ("hard", "soft")
IMPLS = ("fused", "unrolled")


class LIF(Temporal):
    """Multi-step LIF layer: input currents ``[T, B, ...]`` to spikes ``[T, B, ...]`` (0/1).

    ``lam = 1`` is the IF neuron. ``surrogate`` defaults to the unit-area triangle of
    half-width 1, ``max(0, 1 - |u - theta|)``. ``reset_by`` is what the soft reset subtracts
    (None: ``theta``); another value serves foreign neurons whose reset drops another amount
    (snnTorch's delayed subtraction, :mod:`snnattack.interop.snntorch`). ``learned``: the
    foreign parameters these settings follow and train with (:mod:`snnattack.snn.learned`).
    """

    backend = Backend()  # c | torch | triton, checked on every assignment

    def __init__(
        self,
        lam: float = 1.0,
        theta: float = 1.0,
        reset: str = "hard",
        surrogate: Surrogate | None = None,
        detach_reset: bool = False,
        detach_membrane: bool = False,
        impl: str = "fused",
        reset_by: float | None = None,
        backend: str = "c",
        learned: Learned | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 < lam <= 1.0:
            raise ValueError(f"lam must be in (0, 1], got {lam}")
        if theta <= 0:
            raise ValueError(f"theta must be > 0, got {theta}")
        if reset not in RESETS:
            raise ValueError(f"reset must be one of {RESETS}, got {reset!r}")
        if reset_by is not None and (reset != "soft" or reset_by <= 0):
            raise ValueError(f"reset_by needs the soft reset and a value > 0, got {reset_by}")
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        self.lam, self.theta, self.reset = lam, theta, reset
        self.surrogate = surrogate if surrogate is not None else Triangle()
        self.detach_reset, self.detach_membrane = detach_reset, detach_membrane
        self.impl = impl
        self.reset_by = reset_by
        self.backend = backend
        self.learned = learned

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.learned is not None and self.override is not None:  # it reads the numbers
            self.learned.refresh(self)
            with self.learned.as_numbers():
                return super().forward(x)
        return super().forward(x)

    @property
    def drop(self) -> float:
        """What the soft reset subtracts from the membrane: ``reset_by``, else ``theta``."""
        return self.theta if self.reset_by is None else self.reset_by

    def settings(self) -> tuple[Value, Value, Value]:
        """``lam``, ``theta`` and what the soft reset drops, as the forward runs them: tensors
        of the learned parameters while they train, else numbers (renewed after a change of
        them: :class:`~snnattack.snn.learned.Learned`)."""
        learned = self.learned
        if learned is not None and learned.live() and self.override is None:
            v = learned.tensors()
            theta, drop = v.get("theta", self.theta), v.get("reset_by", self.reset_by)
            return v.get("lam", self.lam), theta, theta if drop is None else drop
        if learned is not None:
            learned.refresh(self)
        return self.lam, self.theta, self.drop

    def charge(
        self, u: torch.Tensor, current: torch.Tensor, lam: Value | None = None
    ) -> torch.Tensor:
        """The membrane before firing, ``h_t = lam * u_{t-1} + I_t`` (``lam``: the LIF's)."""
        if self.detach_membrane:
            u = u.detach()
        return (self.lam if lam is None else lam) * u + current

    def fire(self, h: torch.Tensor, t: int, theta: Value | None = None) -> torch.Tensor:
        """The spike ``H(h - theta)`` of step ``t``, differentiated by the surrogate."""
        v = h - (self.theta if theta is None else theta)
        return Spike.apply(v, self.surrogate, self.surrogate.observe(v.detach(), t))

    def reset_membrane(
        self, h: torch.Tensor, s: torch.Tensor, drop: Value | None = None
    ) -> torch.Tensor:
        """The membrane after the spike: ``h (1 - s)`` (hard, a select: an infinite membrane
        gives no NaN, :mod:`snnattack.snn.reset`) or ``h - drop s`` (soft)."""
        if self.detach_reset:
            s = s.detach()
        if self.reset == "hard":
            return HardReset.apply(h, s)
        return h - (self.drop if drop is None else drop) * s

    def simulate(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """The spikes of ``x``; ``scale``: of ``x * scale`` (an adapted neuron's input scale,
        :class:`~snnattack.snn.scaled.InputScale`), taken into the fused T loop
        (:func:`~snnattack.snn.multistep.fused`), multiplied first by the unrolled one, as
        the module would: the same numbers."""
        recording = torch.is_grad_enabled() and x.requires_grad
        unrolled = self.impl == "unrolled" or (self.learned is not None and self.learned.live())
        if scale != 1.0 and unrolled:
            x, scale = x * scale, 1.0
        self.surrogate.start(recording)
        if unrolled:
            return self.unrolled(x)
        if self.learned is not None:
            self.learned.refresh(self)
        if not recording:  # no backward will follow: the loop alone, nothing kept
            return spikes(x, self, scale)
        # x computed from BN outputs: recomputed from their inputs
        terms = source(x) if recomputes(self.backend, x) else None
        if terms is None:
            return mark(fused(x, self, scale))
        return mark(batchnorm_lif(x, self, terms, scale))

    def unrolled(self, x: torch.Tensor) -> torch.Tensor:
        """The T loop step by step, differentiable by plain autograd (the reference, and the
        loop that trains learned settings); called by :meth:`simulate`, which starts the
        surrogate."""
        lam, theta, drop = self.settings()
        u = torch.zeros_like(x[0])
        spikes = []
        for t in range(x.shape[0]):
            h = self.charge(u, x[t], lam)
            s = self.fire(h, t, theta)
            u = self.reset_membrane(h, s, drop)
            spikes.append(s)
        return torch.stack(spikes)

    def extra_repr(self) -> str:
        flags = [f for f in ("detach_reset", "detach_membrane") if getattr(self, f)]
        flags += [] if self.reset_by is None else [f"reset_by={self.reset_by}"]
        return ", ".join(
            [f"lam={self.lam}, theta={self.theta}, reset={self.reset}", repr(self.surrogate)]
            + flags
            + [f"impl={self.impl}", f"backend={self.backend}"]
        )


def lif_settings(model: nn.Module) -> list[dict[str, Any]]:
    """The settings of every LIF in ``model``, in order: its module path (as the user's
    network names it, :meth:`~snnattack.models.base.SpikingNet.users_layer`), leak λ, threshold θ
    and reset (and ``reset_by`` where the soft reset drops another amount), and its own
    surrogate (``stbp``'s slope unless ``attack.params.surrogate`` names another). What an
    adapted foreign network really runs, which the config's ``lambda``/``reset`` do not
    describe (``model=external``, :func:`snnattack.evaluate`)."""
    named = getattr(model, "users_layer", lambda name, _: (name, None))
    return [
        {
            "layer": named(name, lif)[0],
            "lambda": lif.lam,
            "theta": lif.theta,
            "reset": lif.reset,
            **({} if lif.reset_by is None else {"reset_by": lif.reset_by}),
            "surrogate": repr(lif.surrogate),
        }
        for name, lif in model.named_modules()
        if isinstance(lif, LIF)
    ]


def static_rate(current: float, lam: float, theta: float = 1.0) -> float:
    """Firing rate of one neuron fed a constant ``current`` from rest (Bu et al., CVPR 2023,
    Supp. §1).

    IF (``lam = 1``): ``I / theta`` clipped to [0, 1] (the long-run soft-reset rate).
    LIF (``lam < 1``): one spike per ``ceil(log_lam((I + theta (lam - 1)) / I))`` steps, the
    time to reach ``theta`` from rest (exact for the hard reset).
    """
    if lam == 1.0:
        return min(max(current / theta, 0.0), 1.0)
    onset = (1.0 - lam) * theta  # u tends to I / (1 - lam): at or below onset it never fires
    if current <= onset or math.isclose(current, onset, rel_tol=1e-12):
        return 0.0
    steps = math.log((current + theta * (lam - 1.0)) / current) / math.log(lam)
    return 1.0 / max(math.ceil(steps - 1e-12), 1)
