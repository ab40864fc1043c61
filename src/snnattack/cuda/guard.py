"""When the Triton kernels run: on a CUDA float32 tensor of a network of the backend ``c``
(the default: the fastest path of each device) or ``triton``; on a CPU float32 tensor of a
``triton`` network under Triton's interpreter (``TRITON_INTERPRET=1``); nowhere with the
backend ``torch``, or where Triton is not installed. Other dtypes (float64, half
precision) run the torch ops: the kernels compute in float32 only."""

from __future__ import annotations

from importlib.util import find_spec

import torch

TRITON = find_spec("triton") is not None  # installed (a CPU-only torch comes without it)
DEVICE_BACKENDS = {"cuda": ("c", "triton"), "cpu": ("triton",)}  # the backends run per device
# the surrogates the backward kernel knows, by their registered names; the index is its id.
# The others (PDSG and ASSG observe the forward) run on the torch ops.
SURROGATES = ("triangle", "rectangle", "sigmoid", "atan", "fast_sigmoid")


def applies(backend: str, x: torch.Tensor) -> bool:
    """Whether the Triton kernels run on ``x`` in a ``backend`` network."""
    if x.dtype != torch.float32 or backend not in DEVICE_BACKENDS.get(x.device.type, ()):
        return False
    return TRITON and (x.device.type == "cuda" or interpreted())


@torch.compiler.assume_constant_result  # read once where torch.compile traces the LIF
def interpreted() -> bool:
    """Whether Triton's interpreter is on (``TRITON_INTERPRET``, read at each call)."""
    import triton

    return bool(triton.knobs.runtime.interpret)
