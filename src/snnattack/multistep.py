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
the two give the same gradients bit for bit (tested in float32 and float64). To make fewer
passes over memory, each step writes into the outputs in place, compares ``h_t >= theta``
(the same test as ``h_t - theta >= 0``) straight into the float dtype (boolean masks are
slow on the CPU), and fuses a sum with a product by ``s_t`` or ``1 - s_t`` (exact, so the
sum is rounded once either way).
"""

from __future__ import annotations

from typing import Any

import torch

from snnattack.surrogates import Surrogate


class MultiStepLIF(torch.autograd.Function):
    """Spikes ``[T, B, ...]`` of ``lif`` (an :class:`~snnattack.neurons.LIF`) fed ``x``; the
    caller has started ``lif.surrogate`` for this pass."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lif: Any) -> torch.Tensor:  # type: ignore[override]
        surrogate, lam, theta = lif.surrogate, lif.lam, lif.theta
        hard = lif.reset == "hard"
        observes = type(surrogate).observe is not Surrogate.observe  # else v_t is not needed
        u = torch.zeros_like(x[0])
        h_all, spikes, seen = torch.empty_like(x), torch.empty_like(x), []
        for t in range(x.shape[0]):
            h, s = h_all[t], spikes[t]
            torch.add(u * lam, x[t], out=h)  # lif.charge, written in place
            seen.append(surrogate.observe(h - theta, t) if observes else None)
            torch.ge(h, theta, out=s)  # H(h - theta): the same test, straight to the dtype
            # lif.reset_membrane; h * s and theta * s are exact (s is 0 or 1): one rounding
            u = torch.addcmul(h, h, s, value=-1.0) if hard else torch.add(h, s, alpha=-theta)
        ctx.save_for_backward(h_all)
        ctx.seen = seen
        ctx.settings = (lam, theta, hard, surrogate, lif.detach_reset, lif.detach_membrane)
        return spikes

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (h_all,) = ctx.saved_tensors
        lam, theta, hard, surrogate, detach_reset, detach_membrane = ctx.settings
        dx, mask = torch.empty_like(h_all), torch.empty_like(h_all[0])
        g_u = None  # dL/du_t from step t + 1 (none after the last step)
        for t in reversed(range(h_all.shape[0])):
            h, dh = h_all[t], dx[t]
            ds = grad[t]
            if g_u is not None and not detach_reset:
                ds = ds - g_u * h if hard else ds - g_u * theta
            slope = surrogate.grad(ds, h - theta, ctx.seen[t])
            if g_u is None:
                dh.copy_(slope)
            elif hard:  # + g_u (1 - s_t), the product exact: one rounding, as autograd's
                torch.addcmul(slope, g_u, torch.lt(h, theta, out=mask), out=dh)
            else:
                torch.add(slope, g_u, out=dh)
            g_u = None if detach_membrane else dh * lam
        return dx, None
