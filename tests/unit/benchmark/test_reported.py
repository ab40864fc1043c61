"""A paper's reported numbers are named as the protocol names its rows (``clean`` or a row):
``Clean`` or ``pgd_10`` is refused before any work, naming the key and the accepted names, from
Python (``reported=``) and on the command line (``benchmark.reported``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

import snnattack
from snnattack.benchmark import callback
from snnattack.errors import UserError

ROWS = "clean, fgsm, rfgsm, pgd, pgd10, pgd40, bim, apgd, apgd_dlr, ensemble, fgsm/transfer"


@pytest.mark.parametrize("key", ["Clean", "pgd_10"])
def test_a_reported_name_of_no_row_is_refused_before_any_work(key: str) -> None:
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(
            torch.nn.Linear(1, 1), protocol="digits", name="x", reported={key: 60.0}
        )
    assert str(err.value).startswith(
        f"reported names {key}, which is neither clean nor a row of the protocol; accepted: "
        f"{ROWS}, "
    )


def test_a_jobs_reported_name_of_no_row_is_refused_when_it_starts(tmp_path: Path) -> None:
    (tmp_path / "two_v1.yaml").write_text(
        "defaults:\n  - override /method: [fgsm, pgd]\nboxes: [white]\n"
        "benchmark:\n  protocol: two\n  version: 1\n"
    )
    block = {"protocol": "two", "version": 1, "name": "x", "reported": {"clean": 90, "PGD": 50}}
    with pytest.raises(UserError) as err:
        callback.start(OmegaConf.create({"benchmark": block}), tmp_path, tmp_path / "job")
    assert str(err.value) == (
        "benchmark.reported names PGD, which is neither clean nor a row of the protocol; "
        "accepted: clean, fgsm, pgd"
    )
