"""The fused multi-step LIF: one autograd node for the whole T loop, with a hand-written BPTT.

Plain autograd through the unrolled loop (:meth:`snnattack.neurons.LIF.unrolled`) keeps every
intermediate of every step (``lam * u``, ``h - theta``, ``1 - s``, ``h * (1 - s)``, ...).
:class:`MultiStepLIF` runs the loop without autograd and saves one tensor per step, the
membrane before firing ``h_t``; the backward recomputes ``v_t = h_t - theta`` and
``s_t = H(v_t)`` from it and walks the steps in reverse:

- ``ds_t = dL/ds_t - g_u * h_t`` (hard reset) or ``- g_u * theta`` (soft), the reset's path
  (absent with ``detach_reset``), ``g_u`` being ``dL/du_t`` from step ``t + 1``;
- ``dh_t = surrogate.grad(ds_t, v_t) + g_u * (1 - s_t)`` (hard) or ``+ g_u`` (soft);
- ``dL/dI_t = dh_t`` and ``dL/du_{t-1} = dh_t * lam`` (zero with ``detach_membrane``).

Each product and sum is the one autograd computes for the unrolled loop, in the same order, so
the two give the same gradients bit for bit (tested in float32 and float64).
"""

from __future__ import annotations

from typing import Any

import torch

from snnattack.surrogates import heaviside


class MultiStepLIF(torch.autograd.Function):
    """Spikes ``[T, B, ...]`` of ``lif`` (an :class:`~snnattack.neurons.LIF`) fed ``x``; the
    caller has started ``lif.surrogate`` for this pass."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lif: Any) -> torch.Tensor:  # type: ignore[override]
        surrogate = lif.surrogate
        u = torch.zeros_like(x[0])
        h_all, spikes, seen = torch.empty_like(x), torch.empty_like(x), []
        for t in range(x.shape[0]):
            h = lif.charge(u, x[t])
            v = h - lif.theta
            seen.append(surrogate.observe(v, t))
            s = heaviside(v)
            u = lif.reset_membrane(h, s)
            h_all[t], spikes[t] = h, s
        ctx.save_for_backward(h_all)
        ctx.seen = seen
        ctx.settings = (
            lif.lam,
            lif.theta,
            lif.reset,
            surrogate,
            lif.detach_reset,
            lif.detach_membrane,
        )
        return spikes

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (h_all,) = ctx.saved_tensors
        lam, theta, reset, surrogate, detach_reset, detach_membrane = ctx.settings
        hard = reset == "hard"
        dx = torch.empty_like(h_all)
        g_u = None  # dL/du_t from step t + 1 (none after the last step)
        for t in reversed(range(h_all.shape[0])):
            h = h_all[t]
            v = h - theta
            ds = grad[t]
            if g_u is not None and not detach_reset:
                ds = ds - g_u * h if hard else ds - g_u * theta
            dh = surrogate.grad(ds, v, ctx.seen[t])
            if g_u is not None:
                dh = dh + (g_u * (1.0 - heaviside(v)) if hard else g_u)
            dx[t] = dh
            g_u = None if detach_membrane else dh * lam
        return dx, None
