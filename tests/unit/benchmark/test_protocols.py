"""The protocol files of experiments/benchmark/: named as their block says, holding the
lineage's attacks and the reliable worst case, and valid job configs; and the one-line
refusal of an unknown protocol or version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

import snnattack
from snnattack.api import job_config
from snnattack.benchmark import evaluation
from snnattack.benchmark.callback import overridden
from snnattack.benchmark.protocol import (
    PROTOCOL_DIR,
    available,
    named,
    protocol,
)
from snnattack.benchmark.release import changed, files, recorded, release, sha256_of
from snnattack.benchmark.release import main as release_main
from snnattack.config.compose import hydra_value
from snnattack.config.keys import CONF_DIR
from snnattack.errors import UserError
from snnattack.models import build

LINEAGE = ["fgsm", "rfgsm", "pgd", "pgd10", "pgd40", "bim", "apgd", "apgd_dlr"]
MODES = {"stbp", "rga", "hart", "pdsg", "assg", "bptr"}  # every mode the worst case runs
NAMES = [f"{n}_v{v}" for n, versions in available().items() for v in versions]


def test_the_protocols_are_the_issues_list() -> None:
    assert available() == {
        "cifar100_linf4": [1],
        "cifar100_linf8": [1],
        "cifar10_linf4": [1],
        "cifar10_linf8": [1],
        "digits": [1],
    }


@pytest.mark.parametrize("label", NAMES)
def test_a_protocol_holds_the_lineage_and_the_reliable_worst_case(label: str) -> None:
    chosen = protocol(label)
    assert chosen.label == label and chosen.methods == [*LINEAGE, "ensemble"]
    assert chosen.boxes == ["white", "black"] and chosen.raw.source_train == "ann"
    parts = chosen.raw.method.ensemble.components
    for method in ("apgd", "sapgd"):
        assert {c.attack for c in parts if c.method == method} == MODES
    assert [c.method for c in parts if "attack" not in c] == ["square"]
    tuned = {c.attack for c in parts if c.get("tune")}
    assert tuned == {"stbp", "rga", "hart", "assg"}  # the modes with parameters
    assert chosen.n == (200 if label.startswith("digits") else 1000)
    assert len(chosen.eps) == 1 and chosen.stochastic_eot > 1


@pytest.mark.slow  # composes and validates each file's job config (seconds each)
@pytest.mark.parametrize("label", NAMES)
def test_a_protocols_settings_are_a_valid_job_config(label: str) -> None:
    chosen = protocol(label)
    given = ("++eps", "++boxes", "++seed")
    cfg, _ = job_config(
        eps=chosen.eps,
        methods=chosen.methods,
        grad_mode="stbp",
        boxes=chosen.boxes,
        seed=chosen.seed,
        overrides=[
            *(o for o in chosen.overrides() if o.split("=")[0] not in given),
            "checks.memory=false",  # CIFAR's tuning batch fits a GPU, not this machine
        ],
    )
    assert list(cfg.method) == chosen.methods and list(cfg.eps) == chosen.eps
    assert len(cfg.method.ensemble.components) == len(chosen.raw.method.ensemble.components)
    assert cfg.benchmark.protocol == chosen.name and cfg.benchmark.version == chosen.version


@pytest.mark.parametrize(
    "name,version,message",
    [
        ("imagenet", None, "protocol='imagenet' is unknown; accepted: cifar100_linf4 (versions"),
        ("digts", None, "protocol='digts' is unknown (did you mean digits?); accepted: cifar100"),
        ("digits", 2, "protocol='digits' has no version 2; accepted: 1 (experiments/benchmark/)"),
        ("digits_v2", None, "protocol='digits' has no version 2; accepted: 1"),
        ("digits_v1", 2, "protocol='digits_v1' is version 1 but version=2; accepted: one of them"),
        (3, None, "protocol=3 is not a protocol name; accepted: cifar100_linf4 (versions 1),"),
    ],
)
def test_an_unknown_protocol_or_version_is_refused_in_one_line(name, version, message) -> None:
    with pytest.raises(UserError) as err:
        protocol(name, version)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_a_missing_version_of_a_drafted_protocol_names_its_folder(tmp_path: Path) -> None:
    """The versions listed are those of the folder searched (a job's ``-cd``, a drafted
    protocol's), not experiments/benchmark/'s."""
    (tmp_path / "mine_v1.yaml").write_text("benchmark: {protocol: mine, version: 1}\n")
    with pytest.raises(UserError) as err:
        protocol("mine", 2, folder=tmp_path)
    assert str(err.value) == f"protocol='mine' has no version 2; accepted: 1 ({tmp_path})"


def test_a_file_whose_block_names_another_protocol_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mine_v2.yaml").write_text("benchmark: {protocol: mine, version: 1}\n")
    with pytest.raises(UserError, match=r"benchmark.version=1 differ from its file name"):
        protocol("mine", folder=tmp_path)


@pytest.mark.parametrize("file", ["mine.yaml", "Mine_v1.yaml", "mine_v1.yml"])
def test_a_drafted_file_of_another_name_is_told_how_a_protocol_file_is_named(
    tmp_path: Path, file: str
) -> None:
    with pytest.raises(UserError) as err:
        named(tmp_path / file)
    assert str(err.value) == (
        f"protocol={str(tmp_path / file)!r} is not named as a protocol file; accepted: a file "
        "named <name>_v<k>.yaml (lower case, e.g. mine_v1.yaml), its block saying protocol: "
        "<name>, version: <k>"
    )


@pytest.mark.parametrize("where", ["", "no/"])
def test_a_drafted_file_that_is_not_there_is_named_as_a_path(tmp_path: Path, where: str) -> None:
    """A mistyped path was read as the name of an unknown protocol (``protocol='mine_v1' is
    unknown; accepted: ...`` the folder's others, or none where the folder is missing)."""
    (tmp_path / "other_v1.yaml").write_text("benchmark: {protocol: other, version: 1}\n")
    path = tmp_path / where / "mine_v1.yaml"
    with pytest.raises(UserError) as err:
        named(path)
    assert str(err.value) == (
        f"protocol={str(path)!r} is not a file; accepted: the path of a protocol file "
        "(<name>_v<k>.yaml), or a released protocol's name (protocol='digits')"
    )


def test_a_protocol_file_given_as_text_is_told_to_be_a_path(tmp_path: Path) -> None:
    """``protocol="/path/mine_v1.yaml"``, an existing file as text, was refused as an unknown
    protocol's name: a file is passed as a Path (docs/benchmark.md), which the line says."""
    file = tmp_path / "mine_v1.yaml"
    file.write_text(DRAFT)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(
            net, protocol=str(file), name="mine", path=tmp_path / "e.json", T=4
        )
    assert str(err.value) == (
        f"protocol={str(file)!r} is a path given as text, which names a released protocol; "
        f"accepted: the file as a Path, protocol=Path({str(file)!r}), or a released "
        "protocol's name (protocol='digits')"
    )
    assert sorted(tmp_path.iterdir()) == [file]
    assert named(file).label == "mine_v1"  # the same file as a Path is read


def test_a_folder_without_protocol_files_says_how_they_are_named(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        protocol("mine", folder=tmp_path)
    assert str(err.value) == (
        f"protocol='mine' is unknown; accepted: none, {tmp_path} holds no protocol file (named "
        "<name>_v<k>.yaml)"
    )


def test_a_protocol_of_one_method_given_as_a_word_has_that_one_row(tmp_path: Path) -> None:
    (tmp_path / "mine_v1.yaml").write_text(
        "defaults:\n  - config\n  - override /method: pgd\n  - _self_\n"
        "boxes: [white]\nbenchmark: {protocol: mine, version: 1}\n"
    )
    assert protocol("mine", folder=tmp_path).methods == ["pgd"]


@pytest.mark.parametrize(
    "value,text",
    [
        ([{"attack": "stbp", "params": {"steps": 3}}], "[{attack:stbp,params:{steps:3}}]"),
        ("Ding et al., NeurIPS", "'Ding et al., NeurIPS'"),
        (None, "null"),
        (True, "true"),
        ((0.25, torch.tensor(2)), "[0.25,2]"),  # the Python API's tuples and 0-d tensors
    ],
)
def test_a_value_becomes_a_hydra_override(value, text) -> None:
    assert hydra_value(value) == text


@pytest.mark.parametrize(
    "value", ["8", "1.10", "1e3", "-inf", "true", "NULL", "stbp", "it's", "C:\\data\\", "a\\'b"]
)
def test_a_text_override_is_read_back_by_hydra_as_that_text(value: str) -> None:
    """A text that reads as a number, a switch or null (``benchmark.evaluate(name="1.10")``)
    was left bare, and the job's config held 1.1; a backslash was doubled where Hydra keeps
    it as it is."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_override(f"k={hydra_value(value)}").value()
    assert parsed == value and isinstance(parsed, str)


def test_the_protocols_live_in_experiments_and_ship_with_the_package() -> None:
    assert PROTOCOL_DIR.resolve().parts[-2:] == ("experiments", "benchmark")  # in a checkout
    assert PROTOCOL_DIR.parent.name == "benchmark"  # the package's own folder (a wheel's copy)


RECIPES = sorted(p.stem for p in (PROTOCOL_DIR / "recipe").glob("*.yaml"))


@pytest.mark.slow  # composes and validates each recipe's job config (a second each)
def test_the_seed_entries_experiment_runs_the_digits_protocol_on_every_recipe() -> None:
    from hydra import compose, initialize_config_dir

    from snnattack.config.keys import CONF_DIR
    from snnattack.config.validation import validate

    sweep = OmegaConf.load(PROTOCOL_DIR / "digits_entries.yaml").hydra.sweeper.params
    assert sweep.recipe.split(",") == [
        "stbp",
        "fgsm_rs_at",
        "pgd_at",
        "trades",
        "rat",
        "conversion",
        "hybrid",
        "rga_at",
    ]
    assert sorted(sweep.recipe.split(",")) == RECIPES and sweep.seed == "0,1,2"
    digits = protocol("digits")
    trained = set()
    with initialize_config_dir(str(PROTOCOL_DIR), version_base="1.3"):
        for recipe in RECIPES:
            cfg = compose(
                "digits_entries", [f"hydra.searchpath=[file://{CONF_DIR}]", f"recipe={recipe}"]
            )
            validate(cfg)
            assert list(cfg.method) == digits.methods and list(cfg.eps) == digits.eps
            assert cfg.benchmark.protocol == "digits" and cfg.benchmark.version == 1
            assert cfg.benchmark.name == f"{cfg.benchmark.training} digits_net (seed 0)"
            adversary = cfg.train.adversary
            trained.add((cfg.train.kind, adversary.method, adversary.grad_mode, adversary.reg))
    assert len(trained) == len(RECIPES)  # eight different trainings


def test_every_released_protocol_file_is_as_its_recorded_hash() -> None:
    """A released protocol file is never edited: this fails when one changes (restore it, and
    put the change in a new version, released with python -m snnattack.benchmark.release)."""
    assert changed() == []
    assert sorted(recorded()) == sorted(p.name for p in files())  # every protocol released


def test_release_records_a_new_version_and_refuses_a_changed_file(tmp_path: Path) -> None:
    (tmp_path / "mine_v1.yaml").write_text("benchmark: {protocol: mine, version: 1}\n")
    assert release(tmp_path) == [tmp_path / "mine_v1.yaml"]
    (tmp_path / "mine_v2.yaml").write_text("benchmark: {protocol: mine, version: 2}\n")
    assert release(tmp_path) == [tmp_path / "mine_v2.yaml"]  # v1 kept as it was
    assert recorded(tmp_path) == {p.name: sha256_of(p) for p in files(tmp_path)}
    (tmp_path / "mine_v1.yaml").write_text("benchmark: {protocol: mine, version: 1}\n# fgsm\n")
    with pytest.raises(UserError) as err:
        release(tmp_path)
    assert re.fullmatch(
        r"\S+mine_v1\.yaml changed since its release \(sha256 [0-9a-f]{12}\.\.\., released "
        r"[0-9a-f]{12}\.\.\.\); accepted: the released file as it was \(git checkout\), a "
        r"change as a new version <protocol>_v<k\+1>\.yaml",
        str(err.value),
    )


def test_the_release_command_refuses_a_changed_file_with_exit_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "mine_v1.yaml").write_text("benchmark: {protocol: mine, version: 1}\n")
    assert release_main([str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"released {tmp_path / 'mine_v1.yaml'}\n"
    assert release_main([str(tmp_path)]) == 0  # again: nothing new, and it says so
    assert capsys.readouterr().out.startswith(
        f"nothing to release: every protocol file in {tmp_path}"
    )
    (tmp_path / "empty").mkdir()
    assert release_main([str(tmp_path / "empty")]) == 0
    assert capsys.readouterr().out.startswith(f"nothing to release: {tmp_path / 'empty'} holds no")
    assert list((tmp_path / "empty").iterdir()) == []  # no empty hashes file
    (tmp_path / "mine_v1.yaml").write_text("benchmark: {protocol: mine, version: 1, x: 1}\n")
    with pytest.raises(SystemExit) as stop:
        release_main([str(tmp_path)])
    assert stop.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'mine_v1.yaml'} changed")


def test_the_release_command_refuses_a_missing_folder_with_exit_2(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        release_main([str(tmp_path / "nope")])
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"error: FOLDER={str(tmp_path / 'nope')!r} is not a folder; accepted: a folder of "
        "protocol files (<name>_v<version>.yaml)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_new_file_whose_block_disagrees_with_its_name_is_not_released(tmp_path: Path) -> None:
    """Once released, a file is never edited: one that no protocol() reads would stay so."""
    (tmp_path / "mine_v1.yaml").write_text("benchmark: {protocol: mine, version: 1}\n")
    (tmp_path / "mine_v3.yaml").write_text("benchmark: {protocol: mine, version: 2}\n")
    with pytest.raises(UserError) as err:
        release(tmp_path)
    assert str(err.value) == (
        f"{tmp_path / 'mine_v3.yaml'}: benchmark.protocol='mine' and benchmark.version=2 "
        "differ from its file name; accepted: protocol: mine, version: 3"
    )
    assert recorded(tmp_path) == {}  # nothing recorded, mine_v1 either


def composed(name: str, *overrides: str) -> DictConfig:
    """The job config of ``-cd experiments/benchmark -cn NAME OVERRIDES``."""
    with initialize_config_dir(str(PROTOCOL_DIR.absolute()), version_base="1.3"):
        return compose(name, overrides=[f"hydra.searchpath=[file://{CONF_DIR}]", *overrides])


@pytest.mark.parametrize(
    "name,overrides,found",
    [
        (  # the model's own keys, the entry's names, a stochastic model's EoT, cosmetic keys
            "digits_v1",
            [
                "model=digits_net",
                "T=8",
                "lambda=0.5",
                "checkpoint=model.pt",
                "train.kind=ann",  # how the model file runs: the surrogate is source_train's
                "train.surrogate_width=0.5",  # the ANN surrogate has none
                "benchmark.name=mine",
                "benchmark.reported={pgd10:50}",
                "attack.eot_samples=8",
                "attack.reuse=false",
                "dataset.params.num_workers=2",
                "trainer=gpu",
            ],
            [],
        ),
        (
            "digits_v1",
            [
                "method=[fgsm]",
                "boxes=[white]",
                "trainer.limit_test_batches=1",
                "eps=[1]",
            ],
            ["method=[fgsm]", "eps=[1]", "boxes=[white]", "trainer.limit_test_batches=1"],
        ),
        (
            "digits_v1",
            ["method.pgd.steps=1", "attack.tune.val_size=10", "dataset.params.split_seed=3"],
            ["method.pgd.steps=1", "attack.tune.val_size=10", "dataset.params.split_seed=3"],
        ),
        ("digits_v1", ["~method.ensemble.components"], ["~method.ensemble.components"]),
        ("digits_v1", ["checks.masking.enabled=false"], ["checks.masking.enabled=false"]),
        # beside a model file, train and trainer keys train the standard surrogate alone
        (
            "digits_v1",
            ["checkpoint=model.pt", "train.epochs=1", "trainer.limit_train_batches=2"],
            ["train.epochs=1", "trainer.limit_train_batches=2"],
        ),
        (
            "digits_v1",
            ["model=external", "train.adversary.method=pgd", "trainer.max_epochs=3"],
            ["train.adversary.method=pgd", "trainer.max_epochs=3"],
        ),
        # a job that trains its model trains the surrogate by its recipe; no surrogate trained
        ("digits_v1", ["train.epochs=1"], []),
        (
            "digits_v1",
            ["checkpoint=model.pt", "train.epochs=1", "boxes=[white]"],
            ["boxes=[white]"],
        ),
        # a stochastic model's EoT left to the core's probe, at the protocol's draws or not
        ("digits_v1", ["attack.random_eot_samples=8"], []),
        ("digits_v1", ["attack.random_eot_samples=2"], ["attack.random_eot_samples=2"]),
        ("digits_v1", ["attack.eot_samples=2"], ["attack.eot_samples=2"]),
        ("digits_entries", ["recipe=pgd_at", "seed=0"], []),  # a config built on the file
        ("digits_entries", ["recipe=trades", "seed=2"], ["seed=2"]),
    ],
)
def test_the_settings_a_job_changes_from_its_protocol_file_are_found(
    name: str, overrides: list[str], found: list[str]
) -> None:
    job = composed(name, *overrides)
    assert overridden(job, composed("digits_v1")) == found


DRAFT = (
    (PROTOCOL_DIR / "digits_v1.yaml").read_text().replace("protocol: digits ", "protocol: mine ")
)


@pytest.mark.parametrize(
    "was,now,told",
    [
        ("seed: 0 ", "seed: x ", ": seed='x' is invalid; accepted: a whole number, e.g. seed: 0"),
        ("eps: [16]", "eps: abc", ": eps='abc' is invalid; accepted: L∞ radii in 1/255, e.g."),
        ("eps: [16]", "", ": eps is missing; accepted: L∞ radii in 1/255"),
        ("boxes: [white, black]", "boxes: [1]", ": boxes=[1] is invalid; accepted: white, "),
        ("limit_test_batches: 4", "limit_test_batches: four", ": trainer.limit_test_batches='f"),
        ("stochastic_eot: 8", "stochastic_eot: eight", ": benchmark.stochastic_eot='eight' is"),
        # no draws: refused by the core as attack.random_eot_samples=0, naming neither
        ("stochastic_eot: 8", "stochastic_eot: 0", ": benchmark.stochastic_eot=0 is invalid; "),
        ("stochastic_eot: 8", "stochastic_eot: -2", ": benchmark.stochastic_eot=-2 is invalid; "),
        # no test images: refused by the job config as trainer.limit_test_batches=0, no file
        ("limit_test_batches: 4", "limit_test_batches: 0", ": trainer.limit_test_batches=0 is "),
        ("eval_batch_size: 50", "eval_batch_size: -1", ": eval_batch_size=-1 is invalid; acce"),
        # a key written null: "unknown key 'benchmark.stochastic_eot'; did you mean" itself
        ("stochastic_eot: 8", "stochastic_eot: null", ": benchmark.stochastic_eot=null is inva"),
        ("seed: 0 ", "seed: null ", ": seed=null is invalid; accepted: a whole number, e.g. se"),
        ("seed: 0 ", "seed: 0\nsead: 1 ", ": unknown key 'sead'; did you mean 'seed'? accepted"),
        ("eot_samples: 1", "eot_sampels: 1", ": unknown key 'attack.eot_sampels'; did you mean"),
        # a required key mistyped was "seed is missing", never naming the key the file holds
        ("seed: 0 ", "sede: 0 ", ": unknown key 'sede'; did you mean 'seed'? accepted: a whole"),
        (
            "limit_test_batches: 4",
            "limit_test_batch: 4",
            ": unknown key 'trainer.limit_test_batch'; did you mean 'trainer.limit_test_batches'?",
        ),
        ("stochastic_eot: 8", "stochastic_eto: 8", ": unknown key 'benchmark.stochastic_eto'; "),
        ("eps: [16]", "eps: [16", ", line 15 is not read as YAML (expected ',' or ']', but"),
        (DRAFT, "- 1\n- 2\n", " holds no keys; accepted: a protocol file written as "),
    ],
    ids=[
        *("seed", "eps", "no_eps", "boxes", "batches", "eot", "no_eot", "negative_eot"),
        *("no_batches", "negative_batch_size", "null_eot", "null_seed", "key", "nested_key"),
        *("required_key", "required_nested_key", "required_block_key", "yaml", "list"),
    ],
)
def test_a_drafted_files_mistake_is_one_line_naming_the_file_and_its_key(
    tmp_path: Path, was: str, now: str, told: str
) -> None:
    """A protocol being drafted, run by ``snnattack.benchmark.evaluate``: a value its reader
    cannot take, a mistyped key, broken YAML were tracebacks (or named ``overrides=``)."""
    file = tmp_path / "mine_v1.yaml"
    file.write_text(DRAFT.replace(was, now, 1))
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    entry = tmp_path / "entry.json"
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(net, protocol=file, name="mine", path=entry, T=4)
    assert str(err.value).startswith(f"{file}{told}")
    assert "\n" not in str(err.value) and sorted(tmp_path.iterdir()) == [file]


# (the file's text replaced, by, the line after the file's path); the first three named no
# file (the job's check of the composed config), the last ran the job: benchmark is free-form
JOB_MISTAKES = [
    ("seed: 0 ", "sede: 0 ", ": unknown key 'sede'; did you mean 'seed'? accepted: a whole"),
    ("eot_samples: 1", "eot_sampels: 1", ": unknown key 'attack.eot_sampels'; did you mean"),
    ("seed: 0 ", "seed: x ", ": seed='x' is invalid; accepted: a whole number, e.g. seed: 0"),
    ("stochastic_eot: 8", "stochastic_eto: 8", ": unknown key 'benchmark.stochastic_eto'; "),
    # no draws: the job ran and wrote its entry
    ("stochastic_eot: 8", "stochastic_eot: 0", ": benchmark.stochastic_eot=0 is invalid; accep"),
    # no test images: refused naming the key, not the file
    ("limit_test_batches: 4", "limit_test_batches: -1", ": trainer.limit_test_batches=-1 is inv"),
    ("eval_batch_size: 50", "eval_batch_size: 0", ": eval_batch_size=0 is invalid; accepted: a"),
    # null: the key itself named as unknown, "did you mean" itself
    ("stochastic_eot: 8", "stochastic_eot: null", ": benchmark.stochastic_eot=null is invalid; "),
]


@pytest.mark.parametrize(
    "was,now,told",
    JOB_MISTAKES,
    ids=[
        *("required_key", "key", "seed", "required_block_key", "no_eot", "batches", "batch_size"),
        "null_eot",
    ],
)
def test_a_job_on_a_drafted_file_names_the_file_of_its_mistake(
    tmp_path: Path, cli, was: str, now: str, told: str
) -> None:
    """``python run.py -cd drafts -cn mine_v1`` refuses a drafted file's mistake in the line
    ``snnattack.benchmark.evaluate(..., protocol=Path)`` gives, naming the file: exit 2,
    nothing written. (The overrides after the file's keep a job that is not refused small.)"""
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    file = drafts / "mine_v1.yaml"
    file.write_text(DRAFT.replace(was, now, 1))
    small = ["method=[fgsm]", "~method.ensemble", "boxes=[white]", "trainer.limit_test_batches=1"]
    proc = cli(
        *("-cd", str(drafts), "-cn", "mine_v1", "benchmark.name=mine", *small),
        f"store.dir={tmp_path / 'store'}",
        f"hydra.run.dir={tmp_path / 'job'}",
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
    assert lines[0].startswith(f"error: {file}{told}"), lines[0]
    assert sorted(tmp_path.iterdir()) == [drafts]


@pytest.mark.parametrize(
    "was,now,key",
    [
        ("limit_test_batches: 4", "limit_test_batches: null", "trainer.limit_test_batches"),
        ("seed: 0 ", "seed: null ", "seed"),
    ],
    ids=["batches", "seed"],
)
def test_a_job_refuses_a_drafted_files_null_in_the_line_evaluate_gives(
    tmp_path: Path, cli, was: str, now: str, key: str
) -> None:
    """A key of the protocol written null: ``snnattack.benchmark.evaluate`` refused the file
    naming it, while a job on it ran the whole test split and wrote its entry
    (``trainer.limit_test_batches: null``, its overrides ``[]``), or refused ``seed=null``
    naming no file. Now the job gives the API's line: exit 2, nothing written."""
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    file = drafts / "mine_v1.yaml"
    file.write_text(DRAFT.replace(was, now, 1))
    net = build("digits_net", num_classes=10, in_channels=1, T=4, mean=[0.305], std=[0.376])
    with pytest.raises(UserError) as told:
        snnattack.benchmark.evaluate(net, protocol=file, name="mine", path=tmp_path / "e.json")
    assert str(told.value).startswith(f"{file}: {key}")
    small = ["method=[fgsm]", "~method.ensemble", "boxes=[white]"]  # the file's test subset
    proc = cli(
        *("-cd", str(drafts), "-cn", "mine_v1", "benchmark.name=mine", *small),
        f"store.dir={tmp_path / 'store'}",
        f"hydra.run.dir={tmp_path / 'job'}",
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [f"error: {told.value}"]
    assert sorted(tmp_path.iterdir()) == [drafts]


def test_evaluate_refuses_a_drafted_files_null_before_reading_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``trainer.limit_test_batches: null`` in a drafted file was refused only when the test
    subset was cut, after the protocol's data were read (a CIFAR protocol's download first)."""
    file = tmp_path / "mine_v1.yaml"
    file.write_text(DRAFT.replace("limit_test_batches: 4", "limit_test_batches: null", 1))

    def read(*_: object) -> None:
        raise AssertionError("the protocol's data were read before the file was checked")

    monkeypatch.setattr(evaluation, "protocol_data", read)
    net = build("digits_net", num_classes=10, in_channels=1, T=4, mean=[0.305], std=[0.376])
    with pytest.raises(UserError, match=r": trainer\.limit_test_batches=null is invalid"):
        snnattack.benchmark.evaluate(net, protocol=file, name="mine", path=tmp_path / "e.json")
