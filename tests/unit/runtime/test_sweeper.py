"""The sweep's jobs (hydra_plugins.snnattack_sweeper): a setting of one choice of a
multi-select group goes only to the jobs that choose it; one that no job's choice reads stays
in every job, and is refused there as in a single run."""

from __future__ import annotations

from pathlib import Path

from harness import QUIET, cli, sweep_metrics
from hydra.core.override_parser.overrides_parser import OverridesParser

from hydra_plugins.snnattack_sweeper.choice_sweeper import ChoiceSweeper


def jobs(*arguments: str) -> list[list[str]]:
    overrides = OverridesParser.create().parse_overrides(list(arguments))
    return [job for batch in ChoiceSweeper.split_arguments(overrides, None) for job in batch]


def test_a_choice_setting_goes_to_the_jobs_that_choose_it() -> None:
    assert jobs("method=[fgsm],[pgd,apgd]", "method.pgd.steps=3", "+analysis.cost.x=1", "T=2") == [
        ["method=[fgsm]", "+analysis.cost.x=1", "T=2"],
        ["method=[pgd,apgd]", "method.pgd.steps=3", "+analysis.cost.x=1", "T=2"],
    ]
    spaced = "method.ensemble.components=[{attack: rga, method: pgd}]"
    listed = "method.ensemble.components=[{attack:rga,method:pgd}]"  # as Hydra writes it
    assert jobs("method=[ensemble],[fgsm]", spaced, "seed=0,1") == [
        ["method=[ensemble]", listed, "seed=0"],
        ["method=[ensemble]", listed, "seed=1"],
        ["method=[fgsm]", "seed=0"],
        ["method=[fgsm]", "seed=1"],
    ]


def test_a_job_that_leaving_a_setting_out_repeats_runs_once() -> None:
    assert jobs("method=[fgsm],[pgd]", "method.pgd.steps=1,2") == [
        ["method=[fgsm]"],
        ["method=[pgd]", "method.pgd.steps=1"],
        ["method=[pgd]", "method.pgd.steps=2"],
    ]


def test_a_setting_that_no_job_chooses_stays_in_every_job() -> None:
    assert jobs("method=[fgsm],[bim]", "method.pgd.steps=3") == [
        ["method=[fgsm]", "method.pgd.steps=3"],
        ["method=[bim]", "method.pgd.steps=3"],
    ]
    assert jobs("attack=rga,stbp", "method.pgd.steps=3") == [  # method= at its default
        ["attack=rga", "method.pgd.steps=3"],
        ["attack=stbp", "method.pgd.steps=3"],
    ]


def test_a_sweep_over_method_lists_runs_with_a_setting_of_one(
    tmp_path: Path, digits_store: Path
) -> None:
    """It was refused whole: the FGSM job's method.pgd.steps named a method it does not hold."""
    done = cli(
        "-m",
        *QUIET,
        "method=[fgsm],[pgd]",
        "method.pgd.steps=2",
        "eps=[16]",
        "boxes=[white]",
        f"store.dir={digits_store}",
        f"hydra.sweep.dir={tmp_path}/sweep",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    fgsm, pgd = sweep_metrics(tmp_path / "sweep")
    assert [r["method"] for r in fgsm["results"]] == ["fgsm"] and "pgd" not in fgsm["config"][
        "method"
    ]
    assert [r["method"] for r in pgd["results"]] == ["pgd"]
    assert pgd["config"]["method"]["pgd"]["steps"] == 2
