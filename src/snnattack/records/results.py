"""Result records: the typed rows and job record of ``metrics.json`` (the source of truth),
reading it back across schema versions, whether it is complete, and the printed table.

``metrics.json`` holds one :class:`JobRecord` whose ``results`` are :class:`AttackRow` s. Every
writer and reader (the evaluation, the job, W&B, the sweep summary, the report) goes through
these two classes, so a new field is added in one place: a field here, with a default (files
written before it lack it), a ``column(...)`` if it belongs in the printed tables, and
``measured()`` if it is a measurement rather than a setting (the report does not group by it);
``shown_measure(...)``: an optional measurement printed where a row has it.

Schemas: 2 writes ``schema: 2``; 1 (before the version was written) has the same layout,
without ``schema``, and its rows may lack the fields added over time (read as null).
"""

from __future__ import annotations

import copy
import functools
import io
import json
import logging
import math
import re
from collections.abc import Iterator
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from rich.console import Console
from rich.table import Table
from rich.text import Text

from snnattack.errors import ConfigError, UserError
from snnattack.records.cosmetic import what_runs, without_cosmetic
from snnattack.records.files import write_atomic
from snnattack.settings import BOXES, PASSED
from snnattack.values import as_typed

log = logging.getLogger(__name__)
LOG_WIDTH = 160  # characters of a table printed to a file or pipe
SCHEMA = 2  # the layout of metrics.json this code writes
READABLE = (1, 2)  # the layouts it reads
NEURON_KEYS = ("lambda", "theta", "reset")  # config keys that a model's own LIFs hold
COMPONENTS = "components"  # the result spec's entry of the ensembles' components as they run
_NUMBERS = re.compile(r"(\d+(?:\.\d+)?)")  # a folder name's numbers, kept by split


def column(label: str, fmt: str = "{}", measure: bool = False) -> Any:
    """A required row field, shown in the printed tables under ``label`` as ``fmt`` puts it."""
    return field(metadata={"column": label, "format": fmt, "measure": measure})


def attack_label(method: str, grad_mode: str) -> str:
    """A row's attack as the report names it: ``apgd/stbp``; a gradient-free attack or the
    worst-case ensemble by its method alone (``square``, ``ensemble``)."""
    return method if grad_mode in ("none", "ensemble") else f"{method}/{grad_mode}"


def measured() -> Any:
    """An optional row field that is a measurement (not a setting of the attack)."""
    return field(default=None, metadata={"measure": True})


def shown_measure(label: str, fmt: str) -> Any:
    """An optional measurement shown in the printed tables under ``label`` as ``fmt`` puts
    it, where a row has it (:func:`render_table` leaves out a column no row fills)."""
    return field(default=None, metadata={"column": label, "format": fmt, "measure": True})


@dataclass(frozen=True, kw_only=True)
class AttackRow:
    """One attack's result: a method at a radius, white or black box, judged on the target."""

    method: str = column("method")  # the method's config node (e.g. apgd_dlr)
    eps: float | None = None  # the radius in [0, 1] units
    eps_255: float = column("eps (/255)", "{:g}")  # the radius in 1/255 units
    box: str = column("box")  # white (crafted on the target) or black (on the source)
    grad_mode: str = column("grad")  # the crafting model's gradient ("none": gradient-free)
    asr: float = column("ASR %", "{:.2f}", measure=True)  # % of clean-correct samples fooled
    # a targeted row (its method's ``target`` a class or ``random``; None for any other): % of
    # the n_targeted samples (clean-correct, of another class than their target) that the
    # target classifies as their target class, where asr counts any misclassification
    targeted_asr: float | None = shown_measure("targeted %", "{:.2f}")
    adv_acc: float = column("adv acc %", "{:.2f}", measure=True)  # % of all samples still right
    n_correct: int = column("n correct", measure=True)  # the target's clean-correct samples
    n_targeted: int | None = measured()  # a targeted row's: the samples of targeted_asr
    n: int | None = measured()  # test samples attacked
    linf: float | None = measured()  # mean L-infinity norm of the perturbations
    l2: float | None = measured()  # mean L2 norm of the perturbations
    queries: float | None = measured()  # mean model calls per sample while crafting
    time_extension: int | None = None  # the crafting simulation's length in units of T
    eot_samples: int | None = None  # draws averaged per gradient (expectation over transformation)
    target_kind: str | None = None  # the target's kind of training (train.kind)
    source_kind: str | None = None  # the crafting model's kind of training
    source_model: str | None = None  # the crafting model's architecture
    source_lambda: float | None = None  # the crafting model's leak factor (None: an ANN)
    source_T: int | None = None  # the crafting model's time steps (None: an ANN)
    asr_curve: list[dict[str, float]] | None = measured()  # ASR after attack.steps_curve counts
    components: list[dict[str, Any]] | None = measured()  # an ensemble's parts, first successes
    grad_params: dict[str, Any] | None = measured()  # the row's mode parameters if tuned
    tuned: dict[str, Any] | None = measured()  # how they were chosen on validation (attack.tune)
    # event attacks (snnattack.evaluation.budget): events changed per success
    l0_mean: float | None = measured()  # mean events inserted + deleted (bits flipped: L0)
    l0_median: float | None = measured()  # their median
    inserted_mean: float | None = measured()  # mean events inserted
    deleted_mean: float | None = measured()  # mean events deleted
    l0_under: dict[str, float | None] | None = measured()  # % of successes under each threshold
    l0_hist: dict[str, int] | None = measured()  # successes per L0 (the ASR-vs-budget curve)
    # a retiming attack's events moved and delay (an ensemble of retiming attacks only's too)
    retiming: dict[str, Any] | None = measured()
    recording: dict[str, Any] | None = measured()  # a raw-event attack's events changed
    examples: str | None = None  # attack.save_examples: the file of its adversarial examples
    reused_from: str | None = None  # attack.reuse: the job folder that computed this row


# how far a count recovered from a rate (rate * total / 100) may lie from a whole number: the
# float error of a rate written as 100 * count / total (below 1e-12 up to thousands of
# samples), far below the 1/total of one sample
WHOLE = 1e-6


def count_of(rate: float, total: int, of: str = "total") -> int | None:
    """The samples that a row's percentage ``rate`` counts of ``total`` (``asr`` of
    ``n_correct``, ``adv_acc`` of ``n``; ``of``: the field of ``total``, for the message), as
    the evaluation wrote it (``rate = 100 * count / total``): ``rate * total / 100`` to the
    nearest whole, None for a ``total`` of 0 (a NaN rate). Every reader that turns a rate back
    into samples calls it, so that they count alike; torch-free (the leaderboard imports it).
    ValueError saying what the rate is where it counts no whole samples (further than
    :data:`WHOLE`, or NaN: a row edited by hand) or is a share of no sample that is not NaN."""
    if total == 0:
        if not math.isnan(rate):
            raise ValueError(f"a share of no sample ({of}=0), not NaN")
        return None
    count = rate * total / 100
    if math.isnan(count) or abs(count - round(count)) > WHOLE:
        raise ValueError(f"no whole count of its {of}={total} samples ({count:g})")
    return round(count)


@dataclass(kw_only=True)
class JobRecord:
    """One job's ``metrics.json``: clean accuracy, one row per attack, and how it was made."""

    schema: int = SCHEMA
    clean_acc: float  # % of the test samples the target classifies right
    n: int  # test samples
    source_clean_acc: float | None = None  # the black-box source's clean accuracy
    results: list[AttackRow]
    models: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # training records
    # EOT draws per gradient of the job's recipe: attack.eot_samples, raised to
    # attack.random_eot_samples where a crafting model's forward was random (the rows crafted
    # on a fixed one keep theirs, each row's eot_samples: evaluation/attacked.py)
    eot_samples: int | None = None
    attack_seconds: float | None = None
    # per row this job computed (by its name, e.g. ensemble/white/eps8): the seconds of its
    # crafting and judging ("total"), and an ensemble's per component ("components")
    row_seconds: dict[str, Any] = field(default_factory=dict)
    world_size: int | None = None  # processes that shared the attacks
    device: str | None = None
    config: dict[str, Any] = field(default_factory=dict)  # the resolved config
    result_spec: dict[str, Any] | None = None  # the config without cosmetic keys
    version: str | None = None  # snnattack's version, then the provenance of the numbers
    git_commit: str | None = None
    torch: str | None = None
    lightning: str | None = None
    threads: int | None = None
    cpu_kernels: str | None = None  # instruction set of torch's CPU kernels (AVX512, AVX2, DEFAULT)
    tf32: bool | None = None  # whether CUDA float32 matmuls and convolutions could use TF32
    deterministic: bool | None = None  # whether kernels were deterministic (config's deterministic)
    analyses: dict[str, Any] = field(default_factory=dict)  # analysis.* results by name
    masking: dict[str, Any] = field(default_factory=dict)  # gradient-masking checks (checks.py)
    # per box, the worst case over the job's event attacks: a sample is broken at budget b if
    # any of them fooled it with L0 <= b (snnattack.evaluation.budget.WorstL0.summary)
    event_worst_case: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # settings it could not use (validation.notes)
    finished: str | None = None  # when the job made it (UTC, ISO 8601): the later of two runs
    # a single run's command, as Hydra's node says it (launches.launch_command): the report's
    # where Hydra wrote no record (hydra.output_subdir=null); None in a sweep's job or the API
    command: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The record as metrics.json holds it."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> JobRecord:
        """The record of a metrics.json of any readable schema (unknown keys are ignored);
        ``UserError`` for a schema newer than this code reads, ``ValueError`` for a file that
        is not a job record."""
        if not isinstance(data, dict):
            raise ValueError("not a job record (a JSON object)")
        schema = data.get("schema", 1)
        if schema not in READABLE:
            raise UserError(
                f"metrics.json schema={schema!r} is unknown; accepted: "
                f"{', '.join(map(str, READABLE))} (a newer snnattack wrote it: update this one)"
            )
        rows = data.get("results") or []
        if not isinstance(rows, list):
            raise ValueError("its results are not a list")
        values = _known(cls, data)
        _check_measures(values, cls, ("clean_acc", "n", "source_clean_acc"), "")
        _check_analyses(values.get("analyses") or {})
        known = [_known(AttackRow, r) for r in rows]
        for i, row in enumerate(known):
            _check_measures(row, AttackRow, CHECKED, f"results[{i}].", values["n"])
        values["results"] = [AttackRow(**row) for row in known]
        values["schema"] = schema
        return cls(**values)

    def setting(self, key: str) -> Any:
        """The config's top-level ``key`` as the target ran it: λ, θ and reset are the target's
        own (:func:`own_setting`), which a model passed to the API or built by
        ``model=external`` holds whatever the config's ``lambda`` says."""
        return own_setting(self.models.get("target") or {}, key, self.config.get(key))

    def architecture(self) -> str | None:
        """The target's architecture (:func:`own_architecture`)."""
        configured = (self.config.get("model") or {}).get("name")
        return own_architecture(self.models.get("target") or {}, configured)

    def title(self) -> str:
        """One line naming the setting and the clean accuracy. The setting is what the target
        reads: T and its neurons, its own (``models.target.neurons``) where the record has
        them, else the config's; for an ANN target (``models.target.spiking`` false) ``ANN``
        alone, as it reads no T, λ, θ or reset (its store key leaves them out: the config's
        would only label it). The title is the target's: a black-box source's settings are its
        rows' (``source_lambda``, ``source_T``)."""
        cfg = self.config
        target = self.models.get("target") or {}
        if target.get("spiking") is False:
            setting = "ANN"
        else:
            own = target.get("neurons")
            neurons = neuron_text(own) if own else f"λ={cfg['lambda']} reset={cfg['reset']}"
            setting = f"T={cfg['T']} {neurons}"
        return (
            f"{cfg['dataset']['name']} / {self.architecture()}  {setting}  "
            f"clean acc {self.clean_acc:.2f}%"
        )


def own_architecture(model: dict[str, Any], configured: str | None) -> str | None:
    """A model's architecture: the ``configured`` ``model.name``, or for a network passed to
    the Python API (``passed``) the one its record names (a zoo model's name, else its
    class's)."""
    return model.get("architecture", configured) if configured == PASSED else configured


def own_setting(model: dict[str, Any], key: str, configured: Any) -> Any:
    """A model's λ, θ or reset (``key`` of :data:`NEURON_KEYS`): its LIFs' own where its record
    lists them (:func:`snnattack.snn.neurons.lif_settings`; None if they differ by layer), else
    the ``configured`` one; any other ``key``: the ``configured`` one."""
    if key not in NEURON_KEYS or not model.get("neurons"):
        return configured
    values = {n[key] for n in model["neurons"]}
    return values.pop() if len(values) == 1 else None


def neuron_text(neurons: list[dict[str, Any]]) -> str:
    """A model's LIFs (:func:`snnattack.snn.neurons.lif_settings`) in one line: their shared
    λ, θ, reset and own surrogate (a record made before it was recorded has none), or each
    layer's where they differ."""

    def settings(n: dict[str, Any]) -> str:
        drop = f" reset_by={n['reset_by']:g}" if "reset_by" in n else ""
        slope = f" surrogate={n['surrogate']}" if "surrogate" in n else ""
        return f"λ={n['lambda']:g} θ={n['theta']:g} reset={n['reset']}{drop}{slope}"

    shown = [settings(n) for n in neurons]
    if len(set(shown)) == 1:
        return f"{shown[0]} (the model's {len(shown)} LIF{'s' * (len(shown) > 1)})"
    return "; ".join(f"{n['layer']}: {text}" for n, text in zip(neurons, shown, strict=True))


def _known(cls: type, data: Any) -> dict[str, Any]:
    """The keys of ``data`` that are fields of ``cls``; ValueError if a required one is missing."""
    if not isinstance(data, dict):
        raise ValueError(f"not a {cls.__name__} (a JSON object)")
    names = {f.name for f in fields(cls)}
    required = {
        f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
    }
    missing = sorted(required - set(data))
    if missing:
        raise ValueError(f"a {cls.__name__} without {', '.join(missing)}")
    return {k: v for k, v in data.items() if k in names}


def _fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value is of the type ``hint`` (an int counts as a float, a bool as
    neither, NaN as a float: a row of no clean-correct sample has NaN rates)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, UnionType):
        return any(_fits(value, a) for a in args)
    if hint is Any:
        return True
    if hint in (int, float):
        kinds = (int, float) if hint is float else (int,)
        return isinstance(value, kinds) and not isinstance(value, bool)
    if origin is list:
        return isinstance(value, list) and all(_fits(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            _fits(k, args[0]) and _fits(v, args[1]) for k, v in value.items()
        )
    return isinstance(value, hint)


# the fields whose type and range a reader checks (rates in %, counts, radii; None: type only):
# a row's, what the report shows and counts with (:data:`CHECKED`), then the record's own
RANGES = {
    "method": None,
    "eps_255": (0, 255),
    "box": None,
    "asr": (0, 100),
    "adv_acc": (0, 100),
    "n_correct": (0, None),
    "n": (0, None),
    "targeted_asr": (0, 100),
    "n_targeted": (0, None),
    "clean_acc": (0, 100),
    "source_clean_acc": (0, 100),
}
# the analyses' numbers a reader checks, by their path in ``analyses`` (``*``: any key or item;
# None passes: a peak memory not measured, a ratio to a mode that failed)
ANALYSIS_RANGES = {
    "shuffle.clean_acc": (0, 100),
    "shuffle.shuffled_acc": (0, 100),
    "shuffle.n": (0, None),
    "rate_current.actual.rate.*": (0, 1),  # spikes per time step
    "rate_current.static.rate.*": (0, 1),
    **{f"cost.modes.*.{k}": (0, None) for k in ("seconds", "dense_seconds", "peak_mb")},
}
ROW_FIELDS = tuple(f.name for f in fields(AttackRow))
CHECKED = tuple(k for k in RANGES if k in ROW_FIELDS)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The field types of the record class ``cls``, read once a process: ``get_type_hints``
    evaluates every annotation string anew (1 ms a call), at every row of every record a
    relaunch's check of its sweep folder reads (docs/performance.md)."""
    return get_type_hints(cls)


def _check_measures(
    values: dict[str, Any], cls: type, names: tuple[str, ...], where: str, n: int | None = None
) -> None:
    """ValueError naming the first of ``names`` in ``values`` (fields of ``cls``) whose value
    has another type than its field's or lies outside its range (:data:`RANGES`; NaN passes: a
    row of no clean-correct sample has NaN rates; a row's ``n_correct`` at most ``n``, the
    samples judged), or a ``box`` that is not one of :data:`BOXES`: a file edited by hand or
    damaged, which a report would otherwise show or a relaunch reuse."""
    hints = _hints(cls)
    for name in names:
        value = values.get(name)
        if not _fits(value, hints[name]):
            kind = getattr(hints[name], "__name__", None) or str(hints[name])
            raise ValueError(f"its {where}{name}={value!r} is not {kind}")
        low, high = RANGES.get(name) or (None, None)
        if name == "n_correct":  # at most the samples judged: the row's, else the record's
            high = values.get("n") if values.get("n") is not None else n
        if name == "n_targeted":  # some of the clean-correct samples
            high = values.get("n_correct")
        if not isinstance(high, int | float):  # a bound of another type is said at its field
            high = None
        outside = isinstance(value, int | float) and (
            (low is not None and value < low) or (high is not None and value > high)
        )
        if outside or (name == "box" and value not in BOXES):
            accepted = ", ".join(BOXES) if name == "box" else f"[{low}, {high or 'inf'}]"
            raise ValueError(f"its {where}{name}={value!r} is outside {accepted}")


def _check_analyses(analyses: Any) -> None:
    """ValueError naming the first of the analyses' numbers (:data:`ANALYSIS_RANGES`) that is
    no number or lies outside its range: Table 1, the rate-current figure and Table S2 show
    them as the attack rows' are shown."""
    for pattern, (low, high) in ANALYSIS_RANGES.items():
        for where, value in _found(analyses, pattern.split("."), "analyses"):
            if value is None:
                continue
            if not _fits(value, float):
                raise ValueError(f"its {where}={value!r} is not a number")
            if value < low or (high is not None and value > high):
                raise ValueError(f"its {where}={value!r} is outside [{low}, {high or 'inf'}]")


def _found(node: Any, path: list[str], where: str) -> Iterator[tuple[str, Any]]:
    """The values at ``path`` under ``node`` (``*``: every key of a dict, item of a list),
    each with its place spelt from ``where``; a path that is absent gives none."""
    if not path:
        yield where, node
        return
    key, rest = path[0], path[1:]
    if key != "*":
        if isinstance(node, dict) and key in node:
            yield from _found(node[key], rest, f"{where}.{key}")
        return
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node if isinstance(node, list) else ())
    )
    for k, child in items:
        yield from _found(
            child, rest, f"{where}.{k}" if isinstance(node, dict) else f"{where}[{k}]"
        )


def typed_row(data: Any) -> AttackRow:
    """An :class:`AttackRow` from ``data`` whose keys are exactly its fields (all required
    ones present) and whose values have their fields' types; ValueError naming the first
    that does not (a row file of another version, or edited or damaged)."""
    known = _known(AttackRow, data)
    extra = sorted(set(data) - set(known))
    if extra:
        raise ValueError(f"{extra[0]} is not a field of a row")
    _check_measures(known, AttackRow, tuple(known), "")
    return AttackRow(**known)


SHOWN = tuple(f for f in fields(AttackRow) if "column" in f.metadata)  # the printed columns
MEASURES = tuple(f.name for f in fields(AttackRow) if f.metadata.get("measure"))


def read_record(path: Path) -> JobRecord:
    """The job record in ``path`` (OSError if unreadable, ValueError if not a record,
    UserError if a newer schema)."""
    try:
        return JobRecord.from_json(json.loads(path.read_text()))
    except UserError as err:
        raise UserError(f"{path}: {err}") from None


def folder_order(folder: Path, root: Path) -> list[list[tuple[int, float, str]]]:
    """Sort key of a job folder below a sweep folder ``root``, natural at every depth:
    numbered folders (a sweep's ``2`` before ``10``) before named ones
    (``hydra.sweep.subdir=lam${lambda}/seed${seed}``), whose numbers count as numbers
    (``lam0.25`` before ``lam0.5``, ``seed2`` before ``seed10``)."""
    return [
        [
            (0, float(c), "") if _NUMBERS.fullmatch(c) else (1, 0.0, c)
            for c in _NUMBERS.split(part)
            if c
        ]
        for part in folder.relative_to(root).parts
    ]


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Writes ``record`` to ``path`` by :func:`~snnattack.records.files.write_atomic`: a reader
    never sees half a file, and a failed write is a ``WriteError`` naming ``path``."""
    write_atomic(path, json.dumps(record, indent=2, default=str))


def result_spec(
    resolved: dict[str, Any], components: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, Any]:
    """What fixes a result: the ``resolved`` config without its cosmetic keys
    (``cosmetic_keys``) and, under :data:`COMPONENTS`, the ``components`` of its ensembles as
    they run them (:func:`snnattack.attacks.parse.component_settings`: the config names their
    methods and gradient modes, whose files set their parameters). A job without an ensemble
    has no such entry."""
    spec = without_cosmetic(resolved, resolved["cosmetic_keys"])
    if components:
        spec[COMPONENTS] = copy.deepcopy(components)
    return spec


def complete_record(
    path: Path,
    spec: dict[str, Any],
    n_rows: int,
    built: dict[str, tuple[str, str, str]] | None = None,
) -> JobRecord | None:
    """The record in ``path`` where it is the finished result of the config whose result spec
    is ``spec`` (:func:`result_spec`) in the current schema, so a relaunched job can skip to
    it; None otherwise; refused (:func:`check_same_models`) where it was of other weights than
    the models the job ``built`` from files or a factory."""
    try:
        done = read_record(path)
    except (OSError, ValueError, UserError):
        return None
    if done.schema != SCHEMA or what_runs(done.result_spec) != what_runs(spec):
        return None  # another config: check_not_replacing names its keys
    check_same_models(done, path, built or {})
    return done if len(done.results) == n_rows else None


def check_same_models(done: JobRecord, path: Path, built: dict[str, tuple[str, str, str]]) -> None:
    """Refuses to skip (or replace) the finished job ``done`` in ``path`` whose models were
    other than those the job built now (``built``: by the setting that names each, e.g.
    ``checkpoint=PATH``, its role in the record's ``models``, the field there that names its
    weights, a file's ``sha256`` or a factory's ``weights``, and that field's value now): the
    config names a file by its path only, and one retrained at that path kept the former
    weights' results. A record without the field (a trained model, an older record) is not
    compared."""
    differ = [
        f"{setting}: {field} {there} there, {here} here"
        for setting, (role, field, here) in built.items()
        if (there := (done.models.get(role) or {}).get(field)) is not None and there != here
    ]
    if differ:
        raise ConfigError(
            f"{path.parent} holds the finished job of other model weights "
            f"({'; '.join(differ)}), whose results this job would keep as its own; accepted: "
            f"another hydra.run.dir (for a sweep another hydra.sweep.dir), or {path} removed "
            "to replace them"
        )


_NOTED: set[tuple[Path, int, int]] = set()  # the unreadable records said, by file version


def _note_unreadable(path: Path, err: Exception) -> None:
    """Says once per version of the file (its time and size) that the record ``path`` cannot
    be read (``err``) and is replaced: a job asks twice, before its launch lock and under it."""
    try:
        stat = path.stat()
    except OSError:  # gone since: nothing to replace
        return
    version = (path, stat.st_mtime_ns, stat.st_size)
    if version not in _NOTED:
        _NOTED.add(version)
        log.warning("note: %s cannot be read (%s): the job runs again and replaces it", path, err)


def check_not_replacing(path: Path, spec: dict[str, Any]) -> None:
    """Refuses to run where ``path`` holds the record of a job of other settings (the
    current schema, another :func:`result_spec`) or of a newer snnattack (its UserError),
    whose results the job would replace. An unreadable record (said in a line) or an
    older-schema one is a job to redo, not refused, and so is a record of the same config
    whose spec lacks the ensembles' :data:`COMPONENTS` (written before the spec held them)."""
    try:
        done = read_record(path)
    except (OSError, ValueError) as err:
        if path.is_file():  # a half-written or edited record: said, then replaced
            _note_unreadable(path, err)
        return
    except UserError:
        raise ConfigError(
            f"{path} holds the record of a newer snnattack (a schema this one does not read), "
            "whose results this job would replace; accepted: that snnattack (update this one), "
            f"another hydra.run.dir, or {path} removed"
        ) from None
    there, here = what_runs(done.result_spec), what_runs(spec)
    if isinstance(there, dict) and COMPONENTS not in there:  # written before: compared without
        here = {k: v for k, v in here.items() if k != COMPONENTS}
    if done.schema != SCHEMA or there == here:
        return
    differ = _differences(there, here)
    shown = "; ".join(differ[:4]) + (f"; {len(differ) - 4} more" if len(differ) > 4 else "")
    raise ConfigError(
        f"{path.parent} holds the finished job of other settings ({shown}), whose results "
        f"this job would replace; accepted: another hydra.run.dir (for a sweep another "
        f"hydra.sweep.dir, or hydra.sweep.subdir=${{hydra.job.override_dirname}}: a folder per "
        f"value), or {path} removed to replace them"
    )


def _differences(there: Any, here: Any, key: str = "") -> list[str]:
    """Where the result specs ``there`` (a finished record's) and ``here`` differ, as
    ``key=value there, value here`` by dotted key, each value as the command line spells it
    (``null``, not Python's ``None``)."""
    if isinstance(there, dict) and isinstance(here, dict):
        keys = list(dict.fromkeys([*there, *here]))
        nested = (_differences(there.get(k), here.get(k), f"{key}.{k}" if key else k) for k in keys)
        return [line for lines in nested for line in lines]
    return [] if there == here else [f"{key}={as_typed(there)} there, {as_typed(here)} here"]


def render_table(title: str, rows: list[tuple[dict[str, str], AttackRow]]) -> Table:
    """One line per attack row: its leading cells (e.g. the job and what it swept), then the
    row's shown fields (:data:`SHOWN`; an optional one, as ``targeted_asr``, where a row has
    it, "–" in the others). Every text is shown as it is: ``method=[fgsm]`` is a value, not
    rich's markup."""
    lead = list(dict.fromkeys(k for cells, _ in rows for k in cells))
    columns = [f for f in SHOWN if any(getattr(r, f.name) is not None for _, r in rows)]
    table = Table(title=Text(title))
    for label in (*lead, *(f.metadata["column"] for f in columns)):
        table.add_column(Text(label), justify="right")
    for cells, row in rows:
        shown = [
            "–" if (v := getattr(row, f.name)) is None else f.metadata["format"].format(v)
            for f in columns
        ]
        table.add_row(*(Text(c) for c in (*(cells.get(k, "") for k in lead), *shown)))
    return table


def print_table(title: str, rows: list[tuple[dict[str, str], AttackRow]]) -> None:
    """Prints :func:`render_table` on stderr (nothing when there is no row)."""
    table = render_table(title, rows)
    if table.row_count:
        console = Console(stderr=True)
        if not console.is_terminal:  # a log file or pipe: one line per row, headers unwrapped
            console.width = LOG_WIDTH
        console.print(table)


def job_table(record: JobRecord) -> str:
    """A job's table as text: its setting and clean accuracy, then one line per attack (the
    job logs it, so it reaches the console and the job's ``run.log`` alike)."""
    console = Console(file=io.StringIO(), width=LOG_WIDTH, color_system=None)
    console.print(render_table(record.title(), [({}, r) for r in record.results]))
    return console.file.getvalue().rstrip()
