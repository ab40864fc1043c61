"""Gradient modes: how the spiking layers of a model are differentiated during an attack.

``with gradient_mode(model, "rga"): loss(model(x)).backward()`` leaves the forward values
unchanged and replaces the backward pass. One module per mode, registered in
:data:`GRADIENT_MODES`:

- ``stbp``: BPTT through the unrolled simulation with the triangle surrogate (the default);
- ``rga``: the rate gradient approximation (Bu et al., CVPR 2023) in the rate domain, and
  ``rga_layerwise``, the same gradient layer by layer (the reference code's way; the oracle);
- ``bptr``: backpropagation through rates (Ding et al., NeurIPS 2022);
- ``hart``: detached membrane, triangle surrogate, time-averaged input gradient (Hao et al.,
  ICLR 2024);
- ``ann``: the gradient of the network's ANN counterpart (quantised clipped ReLUs).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

from snnattack.gradients.ann import ann
from snnattack.gradients.bptr import bptr
from snnattack.gradients.hart import hart
from snnattack.gradients.rga import rate_slope, rga, rga_layerwise
from snnattack.gradients.stbp import stbp
from snnattack.temporal import Temporal

GRADIENT_MODES = {
    "stbp": stbp,
    "rga": rga,
    "rga_layerwise": rga_layerwise,
    "bptr": bptr,
    "hart": hart,
    "ann": ann,
}

__all__ = ["GRADIENT_MODES", "gradient_mode", "rate_slope"]


@contextmanager
def gradient_mode(model: nn.Module, mode: str, **params: float) -> Iterator[nn.Module]:
    """Within the block, ``model``'s forward is unchanged and its backward is ``mode``'s.

    ``params`` are the mode's own settings: ``width`` for ``stbp``; ``beta``, ``gamma`` for
    ``rga`` and ``rga_layerwise``; ``gamma`` (surrogate half-width) for ``hart``.
    """
    if mode not in GRADIENT_MODES:
        raise ValueError(f"unknown gradient mode {mode!r}; accepted: {sorted(GRADIENT_MODES)}")
    if not any(isinstance(m, Temporal) for m in model.modules()):
        raise ValueError("gradient_mode: the model has no spiking layers (snnattack LIF/encoders)")
    try:
        ctx = GRADIENT_MODES[mode](model, **params)
    except TypeError as err:
        raise ValueError(f"gradient mode {mode!r}: bad parameters {params}: {err}") from None
    with ctx:
        yield model
