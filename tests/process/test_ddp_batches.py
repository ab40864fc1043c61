"""DDP on gloo with fewer evaluation batches than processes, and a share of the test split:
the job finishes with the samples and numbers of one process (``data/base.py``'s padding), and
rank 0 gathers every rank's saved examples (``gather_object``), each sample once; an event
job's rows (targeted, with budget means gathered rank after rank) equal one process's."""

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


EVENTS = [
    *QUICK[:-3],  # digits_events below; its own epochs and methods
    "dataset=digits_events",
    "train.epochs=4",
    "threads=1",
    "trainer.limit_test_batches=3",  # batches 0, 2 on rank 0, batch 1 on rank 1
    "method=[gsattack,retime,event_patch,ensemble]",
    # an ensemble of event attacks: its L0 fields and worst-case samples, gathered too
    "method.ensemble.components=[{attack:stbp,method:spike_grad,params:{n_iter:2}},"
    "{attack:stbp,method:sda,params:{n_iter:2}}]",
    "method.gsattack.target=random",  # a class per sample: targeted_asr, n_targeted
    "method.gsattack.candidates=random",
    "method.gsattack.steps=10",
    "method.retime.steps=5",
    "method.event_patch.target=3",
    "method.event_patch.steps=3",
]


@pytest.mark.slow  # two gloo processes, then one: ~20 s on two cores
def test_ddp_event_rows_equal_one_process_targeted_and_budgets_included(tmp_path: Path) -> None:
    """Every field of an event job's rows (a random-target GSAttack row's targeted_asr and
    n_targeted, the recording's and the retiming's budget means, an event ensemble's L0
    fields, gathered rank after rank) and its masking checks are the single process's on the
    same models."""
    common = [*EVENTS, f"store.dir={tmp_path}/models"]
    ddp = run_py(*common, "trainer=ddp_cpu", f"hydra.run.dir={tmp_path}/ddp", cwd=tmp_path)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = cli(*common, f"hydra.run.dir={tmp_path}/single", cwd=tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    d, s = (json.loads((tmp_path / k / "metrics.json").read_text()) for k in ("ddp", "single"))
    assert d["world_size"] == 2 and s["world_size"] == 1 and d["n"] == s["n"] == 96
    assert s["models"]["target"]["cached"] and d["clean_acc"] == s["clean_acc"]
    drop = {"examples"}  # each job's own folder
    assert [{k: v for k, v in r.items() if k not in drop} for r in d["results"]] == [
        {k: v for k, v in r.items() if k not in drop} for r in s["results"]
    ]
    assert d["event_worst_case"] == s["event_worst_case"]
    assert d["masking"]["checks"] == s["masking"]["checks"]
    gsattack = d["results"][0]
    assert gsattack["n_targeted"] == gsattack["n_correct"] > 0  # a random target: every one
    assert gsattack["targeted_asr"] > 0 and gsattack["recording"]["changed_share_mean"] > 0
    assert d["results"][3]["l0_hist"]  # the ensemble's
    assert "ensemble/white/eps0" in d["event_worst_case"]["white"]["methods"]
