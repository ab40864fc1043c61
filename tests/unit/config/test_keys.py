"""A key that no part of the project reads is refused before any work, with the nearest key."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from harness import CONF, EXPERIMENTS, cli, compose, run_py
from omegaconf import OmegaConf

from snnattack.config.keys import canonical, check_keys, is_known, nearest, schema
from snnattack.config.validation import validate
from snnattack.errors import ConfigError
from snnattack.runtime.cli import (
    check_given_once,
    check_group_choices,
    check_override_keys,
    check_values,
)
from snnattack.settings import walk

SWEEP_HINT = "(digits_table2 is a sweep of experiments/: python run.py -m -cd experiments -cn "


# (command-line override, the start of the refusal)
UNKNOWN = [
    ("lamda=0.9", "unknown key 'lamda'; did you mean 'lambda'? accepted: "),
    ("+lamda=0.9", "unknown key 'lamda'; did you mean 'lambda'? accepted: "),
    ("+ckpt_pth=x", "unknown key 'ckpt_pth'; did you mean 'checkpoint'? accepted: "),
    (
        "+experiments=digits_table2",
        f"unknown key 'experiments'; did you mean 'experiment'? {SWEEP_HINT}digits_table2); ",
    ),
    ("trainer.max_epoch=3", "unknown key 'trainer.max_epoch'; did you mean 'trainer.max_epochs'?"),
    ("+analysis.cost.devise=cpu", "unknown key 'analysis.cost.devise'; did you mean 'analysis."),
    ("+train.lamda=0.9", "unknown key 'train.lamda'; did you mean 'lambda'?"),
    ("+zzz=1", "unknown key 'zzz'; accepted: the keys that python run.py --cfg job lists"),
    ("attack.eps=8", "unknown key 'attack.eps'; did you mean 'eps'?"),  # not train.adversary.eps
]


@pytest.mark.parametrize("override,message", UNKNOWN, ids=[u[0] for u in UNKNOWN])
def test_unknown_key_on_the_command_line_is_refused_with_the_nearest_key(
    override: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        check_override_keys([override], CONF)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


# (method choice, an unknown key below a chosen method) whose suggestion must be one of its keys
BELOW_A_METHOD = [
    ("ensemble", "method.ensemble.n_queries.x"),
    ("pgd", "method.pgd.steps.x"),
    ("pgd", "method.pgd.n_querie.x"),  # was method.pgd.n_queries, square's key
]


@pytest.mark.parametrize("method,key", BELOW_A_METHOD, ids=[b[1] for b in BELOW_A_METHOD])
def test_a_suggestion_below_a_method_is_a_key_of_that_method(method: str, key: str) -> None:
    """``method.*.<key>`` stands for any method's key in the schema, but a suggestion is one
    that exists for the method named: a key of its composed config, or none."""
    with pytest.raises(ConfigError) as err:
        check_override_keys([f"{key}=5"], CONF)
    line = str(err.value)
    assert line.startswith(f"unknown key {key!r}") and "\n" not in line
    near = nearest(key, CONF)
    if near is not None:
        assert f"did you mean {near!r}?" in line
        cfg = OmegaConf.to_container(compose(f"method=[{method}]"), resolve=False)
        assert near in {k for k, _ in walk(cfg, "")}, near
    assert nearest("method.square.n_querie", CONF) == "method.square.n_queries"
    # an element of a list suggested the list itself, but did not say it is given whole
    assert nearest("method.ensemble.components.7.params.n_queries", CONF) == COMPONENTS


def test_the_suggestion_among_keys_of_one_last_part_is_the_same_in_every_process() -> None:
    """``eps`` and ``train.adversary.eps`` end alike: the shallower is suggested, whatever order
    the process's hash seed gives a set (it was either, from one launch to the next)."""
    code = "from snnattack.config.keys import nearest; print(nearest('attack.eps'))"
    said = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in range(6)
    }
    assert said == {"eps"}


COMPONENTS = "method.ensemble.components"
# (an override of an element of a list of conf/, the list)
ELEMENTS = [
    (f"{COMPONENTS}.7.params.n_queries=5", COMPONENTS),  # suggested square's n_queries, then
    (f"{COMPONENTS}.0=x", COMPONENTS),  # method.ensemble.components, without saying why
    ("+eps.0=4", "eps"),
    ("dataset.mean.1=0.5", "dataset.mean"),
]


@pytest.mark.parametrize("override,whole", ELEMENTS, ids=[e[0] for e in ELEMENTS])
def test_an_element_of_a_list_is_refused_naming_the_list_given_whole(
    override: str, whole: str
) -> None:
    """A list of ``conf/`` is overridden whole: the line says so (``snnattack.evaluate``'s
    ``overrides`` give the same line: test_api_inputs.py)."""
    key = override.lstrip("+").partition("=")[0]
    line = (
        f"unknown key {key!r}: it is an element of the list {whole}, and a list is overridden "
        f"whole; accepted: {whole}=[...], the whole list"
    )
    with pytest.raises(ConfigError) as err:
        check_override_keys([override], CONF)
    assert str(err.value) == line
    # a key below a list that the named method has not is refused as any unknown key
    with pytest.raises(ConfigError, match="^unknown key 'method.pgd.components.0'; "):
        check_override_keys(["method.pgd.components.0=x"], CONF)


@pytest.mark.parametrize(
    "override", [u[0] for u in UNKNOWN if u[0].startswith("+")], ids=lambda o: o
)
def test_unknown_key_in_a_composed_config_is_refused_by_validate(override: str) -> None:
    """The same refusal in-process: ``+key`` composes, validation refuses it."""
    key = override.lstrip("+").split("=")[0]
    with pytest.raises(ConfigError, match=f"^unknown key '{key}'"):
        validate(compose(override))
    validate(compose())  # and the config without it passes


def test_a_methods_unknown_parameter_is_refused_by_the_method_with_its_own_names() -> None:
    """Below ``method.<m>`` the method judges (its signature): the line lists its parameters,
    from the command line as from ``snnattack.attack(..., foo=1)``, which named the keys
    ``python run.py --cfg job`` lists; an ensemble's own keys are its file's."""
    with pytest.raises(ConfigError) as err:
        validate(compose("+method.pgd.stepz=3"))
    assert str(err.value) == (
        "method.pgd.stepz=3 is unknown (did you mean steps?); accepted: steps, alpha, "
        "eps_per_alpha, random_start"
    )
    with pytest.raises(ConfigError) as err:
        validate(compose("method=[ensemble]", "+method.ensemble.poisson_eot=2"))
    assert str(err.value) == (
        "method.ensemble.poisson_eot=2 is unknown (did you mean poisson_eot_samples?); "
        "accepted: components, poisson_eot_samples"
    )
    # a key below a parameter is none (a dict reached the attack: a TypeError traceback)
    with pytest.raises(ConfigError, match=r"^unknown key 'method.pgd.steps.x'"):
        validate(compose("method=[pgd]", "++method.pgd.steps.x=1"))


def test_known_keys_and_free_form_nodes_pass() -> None:
    check_override_keys(
        [
            "-m",
            "lambda=0.5,0.9",
            "attack=rga",
            "method=[pgd]",
            "+method.pgd.decay=1",  # a method parameter: the method's signature judges it
            "+pgd_alpha=2",  # read by conf/method/pgd.yaml
            "+paper.notes=x",  # free-form: the report's paper numbers
            "hydra.run.dir=x",
            "checkpoint=m.pt",
            "~tags",
        ],
        CONF,
    )
    assert is_known("analysis.cost.device") and is_known("trainer.max_epochs")
    assert not is_known("analysis.cost.devise") and not is_known("train.lamda")


def test_a_group_of_the_config_folder_given_is_chosen_on_the_command_line() -> None:
    """``-cd experiments -cn rat_cifar100_vgg11 defense=pgd2_at``: one recipe of the sweep
    (``experiments/defense/``), once refused as an unknown key."""
    given = ["-cd", str(EXPERIMENTS), "-cn", "rat_cifar100_vgg11"]
    check_override_keys([*given, "defense=pgd2_at"], CONF)
    check_group_choices([*given, "defense=pgd2_at"], CONF)
    with pytest.raises(ConfigError, match="^defense=pgd9 is unknown; accepted: "):
        check_group_choices([*given, "defense=pgd9"], CONF)


@pytest.mark.slow
def test_every_experiment_and_preset_holds_only_known_keys() -> None:
    """experiments/ and conf/experiment/ only set keys of the schema (no silent typos)."""
    for preset in sorted((CONF / "experiment").glob("*.yaml")):
        check_keys(OmegaConf.to_container(compose(f"experiment={preset.stem}")))
    for path in sorted(EXPERIMENTS.glob("*.yaml")):
        check_keys(OmegaConf.to_container(compose(experiment=path.stem)))
    with pytest.raises(ConfigError, match="^unknown key 'paper_notes'"):
        check_keys({**OmegaConf.to_container(compose()), "paper_notes": "x"})


def test_ckpt_path_is_an_alias_of_checkpoint() -> None:
    argv = ["ckpt_path=a.pt", "+ckpt_path=b.pt", "++ckpt_path=c.pt", "-m", "lambda=1"]
    assert canonical(argv) == [
        "checkpoint=a.pt",
        "checkpoint=b.pt",
        "checkpoint=c.pt",
        "-m",
        "lambda=1",
    ]
    check_override_keys(canonical(["+ckpt_path=m.pt"]), CONF)
    assert compose(*canonical(["+ckpt_path=m.pt"])).checkpoint == "m.pt"


def test_experiment_choice_naming_a_sweep_file_points_to_it() -> None:
    with pytest.raises(ConfigError) as err:
        check_group_choices(["experiment=digits_table2"], CONF)
    line = str(err.value)
    assert line.startswith(f"experiment=digits_table2 is unknown {SWEEP_HINT}digits_table2);")
    assert "accepted: cifar100_resnet17" in line


@pytest.mark.parametrize("value", ["a" * 400, "1" * 400])
def test_an_unknown_key_whose_value_is_longer_than_a_file_name_is_refused(value: str) -> None:
    """An unknown key's value is looked up as a sweep of experiments/ for the hint: one longer
    than a file name may be was the ``OSError`` of that lookup (a traceback)."""
    with pytest.raises(ConfigError, match=r"^unknown key 'lamda'; did you mean 'lambda'\?"):
        check_override_keys([f"lamda={value}"], CONF)


@pytest.mark.parametrize(
    "argv,line",
    [
        (["model=5"], "model=5 is unknown; accepted: digits_net, "),
        (["dataset=1.5"], "dataset=1.5 is unknown; accepted: cifar10, "),
        (["method=true"], "method=true is unknown; accepted: apgd, "),
        (["method=[fgsm,5]"], "method=5 is unknown; accepted: apgd, "),
        (["-m", "analysis=shuffle,5"], "analysis=5 is unknown; accepted: cost, "),
        (["-m", "model=range(1,3)"], "model=1 is unknown; accepted: digits_net, "),
    ],
)
def test_a_group_choice_given_a_number_or_boolean_is_an_unknown_choice(
    argv: list[str], line: str
) -> None:
    """A number or boolean chosen of a config group names no config, as a misspelt word does
    (it was Hydra's ``ValueError`` traceback, the choices unchecked)."""
    with pytest.raises(ConfigError) as err:
        check_group_choices(argv, CONF)
    assert str(err.value).startswith(line)


@pytest.mark.parametrize(
    "argv,line",
    [
        (["--help"], None),
        (["lamda=0.5"], "error: unknown key 'lamda'; did you mean 'lambda'? accepted: "),
        (["model=nope"], "error: model=nope is unknown; accepted: digits_net, "),
        (["lambda=1.5"], "error: lambda=1.5 is out of range; accepted: 0 < lambda <= 1"),
        (["lambda=0.5", "lambda=0.9"], "error: lambda is given twice (lambda=0.5, lambda=0.9)"),
        (
            ["eps=300"],
            "error: eps=300 is out of range; accepted: a list of distinct numbers",
        ),  # eps=300 counts as a list of one, shown as typed
    ],
    ids=["help", "unknown key", "unknown choice", "value out of range", "key twice", "eps"],
)
def test_help_and_the_refusals_before_hydra_load_neither_torch_nor_lightning(
    tmp_path: Path, argv: list[str], line: str | None
) -> None:
    """In a child process, whose imports are the subject: ``--help`` and the checks of keys,
    group choices and the values of the rules that name no kind come before the job's stack
    loads (seconds of imports), so a typo is refused at once. Python's ``-X importtime``
    lists every module the command imported."""
    proc = run_py(*argv, cwd=tmp_path, env={"PYTHONPROFILEIMPORTTIME": "1"})
    lines = proc.stderr.splitlines()
    imported = {row.rsplit("|", 1)[-1].strip() for row in lines if row.startswith("import time:")}
    assert "hydra" in imported and not imported & {"torch", "lightning", "wandb"}
    if line is None:
        assert proc.returncode == 0 and "python run.py" in proc.stdout
    else:
        (error,) = [row for row in lines if row.startswith("error")]
        assert proc.returncode == 2 and error.startswith(line)
    assert list(tmp_path.iterdir()) == []  # nothing written


HUGE = "1" + "0" * 400  # 401 digits: an OverflowError where a float was made of it
TOO_LONG = "1" + "0" * 5000  # more digits than Python reads from text (4300)
SHORT = "1000000000... (401 digits)"  # as a message spells HUGE


@pytest.mark.parametrize(
    "argv,line",
    [
        ([f"lambda={HUGE}"], f"lambda={SHORT} is out of range; accepted: 0 < lambda <= 1"),
        ([f"lambda=-{HUGE}"], f"lambda=-{SHORT} is out of range; accepted: 0 < lambda <= 1"),
        (
            [f"theta={HUGE}"],
            f"theta={SHORT} is out of range (beyond ±1.8e+308, the largest float); accepted: "
            "a finite number > 0",
        ),
        (  # a float32 model's threshold of inf: it never fired, and was attacked as robust
            ["theta=1e39"],
            "theta=1e+39 is out of range (beyond ±3.4e+38, the largest float32, as tensors hold "
            "it); accepted: a finite number > 0",
        ),
        (  # SGD's float32 step overflowed mid-training: a traceback, the store's lock left
            ["train.lr=1e308"],
            "train.lr=1e+308 is out of range (beyond ±3.4e+38, the largest float32",
        ),
        (
            [f"T={HUGE}"],
            f"T={SHORT} is out of range (above 2**63 - 1, the largest integer a job takes); "
            "accepted: an integer >= 1",
        ),
        ([f"train.epochs={HUGE}"], f"train.epochs={SHORT} is out of range (above 2**63 - 1"),
        ([f"method.pgd.steps={HUGE}"], f"method.pgd.steps={SHORT} is out of range (above 2**63"),
        ([f"seed={HUGE}"], f"seed={SHORT} is out of range; accepted: an integer in [0, "),
        ([f"eps=[8,{HUGE}]"], f"eps=[8, {SHORT}] holds {SHORT}, which is out of range"),
        (["eps=[1e400]"], "eps=[inf] holds inf, which is not a finite number; accepted: "),
        (["-m", f"T=4,{HUGE}"], f"T={SHORT} is out of range (above 2**63 - 1, the largest"),
        (  # torch.set_num_threads: "Overflow when unpacking long", a traceback
            ["threads=2147483648"],
            "threads=2147483648 is out of range; accepted: an integer in [1, 4096], or auto",
        ),
        (
            [f"T={TOO_LONG}"],
            "T= holds an integer of more than 4300 digits, more than Python reads; accepted: an "
            "integer >= 1",
        ),
    ],
    ids=[
        "lambda", "negative", "theta", "theta float32", "lr float32", "T", "epochs", "steps",
        "seed", "eps", "eps 1e400", "sweep", "threads", "past Python's digits",
    ],
)  # fmt: skip
def test_an_absurdly_large_number_is_refused_in_one_line_naming_the_key_and_range(
    tmp_path: Path, argv: list[str], line: str
) -> None:
    """An integer of 400 digits was an ``OverflowError`` (a traceback, exit 1) where a float
    was made of it (``math.isfinite`` of the rules, the memory check's product), and one of
    5000 digits Hydra's parser's ``ValueError``: now a line naming the key and its range."""
    proc = cli(*argv, "store.dir=store", cwd=tmp_path)
    (error,) = proc.stderr.splitlines()
    assert proc.returncode == 2 and error.startswith(f"error: {line}")
    assert len(error) < 300  # the number shortened
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "lambda=0.5,1.0", "T=range(2,5)", "+x=interval(0,1)"],  # good; a sampler's
        ["-m", "store.dir='/mnt/a b',models", "tags=[a,b],['c d']"],  # quoted: their text
        ["lambda=${T}"],  # an interpolation is the composed config's
        ["~lambda"],
        ["eps=8", "T=4", "tags=[a,b]", "+train.lr=0.1"],
    ],
    ids=["sweep", "quoted", "interpolation", "delete", "accepted"],
)
def test_the_early_value_check_leaves_sweeps_interpolations_and_good_values(argv) -> None:
    check_values(argv, CONF)


def test_the_early_value_check_refuses_as_the_validation_does() -> None:
    """The same line as the job's validation, for a plain rule's key; a key whose rule names
    a kind (reset) is the validation's."""
    with pytest.raises(ConfigError) as early:
        check_values(["T=4", "train.lr=-1"], CONF)
    with pytest.raises(ConfigError) as late:
        validate(compose("T=4", "train.lr=-1"))
    assert (
        str(early.value)
        == str(late.value)
        == ("train.lr=-1 is out of range; accepted: a finite number > 0")
    )
    check_values(["reset=sideways"], CONF)


@pytest.mark.parametrize(
    ("method", "key"), [("fgsm", "+method.fgsm.steps"), ("pgd", "+method.pgd.decay")]
)
def test_a_parameter_its_methods_file_does_not_set_is_the_validations_to_refuse(
    method: str, key: str
) -> None:
    """FGSM takes no steps (and PGD no decay): the key is unknown to it, whatever its value,
    as the validation says, not out of the range of the methods that take it."""
    argv = [f"method=[{method}]", f"{key}=-1"]
    check_values(argv, CONF)
    check_values(["-m", *argv[:1], f"{key}=-1,1"], CONF)
    with pytest.raises(ConfigError) as late:
        validate(compose(*argv))
    assert f"{key.lstrip('+')}=-1 is unknown; accepted: " in str(late.value)


@pytest.mark.parametrize(
    "argv,line",
    [
        (["-m", "lambda=0.5,1.5"], "lambda=1.5 is out of range; accepted: 0 < lambda <= 1"),
        (["-m", "lambda=1.5,0.5"], "lambda=1.5 is out of range; accepted: 0 < lambda <= 1"),
        (["-m", "T=range(0,3)"], "T=0 is out of range; accepted: an integer >= 1"),
        (["-m", "attack=rga,stbp", "train.lr=-1"], "train.lr=-1 is out of range"),
    ],
    ids=["choice", "bad first", "range", "every job"],
)
def test_a_sweeps_value_that_its_job_would_refuse_stops_the_sweep_before_it_runs(
    argv: list[str], line: str
) -> None:
    """A mistyped value of a sweep (or a value every job gets) was each job's to refuse: the
    other jobs ran for minutes or hours before the sweep ended with its failure."""
    with pytest.raises(ConfigError) as err:
        check_values(argv, CONF)
    assert str(err.value).startswith(line)


@pytest.mark.parametrize(
    "argv,line",
    [
        (
            ["lambda=0.5", "lambda=0.9"],
            "lambda is given twice (lambda=0.5, lambda=0.9); accepted: one value per key, or a "
            "sweep of them with -m (lambda=0.5,0.9)",
        ),
        (["attack=rga", "attack=stbp"], "attack is given twice (attack=rga, attack=stbp); "),
        (["-m", "lambda=0.5,0.9", "++lambda=1.0"], "lambda is given twice (lambda=0.5,0.9, ++"),
        (["method=[pgd]", "method=[fgsm]"], "method is given twice (method=[pgd], method=[fgsm]"),
        (  # no sweep offered: Hydra sweeps none of its own settings
            ["hydra.run.dir=a", "hydra.run.dir=b"],
            "hydra.run.dir is given twice (hydra.run.dir=a, hydra.run.dir=b); accepted: one value "
            "per key$",
        ),
        (["checkpoint=a.pt", "ckpt_path=b.pt"], "checkpoint is given twice (checkpoint=a.pt, ch"),
    ],
    ids=["key", "group", "sweep and ++", "group list", "hydra's key", "alias"],
)
def test_a_key_given_twice_is_refused_naming_both_values(argv: list[str], line: str) -> None:
    """Hydra silently takes the last value of a key or group given twice: a user who meant a
    sweep (``lambda=0.5 lambda=0.9``) got one job, at the second value."""
    with pytest.raises(ConfigError) as err:
        check_given_once(canonical(argv))
    said, whole = str(err.value), line.endswith("$")  # $: the whole line, else its start
    assert (said == line[:-1] if whole else said.startswith(line)) and "\n" not in said


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "-cd", str(EXPERIMENTS), "-cn", "digits_table2", "lambda=0.5"],  # file's too
        ["lambda=0.5", "lambda=0.5"],  # the same value: nothing lost
        ["~method.pgd.eps=1", "+method.pgd.eps=[1]"],  # a deletion, then the key again
        ["-m", "lambda=0.5,0.9", "attack=rga,stbp", "T=4"],
    ],
    ids=["experiment file", "same value", "deleted then added", "sweep"],
)
def test_a_key_given_once_on_the_command_line_is_left_to_hydra(argv: list[str]) -> None:
    check_given_once(argv)


def test_a_file_of_conf_yaml_cannot_read_is_one_line_naming_it(tmp_path: Path) -> None:
    """A file of ``conf/`` edited by hand (an editable install) with a value holding ``: ``
    unquoted: every entrance reads the keys of ``conf/`` first, and it was YAML's traceback."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    broken = conf / "attack" / "rga.yaml"
    broken.write_text(broken.read_text() + "note: a: b\n")
    with pytest.raises(ConfigError) as err:
        schema(conf)
    line = len(broken.read_text().splitlines())
    assert str(err.value).startswith(f"{broken}, line {line} is not read as YAML (mapping ")
