"""Each paper-artifact sweep in experiments/ composes on top of conf/ with every value it sweeps,
names itself in its launch line, and states the paper's numbers in a machine-readable ``paper:``
block whose rows name settings the sweep runs (so the report can put them beside ours)."""

import re

import pytest
from harness import CONF, EXPERIMENTS, compose
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from snnattack.attacks.methods import METHODS
from snnattack.config.validation import validate
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES
from snnattack.training.parse import model_settings
from snnattack.training.store_key import store_key

SWEEPS = sorted(p.stem for p in EXPERIMENTS.glob("*.yaml"))
# the digits sweeps in the default suite, the GPU papers' with the slow tests (about a second
# each to compose and validate every swept value; tests/unit/config/test_keys.py checks every
# file's keys in the default suite)
BY_SPEED = [
    n if n.startswith("digits_") else pytest.param(n, marks=pytest.mark.slow) for n in SWEEPS
]
ANALYSES = {p.stem for p in (CONF / "analysis").glob("*.yaml")}
NEEDS = {  # each paper table the report reads -> the analyses its rows need
    "table1": {"shuffle"},
    "table2": set(),
    "cost": {"cost"},
    "adversarial": set(),
}
ROW_SETTINGS = ("T", "lambda", "reset", "encoding", "method")  # keys a row matches jobs by


def swept(name: str) -> dict[str, list[tuple[str, object]]]:
    """Each key ``experiments/NAME`` sweeps and its values, as Hydra reads them (text, value)."""
    params = OmegaConf.to_container(compose(experiment=name, hydra=True).hydra.sweeper.params)
    parser = OverridesParser.create()
    out = {}
    for key, value in (params or {}).items():
        o = parser.parse_override(f"{key}={value}")
        if o.is_sweep_override():
            out[key] = list(zip(o.sweep_string_iterator(), o.sweep_iterator(), strict=True))
        else:
            out[key] = [(o.get_value_element_as_str(), o.value())]
    return out


def first_job(name: str, *extra: str) -> DictConfig:
    """The sweep's first job: every swept key at its first value."""
    return compose(*(f"{k}={v[0][0]}" for k, v in swept(name).items()), *extra, experiment=name)


def sweep(name: str) -> tuple[dict, dict[str, list]]:
    """The first job's resolved config and each swept key's values."""
    job = OmegaConf.to_container(first_job(name), resolve=True)
    return job, {k: [value for _, value in v] for k, v in swept(name).items()}


def same(a: object, b: object) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def runs(row: dict, job: dict, params: dict[str, list]) -> bool:
    """Whether the sweep runs the setting a paper row names (the report matches them up)."""
    for key in (k for k in ROW_SETTINGS if k in row):
        values = params.get(key) or (list(job[key]) if key == "method" else [job[key]])
        if not any(same(row[key], v) for v in values):
            return False
    return True


@pytest.mark.parametrize("name", BY_SPEED)
def test_every_swept_value_composes_and_validates(name: str) -> None:
    """Each value, with the other keys at their first value: every job of the sweep is valid."""
    params = swept(name)
    base = first_job(name, "checks.memory=false")  # this machine's RAM aside
    assert {"T", "lambda", "dataset", "model", "attack", "method"} <= set(base)
    validate(base)
    for key, values in params.items():
        assert values, key
        for text, value in values[1:]:
            if (CONF / key).is_dir() or (EXPERIMENTS / key).is_dir():  # a config group
                others = (f"{k}={v[0][0]}" for k, v in params.items() if k != key)
                cfg = compose(*others, f"{key}={text}", "checks.memory=false", experiment=name)
            else:
                cfg = base.copy()
                OmegaConf.update(cfg, key, value)
            validate(cfg)


@pytest.mark.parametrize("name", SWEEPS)
def test_launch_line_names_the_file_itself(name: str) -> None:
    text = (EXPERIMENTS / f"{name}.yaml").read_text()
    assert set(re.findall(r" -cn (\S+)", text)) <= {name}


@pytest.mark.parametrize("name", BY_SPEED)
def test_paper_tables_have_a_row_the_sweep_runs_and_the_analyses_they_need(name: str) -> None:
    job, params = sweep(name)
    paper = job["paper"]
    assert paper["notes"]
    assert set(job["analysis"]) <= ANALYSES
    for table, rows in ((k, v) for k, v in paper.items() if isinstance(v, list)):
        assert table in NEEDS and NEEDS[table] <= set(job["analysis"]), table
        if table in ("table1", "table2"):  # the report matches these rows to jobs by setting
            assert any(runs(row, job, params) for row in rows), table
        for row in rows:
            assert row.get("dataset", job["dataset"]["name"]) == job["dataset"]["name"], row
            if table == "table2":
                assert row["method"] in METHODS and "clean" in row and "white" in row
                for box in ("white", "black"):
                    assert set(row.get(box, {})) <= set(GRADIENT_MODES), row
            if table == "cost":
                assert row["mode"] in GRADIENT_MODES


def test_table2_sweep_uses_the_paper_setting() -> None:
    job = OmegaConf.to_container(compose(experiment="table2_cifar10_vgg11"), resolve=True)
    assert (job["dataset"]["name"], job["model"]["name"], job["T"]) == ("cifar10", "vgg11", 8)
    assert job["train"]["epochs"] == 200 and job["eps"] == [8]


def test_rat_cifar10_sweep_uses_the_snn_rat_protocol() -> None:
    job = OmegaConf.to_container(compose(experiment="rat_cifar10_vgg11"), resolve=True)
    assert (job["dataset"]["name"], job["model"]["name"], job["T"]) == ("cifar10", "vgg11", 8)
    assert (job["train"]["epochs"], job["train"]["lr"], job["eps"]) == (200, 0.1, [8])
    adversary = job["train"]["adversary"]  # defense: rat
    assert (adversary["method"], adversary["eps"], adversary["reg"]) == ("fgsm", 2, 0.004)
    assert job["train"]["weight_decay"] == 0 and set(job["method"]) == {"pgd", "apgd"}
    assert job["method"]["pgd"]["steps"] == 7 and job["pgd_alpha"] == 2.55  # α = 0.01


def test_rat_cifar100_sweep_trains_as_feel_snn_code_does() -> None:
    """FEEL-SNN's scripts and main_train.py: 300 epochs, batch 256, PGD-2 at 2/255 (α 1/255),
    RAT β = 0.001 with weight decay kept; PGD-7 at 8/255 with α = 2.55/255 to judge."""
    job = OmegaConf.to_container(compose(experiment="rat_cifar100_vgg11"), resolve=True)
    assert (job["dataset"]["name"], job["model"]["name"], job["T"], job["lambda"]) == (
        "cifar100",
        "vgg11",
        8,
        1.0,
    )
    train = job["train"]
    assert (train["epochs"], train["batch_size"], train["lr"], train["weight_decay"]) == (
        300,
        256,
        0.1,
        5e-4,
    )
    adversary = train["adversary"]  # defense: pgd2_rat
    assert (adversary["method"], adversary["eps"], adversary["alpha"], adversary["steps"]) == (
        "pgd",
        2,
        1,
        2,
    )
    assert adversary["reg"] == 0.001 and job["eps"] == [8] and set(job["method"]) == {"pgd", "apgd"}
    assert job["method"]["pgd"]["steps"] == 7 and job["pgd_alpha"] == 2.55
    names = {row["adversary"] for row in job["paper"]["adversarial"]}
    assert names == {"standard", "pgd", "pgd+RAT"}  # the recipe names the report matches


def test_figure_s1_sweeps_use_vgg16_at_t8_with_rga() -> None:
    for name in ("figs1_beta_cifar10_vgg16", "figs1_gamma_cifar10_vgg16"):
        job, _ = sweep(name)
        assert (job["model"]["name"], job["T"], job["attack"]["grad_mode"]) == ("vgg16", 8, "rga")


def test_paper_block_and_analyses_leave_the_checkpoint_key_alone() -> None:
    with_paper = compose("store.dir=x", experiment="digits_table1", hydra=True)
    assert with_paper.paper.table1 and set(with_paper.analysis) == {"shuffle", "rate_current"}
    plain = compose("store.dir=x", "method=[fgsm]", hydra=True)
    for cfg in (with_paper, plain):  # resolve ${hydra:...} interpolations without a run
        del cfg.hydra
    assert store_key(model_settings(with_paper), 0) == store_key(model_settings(plain), 0)


@pytest.mark.parametrize(
    "name",
    [
        "digits_eccv_T_quantisation",
        pytest.param("eccv_T_quantisation_cifar10_vgg11", marks=pytest.mark.slow),
    ],
)
def test_a_t_step_the_kinds_table_lacks_is_refused_not_run_at_t_1(name: str) -> None:
    """``kinds.step=whole`` (a typo of ``full``) names no column of ``kinds.T_steps``: refused
    in one line, where a fallback of 1 (meant for the ANN) ran every SNN of the sweep at T = 1;
    the ANN, whose T is not used, still resolves to 1."""
    typo = compose(
        "train.kind=conversion", "kinds.step=whole", "checks.memory=false", experiment=name
    )
    with pytest.raises(ConfigError, match=r"^T cannot be resolved .*kinds\.T_steps\.conversion"):
        validate(typo)
    steps = OmegaConf.to_container(typo.kinds.T_steps)
    for kind in ("conversion", "hybrid"):
        for step, T in steps[kind].items():
            job = compose(f"train.kind={kind}", f"kinds.step={step}", experiment=name)
            assert job.T == T
    assert compose("train.kind=ann", "kinds.step=half", experiment=name).T == 1
