"""DDP on gloo with fewer evaluation batches than processes, and a share of the test split:
the job finishes with the samples and numbers of one process (``data/base.py``'s padding), and
rank 0 gathers every rank's saved examples (``gather_object``), each sample once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import QUICK, cli, run_py

from snnattack.evaluation import examples

COMMON = [
    *QUICK,
    "boxes=[white]",
    "threads=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=2",  # validation: 2 batches for 3 processes
    "train.batch_size=63",  # 21 a step on each of the 3 processes
    "attack.save_examples=true",
]


@pytest.mark.slow  # three gloo processes: ~40 s on two cores
@pytest.mark.parametrize("limit", ["2", "0.2"])  # 2 batches, or int(0.2 x 15) = 3 batches
def test_ddp_with_fewer_batches_than_ranks_equals_one_process(tmp_path: Path, limit: str) -> None:
    common = [*COMMON, f"trainer.limit_test_batches={limit}", f"store.dir={tmp_path}/models"]
    ddp = run_py(
        *common,
        "trainer=ddp_cpu",
        "trainer.devices=3",
        f"hydra.run.dir={tmp_path}/ddp",
        cwd=tmp_path,
        timeout=600,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = cli(*common, f"hydra.run.dir={tmp_path}/single", cwd=tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    d, s = (json.loads((tmp_path / k / "metrics.json").read_text()) for k in ("ddp", "single"))
    assert d["world_size"] == 3 and s["world_size"] == 1
    assert s["models"]["target"]["cached"]  # the model the processes trained together
    assert d["n"] == s["n"] == (64 if limit == "2" else 96)
    assert d["clean_acc"] == s["clean_acc"]
    keys = ("asr", "adv_acc", "n_correct", "n")
    assert [{k: r[k] for k in keys} for r in d["results"]] == [
        {k: r[k] for k in keys} for r in s["results"]
    ]
    for row in d["results"]:
        saved = examples.load(tmp_path / "ddp" / row["examples"])
        assert sorted(saved["indices"].tolist()) == list(range(d["n"]))
