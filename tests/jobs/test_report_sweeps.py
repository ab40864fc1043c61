"""The report at the end of a sweep: each digits experiment runs and ends with its report
(figures and sections), also sent to W&B."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import matplotlib.image
import pytest
import wandb
from fixtures_report import PNG_MAGIC
from harness import EXPERIMENTS, QUIET, cli, read_wandb_run, replaced

from snnattack.records.tracking import sweep_group

SMALL = ["train.epochs=1", "trainer.limit_test_batches=2"]


def run_experiment(tmp: Path, name: str, *overrides: str, env: dict | None = None) -> Path:
    """Runs ``experiments/NAME`` as a multirun into ``tmp/sweep``; returns the sweep folder."""
    proc = cli(
        "-m",
        "-cd",
        str(EXPERIMENTS),
        "-cn",
        name,
        f"store.dir={tmp}/models",
        f"hydra.sweep.dir={tmp}/sweep",
        *QUIET,
        *replaced(SMALL, *overrides),  # an experiment's own train.epochs= replaces SMALL's
        cwd=tmp,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "report: " + str(tmp / "sweep" / "report.html") in proc.stdout
    return tmp / "sweep"


def check_report(sweep: Path, figures: set[str], sections: set[str]) -> None:
    """Every attack row in results.csv, the figures valid PNGs, the HTML self-contained."""
    jobs = [json.loads(p.read_text()) for p in sweep.glob("*/metrics.json")]
    with open(sweep / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == sum(len(j["results"]) for j in jobs)
    assert {
        (r["grad_mode"], r["method"], r["box"], float(r["eps_255"]), float(r["lambda"]))
        for r in rows
    } == {
        (r["grad_mode"], r["method"], r["box"], r["eps_255"], j["config"]["lambda"])
        for j in jobs
        for r in j["results"]
    }
    pngs = {p.stem for p in sweep.glob("*.png")}
    assert pngs == figures
    for name in pngs:
        data = (sweep / f"{name}.png").read_bytes()
        assert data.startswith(PNG_MAGIC)
        height, width = matplotlib.image.imread(sweep / f"{name}.png").shape[:2]
        assert height > 200 and width > 200
    page = (sweep / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(pngs)
    assert re.findall(r'(?:src|href)="(?!data:)', page) == []  # nothing outside the page
    markdown = (sweep / "report.md").read_text()
    assert f" -cd {EXPERIMENTS} -cn " in markdown  # the command names the -cd folder
    for section in sections:
        assert f"## {section}" in markdown


@pytest.mark.slow
def test_digits_table2_sweep_ends_with_its_report_also_in_wandb(tmp_path: Path) -> None:
    sweep = run_experiment(
        tmp_path,
        "digits_table2",
        "seed=0",
        "lambda=0.9,1.0",
        "logger=wandb",
        env={"WANDB_MODE": "offline"},
    )
    check_report(sweep, {"asr_vs_eps", "asr_vs_lambda"}, {"Table 2"})
    markdown = (sweep / "report.md").read_text()
    for lam in ("0.9", "1"):
        for method in ("fgsm", "pgd"):
            for eps in ("32", "48"):
                assert f"\n| {lam} | {method} | {eps} | " in markdown  # only what varies
    assert "Settings: dataset = digits, model = digits_net, T = 4, reset = hard" in markdown
    assert "| WB ASR STBP | WB ASR RGA | WB Δ RGA − STBP | WB robust STBP | WB robust RGA |" in (
        markdown
    )
    assert "| 1 | fgsm (paper) | – |" in markdown  # its ε is not ours (8/255, in the notes)
    assert "**Finding.** " in markdown and "one seed each" in markdown
    title = markdown.splitlines()[0]  # the experiment and the overrides that change results
    assert (
        title
        == "# digits_table2: train.epochs=1 trainer.limit_test_batches=2 seed=0 lambda=0.9,1.0"
    )
    wandb.teardown()  # the W&B service writes every run file to its end and stops
    runs = [read_wandb_run(p) for p in sweep.rglob("offline-run-*")]
    by_type = {t: [r for r in runs if r["job_type"] == t] for t in ("report", "attack", "train")}
    assert sum(map(len, by_type.values())) == len(runs)
    (report_run,) = by_type["report"]  # the report's own run, beside one attack run per job
    assert report_run["name"] == f"report {sweep_group(sweep)}"  # "report <parent>/sweep"
    assert len(by_type["attack"]) == len(list(sweep.glob("*/metrics.json")))


ECCV_SMALL = ["eps=[32]", "method=[fgsm]", "train.hybrid.epochs=1"]
RELIABLE_SMALL = [
    "attack=stbp,hart",
    "eps=[32]",
    "attack.steps_curve=[1,3]",
    "method.pgd.steps=3",
    "method.apgd.steps=3",
    "method.sapgd.steps=3",
    "attack.tune.val_size=20",
    "attack.tune.grids.hart.gamma.step=1.175",
    "method.ensemble.components=[{attack: stbp, method: apgd, params: {steps: 3}},"
    "{attack: hart, method: apgd, tune: true, params: {steps: 3}},"
    "{method: square, params: {n_queries: 20}}]",
]
DIGITS = {  # file: (overrides that keep it small, expected figures, expected report sections)
    "digits_table1": (
        ["seed=0", "lambda=0.5,1.0"],
        {"rate_current", "asr_vs_lambda"},
        {"Table 1", "Table 2"},
    ),
    "digits_table2": (["seed=0,1", "lambda=1.0"], {"asr_vs_eps"}, {"Table 2"}),
    "digits_eps": (["seed=0,1", "eps=[16,48]"], {"asr_vs_eps"}, {"Table 2"}),
    "digits_lambda": (["seed=0", "lambda=0.5,1.0"], {"asr_vs_lambda"}, {"Table 2"}),
    "digits_beta_gamma": (
        ["attack.params.beta=1,2", "attack.params.gamma=0,0.2", "lambda=1.0"],
        {"beta_gamma"},
        {"Table 2"},
    ),
    "digits_cost": (
        ["T=2,4", "analysis.cost.repeats=1"],
        {"cost", "adv_acc_vs_T"},
        {"Table 2", "Table S2"},
    ),
    "digits_rga_vs_stbp": (["lambda=1.0", "eps=[32]"], set(), {"Table 2"}),
    "digits_table2_te": (["seed=0", "encoding=direct", "eps=[32]"], set(), {"Table 2"}),
    "digits_eccv_kinds": (
        ["train.kind=ann,hybrid", "source_train=ann", *ECCV_SMALL],
        {"kinds"},  # each kind at its own T and λ: no trend against either (single points)
        {"Table 2"},
    ),
    "digits_eccv_T_quantisation": (
        ["train.kind=hybrid", "kinds.step=full", "T=2,4", "encoding_levels=null,4", *ECCV_SMALL],
        {"adv_acc_vs_T"},
        {"Table 2"},
    ),
    "digits_eccv_leak": (["lambda=0.5,1.0", "T=4", *ECCV_SMALL], {"asr_vs_lambda"}, {"Table 2"}),
    "digits_reliable_eval": (
        RELIABLE_SMALL,
        {"convergence"},
        {"Worst-case ensemble", "Tuned gradient-mode parameters", "Gradient-masking checks"},
    ),
    "digits_adversarial": (
        [
            "seed=0",
            "train.adversary.method=null,fgsm_rs",
            "train.adversary.grad_mode=rga",
            "attack=stbp",
            "train.epochs=2",
            "trainer.limit_test_batches=1",
            "method=[pgd,square]",
            "method.square.n_queries=20",
        ],
        {"robust_vs_cost"},
        {"Adversarial training"},
    ),
    "digits_eccv_table1_conversion": (
        ["T=8,16", "eps=[32]", "method=[fgsm]"],
        {"adv_acc_vs_T"},
        {"Table 1", "Table 2"},
    ),
    "digits_events_sda": (
        ["attack=stbp", "method.sda.n_iter=5"],
        {"asr_vs_l0"},
        {"Table 2", "Event attacks: ASR against the L0 budget"},
    ),
    "digits_events_attacks": (
        [
            "method.sparsefool.max_iter=2",
            "method.spike_grad.n_iter=5",
            "method.event_patch.steps=5",
            "method.gsattack.steps=5",
            "method.gsattack_frames.steps=5",
            "method.retime.steps=2",
            "method.retime_l1.steps=2",
            "method.retime_l0.steps=2",
        ],
        {"asr_vs_l0", "asr_vs_retiming"},
        {
            "Table 2",
            "Event attacks: ASR against the L0 budget",
            "Retiming: ASR against events moved and total delay",
            "Raw events: ASR against the recording's events changed",
        },
    ),
}


def test_every_digits_experiment_is_covered() -> None:
    assert set(DIGITS) == {p.stem for p in EXPERIMENTS.glob("digits_*.yaml")}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DIGITS))
def test_digits_experiment_runs_and_reports(name: str, tmp_path: Path) -> None:
    overrides, figures, sections = DIGITS[name]
    sweep = run_experiment(tmp_path, name, *overrides)
    check_report(sweep, figures, sections)
