"""attack.save_examples: each row's adversarial examples saved, reloaded, evaluated again."""

import csv
from pathlib import Path

import pytest
import torch
from harness import ROOT, compose
from torchattacks.attack import Attack

from snnattack.config.parse import data_settings
from snnattack.data import datamodule
from snnattack.evaluation import examples
from snnattack.job import run
from snnattack.records.store import ModelStore
from snnattack.report import write_report
from snnattack.training.parse import model_settings
from snnattack.training.trained import trained_model


def reading_block(store_folder: str, job_folder: str) -> str:
    """docs/examples.md's "Reading them" block, its placeholder folders filled in."""
    page = (ROOT / "docs" / "examples.md").read_text()
    block = page.split("**Reading them.**")[1].split("```python\n")[1].split("```")[0]
    return block.replace("models/<key>/", store_folder).replace("outputs/.../", job_folder)


def test_saved_examples_reload_and_give_the_recorded_adversarial_accuracy(
    tmp_path: Path,
) -> None:
    cfg = compose(
        f"store.dir={tmp_path}/models",
        "train.epochs=1",
        "trainer.limit_test_batches=3",
        "trainer.enable_progress_bar=false",
        "eval_batch_size=20",
        "method=[fgsm,pgd]",
        "eps=[32]",
        "boxes=[white]",
        "attack.save_examples=true",
    )
    (tmp_path / "job").mkdir()  # Hydra makes the job folder before the job runs
    record = run(cfg, tmp_path / "job")
    model, _ = trained_model(model_settings(cfg), 0, ModelStore(tmp_path / "models"), [])
    dm = datamodule(data_settings(cfg, 0))
    dm.setup("test")
    for row in record.results:
        assert row.examples == f"adv_{row.method}_32_white.pt"
        saved = examples.load(tmp_path / "job" / row.examples)
        # the file names its row and the code that made it (its job's record's)
        assert saved["row"] == f"{row.method}/white/eps32"
        assert saved["row"] in record.row_seconds
        assert (saved["version"], saved["git_commit"]) == (record.version, record.git_commit)
        assert saved["version"] is not None and saved["git_commit"] is not None
        assert saved["indices"].tolist() == list(range(60))  # 3 batches of 20, in order
        assert saved["labels"].tolist() == [int(dm.test_set[i][1]) for i in range(60)]
        clean = torch.stack([dm.test_set[i][0] for i in range(60)])
        assert (saved["adv_inputs"] - clean).abs().max() <= 32 / 255 + 1e-6
        with torch.no_grad():
            preds = model(saved["adv_inputs"]).argmax(1)
        assert torch.equal(preds, saved["preds"])
        accuracy = 100.0 * int((preds == saved["labels"]).sum()) / len(preds)
        assert accuracy == row.adv_acc  # evaluated again: the recorded number
        with torch.no_grad():  # the samples the row's ASR counts: those classified right
            assert torch.equal(saved["correct"], model(clean).argmax(1) == saved["labels"])
        fooled = saved["correct"] & (preds != saved["labels"])
        assert int(saved["correct"].sum()) == row.n_correct
        assert 100.0 * int(fooled.sum()) / row.n_correct == pytest.approx(row.asr)
        (x, y), *_ = Attack.load(str(tmp_path / "job" / row.examples))
        assert torch.equal(x, saved["adv_inputs"][: len(x)]) and torch.equal(y, saved["labels"])
    key = record.models["target"]["key"]
    read = reading_block(f"{tmp_path}/models/{key}/", f"{tmp_path}/job/")
    scope: dict = {}
    exec(compile(read, "docs/examples.md", "exec"), scope)  # the last row's file: pgd
    assert 100.0 * float(scope["acc"]) == pytest.approx(record.results[-1].adv_acc)
    report = write_report(tmp_path / "job")
    assert "Adversarial examples saved for 2 row(s)" in report.files["md"].read_text()
    with open(tmp_path / "job" / "results.csv") as f:
        assert [r["examples"] for r in csv.DictReader(f)] == [
            "adv_fgsm_32_white.pt",
            "adv_pgd_32_white.pt",
        ]


def test_a_file_written_before_its_later_keys_loads_them_as_none(tmp_path: Path) -> None:
    """Files saved before ``row``, ``version``, ``git_commit`` and ``correct`` were written read
    as files of no known code and samples, not as a KeyError in the reader."""
    torch.save({"adv_inputs": torch.zeros(1, 2), "save_type": "float"}, tmp_path / "old.pt")
    saved = examples.load(tmp_path / "old.pt")
    assert {k: saved[k] for k in examples.LATER} == dict.fromkeys(examples.LATER)
