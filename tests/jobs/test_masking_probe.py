"""The masking checks after a job's attacks probe only test images the job attacked, and keep
each probe's seconds; the record keeps each row's."""

from __future__ import annotations

from harness import QUICK


def test_the_probes_stay_within_the_test_batches_the_job_attacked(run_job) -> None:
    metrics = run_job(
        *QUICK, "trainer.limit_test_batches=1", "eval_batch_size=16", "checks.masking.probe_size=64"
    )
    assert metrics["n"] == 16
    masking = metrics["masking"]
    assert masking["probe_size"] == 16  # not the 64 of probe_size: 48 of those were not attacked
    assert set(masking["seconds"]) == {
        "zero gradients (stbp)",
        "random forward",
        "unbounded eps (stbp, 20 PGD steps)",
    }
    assert all(s >= 0 for s in masking["seconds"].values())
    assert set(metrics["row_seconds"]) == {"fgsm/white/eps32", "fgsm/black/eps32"}
    assert all(s["total"] > 0 for s in metrics["row_seconds"].values())
