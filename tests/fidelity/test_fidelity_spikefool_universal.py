"""`python -m fidelity.spikefool_universal`: both sets of flips on the same samples, with a
stand-in for the reference's file."""

from pathlib import Path

import pytest
from measured import output

from fidelity.spikefool_universal import main

# A stand-in for SpikeFool's sparsefool.py (jubueche/SPAA has no licence, so the bench imports
# a user's clone): its import of the repository's utils, universal_attack's call signature and
# return, and an empty set of flips (no success), so that the record's two sides differ.
SPIKEFOOL_STAND_IN = """
import torch
from utils import get_prediction


class Heatmap:
    pass


def universal_attack(X, y, net, attack_fn, max_hamming_distance, max_iter, eviction=Heatmap,
                     device="gpu"):
    print("Success rate 0.0")
    return {"pert_total": torch.zeros(X.shape[1:]).bool(), "L0": 0.0}
"""


@pytest.mark.slow
def test_the_spikefool_reference_bench_fits_both_sets_on_the_same_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "sparsefool.py").write_text(SPIKEFOOL_STAND_IN)
    argv = ["--reference", str(tmp_path), "--samples", "4"]
    record, table = output(main, argv, capsys)
    assert record["samples"] == 4 and record["max_hamming_distance"] == 10
    assert record["same_bits"] is False and record["reference"]["bits"] == 0
    assert record["reference"]["test_fooled"] == 0 and record["ours"]["bits"] == 10
    assert 0 <= record["ours"]["test_fooled"] <= record["test_correct"] == 4
    assert "sparsefool_universal beside the reference's" in table
    assert f"{record['ours']['test_fooled']} / 4" in table
