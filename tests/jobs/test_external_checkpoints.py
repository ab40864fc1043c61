"""``model=external checkpoint=PATH`` with ``torch.save(net.state_dict())`` of the factory's
own network: the job's numbers are those of the factory's weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from foreign_nets import spikingjelly_plif

pytest.importorskip("spikingjelly")

PLIF = ["model=external", "model.factory._target_=foreign_nets.spikingjelly_plif"]
ROWS = ["eps=[16]", "method=[fgsm]", "boxes=[white]", "checks.masking.probe_size=8"]


@pytest.mark.slow
def test_a_plif_factorys_own_state_dict_gives_the_rows_of_its_weights(
    tmp_path: Path, run_job
) -> None:
    torch.save(spikingjelly_plif().state_dict(), tmp_path / "plif.pt")
    built = run_job(*PLIF, *ROWS, out="built")
    loaded = run_job(*PLIF, *ROWS, f"checkpoint={tmp_path / 'plif.pt'}", out="loaded")
    assert loaded["models"]["target"]["format"] == "state_dict"
    assert loaded["clean_acc"] == built["clean_acc"]
    assert [(r["method"], r["asr"]) for r in loaded["results"]] == [
        (r["method"], r["asr"]) for r in built["results"]
    ]
