"""The report's figures (PNG, matplotlib Agg): ASR vs ε and λ, adversarial accuracy vs T per
input quantisation and per network kind (the ECCV 2020 study's figures), rate-current, β/γ,
cost, and ASR vs attack iterations (convergence); and their registry.

A figure is a function decorated with ``@register("<name>", order=..., caption=...)`` in a
module of ``report/``, which imports every module: a new figure is one function (or one
module). It takes, by parameter name, what it reads (:class:`ReportFigure`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import NullFormatter, ScalarFormatter  # noqa: E402

from snnattack.registry import Registry  # noqa: E402
from snnattack.report.collect import SETTING_KEYS, Job, analyses_swept, flatten  # noqa: E402
from snnattack.report.tables import (  # noqa: E402
    SHORT,
    by_training,
    drawn,
    fmt,
    group,
    in_order,
    mean_std,
    mode_name,
    mode_order,
    mode_takes,
    per_seed,
    ranked,
    setting_text,
)

DPI = 110


@dataclass(frozen=True)
class ReportFigure:
    """A registered figure: ``draw`` takes, by parameter name, any of ``rows`` (the rows of
    ``results.csv``), ``jobs`` (the records read), ``series`` (``series(x)``: the keys that
    vary besides ``x``, each a line of its own) and ``path`` (its file, ``<name>.png``), and
    returns the path, or None when the sweep has nothing for it."""

    name: str  # its file's stem
    draw: Callable[..., Path | None]
    order: float  # its place in the report
    caption: str  # what it shows, in words (its caption in the report)

    def __call__(self, sources: Mapping[str, Any], folder: Path) -> Path | None:
        """The figure drawn from ``sources`` into ``folder``."""
        return drawn(self.draw, {**sources, "path": folder / f"{self.name}.png"})


FIGURES: Registry[ReportFigure] = Registry()  # filled by the modules of report/
_MADE_BY: ContextVar[dict[str, str]] = ContextVar("made_by", default={})  # noqa: B039  read only


def register(name: str, /, *, order: float, caption: str) -> Callable[[Callable], Callable]:
    """Decorator: the function draws the report's figure ``name`` (``<name>.png``), at its
    place by ``order``, under ``caption``."""

    def add(draw: Callable[..., Path | None]) -> Callable[..., Path | None]:
        FIGURES.enter(name, ReportFigure(name, draw, order, caption), order)
        return draw

    return add


def caption(stem: str) -> str:
    """The report's caption of the figure file ``stem``.png."""
    return FIGURES[stem].caption if stem in FIGURES else stem.replace("_", " ")


def spread_label(rows: list[dict[str, Any]], points: tuple[str, ...]) -> str:
    """``, mean ± std over N seeds`` when a panel's rows hold more than one seed at a point
    (the rows of one value of each of ``points``), else nothing; ``over 1–2 seeds`` where
    the points hold unequal counts (a setting added for one seed beside a sweep of two)."""
    counts = [len({r.get("seed") for r in point}) for point in split(rows, points).values()]
    low, high = min(counts, default=0), max(counts, default=0)
    if high <= 1:
        return ""
    return f", mean ± std over {high if low == high else f'{low}–{high}'} seeds"


LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")
COLOURS = 10  # Matplotlib's default cycle: C10 is C0 again


def series_style(i: int, colour: int, label: str) -> dict[str, str]:
    """The colour ``C<colour>``, ``label`` and the line style and marker of the ``i``-th series
    drawn in that colour, each pair its own up to 24 series: the legend tells them apart by
    the marker too, where a short dashed handle looks like a solid one."""
    styles = len(LINE_STYLES)
    linestyle, marker = LINE_STYLES[i % styles], MARKERS[(i + i // styles) % len(MARKERS)]
    return {"color": f"C{colour}", "linestyle": linestyle, "marker": marker, "label": label}


def shared_legend(fig: plt.Figure) -> None:
    """One legend for all panels, right of them (each label once, in order of appearance)."""
    seen: dict[str, Any] = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    if seen:
        fig.legend(
            list(seen.values()),
            list(seen),
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            fontsize=7,
            handlelength=3.5,  # long enough to show a dashed or dotted line as one
            frameon=False,
        )


def _label(key: str) -> str:
    return SHORT[key].split(" ")[0] if key in SHORT else key.rsplit(".", 1)[-1]


def eps_text(eps: Any) -> str:
    """ε with its unit, ``ε=32/255``: a figure's text names the radius as its axes do."""
    return f"ε={fmt(eps)}/255"


def _setting(key: str, value: Any) -> str:
    """A legend's name of a setting: the gradient mode bare, ε with its unit
    (:func:`eps_text`), any other as key=value."""
    if key == "grad_mode":
        return fmt(value)
    return eps_text(value) if key == "eps_255" else f"{_label(key)}={setting_text(key, value)}"


def setting_order(setting: tuple) -> tuple:
    """Sort key of a tuple of setting values: numbers by value, then names, None last."""
    return tuple((v is None, isinstance(v, str), "" if v is None else v) for v in setting)


def split(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[tuple, list[dict[str, Any]]]:
    """The rows per setting of ``keys`` (a tuple of their values), settings in sorted order."""
    groups = group((tuple(r.get(k) for k in keys), r) for r in rows)
    return dict(sorted(groups.items(), key=lambda kv: setting_order(kv[0])))


def trend(rows: list[dict[str, Any]], x: str, keys: tuple[str, ...]) -> bool:
    """Whether some line of ``rows`` (a setting of ``keys``: its panel's and its own) of one
    kind of network takes two values of ``x``: where none does, ``x`` changed only with
    another setting (each kind of network at its own T and λ), and the figure would draw
    single points of other networks as if they were a trend."""
    lines = split(rows, (*keys, "target_kind", "source_kind")).values()
    return any(len({r[x] for r in line}) > 1 for line in lines)


def seed_stat(rows: list[dict[str, Any]], y: str) -> tuple[float, float]:
    """``y``'s mean and std over seeds, each seed's rows averaged first (:func:`per_seed`: a
    kinds sweep attacks one target white box once per source kind). NaN when no row has one."""
    mean, std, _ = mean_std(per_seed(rows, y).values()) or (float("nan"), 0.0, 0)
    return mean, std


def curve(rows: list[dict[str, Any]], x: str, y: str) -> tuple[list, list, list]:
    """``x``'s values (sorted) with ``y``'s mean and std over seeds at each (:func:`seed_stat`)."""
    groups = group((r[x], r) for r in rows)
    xs = sorted(groups)
    stats = [seed_stat(groups[v], y) for v in xs]
    return xs, [m for m, _ in stats], [d for _, d in stats]


def _grid(
    rows: list[dict[str, Any]],
    keys: tuple[str, ...],
    by_box: bool,
    size: tuple[float, float] = (4.4, 3.3),
) -> tuple[plt.Figure, list[tuple]]:
    """A figure of ``size``-d panels, a row per setting of ``keys`` and, when ``by_box``, a
    column per box (white first); each panel as (Axes, setting, box or None, its rows)."""
    settings = split(rows, keys)
    boxes = sorted({r["box"] for r in rows}, key=lambda b: b != "white") if by_box else [None]
    nrows, ncols = len(settings), len(boxes)
    fig, axes = plt.subplots(
        nrows, ncols, squeeze=False, figsize=(size[0] * ncols, size[1] * nrows)
    )
    return fig, [
        (axes[i][k], setting, box, [r for r in members if box in (None, r["box"])])
        for i, (setting, members) in enumerate(settings.items())
        for k, box in enumerate(boxes)
    ]


def asr_vs(rows: list[dict[str, Any]], x: str, series_keys: list[str], path: Path) -> Path | None:
    """ASR (mean ± std over seeds) against ``x``: a panel per method (rows) and box (columns),
    a colour per gradient mode, a line style per setting of ``series_keys``. None when no line
    takes 2 values of ``x`` (:func:`trend`)."""
    rows = [r for r in rows if r.get(x) is not None and r.get("method") and r.get("box")]
    if not trend(rows, x, ("method", "box", "grad_mode", *series_keys)):
        return None
    modes = sorted({r.get("grad_mode") for r in rows}, key=mode_order)
    others = list(split(rows, tuple(series_keys)))
    fig, panels = _grid(rows, ("method",), by_box=True)
    for ax, (method,), box, cell in panels:
        lines = split(cell, ("grad_mode", *series_keys))
        for m, mode in enumerate(modes):
            for o, other in enumerate(others):
                if (mode, *other) not in lines:
                    continue
                xs, means, stds = curve(lines[(mode, *other)], x, "asr")
                label = " ".join(map(_setting, ("grad_mode", *series_keys), (mode, *other)))
                ax.errorbar(xs, means, yerr=stds, capsize=3, **series_style(o, m, label))
        ax.set_title(f"{method.upper()}, {box} box")
        ax.set_xlabel(f"{_label(x)}" + (" (/255)" if x == "eps_255" else ""))
        ax.set_ylabel(
            f"ASR (%{spread_label(cell, ('method', 'box', 'grad_mode', *series_keys, x))})"
        )
        ax.grid(alpha=0.3)
    shared_legend(fig)
    return _save(fig, path)


def register_asr_vs(name: str, x: str, order: float, what: str) -> None:
    """Registers the figure ``name``: ASR against ``x`` (:func:`asr_vs`), ``what`` in words."""

    def draw(rows: list[dict[str, Any]], series: Callable, path: Path) -> Path | None:
        return asr_vs(rows, x, series(x), path)

    caption = (
        f"Attack success rate against {what}: a panel per attack method and box, a colour "
        "per gradient mode."
    )
    register(name, order=order, caption=caption)(draw)


register_asr_vs("asr_vs_eps", "eps_255", 10, "the perturbation radius ε")
register_asr_vs("asr_vs_lambda", "lambda", 20, "the membrane leak λ")


@register(
    "adv_acc_vs_T",
    order=30,
    caption=(
        "Accuracy under attack against the number of time steps T, a line per input "
        "quantisation and per other setting that varies beside T (clean accuracy dashed): a "
        "panel per method, ε and box."
    ),
)
def adv_acc_vs_T(rows: list[dict[str, Any]], series: Callable, path: Path) -> Path | None:
    """The caption's figure (Sharmin et al.'s ECCV 2020), mean ± std over seeds, a level being
    ``encoding_levels`` (none: analog). Gradient modes and the other keys that vary beside T
    (``series("T")``) get lines of their own rather than being averaged as if they were seeds.
    None when no line takes 2 values of T (:func:`trend`)."""
    series_keys = series("T")
    rows = [r for r in rows if r.get("T") is not None and r.get("method") and r.get("box")]
    ts = sorted({r["T"] for r in rows})
    others = [k for k in ("grad_mode", *series_keys) if k not in ("encoding_levels", "eps_255")]
    keys = ("encoding_levels", *(k for k in others if len({r.get(k) for r in rows}) > 1))
    if not trend(rows, "T", ("method", "eps_255", "box", *keys)):
        return None
    lines = list(split(rows, keys))  # a colour per line, the same in every panel
    fig, panels = _grid(rows, ("method", "eps_255"), by_box=True)
    for ax, (method, eps), box, cell in panels:
        cells = split(cell, keys)
        for c, line in enumerate(lines):
            if line not in cells:
                continue
            level, *rest = line
            name = " ".join(
                ["analog" if level is None else f"{level} levels", *map(_setting, keys[1:], rest)]
            )
            # a colour per line, and past the ten colours another marker
            look = {"color": f"C{c % COLOURS}", "marker": MARKERS[c // COLOURS % len(MARKERS)]}
            xs, means, stds = curve(cells[line], "T", "adv_acc")
            ax.errorbar(xs, means, yerr=stds, capsize=3, label=name, **look)
            xs, means, _ = curve(cells[line], "T", "clean_acc")
            ax.plot(xs, means, linestyle="--", alpha=0.6, label=f"{name}, clean", **look)
        ax.set_title(f"{method.upper()} {eps_text(eps)}, {box} box", fontsize=9)
        ax.set_xscale("log", base=2)
        ax.set_xticks(ts, [fmt(t) for t in ts], minor=False)
        ax.minorticks_off()
        ax.set_xlabel("time steps T")
        ax.set_ylabel(f"accuracy (%{spread_label(cell, ('method', 'eps_255', 'box', *keys, 'T'))})")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    shared_legend(fig)
    return _save(fig, path)


def _kind_order(kind: Any) -> tuple:
    """The kinds of training in their registered order, then any other by name."""
    from snnattack.training import STRATEGIES  # only here: it imports torch

    return ranked(tuple(STRATEGIES), kind)


def _kind_name(kind: str) -> str:
    """How the figures name the networks a kind of training gives: its title, else its name."""
    from snnattack.training import STRATEGIES  # only here: it imports torch

    strategy = STRATEGIES.get(kind)
    return strategy.title if strategy else str(kind)


@register(
    "kinds",
    order=40,
    caption=(
        "Clean, white-box and black-box accuracy of each kind of network (ANN, converted "
        "SNN, backpropagated SNN): a panel per method and ε."
    ),
)
def kinds_bars(rows: list[dict[str, Any]], series: Callable, path: Path) -> Path | None:
    """The caption's bars per target kind (black box: per source kind), mean ± std over seeds,
    as the ECCV 2020 study compares them. A setting that varies within one bar (the gradient
    mode, a swept λ) gets panels of its own rather than being averaged as if it were seeds;
    one that changes only with the kind (each kind's own T), with the source (a black box's
    gradient mode, a swept ``source_train``: the black bars' sources) or with the box does
    not. None when fewer than 2 target kinds are present."""
    rows = [r for r in rows if r.get("target_kind") and r.get("method") and r.get("box")]
    targets = sorted({r["target_kind"] for r in rows}, key=_kind_order)
    if len(targets) < 2:
        return None
    bars_of: dict[tuple, list[dict[str, Any]]] = {}  # the rows of one bar of one panel
    for r in rows:
        source = r.get("source_kind") if r["box"] == "black" else None
        key = (r["method"], r.get("eps_255"), r["target_kind"], r["box"], source)
        bars_of.setdefault(key, []).append(r)
    others = tuple(  # a white box reads no source: a swept source_* repeats its rows
        k
        for k in ("grad_mode", *series("target_kind"))
        if k != "eps_255"
        and any(
            len({r.get(k) for r in bar}) > 1
            for (*_, box, _), bar in bars_of.items()
            if box == "black" or not k.startswith("source_")
        )
    )
    sources = sorted({r.get("source_kind") for r in rows if r["box"] == "black"}, key=_kind_order)
    bars = [("clean", None), ("white", None), *(("black", s) for s in sources)]
    width = 0.8 / len(bars)
    fig, panels = _grid(
        rows,
        ("method", "eps_255", *others),
        by_box=False,
        size=(1.1 + 0.52 * len(targets) * len(bars), 3.2),
    )
    for ax, (method, eps, *setting), _, cell in panels:
        for b, (what, source) in enumerate(bars):
            bar = [
                r
                for r in cell
                if what == "clean" or (r["box"] == what and source in (None, r.get("source_kind")))
            ]
            y = "clean_acc" if what == "clean" else "adv_acc"
            stats = [seed_stat([r for r in bar if r["target_kind"] == t], y) for t in targets]
            label = {"clean": "clean", "white": "white box"}.get(
                what, f"black box from {_kind_name(source)}"
            )
            ax.bar(
                [t + (b - (len(bars) - 1) / 2) * width for t in range(len(targets))],
                [m for m, _ in stats],
                width,
                yerr=[d for _, d in stats],
                capsize=2,
                label=label,
                color="0.75" if what == "clean" else f"C{b - 1}",
            )
        ax.set_xticks(range(len(targets)), [_kind_name(t) for t in targets])
        named = "".join(f", {_setting(k, v)}" for k, v in zip(others, setting, strict=True))
        ax.set_title(
            f"{method.upper()} {eps_text(eps)}{named}: accuracy by network kind", fontsize=9
        )
        points = ("method", "eps_255", *others, "target_kind", "box", "source_kind")
        spread = spread_label(cell, points)
        ax.set_ylabel(f"accuracy (%{spread})")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3, axis="y")
    shared_legend(fig)
    return _save(fig, path)


@register(
    "rate_current",
    order=50,
    caption=(
        "Firing rate against mean input current of one spiking layer: measured on "
        "validation data (points) and the static rate–current curve (line), per trained "
        "model."
    ),
)
def rate_current(jobs: list[Job], path: Path) -> Path | None:
    """Actual (scatter, every seed's model) and static (line) rate-current curves, a panel per
    setting (dataset, model, T, λ, reset, encoding: the first and last named where panels
    differ by them), layer, swept analysis option (``analysis.rate_current.n_points``: other
    points of one model) and training (``train.kind``, ...: Table 1's ``trained``, named in
    the title: neurons can differ, a hybrid model's scaled θ), each with the static curve of
    every λ, θ and reset its models' layers hold (a learned leak's seeds)."""
    measured = [j for j in jobs if j.record.analyses.get("rate_current")]
    prefix = "analysis.rate_current."
    options = [
        k for k in analyses_swept(measured) if k.startswith(prefix) and k != f"{prefix}layer"
    ]

    def how(j: Job) -> str:  # the analysis's swept options, as the panel names them
        flat = flatten(j.config)
        return ", ".join(f"{k.removeprefix(prefix)}={fmt(flat.get(k))}" for k in options)

    models: dict[Any, tuple[Job, dict]] = {}
    for j in measured:
        rc = j.record.analyses["rate_current"]
        layer = (rc.get("actual") or {}).get("layer")  # a sweep of it: a panel each
        models.setdefault((j.simulated, layer, how(j)), (j, rc))  # attack-only differences: one
    if not models:
        return None
    settings = group(
        ((*(j.setting(k) for k in SETTING_KEYS), layer, way), (j, rc))
        for (_, layer, way), (j, rc) in models.items()
    )
    split = by_training(settings, lambda member: member[0].trained_as())
    panels = {(*key, variant): members for (key, variant), members in split.items()}
    named = {i for i in (0, 5) if len({fmt(p[i]) for p in panels}) > 1}  # dataset, encoding
    cols = min(4, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.8 * cols, 3.3 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)

    for ax, ((dataset, model, T, lam, reset, encoding, layer, *lines), members) in zip(
        axes.flat,
        in_order(panels).items(),
        strict=False,  # T = 4, 8, 16 by value
    ):
        statics: dict[tuple, dict] = {}
        for _, rc in members:
            actual = rc.get("actual") or {}
            ax.scatter(
                actual.get("current", []),
                actual.get("rate", []),
                s=3,
                alpha=0.2,
                color="C0",
                label="actual (validation data, each model)",
            )
            neurons = tuple(actual.get(k) for k in ("lam", "theta", "reset"))
            statics.setdefault(neurons, rc.get("static") or {})
        for static in statics.values():
            ax.plot(static.get("current", []), static.get("rate", []), color="C3", label="static")
        words = [dataset if 0 in named else "", str(model), f"T={T}", f"λ={fmt(lam)}"]
        words += [f"{reset} reset", encoding if 5 in named else ""]
        title = f"{' '.join(filter(None, words))}, layer {layer}, {len(members)} model(s)"
        below = ", ".join(filter(None, lines))  # a line of its own: panels sit close
        ax.set_title("\n".join(filter(None, (title, below))), fontsize=8)
        ax.set_xlabel("mean input current")
        ax.set_ylabel("firing rate")
    shared_legend(fig)
    return _save(fig, path)


@register(
    "beta_gamma",
    order=60,
    caption=(
        "Attack success rate of RGA over its parameters β and γ: a map per method, box, λ "
        "and other varied setting."
    ),
)
def beta_gamma(rows: list[dict[str, Any]], series: Callable, path: Path) -> Path | None:
    """Heat maps of mean ASR over (β, γ) of the rows of a gradient mode that takes both (RGA
    and its layer-wise form), one per mode, method, box, λ and each other setting that varies
    beside them (ε, T, ...: never averaged over as if seeds)."""
    beta, gamma = "attack.params.beta", "attack.params.gamma"
    rga = [
        r
        for r in rows
        if (r.get(beta) is not None or r.get(gamma) is not None)
        and mode_takes(r.get("grad_mode"), ("beta", "gamma"))
    ]
    if not rga:
        return None
    varied = (k for k in series(beta) if len({fmt(r.get(k)) for r in rga}) > 1)  # among these
    others = ("lambda", *(k for k in varied if k not in (gamma, "lambda")))
    panels = list(split(rga, ("grad_mode", "method", "box", *others)).items())
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.2), squeeze=False)
    for ax, ((mode, method, box, *setting), cell) in zip(axes[0], panels, strict=True):
        bs = sorted({r.get(beta) for r in cell}, key=lambda v: (v is None, v))
        gs = sorted({r.get(gamma) for r in cell}, key=lambda v: (v is None, v))
        asr = group(((r.get(beta), r.get(gamma)), r.get("asr")) for r in cell)
        grid = [[(mean_std(asr[(b, g)]) or (float("nan"),))[0] for b in bs] for g in gs]
        image = ax.imshow(grid, cmap="viridis", aspect="auto", origin="lower")
        for gi, line in enumerate(grid):
            for bi, value in enumerate(line):
                shade = image.cmap(image.norm(value))
                ink = "k" if 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2] > 0.5 else "w"
                ax.text(bi, gi, f"{value:.1f}", ha="center", va="center", color=ink, fontsize=7)
        ax.set_xticks(range(len(bs)), [fmt(b) for b in bs])
        ax.set_yticks(range(len(gs)), [fmt(g) for g in gs])
        ax.set_xlabel("β")
        ax.set_ylabel("γ")
        said = " ".join(map(_setting, others, setting))
        ax.set_title(f"{mode_name(mode)} {method.upper()} {box}, {said}", fontsize=9)
        fig.colorbar(image, ax=ax, label="ASR (%)")
    return _save(fig, path)


@register(
    "cost",
    order=70,
    caption=("Time and peak memory of one attack step per gradient mode."),
)
def cost_bars(jobs: list[Job], path: Path) -> Path | None:
    """Bars of median time and peak memory of the forward and each mode's attack step, a bar
    per job in each step's group (the steps any job measured, in order; a step a job could
    not run, its ``error``, leaves its bar out). A bar is labelled by its model's setting,
    and by its job (Table S2's ``job`` column) where several jobs share one."""
    measured = [(j, j.record.analyses.get("cost")) for j in jobs]
    measured = [(j, c) for j, c in measured if c and c.get("modes")]
    if not measured:
        return None
    ran = [[m for m, v in cost["modes"].items() if "error" not in v] for _, cost in measured]
    steps = list(dict.fromkeys(m for modes in ran for m in modes))
    settings = [
        f"{j.setting('model')} T={j.setting('T')} λ={fmt(j.setting('lambda'))}" for j, _ in measured
    ]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    width = 0.8 / len(measured)
    for i, ((j, cost), modes, setting) in enumerate(zip(measured, ran, settings, strict=True)):
        label = f"job {j.name}: {setting}" if settings.count(setting) > 1 else setting
        for ax, field, scale in ((axes[0], "seconds", 1e3), (axes[1], "peak_mb", 1.0)):
            values = [(cost["modes"][m].get(field) or 0.0) * scale for m in modes]
            xs = [steps.index(m) + i * width for m in modes]
            ax.bar(xs, values, width, label=label, color=f"C{i % 10}")
    for ax in axes:  # slanted, ending under their bars: long names (rga_layerwise) would overlap
        ax.set_xticks([k + 0.4 - width / 2 for k in range(len(steps))], steps)
        ax.tick_params(axis="x", labelrotation=30)
        plt.setp(ax.get_xticklabels(), horizontalalignment="right")
    axes[0].set_ylabel("time per step (ms)")
    axes[1].set_ylabel("peak memory (MB)")
    shared_legend(fig)
    return _save(fig, path)


@register(
    "convergence",
    order=80,
    caption=(
        "Attack success rate against attack iterations (each sample's running best "
        "example, so at a method's own steps it may lie above its row's ASR, which is of the "
        "example the attack returns: PGD's last iterate): a panel per method and box, a "
        "colour per gradient mode, a line style per ε and other varied setting."
    ),
)
def convergence(rows: list[dict[str, Any]], series: Callable, path: Path) -> Path | None:
    """The caption's curves (``attack.steps_curve``), each the mean over the rows (seeds) of
    one setting: a line per gradient mode, ε and each other setting that varies (λ, T, ...:
    never averaged over as if seeds); None when no row has a curve."""
    curved = [r for r in rows if r.get("asr_curve")]
    if not curved:
        return None
    varied = (k for k in series("asr_curve") if len({fmt(r.get(k)) for r in curved}) > 1)
    keys = ("eps_255", *(k for k in varied if k != "eps_255"))
    panels = sorted(
        {(r["method"], r["box"]) for r in curved}, key=lambda k: (k[1] != "white", k[0])
    )
    modes = sorted({r.get("grad_mode") for r in curved}, key=mode_order)
    settings = list(split(curved, keys))
    fig, axes = plt.subplots(1, len(panels), squeeze=False, figsize=(4.4 * len(panels), 3.3))
    for ax, (method, box) in zip(axes[0], panels, strict=True):
        cell = [r for r in curved if (r["method"], r["box"]) == (method, box)]
        lines = split(cell, ("grad_mode", *keys))
        for m, mode in enumerate(modes):
            for e, setting in enumerate(settings):
                points = group(
                    (p["steps"], p["asr"])
                    for r in lines.get((mode, *setting), [])
                    for p in r["asr_curve"]
                )
                if not points:
                    continue
                line = sorted((k, (mean_std(v) or (float("nan"),))[0]) for k, v in points.items())
                label = " ".join(map(_setting, ("grad_mode", *keys), (mode, *setting)))
                ax.plot([s for s, _ in line], [a for _, a in line], **series_style(e, m, label))
        ax.set_xscale("log")
        # the counts themselves, not the log axis's minor labels, which run together
        ax.set_xticks(sorted({p["steps"] for r in cell for p in r["asr_curve"]}))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{method.upper()}, {box} box")
        ax.set_xlabel("attack iterations")
        ax.set_ylabel("ASR (%, running best)")
        ax.grid(alpha=0.3)
    shared_legend(fig)
    return _save(fig, path)


@contextmanager
def made_by(text: dict[str, str]) -> Iterator[None]:
    """Within the block, each figure saved says ``text`` in its PNG's text chunks (what
    produced it: its report's title, command, code and date), so that a figure taken out of
    its report still says where its numbers come from."""
    token = _MADE_BY.set(text)
    try:
        yield
    finally:
        _MADE_BY.reset(token)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    # bbox: the shared legend outside included; metadata: the text chunks made_by sets
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata=_MADE_BY.get())
    plt.close(fig)
    return path
