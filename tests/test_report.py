"""The report: from metrics.json files (hand-made and from digits sweeps) to tables and figures."""

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import pytest
import wandb
from harness import EXPERIMENTS, QUIET, cli, read_wandb_run
from omegaconf import OmegaConf

from snnattack.report import figures, tables, write_report
from snnattack.report.__main__ import main as report_main
from snnattack.report.callback import ReportCallback, sweep_group

SMALL = ["train.epochs=1", "trainer.limit_test_batches=2"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _job(folder: Path, seed: int, mode: str, asr: float, **extra) -> None:
    folder.mkdir(parents=True)
    config = {
        "dataset": {"name": "digits"},
        "model": {"name": "digits_net"},
        "T": 4,
        "lambda": 1.0,
        "reset": "hard",
        "encoding": "direct",
        "seed": seed,
        "attack": {"grad_mode": mode},
        "new_key_from_another_agent": {"x": 1},
        "paper": {
            "table2": [
                {
                    "lambda": 1.0,
                    "method": "fgsm",
                    "clean": 93.06,
                    "white": {"stbp": 86.28, "rga": 93.74},
                }
            ]
        },
    }
    record = {
        "clean_acc": 90.0 + seed,
        "n": 100,
        "config": config,
        "some_new_field": [1, 2],
        "results": [
            {
                "method": "fgsm",
                "eps": 48 / 255,
                "eps_255": 48.0,
                "box": "white",
                "grad_mode": mode,
                "asr": asr,
                "adv_acc": 10.0,
                "n_correct": 90,
            }
        ],
        **extra,
    }
    (folder / "metrics.json").write_text(json.dumps(record))


def test_report_of_hand_made_jobs_shows_mean_and_std_over_seeds_beside_the_paper(
    tmp_path: Path,
) -> None:
    for i, (seed, mode, asr) in enumerate(
        [(0, "stbp", 80.0), (1, "stbp", 90.0), (0, "rga", 85.0), (1, "rga", 95.0)]
    ):
        _job(tmp_path / "sweep" / str(i), seed, mode, asr)  # no source_clean_acc: robust
    report = write_report(tmp_path / "sweep")
    table = report.tables[0]
    assert table.columns == [
        "method",
        "clean",
        "WB ASR STBP",
        "WB ASR RGA",
        "WB Δ RGA − STBP",
        "WB robust STBP",
        "WB robust RGA",
        "n",
        "seeds",
    ]  # dataset, model, T, λ, reset, encoding and ε never vary: the settings line says them
    assert table.settings.startswith("dataset = digits, model = digits_net, T = 4, λ = 1")
    ours, paper = table.rows
    assert ours == [
        "fgsm",
        "90.50 ± 0.71",
        "85.00 ± 7.07",
        "90.00 ± 7.07",
        "+5.00 ± 0.00",  # paired by seed: each seed's RGA job attacks the STBP job's model
        "10.00 ± 0.00",
        "10.00 ± 0.00",
        "100",
        "2",
    ]
    assert table.bold == {(0, 3)}  # the higher ASR
    assert paper == ["fgsm (paper)", "93.06", "86.28", "93.74", "+7.46", "–", "–", "", ""]
    with open(tmp_path / "sweep" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["job"], r["seed"], r["grad_mode"], r["asr"]) for r in rows] == [
        ("0", "0", "stbp", "80.0"),
        ("1", "1", "stbp", "90.0"),
        ("2", "0", "rga", "85.0"),
        ("3", "1", "rga", "95.0"),
    ]
    assert rows[0]["source_clean_acc"] == ""
    assert (
        "| fgsm | 90.50 ± 0.71 | 85.00 ± 7.07 | **90.00 ± 7.07** | +5.00 ± 0.00 |"
        in (tmp_path / "sweep" / "report.md").read_text()
    )


def _lambda_job(folder: Path, lam: float, seed: int, mode: str, asr: float) -> None:
    """A job of a 2-λ sweep: one white-box FGSM row, robust accuracy 100 − asr of 90 %."""
    folder.mkdir(parents=True)
    config = {
        "dataset": {"name": "digits"},
        "model": {"name": "digits_net"},
        "T": 4,
        "lambda": lam,
        "reset": "hard",
        "encoding": "direct",
        "seed": seed,
        "attack": {"grad_mode": mode},
    }
    row = {"method": "fgsm", "eps_255": 32.0, "box": "white", "grad_mode": mode, "asr": asr}
    row.update(adv_acc=90.0 * (1 - asr / 100), n_correct=90, n=100)
    record = {"clean_acc": 90.0, "n": 100, "config": config, "results": [row]}
    record["git_commit"] = "0123456789abcdef0123"
    (folder / "metrics.json").write_text(json.dumps(record))


def _lambda_sweep(folder: Path, asr: dict[tuple[float, str], tuple[float, float]]) -> None:
    """Jobs of a sweep over λ × gradient mode × seeds 0, 1; ``asr[λ, mode]`` per seed."""
    i = 0
    for (lam, mode), values in asr.items():
        for seed, value in enumerate(values):
            _lambda_job(folder / str(i), lam, seed, mode, value)
            i += 1


def test_report_of_a_lambda_sweep_states_delta_robust_accuracy_n_and_its_finding(
    tmp_path: Path,
) -> None:
    _lambda_sweep(
        tmp_path / "sweep",
        {
            (0.5, "stbp"): (80.0, 84.0),
            (0.5, "rga"): (88.0, 93.0),
            (1.0, "stbp"): (60.0, 70.0),
            (1.0, "rga"): (70.0, 79.0),
        },
    )
    report = write_report(tmp_path / "sweep")
    table = report.tables[0]
    assert table.columns[:1] == ["λ"] and "WB Δ RGA − STBP" in table.columns
    assert "n" in table.columns and "WB robust RGA" in table.columns
    rows = {row[0]: dict(zip(table.columns, row, strict=True)) for row in table.rows}
    assert rows["0.5"]["WB Δ RGA − STBP"] == "+8.50 ± 0.71"
    assert rows["1"]["WB Δ RGA − STBP"] == "+9.50 ± 0.71"
    assert rows["1"]["WB robust RGA"] == "22.95 ± 5.73" and rows["1"]["n"] == "100"
    assert table.summary == (
        "RGA gives a higher ASR than STBP in all 2 comparisons (RGA − STBP: +8.50 to +9.50 "
        "points, mean +9.00); 0 of 2 differences are within one standard deviation over seeds."
    )
    markdown = (tmp_path / "sweep" / "report.md").read_text()
    assert f"**Finding.** {table.summary}" in markdown
    assert "commit 0123456789ab" in markdown


def test_the_finding_names_stbp_when_stbp_wins_and_counts_differences_within_the_spread(
    tmp_path: Path,
) -> None:
    _lambda_sweep(
        tmp_path / "sweep",
        {
            (0.5, "stbp"): (80.0, 84.0),
            (0.5, "rga"): (70.0, 75.0),  # RGA − STBP per seed: −10, −9
            (1.0, "stbp"): (60.0, 70.0),
            (1.0, "rga"): (62.0, 65.0),  # +2, −5: mean −1.5, std 4.95
        },
    )
    table = write_report(tmp_path / "sweep").tables[0]
    assert table.summary == (
        "STBP gives a higher ASR than RGA in all 2 comparisons (RGA − STBP: -9.50 to -1.50 "
        "points, mean -5.50); 1 of 2 differences are within one standard deviation over seeds."
    )
    stbp = table.columns.index("WB ASR STBP")
    assert table.bold == {(0, stbp), (1, stbp)}  # STBP's ASR marked in both rows


def test_the_finding_counts_wins_per_attack_when_there_are_several() -> None:
    deltas = {
        "rga": [
            ("FGSM WB", (3.0, 1.0, 2)),
            ("FGSM BB", (2.0, 3.0, 2)),  # within the spread
            ("PGD WB", (-1.0, 0.5, 2)),
            ("PGD BB", (0.5, 0.1, 2)),
        ]
    }
    assert tables.comparison_sentence(deltas, "stbp") == (
        "RGA gives a higher ASR than STBP in 3 of 4 comparisons (FGSM WB 1 of 1, FGSM BB 1 of "
        "1, PGD WB 0 of 1, PGD BB 1 of 1; RGA − STBP: -1.00 to +3.00 points, mean +1.12); 1 of "
        "4 differences are within one standard deviation over seeds."
    )


def test_report_title_and_command_come_from_hydras_record(tmp_path: Path) -> None:
    _lambda_sweep(tmp_path / "sweep", {(0.5, "stbp"): (80.0,), (1.0, "stbp"): (70.0,)})
    hydra = {
        "mode": "MULTIRUN",
        "overrides": {
            "hydra": ["hydra.sweep.dir=out", "hydra.mode=MULTIRUN"],
            "task": ["store.dir=/tmp/models", "seed=0", "lambda=0.5,1.0"],
        },
        "job": {"config_name": "digits_table2"},
        "runtime": {
            "cwd": "/repo",
            "config_sources": [  # as Hydra records them: run.py's conf/, then -cd's folder
                {"provider": "main", "path": "/repo/conf"},
                {"provider": "command-line", "path": "/repo/experiments"},
            ],
        },
    }
    (tmp_path / "sweep" / "multirun.yaml").write_text(json.dumps({"hydra": hydra}))
    report = write_report(tmp_path / "sweep")
    assert report.origin.title == "digits_table2: seed=0 lambda=0.5,1.0"
    assert report.origin.command == (
        "python run.py -m -cd experiments -cn digits_table2 store.dir=/tmp/models seed=0 "
        "lambda=0.5,1.0 hydra.sweep.dir=out"
    )
    markdown = (tmp_path / "sweep" / "report.md").read_text()
    assert markdown.startswith("# digits_table2: seed=0 lambda=0.5,1.0\n")
    assert report.tables[0].summary == (  # one gradient mode: nothing to compare
        "White-box ASR ranges from 70.00 to 80.00 % (robust accuracy 18.00 to 27.00 %)."
    )


@pytest.mark.parametrize("seeds", [(80.0,), (80.0, 84.0)])
def test_figures_have_one_shared_legend_and_say_std_only_with_several_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeds: tuple[float, ...]
) -> None:
    kept = drawn_axes(monkeypatch)
    _lambda_sweep(
        tmp_path / "sweep", {(lam, m): seeds for lam in (0.5, 1.0) for m in ("stbp", "rga")}
    )
    report = write_report(tmp_path / "sweep")
    (ax,) = kept["asr_vs_lambda"]
    assert ax.get_legend() is None and len(ax.figure.legends) == 1  # outside the panel
    assert [t.get_text() for t in ax.figure.legends[0].get_texts()] == ["stbp", "rga"]
    expected = "ASR (%, mean ± std over 2 seeds)" if len(seeds) == 2 else "ASR (%)"
    assert ax.get_ylabel() == expected
    markdown = (tmp_path / "sweep" / "report.md").read_text()
    assert "**Figure 1.** Attack success rate against the membrane leak λ" in markdown
    assert report.tables[0].note.endswith(
        "mean ± std over seeds." if len(seeds) == 2 else "one seed."
    )


def test_report_html_tables_scroll_instead_of_being_clipped(tmp_path: Path) -> None:
    """Rendered in headless Chromium at 600 px: the page fits the window and the wide table
    scrolls inside its box (see docs/report.md)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    _lambda_sweep(
        tmp_path / "sweep", {(lam, m): (80.0, 81.0) for lam in (0.5, 1.0) for m in ("stbp", "rga")}
    )
    page = (write_report(tmp_path / "sweep").files["html"]).read_text()
    probe = (
        "<script>addEventListener('DOMContentLoaded',()=>{const box=document.querySelector"
        "('.scroll');document.body.dataset.probe=[document.documentElement.scrollWidth,"
        "innerWidth,box.scrollWidth,box.clientWidth].join(' ')})</script>"
    )
    (tmp_path / "probe.html").write_text(page.replace("</body>", probe + "</body>"))
    dom = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=600,800",
            "--dump-dom",
            (tmp_path / "probe.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    page_width, window, table_width, box_width = map(
        int, re.search(r'data-probe="([\d ]+)"', dom)[1].split()
    )
    assert page_width <= window  # nothing sticks out of the window
    assert table_width > box_width  # the table is wider than its box: it scrolls there


def _eccv_job(
    folder: Path,
    seed: int,
    T: int,
    levels: int | None,
    kind: str,
    results: list[tuple[str, str | None, float]],
    mode: str = "stbp",
) -> None:
    """A job of the ECCV study: ``results`` are (box, source kind, adversarial accuracy)."""
    folder.mkdir(parents=True)
    config = {
        "dataset": {"name": "digits"},
        "model": {"name": "digits_net"},
        "T": T,
        "lambda": 1.0,
        "reset": "soft",
        "encoding": "poisson",
        "seed": seed,
        "encoding_levels": levels,
        "train": {"kind": kind},
        "attack": {"grad_mode": mode},
    }
    record = {
        "clean_acc": 90.0 + seed + T,
        "n": 100,
        "config": config,
        "results": [
            {
                "method": "fgsm",
                "eps_255": 32.0,
                "box": box,
                "grad_mode": mode,
                "asr": 99.0,
                "adv_acc": acc,
                "n_correct": 90,
                "target_kind": kind,
                "source_kind": source or kind,
            }
            for box, source, acc in results
        ],
    }
    (folder / "metrics.json").write_text(json.dumps(record))


def drawn_axes(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """The Axes of every figure the report draws, by file name (kept before they are closed)."""
    kept: dict[str, list] = {}
    save = figures._save

    def keep(fig, path):
        kept[path.stem] = fig.axes
        return save(fig, path)

    monkeypatch.setattr(figures, "_save", keep)
    return kept


def legend_data(ax) -> dict[str, list[float]]:
    """Each labelled line's y values (an error-bar line's data line)."""
    out = {}
    for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
        line = handle.lines[0] if hasattr(handle, "lines") else handle
        out[label] = [float(y) for y in line.get_ydata()]
    return out


def half_errors(errorbar) -> list[float]:
    """The half-lengths of an error-bar container's bars (the std drawn)."""
    (segments,) = [bars.get_segments() for bars in errorbar.lines[2]]
    return [round(float(top[1] - bottom[1]) / 2, 3) for bottom, top in segments]


def test_adversarial_accuracy_vs_T_has_a_line_per_quantisation_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = drawn_axes(monkeypatch)
    i = 0
    for seed in (0, 1):
        for T in (4, 8):
            for levels in (None, 2):
                acc = 10.0 * T / 4 + (40.0 if levels else 0.0) + 2.0 * seed
                _eccv_job(
                    tmp_path / "sweep" / str(i),
                    seed,
                    T,
                    levels,
                    "hybrid",
                    [("white", None, acc), ("black", None, acc + 5.0)],
                )
                i += 1
    report = write_report(tmp_path / "sweep")
    assert {p.stem for p in report.figures} == {"adv_acc_vs_T"}
    white, black = kept["adv_acc_vs_T"]  # one method and ε: a row of two panels
    lines = legend_data(white)
    assert lines["analog"] == [11.0, 21.0] and lines["2 levels"] == [51.0, 61.0]  # seed mean
    assert lines["analog, clean"] == [94.5, 98.5]  # each job's clean accuracy once
    assert black.get_title() == "FGSM ε=32/255, black box"
    assert legend_data(black)["analog"] == [16.0, 26.0]
    assert [t.get_text() for t in black.get_xticklabels()] == ["4", "8"]
    with open(tmp_path / "sweep" / "results.csv") as f:
        assert {r["target_kind"] for r in csv.DictReader(f)} == {"hybrid"}


def test_adversarial_accuracy_vs_T_keeps_gradient_modes_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = drawn_axes(monkeypatch)
    jobs = [(mode, T, seed) for mode in ("stbp", "rga") for T in (4, 8) for seed in (0, 1)]
    for i, (mode, T, seed) in enumerate(jobs):  # e.g. attack=rga,stbp: not 2 more "seeds"
        acc = (30.0 if mode == "rga" else 10.0) + T + 2.0 * seed
        _eccv_job(
            tmp_path / "sweep" / str(i), seed, T, None, "hybrid", [("white", None, acc)], mode=mode
        )
    write_report(tmp_path / "sweep")
    (ax,) = kept["adv_acc_vs_T"]
    lines = legend_data(ax)
    assert lines["analog stbp"] == [15.0, 19.0] and lines["analog rga"] == [35.0, 39.0]
    assert lines["analog stbp, clean"] == [94.5, 98.5]
    errors = {
        label: half_errors(handle)
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True)
        if hasattr(handle, "lines")
    }
    assert errors == {"analog rga": [1.414, 1.414], "analog stbp": [1.414, 1.414]}  # seeds only


def bar_data(ax) -> dict[str, list[tuple[float, float]]]:
    """Each labelled bar series' (height, error bar half-length) per group."""
    return {
        label: list(
            zip(
                [round(bar.get_height(), 3) for bar in bars.patches],
                half_errors(bars.errorbar),
                strict=True,
            )
        )
        for bars, label in zip(*ax.get_legend_handles_labels(), strict=True)
    }


def test_kinds_bars_group_clean_white_and_black_box_accuracy_by_network_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = drawn_axes(monkeypatch)
    jobs = [
        (k, s, seed) for k in ("hybrid", "ann") for s in ("ann", "conversion") for seed in (0, 1)
    ]  # as a sweep: a job per target and source kind, each seed
    for i, (kind, source, seed) in enumerate(jobs):
        base = 20.0 if kind == "ann" else 50.0  # the white-box attack repeats in each job
        black = base + (10.0 if source == "ann" else 20.0) + 2.0 * seed
        _eccv_job(
            tmp_path / "sweep" / str(i),
            seed,
            4,
            None,
            kind,
            [("white", None, base + 4.0 * seed), ("black", source, black)],
        )
    report = write_report(tmp_path / "sweep")
    assert {p.stem for p in report.figures} == {"kinds"}
    assert (tmp_path / "sweep" / "kinds.png").read_bytes().startswith(PNG_MAGIC)
    (ax,) = kept["kinds"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ANN", "hybrid (backprop) SNN"]
    # mean and std over the 2 seeds (a seed's repeated rows count once), adversarial accuracy
    assert bar_data(ax) == {
        "clean": [(94.5, 0.707), (94.5, 0.707)],
        "white box": [(22.0, 2.828), (52.0, 2.828)],
        "black box from ANN": [(31.0, 1.414), (61.0, 1.414)],
        "black box from converted SNN": [(41.0, 1.414), (71.0, 1.414)],
    }


def test_study_figures_are_not_drawn_without_their_sweep(tmp_path: Path) -> None:
    _eccv_job(tmp_path / "sweep" / "0", 0, 4, None, "stbp", [("white", None, 10.0)])
    _eccv_job(tmp_path / "sweep" / "1", 1, 4, 4, "stbp", [("white", None, 12.0)])
    assert write_report(tmp_path / "sweep").figures == []


def test_a_failing_report_prints_one_line_and_leaves_the_sweep_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "2026-11-23" / "x")}}})
    ReportCallback().on_multirun_end(config)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("report: not written")
    assert sweep_group(tmp_path / "2026-11-23" / "04-17-00") == "2026-11-23/04-17-00"


def test_report_of_a_folder_without_results_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as stop:
        report_main([str(tmp_path)])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: no metrics.json under {tmp_path}; accepted: a job or sweep folder"]


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
        *SMALL,
        *overrides,
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
    assert "| 1 | fgsm (paper) | 32 |" in markdown
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
        {"kinds", "adv_acc_vs_T", "asr_vs_lambda"},  # each kind has its own T and λ
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
}


def test_every_digits_experiment_is_covered() -> None:
    assert set(DIGITS) == {p.stem for p in EXPERIMENTS.glob("digits_*.yaml")}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DIGITS))
def test_digits_experiment_runs_and_reports(name: str, tmp_path: Path) -> None:
    overrides, figures, sections = DIGITS[name]
    sweep = run_experiment(tmp_path, name, *overrides)
    check_report(sweep, figures, sections)


def test_convergence_figure_draws_asr_against_iterations_per_mode_and_method(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = drawn_axes(monkeypatch)
    for i, (seed, mode) in enumerate([(0, "stbp"), (1, "stbp"), (0, "rga")]):
        curve = [{"steps": k, "asr": a + 10.0 * seed} for k, a in ((5, 20.0), (10, 40.0))]
        _job(tmp_path / "sweep" / str(i), seed, mode, 50.0)
        path = tmp_path / "sweep" / str(i) / "metrics.json"
        record = json.loads(path.read_text())
        record["results"][0].update(method="pgd", asr_curve=curve)
        path.write_text(json.dumps(record))
    report = write_report(tmp_path / "sweep")
    assert "convergence" in {p.stem for p in report.figures}
    (ax,) = kept["convergence"]
    assert ax.get_title() == "PGD, white box"
    lines = legend_data(ax)
    assert lines["stbp ε=48"] == [25.0, 45.0]  # mean over the two seeds
    assert lines["rga ε=48"] == [20.0, 40.0]
    assert [float(x) for x in ax.lines[0].get_xdata()] == [5.0, 10.0]


def test_masking_flags_are_listed_per_job(tmp_path: Path) -> None:
    flagged = {
        "flagged": ["unbounded_eps"],
        "checks": [
            {"name": "zero_gradients", "flagged": False, "detail": "no"},
            {"name": "unbounded_eps", "flagged": True, "detail": "PGD at eps=1: 40.0 % ASR"},
        ],
    }
    clean = {
        "flagged": [],
        "checks": [{"name": "zero_gradients", "flagged": False, "detail": "no"}],
    }
    _job(tmp_path / "sweep" / "0", 0, "stbp", 50.0, masking=flagged)
    _job(tmp_path / "sweep" / "1", 1, "stbp", 50.0, masking=clean)
    report = write_report(tmp_path / "sweep")
    (table,) = [t for t in report.tables if t.key == "masking"]
    assert table.rows == [["0", "unbounded_eps", "PGD at eps=1: 40.0 % ASR"], ["1", "none", ""]]
    assert "1 of 2 job(s) flagged" in table.note
    assert "Gradient-masking checks" in (tmp_path / "sweep" / "report.md").read_text()


def test_ensemble_and_tuning_tables_show_the_worst_case_and_the_chosen_values(
    tmp_path: Path,
) -> None:
    parts = [
        {"name": "apgd/stbp", "grad_mode": "stbp", "grad_params": {}, "first_successes": 7},
        {
            "name": "apgd/hart",
            "grad_mode": "hart",
            "grad_params": {"gamma": 0.35},
            "first_successes": 2,
            "tuned": True,
        },
    ]
    _job(tmp_path / "sweep" / "0", 0, "hart", 80.0)
    path = tmp_path / "sweep" / "0" / "metrics.json"
    record = json.loads(path.read_text())
    single = record["results"][0]
    single.update(tuned={"params": {"gamma": 0.4}, "val_asr": 81.5, "val_n": 200})
    record["results"].append(
        {
            **single,
            "method": "ensemble",
            "grad_mode": "ensemble",
            "adv_acc": 4.0,
            "components": parts,
            "tuned": None,
        }
    )
    path.write_text(json.dumps(record))
    report = write_report(tmp_path / "sweep")
    tables = {t.key: t for t in report.tables}
    assert tables["ensemble"].rows == [
        ["0", "white", "48", "4.00", "10.00 (fgsm/hart)", "yes", "apgd/stbp 7, apgd/hart 2"]
    ]
    assert tables["tuning"].rows == [
        ["0", "white", "48", "hart", "fgsm", "gamma=0.4", "81.50", "200"],
        ["0", "white", "48", "hart", "ensemble: apgd/hart", "gamma=0.35", "–", "–"],
    ]


def test_cost_table_shows_each_step_with_its_dense_floor(tmp_path: Path) -> None:
    cost = {
        "modes": {
            "forward": {"seconds": 0.010, "time_vs_forward": 1.0, "dense_vs_forward": 0.8},
            "stbp": {"seconds": 0.021, "time_vs_forward": 2.1, "dense_vs_forward": 1.7},
        }
    }
    _job(tmp_path / "sweep" / "0", 0, "stbp", 80.0, analyses={"cost": cost})
    table = next(t for t in write_report(tmp_path / "sweep").tables if t.key == "cost")
    floor = table.columns.index("floor × forward")
    assert table.columns[floor - 1] == "× forward"
    assert [row[floor] for row in table.rows] == ["0.80", "1.70"]
    assert "convolutions and matrix products" in table.note
