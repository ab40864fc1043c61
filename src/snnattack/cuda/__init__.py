"""The GPU paths: the fused LIF's forward and backward as Triton kernels (:mod:`.kernels`),
launched as they are in eager mode and as PyTorch custom ops where ``torch.compile`` traces
(:mod:`.ops`), where one guard (:mod:`.guard`) finds them
the same computation as the torch ops. Beside :mod:`snnattack.cpu`, the CPU paths; under
Triton's interpreter (``TRITON_INTERPRET=1``) the kernels also run on CPU tensors, which is
how the default suite tests them without a GPU."""
