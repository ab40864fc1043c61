"""`python -m tools.ensemble_cost`: today's Square only within its block, and both
Squares timed on the same batches with the same result."""

from pathlib import Path

import pytest
import torch
import torchattacks
from measured import output

from snnattack.attacks.methods import build_attack
from snnattack.attacks.methods.square import Square
from tools.ensemble_cost import main, square_of


def test_the_ensemble_bench_builds_todays_square_only_within_its_block() -> None:
    model = torch.nn.Linear(4, 2)
    with square_of("torchattacks"):
        assert type(build_attack("square", model, 0.1, n_queries=5)) is torchattacks.Square
    assert type(build_attack("square", model, 0.1, n_queries=5)) is Square


@pytest.mark.slow
def test_the_ensemble_bench_times_both_squares_and_they_agree(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    record, table = output(main, ["--test-size", "8", "--store", str(tmp_path / "models")], capsys)
    assert record["images"] == 8 and record["tune_seconds"] > 0
    ours, theirs = record["snnattack"], record["torchattacks"]
    assert ours["robust_acc"] == theirs["robust_acc"]  # the same examples, draw for draw
    assert ours["square_seconds"] > 0 and theirs["seconds"] > theirs["square_seconds"]
    assert record["time_ratio"] == ours["seconds"] / theirs["seconds"]
    assert ours["cpu_seconds"] > 0 and theirs["cpu_seconds"] > 0
    assert "robust acc %" in table
