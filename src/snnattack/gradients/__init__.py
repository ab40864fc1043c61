"""Gradient modes: how the spiking layers of a model are differentiated during an attack.

``with gradient_mode(model, "rga"): loss(model(x)).backward()`` leaves the forward values
unchanged and replaces the backward pass. One module per mode, registered in
:data:`GRADIENT_MODES`:

- ``stbp``: BPTT through the simulation with a chosen surrogate, triangle by default (the
  default mode);
- ``rga``: the rate gradient approximation (Bu et al., CVPR 2023) in the rate domain, and
  ``rga_layerwise``, the same gradient layer by layer (the reference code's way; the oracle);
- ``bptr``: backpropagation through rates (Ding et al., NeurIPS 2022);
- ``hart``: detached membrane, triangle surrogate, time-averaged input gradient (Hao et al.,
  ICLR 2024);
- ``ann``: the gradient of the network's ANN counterpart (quantised clipped ReLUs);
- ``pdsg``: STBP with the potential-dependent Gaussian surrogate (Lun et al., CVPR 2025);
- ``assg``: STBP with the adaptive-sharpness atan surrogate (Wang et al. 2025).

A mode that only changes the spike's surrogate or cuts a gradient path sets the neurons'
settings (:func:`snnattack.gradients.base.neuron_settings`; ``docs/neuron.md``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

from snnattack.gradients.ann import ann
from snnattack.gradients.assg import assg
from snnattack.gradients.bptr import bptr
from snnattack.gradients.hart import hart
from snnattack.gradients.pdsg import pdsg
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
    "pdsg": pdsg,
    "assg": assg,
}

__all__ = ["GRADIENT_MODES", "gradient_mode", "rate_slope"]


@contextmanager
def gradient_mode(model: nn.Module, mode: str, **params: float) -> Iterator[nn.Module]:
    """Within the block, ``model``'s forward is unchanged and its backward is ``mode``'s.

    ``params`` are the mode's own settings: ``surrogate``, ``width``, ``alpha`` for ``stbp``;
    ``beta``, ``gamma`` for ``rga`` and ``rga_layerwise``; ``gamma`` (surrogate half-width)
    for ``hart``; ``a``, ``relax``, ``beta_1``, ``beta_2`` for ``assg``.
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
