"""A row's numbers are its own: its random draws (PGD's random start here) derive from the
job's seed, the test batch and the row's name (:func:`snnattack.evaluation.evaluator.row_seed`),
not from its position among the job's rows, so a row compared across jobs of other method
lists gives the same numbers (docs/running.md, *Reproducibility*)."""

from __future__ import annotations

from typing import Any

from snnattack.evaluation.evaluator import row_seed

# one test batch, no masking checks: the rows alone; PGD's random start moves its norms
TINY = [
    "train.epochs=4",
    "eps=[16]",
    "boxes=[white]",
    "method.pgd.steps=2",
    "trainer=cpu",
    "trainer.limit_test_batches=1",
    "checks.masking.enabled=false",
]


def rows(record: dict[str, Any], method: str) -> list[dict[str, Any]]:
    return [r for r in record["results"] if r["method"] == method]


def test_a_row_gives_the_same_numbers_whatever_rows_run_before_it(run_job) -> None:
    alone = run_job(*TINY, "method=[pgd]", out="alone")
    after = run_job(*TINY, "method=[fgsm,pgd]", out="after")
    (pgd,) = rows(alone, "pgd")
    assert rows(after, "pgd") == [pgd]  # its position moved its random start before
    assert pgd["l2"] > 0 and [r["method"] for r in after["results"]] == ["fgsm", "pgd"]


def test_row_seed_names_the_row_not_its_position() -> None:
    seeds = {row_seed(0, 0, "pgd/white/eps16"), row_seed(0, 0, "pgd/white/eps16", "judge")}
    seeds |= {row_seed(1, 0, "pgd/white/eps16"), row_seed(0, 1, "pgd/white/eps16")}
    seeds |= {row_seed(0, 0, "pgd/black/eps16"), row_seed(0, 0, "pgd/white/eps8")}
    assert len(seeds) == 6 and all(0 <= s < 2**63 for s in seeds)
    assert row_seed(0, 0, "pgd/white/eps16") == row_seed(0, 0, "pgd/white/eps16")
