"""When the Triton kernels run: on a CUDA float32 tensor of a network of the backend ``c``
(the default: the fastest path of each device) or ``triton``; on a CPU float32 tensor of a
``triton`` network under Triton's interpreter (``TRITON_INTERPRET=1``); nowhere with the
backend ``torch``, where Triton is not installed, or on a GPU older than Triton compiles for
(a Pascal P100, compute capability 6.0: Triton needs 7.0). Other dtypes (float64, half
precision) run the torch ops: the kernels compute in float32 only."""

from __future__ import annotations

from importlib.util import find_spec

import torch

TRITON = find_spec("triton") is not None  # installed (a CPU-only torch comes without it)
DEVICE_BACKENDS = {"cuda": ("c", "triton"), "cpu": ("triton",)}  # the backends run per device
# the surrogates the backward kernel knows, by their registered names; the index is its id.
# The others (PDSG and ASSG observe the forward) run on the torch ops.
SURROGATES = ("triangle", "rectangle", "sigmoid", "atan", "fast_sigmoid")
OLDEST_GPU = (7, 0)  # the compute capability Triton compiles for from (torch's inductor says so)
GPUS: dict[str, bool] = {}  # what this process's GPUs are, read once


def applies(backend: str, x: torch.Tensor) -> bool:
    """Whether the Triton kernels run on ``x`` in a ``backend`` network."""
    if x.dtype != torch.float32 or backend not in DEVICE_BACKENDS.get(x.device.type, ()):
        return False
    return TRITON and ((x.device.type == "cuda" and compiled_for()) or interpreted())


@torch.compiler.assume_constant_result  # read once where torch.compile traces the LIF
def compiled_for() -> bool:
    """Whether Triton compiles for every GPU of this process (read once: ``GPUS``): on a
    machine with an older one the kernels would fail at their first launch there (torch's
    ``GPUTooOldForTriton``), so every GPU runs the torch ops, as without Triton."""
    if "compiled_for" not in GPUS:
        count = torch.cuda.device_count()
        capable = (torch.cuda.get_device_capability(i) >= OLDEST_GPU for i in range(count))
        GPUS["compiled_for"] = all(capable)
    return GPUS["compiled_for"]


@torch.compiler.assume_constant_result  # read once where torch.compile traces the LIF
def interpreted() -> bool:
    """Whether Triton's interpreter is on (``TRITON_INTERPRET``, read at each call)."""
    import triton

    return bool(triton.knobs.runtime.interpret)
