"""spikingjelly's non-spiking read-out nodes (``neuron.NonSpikingIFNode``,
``neuron.NonSpikingLIFNode``, and ``neuron.NoisyNonSpikingIFNode`` with its noise off) as a
stateless module, :class:`MembraneReadout`.

The node integrates its input into a membrane that never fires nor resets, starting at 0 at
each call on ``[T, B, ...]`` (``NonSpikingBaseNode.forward``): IF ``v_t = v_{t-1} + x_t``, LIF
``v_t = v_{t-1} + (x_t - v_{t-1}) / tau``, and returns its ``decode`` of the membrane
sequence: ``'last_mem'`` the last step's, ``'max-mem'`` the max over T, ``'max-abs-mem'`` the
value of larger magnitude of the max and the min, ``'mean-mem'`` the mean, all ``[B, ...]``;
``None`` the whole sequence, a list of T tensors. The module computes the same with the same
torch ops, in one call, which every gradient mode differentiates as a layer.

In the rate domain (``rga``, ``ann``: one pass on time-averaged ``[1, B, ...]`` tensors,
:func:`snnattack.gradients.rga.rate_domain`) the module is what the rate-domain definition
makes of it: its output as a function of its mean input ``a`` over the T steps of the
simulation, i.e. its decode of the membrane a constant input ``a`` gives over those T steps
(:meth:`MembraneReadout.rate`). That membrane is ``v_t = c_t a``, ``c_t = t`` for IF and
``c_t = 1 - (1 - 1/tau)^t`` for LIF, so ``'last_mem'`` is ``c_T a``, ``'mean-mem'`` and the
sequence (as its time average, one step) ``mean_t(c_t) a``, ``'max-mem'`` ``max_t(c_t a)``
(for ``tau > 1``: ``c_T a`` where ``a > 0``, ``a / tau`` where ``a < 0``) and
``'max-abs-mem'`` the ``c_t a`` of largest magnitude (for ``tau > 1``, and for IF: ``c_T
a``). One averaged step alone would give each decode ``a / tau`` (``a`` for IF): the right
direction, not the scale. The linear decodes' derivative is the sum over the steps of the
output's gradient, as ``rga_layerwise`` gives it; the max decodes pick the step a constant
input peaks at, which ``rga_layerwise`` (the recorded sequence's own max step) may not.

The adapted network decodes its body's output ``[T, B, K]``: a body ending in the node
(:func:`read_out`, its forward hook) returns a decoded read-out as one step ``[1, B, K]``,
which the adapter's decode (the mean over T, or the user's) returns as it was, and the
sequence stacked, ``[T, B, K]``. A decoded read-out that is not the body's output (an
operation after it) is refused at the first forward: what follows may have removed or
kept any axis, which the adapter cannot tell.
"""

from __future__ import annotations

import weakref

import torch
from torch import nn

from snnattack.errors import UserError
from snnattack.snn.temporal import Temporal

NODES = ("NonSpikingIFNode", "NonSpikingLIFNode")
DECODES = (None, "last_mem", "max-mem", "max-abs-mem", "mean-mem")
# 2.0's noisy IF read-out (NoisySNN): its forward knows the last step as 'last-me' (sic)
NOISY = ("NoisyNonSpikingIFNode",)
NOISY_DECODES = {("last-me" if d == "last_mem" else d): d for d in DECODES}


class MembraneReadout(Temporal):
    """The membrane of a non-spiking IF (``tau`` None) or LIF node over ``[T, B, ...]``,
    decoded as the node's ``decode`` (module docstring). A temporal module, so that the rate
    domain gives it its mean input and the simulation's T (:meth:`rate`)."""

    def __init__(
        self,
        tau: float | None,
        decode: str | None,
        node: str,
        steps: int | None = None,
        path: str = "",
    ) -> None:
        super().__init__()
        self.node = node  # its class, for the messages
        self.path = path  # its path in the user's network, for the messages
        self.tau = tau
        self.decode = decode
        # the steps its forward loops over whatever it is given (the noisy node's own T)
        self.steps = steps
        self.last: weakref.ref | None = None  # this forward's output (its last step: a list)

    def simulate(self, x_seq: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        if self.steps is not None and x_seq.shape[0] != self.steps:
            raise UserError(
                f"interop: {self.path or 'net'} ({self.node}) integrates its own T={self.steps} "
                f"steps (its forward loops over node.T: it would drop or miss steps), but the "
                f"network runs {x_seq.shape[0]}; accepted: T={self.steps}, or node.T set to "
                f"{x_seq.shape[0]}"
            )
        v = torch.zeros_like(x_seq[0])
        seq = []
        for x in x_seq:  # the node's charge, op for op
            v = v + x if self.tau is None else v + (x - v) / self.tau
            seq.append(v)
        if self.decode is None:
            self.last = weakref.ref(seq[-1])
            return seq
        if self.decode == "last_mem":
            out = seq[-1]
        elif self.decode == "mean-mem":
            out = torch.mean(torch.stack(seq, 0), 0)
        else:
            stacked = torch.stack(seq, 0)
            out = torch.max(stacked, 0).values
            if self.decode == "max-abs-mem":
                low = torch.min(stacked, 0).values
                out = out * (out.abs() > low.abs()) + low * (out.abs() <= low.abs())
        self.last = weakref.ref(out)
        return out

    def rate(self, mean: torch.Tensor, steps: int) -> torch.Tensor | list[torch.Tensor]:
        """The rate-domain read-out of the mean input ``mean`` (``[1, B, ...]``) over
        ``steps`` steps: the decode of the membrane that input held constant over the steps
        gives (module docstring), the sequence (decode None) as its time average, one step
        (a list of one ``[B, ...]``), as the rate domain's tensors are time averages."""
        out = self.simulate(mean.expand(steps, *mean.shape[1:]))
        if self.decode is not None:
            return out
        average = torch.mean(torch.stack(out, 0), 0)
        self.last = weakref.ref(average)
        return [average]

    def __getstate__(self) -> dict:
        """Its state without ``last`` (a weak reference: no copy or pickle takes one)."""
        return {**super().__getstate__(), "last": None}

    def extra_repr(self) -> str:
        return f"tau={self.tau}, decode={self.decode!r}"


def read_out(body: nn.Module, args: tuple, output: object) -> object:
    """Forward hook of a body holding read-outs: its output as the adapter decodes it, or a
    decoded read-out that is not the output refused in one line (module docstring)."""
    ran = [(path, m) for path, m in body.named_modules() if isinstance(m, MembraneReadout)]
    ran = [(path, m, m.last()) for path, m in ran if m.last is not None]
    for _, m, _ in ran:
        m.last = None
    for _, m, last in ran:
        if m.decode is None and isinstance(output, list) and output and output[-1] is last:
            return torch.stack(output, 0)
        if m.decode is not None and output is last:
            return output.unsqueeze(0)
    for path, m, _ in ran:
        if m.decode is not None:
            raise UserError(
                f"interop: {path or 'net'} ({m.node}, decode={m.decode!r}) removes the "
                "time axis, but the body's output is not its read-out (an operation after "
                "it), which the adapter cannot decode; accepted: the node last, its output "
                "the body's, or decode=None (the membrane sequence [T, B, ...])"
            )
    return None
