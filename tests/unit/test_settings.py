"""The typed settings below ``job.py`` (snnattack/settings.py): built once from the validated
config, they carry its values, cannot be changed, and are all that the layers below the job
receive: only the seams that need the resolved config tree take ``cfg``."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
from harness import ROOT, compose

from snnattack.settings import DataSettings, JobSettings, Recipe

PACKAGE = ROOT / "src" / "snnattack"

# Where the whole config may still be a parameter, and why: the validation and the job itself,
# the settings' own builders, and the seams that need the resolved tree.
SEAM_MODULES = {
    "config": "the validation reads the config before any settings exist",
    "job.py": "the data flow: it builds the settings",
    "command.py": "the command line's job function: Hydra hands it the composed config",
    "api.py": "the Python API composes a config and builds the settings",
    "settings.py": "the settings' from_config builders",
    "source.py": "the black-box source's config: a training recipe and store key",
    "training": "training recipes and the checkpoint store's key (training spec)",
    "records/results.py": "the result spec and the relaunch check: the resolved tree",
    "records/tracking.py": "W&B names and tags from the resolved tree",
}
SEAM_FUNCTIONS = {
    # the sweep's row keys hash the result spec and the resolved tree
    ("evaluation/reuse.py", "row_keys"),
    # model=external: the user's factory and its options, a model builder (like training/)
    ("interop/external.py", "is_external"),
    ("interop/external.py", "external_model"),
    ("interop/external.py", "factory_network"),
    ("interop/external.py", "check_external"),
    # the benchmark: a protocol is a job config (its data and its surrogate source, built as a
    # job builds them), and a job's entry reads the job's benchmark block and model
    ("benchmark/run.py", "protocol_data"),
    ("benchmark/run.py", "surrogate"),
    ("benchmark/callback.py", "parameters"),
    ("benchmark/callback.py", "job_entry"),
}


def _functions_taking_cfg() -> list[tuple[str, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = node.args
                names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
                if "cfg" in names:
                    found.append((path.relative_to(PACKAGE).as_posix(), node.name))
    return found


def _is_seam(module: str, function: str) -> bool:
    return (module, function) in SEAM_FUNCTIONS or any(
        module == seam or module.startswith(f"{seam}/") for seam in SEAM_MODULES
    )


def test_no_function_below_the_job_takes_the_whole_config_except_at_the_seams() -> None:
    found = _functions_taking_cfg()
    assert ("job.py", "run") in found  # the scan sees the parameter where it is
    assert [f for f in found if not _is_seam(*f)] == []
    assert SEAM_FUNCTIONS <= set(found)  # no stale entry: each listed function still takes cfg


def test_job_settings_carry_the_configs_values() -> None:
    cfg = compose(
        "attack=hart",
        "attack.params.gamma=0.7",
        "attack.time_extension=2",
        "attack.eot_samples=3",
        "attack.steps_curve=[1,5]",
        "attack.tune.val_size=40",
        "attack.save_examples=true",
        "seed=4",
        "eval_batch_size=16",
        "checks.masking.probe_size=8",
        "lambda=0.5",
        "theta=0.8",
        "analysis=[shuffle]",
    )
    job = JobSettings.from_config(cfg)
    assert job.attack.recipe == Recipe(
        grad_mode="hart",
        grad_params={"gamma": 0.7},
        time_extension=2,
        eot_samples=3,
        steps_curve=(1, 5),
        seed=4,
    )
    assert job.attack.save_examples is True and job.attack.tune["val_size"] == 40
    assert (job.data.name, job.data.seed, job.data.eval_batch_size) == ("digits", 4, 16)
    assert job.data.batch_size == cfg.train.batch_size
    assert job.data.params == dict(cfg.dataset.params)
    assert job.checks.probe_size == 8 and job.checks.enabled is True
    assert (job.analysis.lam, job.analysis.theta) == (0.5, 0.8)
    assert list(job.analysis.selected) == ["shuffle"]
    assert job.analysis.accelerator == cfg.trainer.accelerator


def test_data_settings_take_another_seed_for_a_training_datamodule() -> None:
    cfg = compose("seed=3")
    assert DataSettings.from_config(cfg).seed == 3
    assert DataSettings.from_config(cfg, seed=11).seed == 11


@pytest.mark.parametrize("field", ["attack", "data", "checks", "analysis"])
def test_job_settings_are_frozen(field: str) -> None:
    job = JobSettings.from_config(compose())
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(job, field, None)
    part = getattr(job, field)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(part, dataclasses.fields(part)[0].name, None)


def test_a_recipe_is_frozen() -> None:
    recipe = Recipe("stbp")
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.eot_samples = 2  # type: ignore[misc]
    assert dataclasses.replace(recipe, eot_samples=2).eot_samples == 2


def test_the_seams_are_folders_or_modules_of_the_package() -> None:
    for seam in SEAM_MODULES:
        assert (PACKAGE / seam).exists(), seam
    for module, _ in SEAM_FUNCTIONS:
        assert Path(PACKAGE / module).is_file(), module
