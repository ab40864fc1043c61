"""The process a job runs in: DDP ranks and the threads each takes (:mod:`.distributed`), the
allocator's policy (:mod:`.malloc`), float32 numerics on CUDA (:mod:`.numerics`), clocks that
wait for the device (:mod:`.clock`) and its DataLoader workers (:mod:`.workers`). A leaf: it
imports nothing else of the package."""
