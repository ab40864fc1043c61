"""spikingjelly's non-spiking read-out nodes (``neuron.NonSpikingIFNode``,
``neuron.NonSpikingLIFNode``) as a stateless module, :class:`MembraneReadout`.

The node integrates its input into a membrane that never fires nor resets, starting at 0 at
each call on ``[T, B, ...]`` (``NonSpikingBaseNode.forward``): IF ``v_t = v_{t-1} + x_t``, LIF
``v_t = v_{t-1} + (x_t - v_{t-1}) / tau``, and returns its ``decode`` of the membrane
sequence: ``'last_mem'`` the last step's, ``'max-mem'`` the max over T, ``'max-abs-mem'`` the
value of larger magnitude of the max and the min, ``'mean-mem'`` the mean, all ``[B, ...]``;
``None`` the whole sequence, a list of T tensors. The module computes the same with the same
torch ops, in one call: every gradient mode differentiates it as a layer (on a rate-domain
pass of one step, ``[1, B, ...]``, each decode is the step's ``x / tau``).

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

NODES = ("NonSpikingIFNode", "NonSpikingLIFNode")
DECODES = (None, "last_mem", "max-mem", "max-abs-mem", "mean-mem")


class MembraneReadout(nn.Module):
    """The membrane of a non-spiking IF (``tau`` None) or LIF node over ``[T, B, ...]``,
    decoded as the node's ``decode`` (module docstring)."""

    def __init__(self, tau: float | None, decode: str | None, node: str) -> None:
        super().__init__()
        self.node = node  # its class, for the messages
        self.tau = tau
        self.decode = decode
        self.last: weakref.ref | None = None  # this forward's output (its last step: a list)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
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

    def __getstate__(self) -> dict:
        """Its state without ``last`` (a weak reference: no copy or pickle takes one)."""
        return {**super().__getstate__(), "last": None}

    def extra_repr(self) -> str:
        return f"tau={self.tau}, decode={self.decode!r}"


def read_out(body: nn.Module, args: tuple, output: object) -> object:
    """Forward hook of a body holding read-outs: its output as the adapter decodes it, a
    decoded read-out as one step ``[1, B, K]``, the sequence (a list) stacked ``[T, B, K]``;
    a decoded read-out that is not the output is refused in one line."""
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
