"""When the Triton kernels run: on a CUDA float32 tensor of a network of the backend ``c``
(the default: the fastest path of each device) or ``triton``; on a CPU float32 tensor of a
``triton`` network under Triton's interpreter (``TRITON_INTERPRET=1``); nowhere with the
backend ``torch``, or where Triton cannot be imported. Other dtypes (float64, half
precision) run the torch ops: the kernels compute in float32 only."""

from __future__ import annotations

from functools import cache

import torch

DEVICE_BACKENDS = {"cuda": ("c", "triton"), "cpu": ("triton",)}  # the backends run per device
# the surrogates the backward kernel knows, by their registered names; the index is its id.
# The others (PDSG and ASSG observe the forward) run on the torch ops.
SURROGATES = ("triangle", "rectangle", "sigmoid", "atan", "fast_sigmoid")


def applies(backend: str, x: torch.Tensor) -> bool:
    """Whether the Triton kernels run on ``x`` in a ``backend`` network."""
    if x.dtype != torch.float32 or backend not in DEVICE_BACKENDS.get(x.device.type, ()):
        return False
    if not importable():
        return False
    return x.device.type == "cuda" or interpreted()


@torch.compiler.assume_constant_result  # read once where torch.compile traces the LIF
@cache
def importable() -> bool:
    """Whether Triton can be imported here."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


@torch.compiler.assume_constant_result
def interpreted() -> bool:
    """Whether Triton's interpreter is on (``TRITON_INTERPRET``, read at each call)."""
    import triton

    return bool(triton.knobs.runtime.interpret)
