"""Float32 on GPUs as on the CPU: TensorFloat-32 off unless the config's ``tf32`` allows it.

On Ampere and later GPUs cuDNN runs float32 convolutions in TF32 (a 10-bit mantissa) unless
told otherwise: a membrane potential near the threshold may then spike where float32 would not,
and the numbers of a GPU job would differ from the CPU's by more than rounding. A job sets
both of torch's TF32 flags (matmuls and cuDNN) from ``tf32`` and its records say which held
(``tf32`` in ``metrics.json`` and in a training record). The CPU never uses TF32.
"""

from __future__ import annotations

import torch


def set_tf32(allowed: bool) -> None:
    """Allows (or forbids) TF32 in this process's CUDA float32 matmuls and convolutions."""
    torch.backends.cuda.matmul.allow_tf32 = allowed
    torch.backends.cudnn.allow_tf32 = allowed


def tf32_allowed() -> bool:
    """Whether this process's CUDA float32 matmuls or convolutions may run in TF32."""
    return bool(torch.backends.cuda.matmul.allow_tf32 or torch.backends.cudnn.allow_tf32)
