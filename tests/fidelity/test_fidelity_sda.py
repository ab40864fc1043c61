"""`python -m fidelity.sda`: both sides on the same samples, with a stand-in for the
reference's file."""

from pathlib import Path

import pytest
from measured import output

from fidelity.sda import main

# A stand-in for the reference's utils/attack.py (ryime/PDSG-SDA has no licence, so the bench
# imports a user's clone): the reference's call signature and [T, 1, ...] samples, this
# project's SDA underneath, so that the two sides must agree example for example.
STAND_IN = """
from snnattack.attacks.methods.sda import SDA as Ours


class SDA:
    def __init__(self, model, k_init, N, batch_limit):
        self.attack = Ours(model.net, k_init=k_init, n_iter=N, batch_limit=batch_limit)

    def __call__(self, frames, labels):
        return self.attack(frames.transpose(0, 1), labels).transpose(0, 1)
"""


@pytest.mark.slow
def test_the_sda_bench_times_both_sides_on_the_same_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "ref" / "utils").mkdir(parents=True)
    (tmp_path / "ref" / "utils" / "attack.py").write_text(STAND_IN)
    argv = ["--reference", str(tmp_path / "ref"), "--samples", "8"]
    record, table = output(main, [*argv, "--store", str(tmp_path / "models")], capsys)
    assert record["samples"] == 8 and record["identical"] == 8 and record["same_l0"] == 8
    ours, theirs = record["batched"], record["reference"]
    assert ours["fooled"] == theirs["fooled"] > 0 and ours["mean_l0"] == theirs["mean_l0"]
    assert record["speedup"] == theirs["seconds"] / ours["seconds"]
    assert record["cpu_speedup"] == theirs["cpu_seconds"] / ours["cpu_seconds"]
    assert "identical examples on 8" in table


@pytest.mark.slow
def test_the_sda_bench_runs_the_fixture_net_with_a_spiking_output_under_pdsg(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "attack.py").write_text(STAND_IN)
    argv = ["--reference", str(tmp_path), "--samples", "6", "--model", "fixture"]
    record, table = output(
        main, [*argv, "--event-output", "spiking", "--event-grad", "pdsg"], capsys
    )
    assert (record["model"], record["spiking_output"], record["grad"]) == ("fixture", True, "pdsg")
    assert record["samples"] == 6 and record["identical"] == record["identical_alone"] == 6
    assert record["batched"]["fooled"] == record["reference"]["fooled"] > 0
    assert "fixture model, pdsg, spiking output" in table
