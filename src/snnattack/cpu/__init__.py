"""CPU-only speed and memory paths: C kernels built on first use (:mod:`.native`), one-pass
pooling, frozen layers and recomputed BN outputs that keep less for the backward, and the
allocator policy. Each gives the same values as the torch ops it replaces."""
