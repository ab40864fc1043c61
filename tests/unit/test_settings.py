"""The typed settings below ``job.py`` (snnattack/settings.py): built once from the validated
config, each layer parsing its own part (snnattack/config/parse.py, attacks/parse.py,
training/parse.py), they carry its values, cannot be changed, and are all that the layers
below the job receive: outside the validation and the parsers, only the seams listed here,
function by function, take the config ``cfg``."""

from __future__ import annotations

import ast
import dataclasses
from typing import Any

import pytest
from harness import ROOT, compose
from omegaconf import DictConfig, ListConfig, OmegaConf

from snnattack.config.parse import data_settings
from snnattack.preparation.config import job_settings
from snnattack.settings import (
    AttackSpec,
    Frozen,
    ModelSettings,
    Recipe,
    dotted_value,
    freeze,
    thaw,
)
from snnattack.training.parse import model_settings

PACKAGE = ROOT / "src" / "snnattack"
# the validation, and each layer's parser of its part of the config into settings
PARSERS = ("config/", "attacks/parse.py", "training/parse.py")
MAX_SEAMS = 8  # the most functions outside config/ that may take a config tree (issue 57)

# Where a composed config (the whole, or a node of it) may still be a parameter outside config/
# and the parsers, function by function, and why. Hydra's own callback hooks (``on_*``) aside.
SEAMS = {
    ("job.py", "run"): "the data flow: it validates the config and builds the settings",
    ("preparation/config.py", "job_settings"): "the job's settings, put together from each "
    "layer's parser",
    ("job.py", "check_model_files"): "a sweep's check before its first job: a job's model files "
    "loaded into its configured models, as the job would",
    ("command.py", "job"): "the command line's job function: Hydra hands it the composed config",
    ("benchmark/callback.py", "job_entry"): "a Hydra job-end callback: Hydra hands it the "
    "job's config, whose benchmark block names the protocol",
    ("benchmark/callback.py", "start"): "a Hydra job-start callback: the benchmark block of the "
    "job's config checked, its protected keys compared with the protocol file's config",
    ("benchmark/callback.py", "settings"): "the protected keys of a job's config (attacks, "
    "boxes, ε, test subset, data) as written, to compare with the protocol file's",
    ("benchmark/callback.py", "overridden"): "a job's protected keys against the protocol "
    "file's, both configs as Hydra composed them",
}


def _functions_taking_cfg() -> list[tuple[str, str, str, str | None]]:
    """Every function of the package with a parameter ``cfg`` or one annotated as an OmegaConf
    container (a composed config or a node of it), Hydra's callback hooks (``on_*``) aside:
    its module, its name, the parameter and its annotation (as written)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.name.startswith("on_"):
                    continue
                args = node.args
                for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                    hint = ast.unparse(a.annotation) if a.annotation else None
                    if (
                        a.arg == "cfg"
                        or "DictConfig" in (hint or "")
                        or "ListConfig" in (hint or "")
                    ):
                        found.append((path.relative_to(PACKAGE).as_posix(), node.name, a.arg, hint))
    return found


def seam_problems(found: set[tuple[str, str]], seams: dict[tuple[str, str], str]) -> list[str]:
    """What is wrong with the functions ``found`` taking cfg outside config/ against the listed
    ``seams``: one unlisted, a stale entry, or more seams than :data:`MAX_SEAMS`."""
    problems = [
        f"{m} {f} takes a config and is no listed seam" for m, f in sorted(found - set(seams))
    ]
    problems += [f"{m} {f} is listed but takes no config" for m, f in sorted(set(seams) - found)]
    if len(seams) > MAX_SEAMS:
        problems.append(f"{len(seams)} seams take a config, more than {MAX_SEAMS}")
    return problems


def test_at_most_eight_functions_outside_config_take_a_config_each_a_listed_seam() -> None:
    found = {(m, f) for m, f, *_ in _functions_taking_cfg() if not m.startswith(PARSERS)}
    assert ("job.py", "run") in found  # the scan sees the parameter where it is
    assert ("benchmark/callback.py", "overridden") in found  # whatever the parameter's name
    assert seam_problems(found, SEAMS) == []
    assert all(reason for reason in SEAMS.values())


def test_a_ninth_seam_fails_the_check() -> None:
    nine = {(f"m{i}.py", "f"): "a reason" for i in range(MAX_SEAMS + 1)}
    assert seam_problems(set(nine), nine) == ["9 seams take a config, more than 8"]
    assert seam_problems({("a.py", "g")}, {}) == ["a.py g takes a config and is no listed seam"]


def test_cfg_means_one_type_the_config() -> None:
    """A resolved plain dict has its own name (``resolved``): every ``cfg`` is a DictConfig."""
    assert {hint for _, _, arg, hint in _functions_taking_cfg() if arg == "cfg"} == {"DictConfig"}


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
    job = job_settings(cfg)
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
    assert job.masking.probe_size == 8 and job.masking.enabled is True
    assert list(job.analysis.selected) == ["shuffle"]
    assert job.analysis.accelerator == cfg.trainer.accelerator


def test_data_settings_take_another_seed_for_a_training_datamodule() -> None:
    cfg = compose("seed=3")
    assert data_settings(cfg).seed == 3
    assert data_settings(cfg, seed=11).seed == 11


@pytest.mark.parametrize("field", ["attack", "data", "masking", "analysis"])
def test_job_settings_are_frozen(field: str) -> None:
    job = job_settings(compose())
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


def test_settings_freeze_their_blocks_whoever_builds_them() -> None:
    """Not only the config's parsers: an ensemble's component, a masking probe or a test
    builds a recipe from a plain dict, and the recipe still holds it frozen."""
    params = {"gamma": [0.5, 1.0], "inner": {"k": 1}}
    recipe = Recipe("hart", params)
    assert recipe.grad_params == Frozen({"gamma": (0.5, 1.0), "inner": Frozen({"k": 1})})
    params["gamma"].append(2.0)  # the caller's dict is not the recipe's
    assert recipe.grad_params["gamma"] == (0.5, 1.0)
    with pytest.raises(TypeError):
        recipe.grad_params["inner"]["k"] = 2  # type: ignore[index]
    tuned = dataclasses.replace(recipe, grad_params={"gamma": 0.7})
    assert isinstance(tuned.grad_params, Frozen) and thaw(tuned.grad_params) == {"gamma": 0.7}


def test_a_dotted_key_reads_its_value_or_none_where_the_tree_lacks_it() -> None:
    """The one lookup of a dotted key (a sweep's row keys, a model's store key): a plain
    tree and a frozen one alike, None for a missing key and below a value that is no dict."""
    tree = {"attack": {"tune": {"steps": 3}, "reuse": None}, "T": 4}
    for given in (tree, freeze(tree)):
        assert dotted_value(given, "attack.tune.steps") == 3
        assert dotted_value(given, "T") == 4
        assert dotted_value(given, "attack.reuse") is None
        assert dotted_value(given, "attack.missing.steps") is None
        assert dotted_value(given, "T.below") is None


def test_the_seams_are_modules_of_the_package() -> None:
    for module, _ in SEAMS:
        assert (PACKAGE / module).is_file(), module


def test_job_settings_carry_the_attack_rows_and_whether_they_tune() -> None:
    job = job_settings(compose("method=[fgsm,pgd]", "eps=[8,16]", "boxes=[white]"))
    assert isinstance(job.specs, tuple) and all(isinstance(s, AttackSpec) for s in job.specs)
    assert [s.name for s in job.specs] == [
        "fgsm/white/eps8",
        "fgsm/white/eps16",
        "pgd/white/eps8",
        "pgd/white/eps16",
    ]
    assert job.tunes is False
    assert job_settings(compose("attack=rga", "attack.tune.enabled=true")).tunes is True


def test_model_settings_are_the_resolved_config_frozen() -> None:
    cfg = compose("lambda=0.5", "T=6")
    model = model_settings(cfg)
    assert thaw(model.tree) == OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(model.tree, Frozen) and isinstance(model.tree["eps"], tuple)
    assert (model.kind, model.name, model.tree["lambda"], model.tree["T"]) == (
        "stbp",
        "digits_net",
        0.5,
        6,
    )
    with pytest.raises(TypeError):
        model.tree["train"]["lr"] = 1.0  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.base = None  # type: ignore[misc]
    assert freeze([{"a": [1]}]) == (Frozen({"a": (1,)}),)


def test_a_kinds_derived_models_are_parsed_from_the_config_it_derives() -> None:
    """Derived before interpolations resolve: a conversion's ANN has the ANN's reset (it
    follows ``train.kind``), a hybrid's fine-tuning recipe its own ``trainer.max_epochs``
    (it follows ``train.epochs``)."""
    hybrid = model_settings(compose("train.kind=hybrid", "train.hybrid.epochs=3"))
    conversion = hybrid.base
    assert (conversion.kind, conversion.base.kind, conversion.base.base) == (
        "conversion",
        "ann",
        None,
    )
    assert conversion.tree["reset"] == "soft" and conversion.tree["train"]["adversary"] is None
    assert conversion.base.tree["reset"] == compose("train.kind=ann").reset
    tuning = hybrid.fine_tuning
    assert (tuning.train["epochs"], tuning.tree["trainer"]["max_epochs"]) == (3, 3)
    assert tuning.train["lr"] == hybrid.train["hybrid"]["lr"] and tuning.fine_tuning is None
    assert model_settings(compose()).base is None and model_settings(compose()).fine_tuning is None


def test_the_black_box_source_is_its_own_model_settings() -> None:
    job = job_settings(compose("source_lambda=0.5", "source_T=8", "seed=2"))
    assert (job.source.tree["lambda"], job.source.tree["T"]) == (0.5, 8)
    assert (job.model.tree["lambda"], job.model.tree["T"]) != (0.5, 8)
    assert (job.store.seed, job.store.source_seed, job.store.black_box) == (2, 1002, True)
    assert isinstance(job.source, ModelSettings)


def test_tracking_settings_freeze_the_wandb_block() -> None:
    job = job_settings(compose("logger=wandb", "tags=[a,7]"))
    assert job.tracking.tags == ("a", "7") and job.tracking.wandb["project"] == "snnattack"
    with pytest.raises(TypeError):
        job.tracking.wandb["project"] = "x"  # type: ignore[index]
    assert job_settings(compose()).tracking.wandb is None


# Mutable containers the job settings still hold, and why: an attack row's method parameters
# are handed to the methods as they are (tuning replaces a spec, never changes it).
MUTABLE_INSIDE = (".params",)


def _mutable_parts(node: Any, path: str = "") -> list[str]:
    """The paths below ``node`` (settings, frozen mappings, tuples) that hold a dict, a list
    or a config node."""
    if isinstance(node, dict | list | DictConfig | ListConfig):
        return [path]
    if dataclasses.is_dataclass(node):
        fields = ((f.name, getattr(node, f.name)) for f in dataclasses.fields(node))
        return [p for name, v in fields for p in _mutable_parts(v, f"{path}.{name}".lstrip("."))]
    if isinstance(node, Frozen | tuple):
        items = node.items() if isinstance(node, Frozen) else enumerate(node)
        return [p for k, v in items for p in _mutable_parts(v, f"{path}[{k}]")]
    return []


def test_job_settings_hold_no_mutable_container_but_the_listed_ones() -> None:
    job = job_settings(
        compose("source_lambda=0.5", "logger=wandb", "method=[fgsm,ensemble]", "analysis=[cost]")
    )
    found = _mutable_parts(job)
    assert found and all(any(m in p for m in MUTABLE_INSIDE) for p in found), found
    assert not [p for p in found if p.startswith(("model", "source", "tracking", "attack."))]
