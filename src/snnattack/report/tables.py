"""The report's tables, laid out like the papers' (Tables 1, 2, S2), ours beside theirs, and
their registry.

A table is a function decorated with ``@register("<name>", order=...)`` (its place in the
report) in a module of ``report/``, which imports every module: a new table is one function
(or one module) and the sweep that gives its rows (``experiments/<name>.yaml``). It returns a
:class:`Table`, or None when the sweep has nothing for it, and takes, by parameter name, what
it reads (:class:`ReportTable`).
"""

from __future__ import annotations

import inspect
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from snnattack.records.results import attack_label
from snnattack.registry import Registry
from snnattack.report.collect import RUN_KEYS, Job, copied_here
from snnattack.report.collect import SETTING_KEYS as SETTING

BOXES = (("white", "WB"), ("black", "BB"))
SHORT = {
    "lambda": "λ",
    "eps_255": "ε (/255)",
    "time_extension": "TE",
    "eot_samples": "EOT",
    "attack.params.beta": "β",
    "attack.params.gamma": "γ",
}  # column names of well-known keys
UNSET = {"encoding_levels": "analog"}  # what a key's null means, where it means a setting
SPEC_NAMES = {"neuron.lambda": "λ"}  # how a store spec's well-known keys are named


@dataclass
class Table:
    """A titled table of strings (numbers already formatted); ``note`` is one line below it,
    ``settings`` one line above it, and ``summary`` the sentence that says what it shows."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""
    key: str = field(default="")
    settings: str = ""  # what every row shares, one line above the table
    summary: str = ""  # one sentence: what the numbers show
    bold: set[tuple[int, int]] = field(default_factory=set)  # (row, column) of marked cells


@dataclass(frozen=True)
class ReportTable:
    """A registered table: ``draw`` takes, by parameter name, any of ``rows`` (the rows of
    ``results.csv``), ``jobs`` (the records read), ``extra`` (the swept keys beyond the
    standard settings) and ``paper`` (the paper's rows of this table: the sweep's
    ``paper.<name>`` block, [] if none)."""

    name: str
    draw: Callable[..., Table | None]
    order: float  # its place in the report

    def __call__(self, sources: Mapping[str, Any]) -> Table | None:
        """The table drawn from ``sources`` (rows, jobs, extra keys and paper block)."""
        return drawn(self.draw, {**sources, "paper": sources["paper"].get(self.name) or []})


def drawn(draw: Callable[..., Any], sources: Mapping[str, Any]) -> Any:
    """``draw`` called with the ``sources`` its parameters name (a table or a figure)."""
    return draw(**{k: sources[k] for k in inspect.signature(draw).parameters})


TABLES: Registry[ReportTable] = Registry()  # filled by the modules of report/


def register(name: str, /, *, order: float) -> Callable[[Callable], Callable]:
    """Decorator: the function is the report's table ``name``, at its place by ``order``."""

    def add(draw: Callable[..., Table | None]) -> Callable[..., Table | None]:
        TABLES.enter(name, ReportTable(name, draw, order), order)
        return draw

    return add


def mean_std(values: Iterable[float | None]) -> tuple[float, float, int] | None:
    """(mean, sample std, count) of the finite values; None if there are none."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not xs:
        return None
    return statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0, len(xs)


def fmt_stat(
    stat: tuple[float, float, int] | None, digits: int = 2, seeds: int | None = None, sign: str = ""
) -> str:
    """``mean ± std`` (the mean alone of one value; ``sign="+"``: the mean signed); with
    ``seeds``, the seeds of its row, a cell over fewer says how many (a job of one seed left
    out: the cells of a row differ)."""
    if stat is None:
        return "–"
    mean, std, n = stat
    text = f"{mean:{sign}.{digits}f}" + (f" ± {std:.{digits}f}" if n > 1 else "")
    return text if seeds is None or n == seeds else f"{text} ({n} of {seeds} seeds)"


def fmt(value: Any) -> str:
    """A cell: "–" for a value none gave (None) or none defines (NaN, e.g. an ASR over no
    clean-correct sample)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def setting_text(key: str, value: Any) -> str:
    """A setting's cell: its value, or what its null means (``encoding_levels``: analog
    input, no quantisation), "–" where null means none given."""
    return UNSET[key] if value is None and key in UNSET else fmt(value)


def same(a: Any, b: Any) -> bool:
    """Equality of config values that tolerates 1 vs 1.0 and '8' vs 8."""
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    except (TypeError, ValueError):
        return str(a) == str(b)


def matching(paper_rows: list[dict], ours: dict[str, Any]) -> dict | None:
    """The first paper row whose keys shared with ``ours`` all agree, if any."""
    for row in paper_rows or []:
        shared = [k for k in row if k in ours]
        if shared and all(same(row[k], ours[k]) for k in shared):
            return row
    return None


def paper_matches(
    paper_rows: list[dict], defaults: dict[str, Any], keys: Sequence[str], groups: Iterable[tuple]
) -> tuple[dict[tuple, dict | None], list[dict], list[tuple]]:
    """The paper row each of ``groups`` (tuples of the ``keys``' values) matches, if any; the
    paper rows none matched, in the paper's order (listed as "not run"), and their settings
    as key tuples. ``defaults`` stand for the settings a paper row leaves out (e.g. no time
    extension); a key it still leaves out takes the first group's value."""
    paper = [{**defaults, **row} for row in paper_rows or []]
    refs = {
        key: matching(paper, {**defaults, **dict(zip(keys, key, strict=True))}) for key in groups
    }
    matched = [m for m in refs.values() if m is not None]
    unrun = [row for row in paper if not any(row is m for m in matched)]
    ours = next(iter(refs))
    return refs, unrun, [tuple(r.get(k, o) for k, o in zip(keys, ours, strict=True)) for r in unrun]


def ranked(known: Sequence[str], name: Any) -> tuple:
    """Sort key: the ``known`` names in their order, then any other name alphabetically."""
    return (list(known).index(name) if name in known else len(known), str(name))


def mode_order(mode: str | None) -> tuple:
    """The gradient modes in their registered order (the paper's), then any other by name."""
    from snnattack.gradients import GRADIENT_MODES  # only here: it imports torch

    return ranked(tuple(GRADIENT_MODES), mode)


def group(items: Iterable[tuple[Any, Any]]) -> dict[Any, list]:
    """The values of (key, value) pairs gathered per key, keys in order of first appearance."""
    groups: dict[Any, list] = defaultdict(list)
    for key, value in items:
        groups[key].append(value)
    return groups


def in_order(groups: Mapping[tuple, list]) -> dict[tuple, list]:
    """``groups`` keyed by tuples, sorted by each place whose values are all numbers (λ =
    0.5, 0.9, 1 however a sweep was extended into its folder), by first appearance at any
    other (a method, or a setting that some rows do not have)."""
    seen: dict[int, dict[Any, int]] = defaultdict(dict)
    for key in groups:
        for i, value in enumerate(key):
            seen[i].setdefault(value, len(seen[i]))
    numeric = {
        i
        for i, values in seen.items()
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    }

    def place(key: tuple) -> list[float]:
        return [float(v) if i in numeric else seen[i][v] for i, v in enumerate(key)]

    return {key: groups[key] for key in sorted(groups, key=place)}


def by_training(
    groups: Mapping[Any, list], trained: Callable[[Any], dict[str, Any]]
) -> dict[tuple[Any, str], list]:
    """Each group split by the training settings its members' models differ in (``trained``:
    a member's :meth:`~snnattack.report.collect.Job.trained_as`), keyed by (its key, those
    settings as text, e.g. ``λ=0.5, train.adversary.eps=8``; empty where none differ):
    models trained otherwise are never pooled as seeds of one row."""
    out: dict[tuple[Any, str], list] = defaultdict(list)
    for key, members in groups.items():
        specs = [trained(m) for m in members]
        varying = _differing([spec for spec in specs if spec])
        for member, spec in zip(members, specs, strict=True):
            shown = (f"{SPEC_NAMES.get(k, k)}={fmt(spec.get(k))}" for k in varying)
            out[(key, ", ".join(shown) if spec else "")].append(member)
    return out


def _differing(specs: list[dict[str, Any]]) -> list[str]:
    """The keys that tell ``specs`` apart, as few as say it: where the kind of training
    differs, the kind and the keys that differ between models of one kind (the rest follows
    from the kind: a hybrid's ``base.*``); the models' own settings before those of the
    models they start from (``base.``); a key that varies exactly as an earlier one does
    (``trainer.max_epochs`` with ``train.epochs``) left out."""
    keys = sorted({k for spec in specs for k in spec})
    varying = [k for k in keys if len({fmt(spec.get(k)) for spec in specs}) > 1]
    if "train.kind" in varying:
        kinds = group((fmt(spec.get("train.kind")), spec) for spec in specs)
        within = (k for same in kinds.values() for k in _differing(same))
        return list(dict.fromkeys(("train.kind", *within)))
    ordered = sorted(varying, key=lambda k: k.startswith("base."))  # own keys first
    shown: dict[tuple[int, ...], str] = {}
    for k in ordered:
        values = [fmt(spec.get(k)) for spec in specs]
        shown.setdefault(tuple(values.index(v) for v in values), k)  # which specs it parts
    return list(shown.values())


def mode_name(mode: str) -> str:
    """How tables and sentences name a gradient mode: its registered title, else its name."""
    from snnattack.gradients import GRADIENT_MODES  # only here: it imports torch

    spec = GRADIENT_MODES.get(mode)
    return spec.title if spec else str(mode)


def mode_takes(mode: str | None, params: Iterable[str]) -> bool:
    """Whether the gradient mode ``mode`` takes every one of ``params`` (a name can mean
    another thing in another mode: HART's γ is its surrogate's width, RGA's a slope)."""
    from snnattack.gradients import GRADIENT_MODES  # only here: it imports torch

    spec = GRADIENT_MODES.get(mode)
    return spec is not None and set(params) <= set(spec.ranges)


def radius(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row``'s ``eps_255`` as a table states it: none for an attack on events (a row that
    keeps its successes per L0, ``l0_hist``), which has no L∞ radius (recorded at eps 0)."""
    return {"eps_255": None if row.get("l0_hist") is not None else row.get("eps_255")}


def constant_keys(
    keys: Sequence[str], settings: Iterable[tuple], keep: Sequence[str] = ()
) -> tuple[list[str], str]:
    """The ``keys`` (other than ``keep``) that take one value over ``settings`` (tuples of the
    keys' values), and the settings line that states them, e.g. ``dataset = digits, T = 4``."""
    settings = list(settings)  # none: no key constant, no line
    constant = [
        k for i, k in enumerate(keys) if k not in keep and len({fmt(s[i]) for s in settings}) == 1
    ]
    values = {k: settings[0][keys.index(k)] for k in constant}
    stated = [k for k in constant if setting_text(k, values[k]) != "–"]  # "–" states none
    text = ", ".join(f"{SHORT.get(k, k)} = {setting_text(k, values[k])}" for k in stated)
    return constant, text


def per_seed(rows: Iterable[dict[str, Any]], y: str) -> dict[Any, float]:
    """``y`` per seed, a seed's rows averaged first (they repeat one model's number)."""
    values = group((r.get("seed"), r.get(y)) for r in rows)
    return {seed: stat[0] for seed, v in values.items() if (stat := mean_std(v)) is not None}


def signed(value: float) -> str:
    """A difference to 2 decimals with its sign, ``+0.00`` where it rounds to zero (never
    ``-0.00``: a mean of ``+4.55, -4.55`` is a float a hair below zero)."""
    return f"{0.0 if round(value, 2) == 0 else value:+.2f}"


def fmt_delta(stat: tuple[float, float, int] | None, seeds: int | None = None) -> str:
    """``+mean ± std`` of a difference (no ``-0.00``), as :func:`fmt_stat` (``seeds``)."""
    if stat is not None and round(stat[0], 2) == 0:
        stat = (0.0, *stat[1:])
    return fmt_stat(stat, seeds=seeds, sign="+")


def comparison_sentence(
    deltas: dict[str, list[tuple[str, tuple[float, float, int]]]], base: str
) -> str:
    """One sentence on which gradient mode gives the higher ASR, over all comparisons (rows ×
    boxes) of each mode with ``base``: how often, per attack (its label, e.g. ``FGSM WB``) when
    there are several, the range of the differences, and how many are within the seed spread.
    ``deltas[mode]`` holds (attack label, (mean, std, seeds)) of each comparison."""
    clauses = []
    for mode, found in deltas.items():
        if not found:
            continue
        a, b = mode_name(mode), mode_name(base)
        stats = [stat for _, stat in found]
        means = [m for m, _, _ in stats]
        higher = sum(m > 0.005 for m in means)
        lower = sum(m < -0.005 for m in means)
        total = len(stats)
        sign = 1 if higher >= lower else -1
        if higher == lower:
            lead = f"neither {a} nor {b} gives the higher ASR more often: {higher} each of {total}"
        else:
            won, lost, k = (a, b, higher) if higher > lower else (b, a, lower)
            count = f"all {total}" if k == total else f"{k} of {total}"
            count = "the only comparison" if total == 1 else f"{count} comparisons"
            lead = f"{won} gives a higher ASR than {lost} in {count}"
        per_attack = group((label, sign * stat[0] > 0.005) for label, stat in found)
        spread = [(m, s) for m, s, n in stats if n > 1]
        if spread:
            within = sum(abs(m) <= s for m, s in spread)
            alone = total - len(spread)  # over one seed (a job left out): no spread to judge
            judged = (
                f"{within} of {len(spread)} differences are within one standard deviation "
                "over seeds" + (f" ({alone} more over one seed, with none)" if alone else "")
            )
        else:
            judged = "one seed each, so there is no spread over seeds to judge the differences by"
        span = (
            f"{signed(means[0])} points"
            if total == 1
            else f"{signed(min(means))} to {signed(max(means))} points, mean "
            f"{signed(statistics.fmean(means))}"
        )
        counts = ", ".join(f"{label} {sum(won)} of {len(won)}" for label, won in per_attack.items())
        breakdown = f"{counts}; " if len(per_attack) > 1 and higher != lower else ""
        clauses.append(f"{lead} ({breakdown}{a} − {b}: {span}); {judged}")
    return _sentence(clauses)


def _sentence(clauses: list[str]) -> str:
    """``clauses`` as one sentence: joined by ``;``, capitalised, a full stop (none: "")."""
    text = "; ".join(clauses)
    return text[0].upper() + text[1:] + "." if text else ""


def range_sentence(groups: Iterable[list[dict[str, Any]]], boxes: list[tuple[str, str]]) -> str:
    """One sentence with the range of ASR and robust accuracy per box (one gradient mode)
    over the table's rows, each its cell's mean over seeds (never one seed's row)."""

    def spread(values: list[float]) -> str:
        low, high = f"{min(values):.2f}", f"{max(values):.2f}"
        return f"is {low} %" if low == high else f"ranges from {low} to {high} %"

    parts = []
    for box, _ in boxes:
        cells = [[r for r in members if r.get("box") == box] for members in groups]
        asr, acc = (
            [s[0] for c in cells if (s := mean_std(per_seed(c, y).values())) is not None]
            for y in ("asr", "adv_acc")
        )
        if asr:
            robust = f" (robust accuracy {spread(acc).removeprefix('ranges from ')})" if acc else ""
            parts.append(f"{box}-box ASR {spread(asr)}{robust}")
    return _sentence(parts)


def _compared(
    groups: Iterable[list[dict[str, Any]]], boxes: list[tuple[str, str]], modes: list[str]
) -> list[str]:
    """The modes after the first that a row of ``groups`` runs beside the first in one box:
    a Δ column of a mode that never does (each kind of network attacked by its own mode)
    would hold only "–"."""
    return [
        m
        for m in modes[1:]
        if any(
            {modes[0], m} <= {r.get("grad_mode") for r in members if r.get("box") == box}
            for members in groups
            for box, _ in boxes
        )
    ]


@register("table2", order=10)
def table2(rows: list[dict[str, Any]], extra: list[str], paper: list[dict]) -> Table | None:
    """RGA Table 2: per setting, method and ε, clean accuracy, then per box each gradient
    mode's ASR (the highest marked), where a row of the box is targeted its targeted success
    rate (``targeted_asr``: put in the target class, not merely misclassified; "–" in an
    untargeted row), its difference to the first mode (paired by seed) and its robust
    accuracy, and the number of test samples.

    Cells are mean ± std over seeds; a ``paper`` row follows the row (the last of the rows)
    it reports, and the paper's rows none of ours matches close the table as "not run". Keys
    that never vary go to the settings line instead of the table (the method always stays).
    How a row ran (:data:`RUN_KEYS`: the time extension, ``TE``, RGA's time-extended attack;
    the EOT draws per gradient) is a key when a row has one but 1; paper rows without them are
    rows without.
    """
    if not rows:
        return None
    rows = [{**r, **{k: r.get(k) or 1 for k in RUN_KEYS}, **radius(r)} for r in rows]
    ran = [k for k in RUN_KEYS if any(r[k] != 1 for r in rows)]
    keys = [*SETTING, *extra, *ran, "method", "eps_255"]
    modes = sorted({r["grad_mode"] for r in rows if r.get("grad_mode")}, key=mode_order)
    boxes = [(b, label) for b, label in BOXES if any(r.get("box") == b for r in rows)]
    groups = in_order(group((tuple(r.get(k) for k in keys), r) for r in rows))
    refs, unrun, unrun_keys = paper_matches(paper, dict.fromkeys(RUN_KEYS, 1), keys, groups)
    constant, settings = constant_keys(keys, [*groups, *unrun_keys], keep=("method",))
    settings = ", ".join(filter(None, (settings, trained(rows), black_box_source(rows))))
    shown = [i for i, k in enumerate(keys) if k not in constant]
    compared = _compared(groups.values(), boxes, modes)
    aimed = {r.get("box") for r in rows if r.get("targeted_asr") is not None}
    columns = [*(SHORT.get(keys[i], keys[i]) for i in shown), "clean"]
    for box, label in boxes:
        columns += [f"{label} ASR {mode_name(m)}" for m in modes]
        columns += [f"{label} targeted {mode_name(m)}" for m in modes if box in aimed]
        columns += [f"{label} Δ {mode_name(m)} − {mode_name(modes[0])}" for m in compared]
        columns += [f"{label} robust {mode_name(m)}" for m in modes]
    columns += ["n", "seeds"]

    def paper_row(ref: dict, key: tuple, seeds: str) -> list[str]:
        """A row of the paper's numbers, shown with the setting ``key`` where the paper's row
        states it ("–" where it does not: its number is not at our value), its differences
        to the first mode those of the modes ``compared``, "–" in the targeted columns."""
        label = [
            setting_text(keys[i], key[i]) if keys[i] in ref or keys[i] == "method" else "–"
            for i in shown
        ]
        label[shown.index(keys.index("method"))] += " (paper)"  # kept: never constant
        theirs = [fmt(ref.get("clean"))]
        for box, _ in boxes:
            values = {m: (ref.get(box) or {}).get(m) for m in modes}
            first = values[modes[0]]
            theirs += [fmt(v) for v in values.values()]
            theirs += ["–"] * len(modes) * (box in aimed)
            theirs += [
                "–" if values[m] is None or first is None else f"{values[m] - first:+.2f}"
                for m in compared
            ]
            theirs += ["–"] * len(modes)
        return [*label, *theirs, "", seeds]

    out, bold = [], set()
    deltas: dict[str, list] = {m: [] for m in compared}
    # a white-box cell does not depend on the source: rows that differ in source_* alone
    # (a sweep over source_train) repeat it, a comparison counted once
    own = [i for i, k in enumerate(keys) if not k.startswith("source_")]
    counted: set[tuple] = set()
    # a paper row that matches several of ours (it states no ε) follows the last of them, once
    last = {id(ref): key for key, ref in refs.items() if ref is not None}
    for key, members in groups.items():
        seeds = len({r.get("seed") for r in members})
        clean = {r.get("seed"): r.get("clean_acc") for r in members}  # one model per seed
        cells = [fmt_stat(mean_std(clean.values()), seeds=seeds)]
        ref = refs[key]
        for box, box_label in boxes:
            cell = {
                m: [r for r in members if r.get("box") == box and r["grad_mode"] == m]
                for m in modes
            }
            asr = {m: per_seed(cell[m], "asr") for m in modes}
            stats = {m: mean_std(asr[m].values()) for m in modes}
            means = {m: round(s[0], 2) for m, s in stats.items() if s is not None}
            best = max(means.values(), default=None)
            alike = len({frozenset(asr[m]) for m in means}) == 1  # means over the same seeds
            marked = len(means) > 1 and alike and list(means.values()).count(best) == 1
            for m in modes:
                if marked and means.get(m) == best:
                    bold.add((len(out), len(shown) + len(cells)))
                cells.append(fmt_stat(stats[m], seeds=seeds))
            if box in aimed:  # the targeted rate, beside the ASR it is a part of
                cells += [
                    fmt_stat(mean_std(per_seed(cell[m], "targeted_asr").values()), seeds=seeds)
                    for m in modes
                ]
            for m in compared:
                # paired by seed, as each seed's jobs attack the same models
                delta = mean_std(asr[m][s] - asr[modes[0]][s] for s in asr[m] if s in asr[modes[0]])
                which = (m, box, key if box != "white" else tuple(key[i] for i in own))
                if delta is not None and which not in counted:
                    counted.add(which)
                    deltas[m].append((f"{key[keys.index('method')].upper()} {box_label}", delta))
                cells.append(fmt_delta(delta, seeds=seeds))
            robust = [mean_std(per_seed(cell[m], "adv_acc").values()) for m in modes]
            cells += [fmt_stat(stat, seeds=seeds) for stat in robust]
        n = _samples(r.get("n") for r in members)
        out.append([*(setting_text(keys[i], key[i]) for i in shown), *cells, n, str(seeds)])
        if ref is not None and key == last[id(ref)]:
            out.append(paper_row(ref, key, ""))
    out += [paper_row(ref, key, "not run") for ref, key in zip(unrun, unrun_keys, strict=True)]
    if compared:
        summary = comparison_sentence(deltas, modes[0])
    else:
        summary = range_sentence(list(groups.values()), boxes)
    seeds = len({r.get("seed") for r in rows})
    delta = "Δ = difference in ASR, paired by seed; " if compared else ""
    if aimed:
        delta += (
            "targeted = share of the correctly classified test samples of another class than "
            "the attack's target that the attack puts in that class (– : untargeted row); "
        )
    return Table(
        "Table 2: attack success rate (%), "
        + " and ".join(f"{box} box ({label})" for box, label in boxes),
        columns,
        out,
        "ASR = share of the correctly classified test samples that the attack fools (higher: "
        "stronger attack, the highest marked); robust = accuracy (%) on all adversarial "
        f"samples; {delta}clean = clean test accuracy (%); n = "
        "test samples" + ("; mean ± std over seeds." if seeds > 1 else "; one seed."),
        "table2",
        settings=settings,
        summary=summary,
        bold=bold,
    )


def trained(rows: list[dict[str, Any]]) -> str:
    """The settings line's words for the kind of training of every row's target
    (``trained = hybrid``: the ECCV study's leak sweep fine-tunes hybrid SNNs alone); empty
    where the rows' targets differ by it (a swept ``train.kind``, a column) or none says."""
    kinds = {r.get("target_kind") for r in rows}
    return f"trained = {kinds.pop()}" if len(kinds) == 1 and None not in kinds else ""


def black_box_source(rows: Iterable[dict[str, Any]]) -> str:
    """The settings line's words for the black-box rows' source where it is not the target's
    own config (another kind, architecture, λ or T: ``source_train=ann``, ``source_model=``,
    ...), e.g. ``BB source = ann digits_net`` or ``BB source = hybrid digits_resnet (T = 2)``:
    its kind and architecture, and the λ and T it differs by, each where every black-box row
    that has one has one value (a swept ``source_*`` key is a column; an ANN source has no λ
    or T: ``BB source λ = 0.5`` beside a swept ``source_train=ann,stbp``); empty where the
    source is the target's config (another seed): the target's settings alone would not say
    it."""
    fields = {"source_kind": "target_kind", "source_model": "model"}
    fields |= {"source_lambda": "lambda", "source_T": "T"}
    black = [r for r in rows if r.get("box") == "black"]
    one = {}
    for k in fields:
        known = [r.get(k) for r in black if r.get(k) is not None]
        if len({fmt(x) for x in known}) == 1:
            one[k] = known[0]
    differs = {
        k
        for k, own in fields.items()
        if k in one and any(not same(one[k], r.get(own)) for r in black if r.get(k) is not None)
    }
    if not differs:
        return ""
    words = " ".join(str(one[k]) for k in ("source_kind", "source_model") if k in one)
    named = (("λ", "source_lambda"), ("T", "source_T"))
    said = ", ".join(f"{n} = {fmt(one[k])}" for n, k in named if k in differs)
    if not words:
        return f"BB source {said}"
    return f"BB source = {words}" + (f" ({said})" if said else "")


def _samples(counts: Iterable[int | None]) -> str:
    """The test samples a cell's models were measured on: one count, or their range."""
    known = sorted({n for n in counts if n is not None})
    if not known:
        return "–"
    return str(known[0]) if len(known) == 1 else f"{known[0]}–{known[-1]}"


@register("table1", order=20)
def table1(jobs: list[Job], paper: list[dict]) -> Table | None:
    """RGA Table 1: clean and spike-shuffled accuracy per trained model and shuffle mode, over
    seeds. The paper's numbers sit beside the ``layer`` shuffle (its references'); its rows
    none of ours matches close the table as "not run"."""
    found = [(j, j.record.analyses["shuffle"]) for j in jobs if "shuffle" in j.record.analyses]
    if not found:
        return None
    per_shuffle = {
        (
            j.simulated,
            s.get("mode", "neuron"),  # results from before the modes shuffled per neuron
            s.get("seed"),
            s.get("n"),
        ): (j, s)
        for j, s in found
    }  # attack-only differences share one model and its shuffle: counted once
    per_setting = group(
        ((*(j.setting(k) for k in SETTING), s.get("mode", "neuron")), (j, s))
        for j, s in per_shuffle.values()
    )
    split = by_training(per_setting, lambda member: member[0].trained_as())
    trained = any(variant for _, variant in split)  # models of a setting trained otherwise
    keys = [*SETTING, "shuffle", *(["trained"] if trained else [])]
    groups = {
        (*key, variant) if trained else key: members for (key, variant), members in split.items()
    }
    refs, unrun, unrun_keys = paper_matches(paper, {"shuffle": "layer"}, keys, groups)
    constant, settings = constant_keys(keys, [*groups, *unrun_keys])
    shown = [i for i, k in enumerate(keys) if k not in constant]
    made, deltas = [], []
    repeated = len(per_shuffle) > len({k[:2] for k in per_shuffle})  # a model shuffled twice
    measures = ("clean", "shuffled")  # ours ``<name>_acc``, the paper's ``<name>``, closing a row
    for key, members in groups.items():
        delta = mean_std(
            s["shuffled_acc"] - s["clean_acc"]
            for _, s in members
            if s.get("shuffled_acc") is not None and s.get("clean_acc") is not None
        )
        if delta is not None:
            deltas.append(delta[0])
        accs = [fmt_stat(mean_std(s.get(f"{k}_acc") for _, s in members)) for k in measures]
        cells = [*(setting_text(keys[i], key[i]) for i in shown), *accs, fmt_delta(delta)]
        models = len({j.simulated for j, _ in members})
        counts = [str(models), *([str(len(members))] if repeated else [])]
        made.append((refs[key] or {}, [*cells, *counts, _samples(s.get("n") for _, s in members)]))
    for ref, key in zip(unrun, unrun_keys, strict=True):
        cells = [setting_text(keys[i], key[i]) if keys[i] in ref else "–" for i in shown]
        made.append((ref, [*cells, "–", "–", "–", "not run", *(["–"] if repeated else []), "–"]))
    out = [[*cells, *(fmt(ref.get(k)) for k in measures)] for ref, cells in made]
    heads = (SHORT.get(keys[i], keys[i]) for i in shown)
    tallies = ["models", "shuffles"] if repeated else ["models"]
    columns = [*heads, *measures, "Δ", *tallies, "n", *(f"paper {k}" for k in measures)]
    summary = ""
    if deltas:  # none where no model holds both accuracies (an edited or partial record)
        low, high = signed(min(deltas)), signed(max(deltas))
        span = low if low == high else f"{low} to {high}"
        summary = (
            f"Shuffling the spikes over time changes test accuracy by {span} points "
            "(mean over the models of a setting and shuffle mode"
            + (", and each model's shuffles" if repeated else "")
            + ")."
        )
    return Table(
        "Table 1: accuracy (%) before and after spike shuffle",
        columns,
        out,
        "Spike trains permuted over time at every spiking layer (shuffle: layer = one order "
        "per layer, as the paper's code; neuron = one per neuron); a small Δ means the "
        "network is rate-coded. clean is the shuffle pass's own baseline (the same images "
        "and encoder noise as shuffled), so it can differ from Table 2's clean accuracy "
        "under a stochastic encoding."
        + (
            " shuffles counts a model's shuffles of other seeds or test batches, each one "
            "measurement of the mean."
            if repeated
            else ""
        ),
        "table1",
        settings=settings,
        summary=summary,
    )


# how a job's cost analysis measured (its result's keys, as Table S2 names them)
COST_CONDITIONS = (
    ("batch_size", "batch"),
    ("device", "device"),
    ("threads", "threads"),
    ("repeats", "repeats"),
)
# a step's numbers after its time, as its record names them (Table S2's columns)
STEP_NUMBERS = ("time_vs_forward", "dense_vs_forward", "time_vs_stbp", "peak_mb", "memory_vs_stbp")
PAPER_NUMBERS = ("seconds", "peak_mb")  # of the paper's step, then as ratios to STBP's


@register("cost", order=30)
def cost_table(jobs: list[Job], paper: list[dict]) -> Table | None:
    """RGA Table S2: time and peak memory of one attack step per gradient mode; a step that
    could not run on a job's model (its ``error``) is named in the note, with its error.
    How each job measured (:data:`COST_CONDITIONS`: batch, device, threads, repeats) is the
    settings line where the jobs share it, a column where they differ."""
    out, failed = [], []
    stbp = matching(paper, {"mode": "stbp"}) or {}
    measured = [j for j in jobs if j.record.analyses.get("cost")]
    costs = [j.record.analyses["cost"] for j in measured]
    # the conditions some job recorded (an older record lacks some): shared, or a column
    recorded = [
        (k, name) for k, name in COST_CONDITIONS if any(c.get(k) is not None for c in costs)
    ]
    constant, settings = constant_keys(
        [name for _, name in recorded], [tuple(c.get(k) for k, _ in recorded) for c in costs]
    )
    varying = [(k, name) for k, name in recorded if name not in constant]
    for j, cost in zip(measured, costs, strict=True):
        setting = f"{j.setting('model')} T={j.setting('T')} λ={j.setting('lambda')}"
        lead = [j.name, setting, *(fmt(cost.get(k)) for k, _ in varying)]
        for mode, m in (cost.get("modes") or {}).items():
            if "error" in m:
                failed.append(f"job {j.name} {mode} ({m['error']})")
                continue
            ref = matching(paper, {"mode": mode}) or {}
            ours = [_num(m.get("seconds"), 1e3), *(_num(m.get(k), 1) for k in STEP_NUMBERS)]  # ms
            ratios = (_num(_paper_ratio(ref, stbp, k), 1) for k in PAPER_NUMBERS)
            theirs = [*(fmt(ref.get(k)) for k in PAPER_NUMBERS), *ratios]
            out.append([*lead, mode, *ours, *theirs])
    if not out:
        return None
    columns = [
        "job",
        "model",
        *(name for _, name in varying),
        "step",
        "time (ms)",
        "× forward",
        "floor × forward",
        "× stbp",
        "peak MB",
        "mem × stbp",
        "paper s",
        "paper MB",
        "paper × stbp",
        "paper mem × stbp",
    ]
    return Table(
        "Table S2: cost of one attack step (input gradient)",
        columns,
        out,
        "Median over repeats, interleaved in one process; peak memory above the memory "
        "in use before the step (CPU: resident set, CUDA: allocated); floor: the step's "
        "convolutions and matrix products alone, which no neuron implementation changes "
        "(timed in one run, not a median: on a loaded machine it can exceed the step's)."
        + (f" Not measured, the step failed on the model: {'; '.join(failed)}." if failed else ""),
        "cost",
        settings=settings,
        summary=_cost_sentence(measured),
    )


@register("tuning", order=50)
def tuning_table(jobs: list[Job]) -> Table | None:
    """The gradient-mode parameters chosen on validation data (``attack.tune``): per row, and
    per tuned ensemble component, each once (a row copied from another job of the report
    under the job that computed it). None when nothing was tuned."""
    rows, copied, grids = [], copied_here(jobs), {}
    for job in jobs:
        for r in map(asdict, job.record.results):
            if copied(r["reused_from"], job):
                continue
            where = [job.name, r["box"], fmt(r["eps_255"])]
            if t := r.get("tuned"):
                scored = [f"{t['val_asr']:.2f}", str(t["val_n"])]
                rows.append([*where, r["grad_mode"], r["method"], _chosen(t["params"]), *scored])
                grids[_grid(job, r["grad_mode"])] = None
            for c in r.get("components") or []:
                t = c.get("tuned")
                if isinstance(t, dict):
                    chosen, scored = _chosen(t["params"]), [f"{t['val_asr']:.2f}", str(t["val_n"])]
                elif t:  # a record before 2026-11-29: asked to be tuned (true), without scores
                    chosen, scored = _chosen(c["grad_params"]), ["–", "–"]
                else:
                    continue
                rows.append([*where, c["grad_mode"], f"ensemble: {c['name']}", chosen, *scored])
                grids[_grid(job, c["grad_mode"])] = None
    if not rows:
        return None
    searched = "; ".join(filter(None, grids))
    return Table(
        "Tuned gradient-mode parameters",
        ["job", "box", "ε (/255)", "mode", "method", "chosen", "val ASR %", "val n"],
        rows,
        "Chosen per row by the highest ASR on validation images (never test)"
        + (f", on the grids of attack.tune.grids: {searched}" if searched else "")
        + "; none (all tied): every point scored alike, the configured parameters kept.",
        key="tuning",
    )


def _grid(job: Job, mode: str) -> str:
    """The grid ``job`` tuned ``mode`` on, as its config gives it (``hart: gamma 0.1..2.45 step
    0.05``); empty where its record holds none (a record before grids were configurable)."""
    axes = (((job.record.config.get("attack") or {}).get("tune") or {}).get("grids") or {}).get(
        mode
    )
    shown = [
        f"{key} {fmt(spec['start'])}..{fmt(spec['stop'])} step {fmt(spec['step'])}"
        if isinstance(spec, dict)
        else f"{key} {', '.join(map(fmt, spec))}"
        for key, spec in (axes or {}).items()
        if spec is not None
    ]
    return f"{mode}: {' × '.join(shown)}" if shown else ""


def _chosen(params: dict[str, Any] | None) -> str:
    """The parameters a tuning chose, ``name=value``; those it left unset (None) unsaid;
    ``none (all tied)`` where it chose no point (``params`` None: every point scored alike)."""
    if params is None:
        return "none (all tied)"
    return ", ".join(f"{k}={fmt(v)}" for k, v in params.items() if v is not None)


@register("ensemble", order=40)
def ensemble_table(rows: list[dict[str, Any]], extra: list[str]) -> Table | None:
    """The worst-case ensemble's robust accuracy beside the lowest adversarial accuracy of any
    single attack on the same model (setting, seed, box, ε), and which component fooled how
    many samples first. None without ensemble rows."""
    # a method's settings are its rows' alone (another method's are blank there), and the
    # gradient mode's parameters are no ensemble's: the single attacks of every setting of
    # theirs are compared with each ensemble of the model
    methods = [k for k in extra if k.startswith("method.")]
    unread = [*methods, *(k for k in extra if k.startswith("attack.params."))]
    # how a row ran (time extension, EOT draws) too: a TE sweep's ensembles were one row,
    # compared with the lowest single attack of either TE
    keys = (*SETTING, "seed", *(k for k in extra if k not in unread), *RUN_KEYS, "box", "eps_255")
    groups = group((tuple(r.get(k) for k in keys), r) for r in rows)
    out = []
    for members in groups.values():
        singles = [r for r in members if r.get("grad_mode") != "ensemble"]
        ensembles = group(
            ((r["method"], *(r.get(k) for k in methods)), r)
            for r in members
            if r.get("grad_mode") == "ensemble"
        )
        best = min(singles, key=lambda r: r["adv_acc"]) if singles else None
        # a sweep over attack= repeats the ensemble (which does not read it) in each job: once
        for e in (same[0] for same in ensembles.values()):
            lowest = ["–", "–"]
            if best:
                label = attack_label(best["method"], best["grad_mode"])
                below = "yes" if e["adv_acc"] <= best["adv_acc"] + 1e-9 else "NO"
                lowest = [f"{best['adv_acc']:.2f} ({label})", below]
            parts = e.get("components") or []
            firsts = ", ".join(f"{c['name']} {c['first_successes']}" for c in parts)
            out.append(
                [e["job"], e["box"], fmt(e["eps_255"]), f"{e['adv_acc']:.2f}", *lowest, firsts]
            )
    if not out:
        return None
    return Table(
        "Worst-case ensemble",
        [
            "job",
            "box",
            "ε (/255)",
            "robust acc %",
            "lowest single attack %",
            "ensemble ≤ all",
            "first successes per component",
        ],
        out,
        "Robust accuracy: the share of test samples that survive every component. The lowest "
        "single attack is taken over the other rows on the same model, box and ε.",
        key="ensemble",
    )


@register("masking", order=60)
def masking_table(jobs: list[Job]) -> Table | None:
    """The gradient-masking checks per job (``checks.masking``): flagged ones with their
    details, ``none`` for a job with no flag. None when no job ran the checks."""
    checked = [j for j in jobs if j.record.masking]
    if not checked:
        return None
    several = len(checked) > 1  # a job column names them (one job's report: its folder)
    rows = []
    for job in checked:
        flagged = [c for c in job.record.masking["checks"] if c["flagged"]]
        names = ", ".join(c["name"] for c in flagged) or "none"
        details = "; ".join(c["detail"] for c in flagged)
        rows.append([*([job.name] if several else []), names, details])
    n = sum(1 for j in checked if j.record.masking["flagged"])
    return Table(
        "Gradient-masking checks",
        [*(["job"] if several else []), "flagged", "details"],
        rows,
        f"{n} of {len(checked)} job(s) flagged. A flag is a warning that the attacks may "
        "underestimate the attack success rate (docs/evaluation.md).",
        key="masking",
    )


@register("notes", order=90)
def notes_table(jobs: list[Job]) -> Table | None:
    """The notes the jobs recorded (``notes``: settings they could not use, a grid that
    chose nothing), each once with the jobs that hold it: printed on the console and kept in
    metrics.json, they were in no report. None when no job holds one."""
    held: dict[str, list[str]] = {}
    for job in jobs:
        for note in job.record.notes:
            held.setdefault(note, []).append(job.name)
    if not held:
        return None
    several = len(jobs) > 1  # a jobs column names them (one job's report: its folder)
    rows = [[*([", ".join(names)] if several else []), note] for note, names in held.items()]
    return Table(
        "Notes",
        [*(["jobs"] if several else []), "note"],
        rows,
        "What the jobs noted of their settings and results (each job's metrics.json notes).",
        key="notes",
    )


def _cost_sentence(measured: list[Job]) -> str:
    """One sentence: each step's time and memory relative to an STBP attack step's, as a
    range over the models the ``measured`` jobs measured (each counted once)."""
    ratios: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for j in measured:
        for mode, m in j.record.analyses["cost"].get("modes", {}).items():
            if mode != "stbp" and m.get("time_vs_stbp") is not None:
                ratios[mode].append((m["time_vs_stbp"], m.get("memory_vs_stbp") or float("nan")))
    parts = []
    for mode in sorted(ratios, key=lambda mode: (mode != "forward", mode_order(mode))):
        times = [t for t, _ in ratios[mode]]
        memory = [m for _, m in ratios[mode] if math.isfinite(m)]
        what = "the forward pass" if mode == "forward" else f"the {mode_name(mode)} step"
        also = f" and uses {_span(memory)} its peak memory" if memory else ""
        parts.append(f"{what} takes {_span(times)} its time{also}")
    if not parts:
        return ""
    models = {j.simulated for j in measured}  # a converted model's T sweep: a model per T
    by = f" by {len(measured)} jobs" if len(measured) > len(models) else ""
    return (
        "Against one STBP attack step, "
        + "; ".join(parts)
        + f" ({len(models)} model(s) measured{by})."
    )


def _paper_ratio(row: dict, stbp: dict, key: str) -> float | None:
    if row.get(key) is None or not stbp.get(key):
        return None
    return row[key] / stbp[key]


def _num(value: float | None, scale: float) -> str:
    return "–" if value is None else f"{value * scale:.2f}"


def _span(xs: list[float]) -> str:
    """``xs`` as a range of ratios, one number where its ends print alike."""
    low, high = f"{min(xs):.2f}", f"{max(xs):.2f}"
    return f"{low}×" if low == high else f"{low}–{high}×"
