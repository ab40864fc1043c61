"""The report's figures from hand-made metrics.json files: the shared legend, adversarial
accuracy against T, the kinds' bars, the convergence curves, and no figure without its sweep."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from fixtures_report import PNG_MAGIC, hand_made_job, lambda_sweep
from matplotlib.colors import to_hex
from PIL import Image

from snnattack.report import figures, write_report


@pytest.mark.parametrize("seeds", [(80.0,), (80.0, 84.0)])
def test_figures_have_one_shared_legend_and_say_std_only_with_several_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeds: tuple[float, ...]
) -> None:
    kept = drawn_axes(monkeypatch)
    lambda_sweep(
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


def test_the_spread_label_says_the_seeds_at_each_point_when_they_differ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RGA's points on one seed beside STBP's on two were labelled "over 2 seeds"."""
    kept = drawn_axes(monkeypatch)
    sweep = {(lam, "stbp"): (80.0, 84.0) for lam in (0.5, 1.0)}
    lambda_sweep(tmp_path / "sweep", {**sweep, **{(lam, "rga"): (90.0,) for lam in (0.5, 1.0)}})
    write_report(tmp_path / "sweep")
    (ax,) = kept["asr_vs_lambda"]
    assert ax.get_ylabel() == "ASR (%, mean ± std over 1–2 seeds)"


def test_each_figure_says_what_produced_it_in_its_png(tmp_path: Path) -> None:
    """A figure taken out of its report (the README's) kept only Matplotlib's name."""
    lambda_sweep(tmp_path / "sweep", {(lam, "stbp"): (80.0,) for lam in (0.5, 1.0)})
    report = write_report(tmp_path / "sweep")
    (path,) = report.figures
    with Image.open(path) as image:
        text, dpi = image.text, image.info["dpi"]
    o = report.origin
    assert text["Source"] == o.command and text["Title"] == o.title
    assert text["Description"] == f"{o.code_text()} · {o.date}" and "Software" in text
    assert round(dpi[0]) == figures.DPI


def test_series_of_one_colour_differ_in_the_legend_by_line_and_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ε's series of one gradient mode share its colour: the legend tells them apart by
    their line style and marker (a short dashed handle looked solid), and name ε with its
    unit, as the axes do."""
    kept = drawn_axes(monkeypatch)
    lambda_sweep(tmp_path / "sweep", {(lam, "stbp"): (80.0,) for lam in (0.5, 1.0)})
    for path in (tmp_path / "sweep").glob("*/metrics.json"):
        record = json.loads(path.read_text())
        record["results"].append({**record["results"][0], "eps_255": 8.0, "asr": 40.0})
        path.write_text(json.dumps(record))
    write_report(tmp_path / "sweep")
    (ax,) = kept["asr_vs_lambda"]
    lines = {label: h.lines[0] for h, label in zip(*ax.get_legend_handles_labels(), strict=True)}
    assert sorted(lines) == ["stbp ε=32/255", "stbp ε=8/255"]  # ε with its unit
    styles = {(line.get_linestyle(), line.get_marker()) for line in lines.values()}
    assert len({line.get_color() for line in lines.values()}) == 1 and len(styles) == 2
    assert len({marker for _, marker in styles}) == 2  # the marker alone tells them apart
    assert ax.figure.legends[0].handlelength >= 3


def test_every_series_of_one_colour_has_a_style_of_its_own_beyond_four(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four styles were cycled: of six ε's, the fifth looked as the first (blue, solid,
    circle) in the panel and the legend."""
    kept = drawn_axes(monkeypatch)
    lambda_sweep(tmp_path / "sweep", {(lam, "stbp"): (80.0,) for lam in (0.5, 1.0)})
    for path in (tmp_path / "sweep").glob("*/metrics.json"):
        record = json.loads(path.read_text())
        for eps in (2.0, 4.0, 8.0, 12.0, 16.0):
            record["results"].append({**record["results"][0], "eps_255": eps, "asr": eps})
        path.write_text(json.dumps(record))
    write_report(tmp_path / "sweep")
    (ax,) = kept["asr_vs_lambda"]
    lines = [h.lines[0] for h in ax.get_legend_handles_labels()[0]]
    styles = {(to_hex(line.get_color()), line.get_linestyle(), line.get_marker()) for line in lines}
    assert len(lines) == 6 and len(styles) == 6


def test_adversarial_accuracy_vs_T_gives_each_of_more_lines_than_colours_its_own_look(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A colour per line out of Matplotlib's ten: the eleventh and twelfth lines were drawn
    as the first and second, and the caption spoke of quantisation levels alone."""
    kept = drawn_axes(monkeypatch)
    for i, (levels, T) in enumerate((n, T) for n in range(2, 14) for T in (4, 8)):
        _eccv_job(tmp_path / "sweep" / str(i), 0, T, levels, "hybrid", [("white", None, 50.0)])
    write_report(tmp_path / "sweep")
    (ax,) = kept["adv_acc_vs_T"]
    adversarial = [h.lines[0] for h in ax.get_legend_handles_labels()[0] if hasattr(h, "lines")]
    looks = {(to_hex(line.get_color()), line.get_marker()) for line in adversarial}  # C10: C0
    assert len(adversarial) == 12 and len(looks) == 12
    assert "and per other setting that varies beside T" in figures.caption("adv_acc_vs_T")


def _eccv_job(
    folder: Path,
    seed: int,
    T: int,
    levels: int | None,
    kind: str,
    results: list[tuple[str, str | None, float]],
    mode: str = "stbp",
    source_train: str | None = None,
    ann_mode: str | None = None,
) -> None:
    """A job of the ECCV study: ``results`` are (box, source kind, adversarial accuracy);
    ``source_train`` the config's, ``ann_mode`` the gradient mode of the rows crafted on an
    ANN (None: ``mode``), as a record's are."""
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
        "source_train": source_train,
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
                "grad_mode": ann_mode if ann_mode and (source or kind) == "ann" else mode,
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


def test_kinds_bars_of_a_swept_source_kind_stay_one_panel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``train.kind=ann,conversion source_train=ann,conversion``: the black bars' sources
    and the gradient mode of the model each row crafts on (an ANN's own) split the figure
    into panels of a few bars each."""
    kept = drawn_axes(monkeypatch)
    jobs = [(k, s) for k in ("conversion", "ann") for s in ("ann", "conversion")]
    for i, (kind, source) in enumerate(jobs):
        base = 20.0 if kind == "ann" else 50.0
        black = base + (10.0 if source == "ann" else 20.0)
        results = [("white", None, base), ("black", source, black)]
        folder = tmp_path / "sweep" / str(i)
        _eccv_job(folder, 0, 4, None, kind, results, source_train=source, ann_mode="ann-autograd")
    write_report(tmp_path / "sweep")
    (ax,) = kept["kinds"]
    assert ax.get_title() == "FGSM ε=32/255: accuracy by network kind"
    assert bar_data(ax) == {
        "clean": [(94.0, 0.0), (94.0, 0.0)],
        "white box": [(20.0, 0.0), (50.0, 0.0)],
        "black box from ANN": [(30.0, 0.0), (60.0, 0.0)],
        "black box from converted SNN": [(40.0, 0.0), (70.0, 0.0)],
    }


def test_kinds_bars_keep_gradient_modes_apart_in_panels_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``attack=rga,stbp`` beside the kinds: each mode its panel, not its bars averaged over
    both modes as if they were seeds (with an error bar of their difference)."""
    kept = drawn_axes(monkeypatch)
    jobs = [(k, mode) for k in ("hybrid", "ann") for mode in ("stbp", "rga")]
    for i, (kind, mode) in enumerate(jobs):
        acc = (20.0 if kind == "ann" else 50.0) + (10.0 if mode == "rga" else 0.0)
        _eccv_job(tmp_path / "sweep" / str(i), 0, 4, None, kind, [("white", None, acc)], mode=mode)
    write_report(tmp_path / "sweep")
    panels = {ax.get_title(): bar_data(ax)["white box"] for ax in kept["kinds"]}
    assert panels == {
        "FGSM ε=32/255, rga: accuracy by network kind": [(30.0, 0.0), (60.0, 0.0)],
        "FGSM ε=32/255, stbp: accuracy by network kind": [(20.0, 0.0), (50.0, 0.0)],
    }


def test_kinds_at_their_own_T_draw_no_trend_against_T(tmp_path: Path) -> None:
    """The ECCV kinds sweep runs each kind of network at its own T (ANN 1, hybrid 16,
    converted 64; here 1, 4, 8): T changes with the network, and a figure against T would
    draw single points of three networks as a trend; the kinds' bars compare them."""
    jobs = [("ann", 1), ("hybrid", 4), ("conversion", 8)]
    for i, (kind, T) in enumerate(jobs):
        rows = [("white", None, 30.0 + i), ("black", "ann", 50.0 + i)]
        _eccv_job(tmp_path / "sweep" / str(i), 0, T, None, kind, rows)
    assert {p.stem for p in write_report(tmp_path / "sweep").figures} == {"kinds"}


def test_study_figures_are_not_drawn_without_their_sweep(tmp_path: Path) -> None:
    _eccv_job(tmp_path / "sweep" / "0", 0, 4, None, "stbp", [("white", None, 10.0)])
    _eccv_job(tmp_path / "sweep" / "1", 1, 4, 4, "stbp", [("white", None, 12.0)])
    assert write_report(tmp_path / "sweep").figures == []


def test_a_figure_the_report_no_longer_draws_is_not_left_beside_it(tmp_path: Path) -> None:
    """A report rewritten after jobs were removed (one λ left) draws no ASR-vs-λ figure: the
    earlier report's, of results it no longer holds, goes too."""
    sweep = tmp_path / "sweep"
    lambda_sweep(sweep, {(lam, "stbp"): (80.0,) for lam in (0.5, 1.0)})
    assert [p.name for p in write_report(sweep).figures] == ["asr_vs_lambda.png"]
    shutil.rmtree(sweep / "1")  # the λ = 1 job
    assert write_report(sweep).figures == []
    assert list(sweep.glob("*.png")) == []


def test_convergence_figure_draws_asr_against_iterations_per_mode_and_method(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = drawn_axes(monkeypatch)
    for i, (seed, mode) in enumerate([(0, "stbp"), (1, "stbp"), (0, "rga")]):
        curve = [{"steps": k, "asr": a + 10.0 * seed} for k, a in ((5, 20.0), (10, 40.0))]
        hand_made_job(tmp_path / "sweep" / str(i), seed, mode, 50.0)
        path = tmp_path / "sweep" / str(i) / "metrics.json"
        record = json.loads(path.read_text())
        record["results"][0].update(method="pgd", asr_curve=curve)
        path.write_text(json.dumps(record))
    report = write_report(tmp_path / "sweep")
    assert "convergence" in {p.stem for p in report.figures}
    (ax,) = kept["convergence"]
    assert ax.get_title() == "PGD, white box"
    lines = legend_data(ax)
    assert lines["stbp ε=48/255"] == [25.0, 45.0]  # mean over the two seeds
    assert lines["rga ε=48/255"] == [20.0, 40.0]
    assert [float(x) for x in ax.lines[0].get_xdata()] == [5.0, 10.0]
    # one legend beside the panels, as every figure's; the counts labelled as they are, not
    # a log axis's run-together minor labels (2×10⁰ 3×10⁰4×10⁰)
    assert ax.get_legend() is None and len(ax.figure.legends) == 1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["5", "10"]
    assert not any(t.get_text() for t in ax.get_xticklabels(minor=True))


def _edited_job(folder: Path, lam: float, mode: str, params: dict, results: list[dict]) -> None:
    """A hand-made job at λ = ``lam`` whose attack ran with ``params`` and gave ``results``."""
    hand_made_job(folder, 0, mode, 50.0, lam=lam)
    record = json.loads((folder / "metrics.json").read_text())
    record["config"]["attack"]["params"] = params
    record["results"] = [{**record["results"][0], **r} for r in results]
    (folder / "metrics.json").write_text(json.dumps(record))


def test_convergence_keeps_each_swept_setting_a_line_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A λ sweep's curves were averaged into one line, as if the two λ were two seeds."""
    kept = drawn_axes(monkeypatch)
    for lam, asr in ((0.5, 20.0), (1.0, 60.0)):
        curve = [{"steps": k, "asr": asr + k} for k in (5, 10)]
        _edited_job(tmp_path / "sweep" / str(lam), lam, "stbp", {}, [{"asr_curve": curve}])
    write_report(tmp_path / "sweep")
    (ax,) = kept["convergence"]
    assert legend_data(ax) == {
        "stbp ε=48/255 λ=0.5": [25.0, 30.0],
        "stbp ε=48/255 λ=1": [65.0, 70.0],
    }


def test_the_beta_gamma_map_is_rga_s_alone_and_a_panel_per_eps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``attack=rga,hart attack.params.gamma=...``: HART's γ (its surrogate's width) was drawn
    in the "RGA" map, and the ASR at two ε averaged into one cell."""
    kept = drawn_axes(monkeypatch)
    jobs = [("rga", {"beta": b, "gamma": 0.2}, b) for b in (2.0, 4.0)]
    jobs += [("hart", {"gamma": g}, 0.0) for g in (0.5, 1.0)]
    jobs += [("stbp", {"width": w}, 0.0) for w in (0.5, 1.0)]  # a setting RGA's rows lack
    for i, (mode, params, beta) in enumerate(jobs):
        results = [{"eps_255": e, "eps": e / 255, "asr": e + beta} for e in (8.0, 32.0)]
        _edited_job(tmp_path / "sweep" / str(i), 1.0, mode, params, results)
    write_report(tmp_path / "sweep")
    panels = [ax for ax in kept["beta_gamma"] if ax.get_title()]  # not the colour bars
    assert [ax.get_title() for ax in panels] == [
        "RGA FGSM white, λ=1 ε=8/255",
        "RGA FGSM white, λ=1 ε=32/255",
    ]
    cells = [[t.get_text() for t in ax.texts] for ax in panels]
    assert cells == [["10.0", "12.0"], ["34.0", "36.0"]]


def test_rate_current_draws_a_panel_per_layer_of_one_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep of ``analysis.rate_current.layer`` on one model: each layer its own panel, not
    the first one's alone."""
    kept = drawn_axes(monkeypatch)
    for layer in (10, 2):
        rc = {
            "actual": {"layer": layer, "current": [0.1 * layer, 0.5], "rate": [0.0, 0.5]},
            "static": {"current": [0.0, 1.0], "rate": [0.0, 1.0]},
        }
        hand_made_job(
            tmp_path / "sweep" / str(layer), 0, "stbp", 50.0, analyses={"rate_current": rc},
            models={"target": {"key": "one_model"}},
        )  # fmt: skip
        folder = tmp_path / "sweep" / str(layer) / "metrics.json"
        record = json.loads(folder.read_text())
        record["config"]["analysis"] = {"rate_current": {"layer": layer, "n_points": 2}}
        folder.write_text(json.dumps(record))
    write_report(tmp_path / "sweep")
    titles = [ax.get_title() for ax in kept["rate_current"] if ax.get_visible()]
    assert [t.split(", ")[1] for t in titles] == ["layer 2", "layer 10"]  # in their order


def test_rate_current_draws_a_panel_per_t_of_one_converted_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A T sweep of one stored ANN converted (its store key holds no T): each T its own panel,
    not the first job's alone."""
    kept = drawn_axes(monkeypatch)
    rc = {
        "actual": {"layer": 2, "current": [0.1, 0.5], "rate": [0.0, 0.5]},
        "static": {"current": [0.0, 1.0], "rate": [0.0, 1.0]},
    }
    for steps in (16, 64):
        folder = tmp_path / "sweep" / str(steps)
        hand_made_job(
            folder, 0, "stbp", 50.0, analyses={"rate_current": rc},
            models={"target": {"key": "one_ann"}},
        )  # fmt: skip
        record = json.loads((folder / "metrics.json").read_text())
        record["config"]["T"] = steps
        (folder / "metrics.json").write_text(json.dumps(record))
    write_report(tmp_path / "sweep")
    titles = [ax.get_title() for ax in kept["rate_current"] if ax.get_visible()]
    assert len(titles) == 2 and any("16" in t for t in titles) and any("64" in t for t in titles)


def test_cost_bars_name_each_job_of_one_setting_and_keep_each_step_in_its_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two jobs of one model (attack=rga,stbp with analysis=[cost]): the legend named one of
    their two colours, and the second job, whose rga step failed, had its hart bar drawn in
    the rga group (each job's bars were placed by its own steps, the ticks were the last's)."""
    kept = drawn_axes(monkeypatch)
    step = {"seconds": 0.002, "peak_mb": 1.0}
    steps = [
        {"forward": step, "stbp": step, "rga": step, "hart": {"seconds": 0.004, "peak_mb": 3.0}},
        {"forward": step, "stbp": step, "rga": {"error": "ValueError: no"}, "hart": step},
    ]
    for i, modes in enumerate(steps):
        hand_made_job(
            tmp_path / "sweep" / str(i), 0, ("rga", "stbp")[i], 80.0,
            analyses={"cost": {"modes": modes}}, models={"target": {"key": "one_model"}},
        )  # fmt: skip
    write_report(tmp_path / "sweep")
    time, _ = kept["cost"]
    legend = [t.get_text() for t in time.figure.legends[0].get_texts()]
    assert legend == ["job 0: digits_net T=4 λ=1", "job 1: digits_net T=4 λ=1"]
    assert [t.get_text() for t in time.get_xticklabels()] == ["forward", "stbp", "rga", "hart"]
    first, second = time.containers
    assert [round(b.get_x() + b.get_width() / 2) for b in second] == [0, 1, 3]  # no rga bar
    assert [b.get_height() for b in first] == [2.0, 2.0, 2.0, 4.0]


def test_rate_current_gives_models_trained_otherwise_panels_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A converted and a hybrid model of one setting (Table 1's rows of their own) shared one
    panel, "2 model(s)", under the first one's static curve: the hybrid's θ, scaled by
    ``train.hybrid.threshold_scale``, had none."""
    kept = drawn_axes(monkeypatch)
    for i, (kind, theta) in enumerate((("conversion", 1.0), ("hybrid", 0.5))):
        rc = {
            "actual": {"layer": 1, "lam": 1.0, "theta": theta, "reset": "soft",
                       "current": [0.2, 0.6], "rate": [0.25, 0.5]},
            "static": {"current": [0.0, 3 * theta], "rate": [0.0, 1.0]},
        }  # fmt: skip
        hand_made_job(
            tmp_path / "sweep" / str(i), 0, "stbp", 50.0, analyses={"rate_current": rc},
            models={"target": {"key": kind, "spec": {"train": {"kind": kind}, "seed": 0}}},
        )  # fmt: skip
    write_report(tmp_path / "sweep")
    shown = [ax for ax in kept["rate_current"] if ax.get_visible()]
    titles = [ax.get_title() for ax in shown]
    assert titles == [
        "digits_net T=4 λ=1 hard reset, layer 1, 1 model(s)\ntrain.kind=conversion",
        "digits_net T=4 λ=1 hard reset, layer 1, 1 model(s)\ntrain.kind=hybrid",
    ]
    assert [max(ax.lines[0].get_xdata()) for ax in shown] == [3.0, 1.5]  # each its own θ


def test_rate_current_draws_the_static_curve_of_each_seeds_neurons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seeds of a foreign network with a learned leak hold other λ each: the panel drew the
    first seed's static curve alone beside every seed's points."""
    kept = drawn_axes(monkeypatch)
    for seed, lam in ((0, 0.5), (1, 0.6)):
        rc = {
            "actual": {"layer": 1, "lam": lam, "theta": 1.0, "reset": "hard",
                       "current": [0.6], "rate": [0.25]},
            "static": {"current": [0.0, 1.0, 3.0], "rate": [0.0, lam, 1.0]},
        }  # fmt: skip
        hand_made_job(
            tmp_path / "sweep" / str(seed), seed, "stbp", 50.0, analyses={"rate_current": rc},
            models={"target": {"key": f"k{seed}", "spec": {"seed": seed}}},
        )  # fmt: skip
    write_report(tmp_path / "sweep")
    (ax,) = [ax for ax in kept["rate_current"] if ax.get_visible()]
    assert ax.get_title().endswith("2 model(s)")
    assert [list(line.get_ydata()) for line in ax.lines] == [[0.0, 0.5, 1.0], [0.0, 0.6, 1.0]]


def _rate_current_job(folder: Path, seed: int, config: dict, rate: float) -> None:
    """A job of one stored model (key ``m``) with a rate_current analysis of one point."""
    rc = {
        "actual": {"layer": 1, "lam": 1.0, "theta": 1.0, "reset": "hard",
                   "current": [0.5], "rate": [rate]},
        "static": {"current": [0.0, 3.0], "rate": [0.0, 1.0]},
    }  # fmt: skip
    hand_made_job(folder, seed, "stbp", 50.0, analyses={"rate_current": rc},
                  models={"target": {"key": "m", "spec": {"seed": 0}}})  # fmt: skip
    record = json.loads((folder / "metrics.json").read_text())
    record["config"] |= config
    (folder / "metrics.json").write_text(json.dumps(record))


def test_rate_current_keeps_encodings_and_analysis_settings_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A foreign file at ``encoding=direct,poisson`` drew both clouds in one panel titled as
    one setting; an ``analysis.rate_current.n_points`` sweep drew its first job alone."""
    kept = drawn_axes(monkeypatch)
    sweeps = {
        "enc": [{"encoding": e} for e in ("direct", "poisson")],
        "points": [{"analysis": {"rate_current": {"layer": 1, "n_points": n}}} for n in (10, 20)],
    }
    titles = {}
    for name, configs in sweeps.items():
        for i, config in enumerate(configs):
            _rate_current_job(tmp_path / name / str(i), 0, config, 0.1 * (i + 1))
        write_report(tmp_path / name)
        shown = [ax for ax in kept.pop("rate_current") if ax.get_visible()]
        assert [list(ax.collections[0].get_offsets()[:, 1]) for ax in shown] == [[0.1], [0.2]]
        titles[name] = [ax.get_title() for ax in shown]
    assert titles == {
        "enc": [
            "digits_net T=4 λ=1 hard reset direct, layer 1, 1 model(s)",
            "digits_net T=4 λ=1 hard reset poisson, layer 1, 1 model(s)",
        ],
        "points": [
            "digits_net T=4 λ=1 hard reset, layer 1, 1 model(s)\nn_points=10",
            "digits_net T=4 λ=1 hard reset, layer 1, 1 model(s)\nn_points=20",
        ],
    }


def test_rate_current_panels_follow_t_by_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A converted model's T sweep drew T=16 before T=4 (the panels sorted as text)."""
    kept = drawn_axes(monkeypatch)
    for i, T in enumerate((16, 4, 8)):
        _rate_current_job(tmp_path / "sweep" / str(i), 0, {"T": T}, 0.5)
    write_report(tmp_path / "sweep")
    titles = [ax.get_title() for ax in kept["rate_current"] if ax.get_visible()]
    assert [t.split(" ")[1] for t in titles] == ["T=4", "T=8", "T=16"]


def test_jobs_that_differ_in_eot_draws_are_never_pooled_as_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-m attack.eot_samples=1,4``: Table 2 and the λ figure averaged the two settings'
    ASR as one setting of one seed, though results.csv held them apart."""
    kept = drawn_axes(monkeypatch)
    lambda_sweep(tmp_path / "sweep", {(lam, "stbp"): (80.0,) for lam in (0.5, 1.0)})
    for i in (0, 1):  # each job again with EOT over 4 draws, of another ASR
        record = json.loads((tmp_path / "sweep" / str(i) / "metrics.json").read_text())
        record["config"]["attack"]["eot_samples"] = 4
        record["results"][0].update(eot_samples=4, asr=60.0, adv_acc=36.0)
        (tmp_path / "sweep" / str(i + 2)).mkdir()
        (tmp_path / "sweep" / str(i + 2) / "metrics.json").write_text(json.dumps(record))
    report = write_report(tmp_path / "sweep")
    table = report.tables[0]
    where = [table.columns.index(c) for c in ("λ", "EOT")]
    asr = next(i for i, c in enumerate(table.columns) if c.startswith("WB ASR"))
    assert sorted((*(r[i] for i in where), r[asr]) for r in table.rows) == [
        ("0.5", "1", "80.00"),
        ("0.5", "4", "60.00"),
        ("1", "1", "80.00"),
        ("1", "4", "60.00"),
    ]
    (ax,) = kept["asr_vs_lambda"]
    assert sorted(legend_data(ax).values()) == [[60.0, 60.0], [80.0, 80.0]]
