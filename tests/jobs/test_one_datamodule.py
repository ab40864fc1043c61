"""A job builds one datamodule (snnattack/job.py): the tuning's validation images, the attacks'
test split, the analyses and the masking checks all read it."""

from __future__ import annotations

from typing import Any

from harness import QUICK

import snnattack.data


def test_a_job_builds_one_datamodule_for_tuning_attacks_analyses_and_checks(
    run_job, monkeypatch
) -> None:
    first = run_job(*QUICK, out="warm")  # the models in the store, so the job trains nothing
    built: list[Any] = []
    build = snnattack.data.build_datamodule

    def counted(*args: Any, **kwargs: Any) -> Any:
        built.append(build(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(snnattack.data, "build_datamodule", counted)
    tuned = ["attack=hart", "attack.tune.enabled=true", "attack.tune.val_size=20"]
    metrics = run_job(*QUICK, *tuned, "analysis=[shuffle]", "trainer.limit_test_batches=2")
    assert [metrics["models"][k]["cached"] for k in ("target", "source")] == [True, True]
    assert len(built) == 1
    assert [row["tuned"]["val_n"] for row in metrics["results"]] == [20, 20]  # white, black
    assert metrics["n"] == 2 * first["config"]["eval_batch_size"]  # the attacks, the test split
    assert metrics["analyses"]["shuffle"]["n"] == metrics["n"]  # the analysis, its own limit
    assert metrics["masking"]["checks"]  # the masking checks ran on its probe images
