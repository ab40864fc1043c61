"""What a job keeps: the typed record of ``metrics.json`` (:mod:`.results`), the checkpoint
store, checkpoint files read safely, provenance, W&B tracking, and atomic file writes."""
