"""The process a job runs in: DDP ranks and the threads each takes (:mod:`.distributed`), the
allocator's policy (:mod:`.malloc`), float32 numerics on CUDA (:mod:`.numerics`), clocks that
wait for the device (:mod:`.clock`), its DataLoader workers (:mod:`.workers`) and its GPU
memory running out (:mod:`.out_of_memory`). A leaf: it imports nothing else of the package."""
