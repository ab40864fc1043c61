"""The same model and settings give the same record from every entrance: one trained digits
model evaluated by a job (``checkpoint=`` on the command line) and by ``snnattack.evaluate``
on the same test images, with the attacked models' preparation (``attack.fold_bn``,
``compile``) on and off, through the one evaluation core (:mod:`snnattack.evaluation.core`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fixtures_digits import trained
from harness import QUIET, compose
from torch.utils.data import DataLoader

import snnattack
from snnattack.config.parse import data_settings
from snnattack.data import datamodule
from snnattack.records.store import ModelStore
from snnattack.training.parse import model_settings
from snnattack.training.store_key import store_key

ATTACKS = ["eps=[16]", "method=[fgsm,pgd]", "boxes=[white]", "method.pgd.steps=3"]
# the fields of the two records that differ by what each entrance is, not by what it computed
# times (how long, and when), which two runs of one entrance give apart too, are left out
TIMES = ("attack_seconds", "row_seconds", "masking.seconds", "finished")
DIFFERENT = {
    "models.target": "a job's record of the file it read (its path, its training record); "
    "the API's of the object passed (its class): only their kind is the same, compared below",
    "config.checkpoint": "the job names the file it read; the API was handed the model",
    "result_spec.checkpoint": "the same path, in the config without its cosmetic keys",
    "config.store.dir": "the job's checkpoint store, a path (the API reads none)",
    "config.model.name": "the job's architecture; the API's config names none (passed), its "
    "record's models.target does (digits_net, as the job's rows say: compared below)",
    "result_spec.model.name": "the same, in the config without its cosmetic keys",
    "command": "the single run's command, as Hydra's node says it (the API was typed none)",
    "config.trainer": "the job's Trainer (trainer=cpu); the API's config keeps the default, "
    "which a call does not read (it runs on its model's device)",
}


def differences(job: Any, api: Any, at: str = "") -> set[str]:
    """The dotted keys at which the two records' JSON differ (the deepest dict that differs)."""
    if isinstance(job, dict) and isinstance(api, dict):
        keys = job.keys() | api.keys()
        return {d for k in keys for d in differences(job.get(k), api.get(k), f"{at}{k}.")}
    return set() if job == api else {at.rstrip(".")}


def explained(found: set[str]) -> set[str]:
    """The entries of :data:`DIFFERENT` that ``found`` differs at (there or below); a key
    none of them names is kept as it is."""
    named = (*DIFFERENT, *TIMES)
    return {next((k for k in named if d == k or d.startswith(f"{k}.")), d) for d in found}


def test_differences_names_the_dotted_keys_that_differ() -> None:
    assert differences({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"b": 1, "c": 4}}) == {"a.c", "d"}
    assert explained({"models.target.path", "n"}) == {"models.target", "n"}


@pytest.mark.parametrize(
    "fold_bn, compiled",
    [
        (False, False),
        (True, False),
        pytest.param(False, True, marks=pytest.mark.slow),  # torch.compile: minutes on a CPU
        pytest.param(True, True, marks=pytest.mark.slow),
    ],
)
def test_a_job_and_the_api_give_the_same_record_of_the_same_model(
    fold_bn: bool, compiled: bool, digits_store: Path, run_job
) -> None:
    model, _, _ = trained(digits_store)  # the session's digits model, kept in its store
    trained_with = compose("train.epochs=4", f"store.dir={digits_store}")
    key = store_key(model_settings(trained_with), 0)
    checkpoint = ModelStore(digits_store).path(key) / "model.pt"
    prepared = [f"attack.fold_bn={str(fold_bn).lower()}", f"compile={str(compiled).lower()}"]
    # the job on the CPU, where the API keeps the model: a GPU machine's trainer=default takes
    # the GPU (a call reads no trainer keys: it runs on its model's device)
    job = run_job(*QUIET, f"checkpoint={checkpoint}", *ATTACKS, *prepared, "trainer=cpu")
    cfg = compose()
    dm = datamodule(data_settings(cfg, 0))
    dm.setup("test")
    api = snnattack.evaluate(
        model,
        DataLoader(dm.test_set, batch_size=cfg.eval_batch_size),
        eps=[16],
        methods=["fgsm", "pgd"],
        progress=False,
        overrides=["method.pgd.steps=3", *prepared],
    ).to_json()
    assert explained(differences(job, api)) - set(TIMES) == set(DIFFERENT)
    assert api["models"]["target"]["kind"] == job["models"]["target"]["kind"]
    # the weights' count and hash that the job's record names (the API's had none)
    for field in ("parameters", "weights"):
        assert api["models"]["target"][field] == job["models"]["target"][field] is not None
    assert api["models"]["target"]["architecture"] == job["config"]["model"]["name"]
    assert api["results"][0]["target_kind"] == job["results"][0]["target_kind"] == "stbp"
    assert [r["asr"] for r in api["results"]] > [0, 0]  # rows that mean something
    assert api["config"]["attack"]["fold_bn"] is fold_bn and api["config"]["compile"] is compiled
