"""A network's backend, as spikingjelly's ``functional.set_backend``: ``c``, ``torch``, ``triton``.

The LIFs and the per-step wrappers of a network each carry a ``backend``. ``c`` (the
default) runs the CPU paths of :mod:`snnattack.cpu` (the LIF's loops and RGA's rate slope in
C, 2x2 average pooling in one pass, frozen layers and recomputed BN outputs that keep less
for the backward) wherever :func:`snnattack.cpu.guard.applies` finds them the same
computation, on a GPU the fused LIF's Triton kernels (:mod:`snnattack.cuda`) where
:func:`snnattack.cuda.guard.applies`, and the torch ops elsewhere; ``triton`` runs those
kernels (on the CPU too under Triton's interpreter, ``TRITON_INTERPRET=1``) and the torch ops
elsewhere; ``torch`` runs the torch modules and ops everywhere. All give the same values and
gradients (the C paths bit for bit, the Triton kernels within float32 rounding), so the
backend is a setting of the built network (config key ``backend``), not of its weights: a
checkpoint does not hold it, and it changes no result.
"""

from __future__ import annotations

from torch import nn

from snnattack.cpu.guard import checked
from snnattack.snn.neurons import LIF
from snnattack.snn.temporal import (
    FoldedAvgPool2d,
    FoldedBatchNorm2d,
    FoldedConv2d,
    FoldedSequential,
    StepWise,
)

# the modules that run a CPU path
CARRIERS = (LIF, StepWise, FoldedAvgPool2d, FoldedConv2d, FoldedBatchNorm2d, FoldedSequential)


def backend_modules(model: nn.Module) -> list[nn.Module]:
    """The modules of ``model`` that carry a backend, in registration order."""
    return [m for m in model.modules() if isinstance(m, CARRIERS)]


def set_backend(model: nn.Module, backend: str) -> nn.Module:
    """Sets the backend of every LIF and per-step wrapper of ``model`` to ``backend``;
    returns ``model``."""
    checked(backend)
    for module in backend_modules(model):
        module.backend = backend
    return model
