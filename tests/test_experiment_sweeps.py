"""Each paper-artifact sweep in experiments/ composes on top of conf/, names its sweep and
states the paper's numbers in a machine-readable ``paper:`` block the report reads."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from snnattack.training.spec import training_spec

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = sorted(p.stem for p in (ROOT / "experiments").glob("*.yaml"))
MODES = {"attack": {"rga", "stbp"}}
TE = {"attack.time_extension": {"1", "2"}}  # RGA Table 2's time-extended rows beside the plain
KINDS = {
    "train.kind": {"ann", "conversion", "hybrid"},
    "source_train": {"ann", "conversion", "hybrid"},
}
EVERY_MODE = {"attack": {"stbp", "rga", "bptr", "hart", "ann", "pdsg", "assg"}}
DEFENCES = {
    "defense": {"standard", "fgsm_at", "rat"},
    "train.adversary.grad_mode": {"stbp", "rga"},
    **MODES,
}
LEVELS = {"encoding_levels": {"null", "2", "4", "16"}}
ARMS = {  # the ECCV T x quantisation study: both arms, each over its own T grid
    "train.kind": {"conversion", "hybrid"},
    "kinds.step": {"full", "half", "quarter", "eighth"},
    **LEVELS,
}
# file -> (what it sweeps: key -> values, the analyses it runs, the paper tables it states)
EXPECTED = {
    "digits_rga_vs_stbp": ({**MODES, "lambda": {"0.5", "0.9", "1.0"}}, set(), {"table2"}),
    "digits_table1": (
        {
            "lambda": {"0.5", "0.9", "1.0"},
            "reset": {"hard", "soft"},
            "analysis.shuffle.mode": {"layer", "neuron"},
        },
        {"shuffle", "rate_current"},
        {"table1"},
    ),
    "digits_table2": (
        {**MODES, "lambda": {"0.5", "0.9", "1.0"}, "seed": {"0", "1", "2"}},
        set(),
        {"table2"},
    ),
    "digits_eps": ({**MODES, "seed": {"0", "1", "2"}}, set(), {"table2"}),
    "digits_lambda": (
        {**MODES, "lambda": {"0.5", "0.6", "0.7", "0.8", "0.9", "1.0"}},
        set(),
        {"table2"},
    ),
    "digits_beta_gamma": (
        {
            "attack.params.beta": {"1", "2", "3", "4"},
            "attack.params.gamma": {"0", "0.1", "0.2", "0.3"},
        },
        set(),
        set(),
    ),
    "digits_cost": ({"T": {"4", "8", "16"}}, {"cost"}, {"cost"}),
    "table1_shuffle_cifar10_vgg11": (
        {"lambda": {"1.0", "0.9", "0.5"}, "reset": {"hard", "soft"}},
        {"shuffle", "rate_current"},
        {"table1"},
    ),
    "table1_shuffle_cifar10dvs_vgg": ({}, {"shuffle", "rate_current"}, {"table1"}),
    "table2_cifar10_vgg11": ({**MODES, "lambda": {"0.5", "0.9", "1.0"}, **TE}, set(), {"table2"}),
    "table2_cifar10_vgg11_poisson": ({**MODES, **TE}, set(), {"table2"}),
    "digits_table2_te": (
        {**MODES, **TE, "encoding": {"direct", "poisson"}, "seed": {"0", "1", "2"}},
        set(),
        {"table2"},
    ),
    "table2_cifar10_resnet17": (MODES, set(), {"table2"}),
    "table2_cifar100_vgg11": (MODES, set(), {"table2"}),
    "table2_cifar10dvs_vgg": (MODES, set(), {"table2"}),
    "asr_vs_eps_cifar10_vgg11": (MODES, set(), {"table2"}),
    "asr_vs_lambda_cifar10_vgg11": (
        {**MODES, "lambda": {"0.5", "0.6", "0.7", "0.8", "0.9", "1.0"}},
        set(),
        {"table2"},
    ),
    "figs1_beta_cifar10_vgg16": (
        {"attack.params.beta": {"1", "2", "3", "4"}, "lambda": {"1.0", "0.5"}},
        set(),
        set(),
    ),
    "figs1_gamma_cifar10_vgg16": (
        {"attack.params.gamma": {"0", "0.1", "0.2", "0.3"}, "lambda": {"0.9", "0.5"}},
        set(),
        set(),
    ),
    "tables2_cost_cifar10_vgg11": ({}, {"cost"}, {"cost"}),
    # the second paper (Sharmin et al., ECCV 2020) and RGA Table 1's conversion row
    "digits_eccv_kinds": (KINDS, set(), set()),
    "eccv_kinds_cifar10_vgg11": (KINDS, set(), set()),
    "eccv_kinds_cifar10_vgg5": (KINDS, set(), set()),
    "digits_eccv_T_quantisation": (ARMS, set(), set()),
    "eccv_T_quantisation_cifar10_vgg11": (ARMS, set(), set()),
    "digits_eccv_leak": ({"lambda": {"0.5", "0.9", "0.99", "1.0"}}, set(), set()),
    "eccv_leak_cifar10_vgg11": ({"lambda": {"0.9", "0.95", "0.99", "1.0"}}, set(), set()),
    "digits_eccv_table1_conversion": ({"T": {"16", "32", "64"}}, {"shuffle"}, {"table1"}),
    "table1_conversion_cifar10_vgg11": ({"T": {"16", "32", "64"}}, {"shuffle"}, {"table1"}),
    # reliable evaluation: every mode, PGD/APGD/SA-PGD, the ensemble, convergence, tuning
    "digits_reliable_eval": (EVERY_MODE, set(), set()),
    "reliable_eval_cifar10_vgg11": (EVERY_MODE, set(), {"table2"}),
    # adversarial training (train.adversary; experiments/defense/ holds the SNN-RAT recipes)
    "digits_adversarial": (
        {
            "train.adversary.method": {"null", "fgsm_rs", "pgd", "trades"},
            "train.adversary.grad_mode": {"stbp", "rga"},
            "attack": {"stbp", "rga", "bptr", "hart"},
            "seed": {"0", "1", "2"},
        },
        set(),
        set(),
    ),
    "rat_cifar10_vgg11": (DEFENCES, set(), set()),
    "rat_cifar100_vgg11": (DEFENCES, set(), {"adversarial"}),
}


def composed(name: str, part: str) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run.py"),
            "-cd",
            str(ROOT / "experiments"),
            "-cn",
            name,
            "--cfg",
            part,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return yaml.safe_load(proc.stdout)


def composed_config(name: str, *overrides: str) -> DictConfig:
    """``experiments/NAME`` composed with Hydra's compose API (hydra node included)."""
    with initialize_config_dir(str(ROOT / "experiments"), version_base="1.3"):
        return compose(
            name,
            overrides=[f"hydra.searchpath=[file://{ROOT}/conf]", *overrides],
            return_hydra_config=True,
        )


def composed_in_process(name: str) -> tuple[dict, dict]:
    """The job config and sweeper params of ``experiments/NAME``."""
    job = OmegaConf.to_container(composed_config(name), resolve=False)
    return job, job.pop("hydra")["sweeper"]["params"]


def test_every_experiment_file_has_expectations() -> None:
    assert set(EXPECTED) == set(SWEEPS)


@pytest.mark.parametrize("name", SWEEPS)
def test_experiment_sweep_composes_with_its_sweep_parameters_and_paper_block(name: str) -> None:
    sweeps, analyses, tables = EXPECTED[name]
    job, params = composed_in_process(name)
    assert {"T", "lambda", "dataset", "model", "attack", "method"} <= set(job)
    for key, values in sweeps.items():
        assert set(str(params[key]).split(",")) == values, key
    assert set(job["analysis"]) == analyses
    assert job["paper"]["notes"]
    assert {k for k in job["paper"] if k != "notes"} == tables
    for row in job["paper"].get("table2", []):
        assert {"clean", "white", "black"} <= set(row) and {"stbp", "rga"} <= set(row["white"])
        assert row.get("time_extension", 1) in (1, 2)


@pytest.mark.parametrize("name", [n for n in SWEEPS if "time_extension" in str(EXPECTED[n][0])])
def test_te_sweeps_state_the_papers_te_row_where_it_has_one(name: str) -> None:
    job, _ = composed_in_process(name)
    te_rows = [r for r in job["paper"]["table2"] if r.get("time_extension") == 2]
    header = (ROOT / "experiments" / f"{name}.yaml").read_text().split("defaults:")[0]
    assert te_rows or "not transcribed" in header  # a TE row, or the header says why none
    for row in te_rows:  # the paper's TE row sits beside a plain row of the same setting
        plain = {k: v for k, v in row.items() if k not in ("time_extension", "white", "black")}
        assert any(
            r.get("time_extension", 1) == 1 and all(r.get(k) == v for k, v in plain.items())
            for r in job["paper"]["table2"]
        )


def header(name: str) -> str:
    """The comment block above ``defaults:`` of ``experiments/NAME``."""
    return (ROOT / "experiments" / f"{name}.yaml").read_text().split("defaults:")[0]


@pytest.mark.parametrize("name", [n for n in SWEEPS if "table1" in EXPECTED[n][2]])
def test_table1_files_shuffle_one_time_order_per_layer_as_the_reference_code(name: str) -> None:
    job, params = composed_in_process(name)
    assert job["analysis"]["shuffle"]["mode"] == "layer"
    assert "layer" in str(params.get("analysis.shuffle.mode", "layer")).split(",")
    assert "models/layers.py" in header(name)  # the reference line it comes from


@pytest.mark.parametrize("name", [n for n in SWEEPS if n.startswith("eccv_")])
def test_eccv_files_state_their_reference_lines(name: str) -> None:
    text = header(name)
    assert ("model_loader.py" in text and "T = 2000" in text) or "eccv_kinds_cifar10_vgg5" in text


def test_table2_sweep_uses_the_paper_setting() -> None:
    job = composed("table2_cifar10_vgg11", "job")
    assert (job["dataset"]["name"], job["model"]["name"], job["T"]) == ("cifar10", "vgg11", 8)
    assert job["train"]["epochs"] == 200 and job["eps"] == [8]


def test_rat_sweeps_use_the_snn_rat_protocol() -> None:
    for name, dataset in (("rat_cifar10_vgg11", "cifar10"), ("rat_cifar100_vgg11", "cifar100")):
        job, _ = composed_in_process(name)
        assert (job["dataset"]["name"], job["model"]["name"], job["T"]) == (dataset, "vgg11", 8)
        assert (job["train"]["epochs"], job["train"]["lr"], job["eps"]) == (200, 0.1, [8])
        adversary = job["train"]["adversary"]
        assert (adversary["method"], adversary["eps"], adversary["reg"]) == ("fgsm", 2, 0.004)
        assert job["train"]["weight_decay"] == 0 and set(job["method"]) == {"pgd", "apgd"}
        assert job["method"]["pgd"]["steps"] == 7 and job["pgd_alpha"] == 2.55  # α = 0.01


def test_figure_s1_sweeps_use_vgg16_at_t8_with_rga() -> None:
    for name in ("figs1_beta_cifar10_vgg16", "figs1_gamma_cifar10_vgg16"):
        job, _ = composed_in_process(name)
        assert (job["model"]["name"], job["T"], job["attack"]["grad_mode"]) == ("vgg16", 8, "rga")


def test_paper_block_and_analyses_leave_the_checkpoint_key_alone() -> None:
    with_paper = composed_config("digits_table1", "store.dir=x")
    assert with_paper.paper.table1 and set(with_paper.analysis) == {"shuffle", "rate_current"}
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        plain = compose(
            "config", overrides=["store.dir=x", "method=[fgsm]"], return_hydra_config=True
        )
    for cfg in (with_paper, plain):  # resolve ${hydra:...} interpolations without a run
        del cfg.hydra
    assert training_spec(with_paper, 0) == training_spec(plain, 0)
