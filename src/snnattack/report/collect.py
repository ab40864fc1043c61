"""Reads a job or sweep folder: every ``metrics.json`` below it, as jobs and result rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from snnattack.records.cosmetic import (
    LOOKUPS,
    default_cosmetic,
    is_cosmetic,
    settings_hash,
    what_runs,
)
from snnattack.records.moments import moment
from snnattack.records.results import ROW_FIELDS, JobRecord, folder_order, read_record
from snnattack.report.unfinished import unfinished
from snnattack.settings import walk

# besides a job's cosmetic_keys, the keys that are no column: the analyses' options, the list,
# and the per-kind lookups experiment files take T and λ from (T and λ are columns themselves)
REPORT_IGNORED = ("analysis", "cosmetic_keys", *LOOKUPS)
# the columns that describe a trained model's setting
SETTING_KEYS = ("dataset", "model", "T", "lambda", "reset", "encoding")
# results.csv's standard columns: the setting and the most read fields first, then every other
# field of an attack row (results.AttackRow)
FIRST = (
    *SETTING_KEYS,
    "seed",
    "target_kind",
    "source_kind",
    "grad_mode",
    "method",
    "box",
    "eps_255",
    "time_extension",
    "asr",
    "targeted_asr",
    "adv_acc",
    "clean_acc",
    "source_clean_acc",
    "n_correct",
    "n_targeted",
    "n",
)
STANDARD = (*FIRST, *(k for k in ROW_FIELDS if k not in FIRST))
# results.csv's last columns: the code that made each row (its job's metrics.json), so that a
# copy of the table still says what it was made by
PROVENANCE = ("version", "git_commit")
# swept config keys already shown by a standard column
COVERED = {
    "dataset.name",
    "model.name",
    "T",
    "lambda",
    "reset",
    "encoding",
    "seed",
    "attack.grad_mode",
    "attack.time_extension",
    "attack.eot_samples",
    "eps",
    "boxes",
}
# how a row ran, of its own fields (1: plainly), beside the config's keys: rows that differ in
# them are never pooled as seeds of one setting (attack.time_extension, attack.eot_samples)
RUN_KEYS = ("time_extension", "eot_samples")
# group nodes whose keys come with the group's choice (the node's ``name``): dataset=a,b sweeps
# the choice, and every dataset.* key that differs between a's and b's file follows from it
CHOICES = {"dataset": "dataset.name", "model": "model.name"}


@dataclass
class Job:
    """One job's folder (relative to the report root) and its metrics.json record."""

    name: str
    record: JobRecord
    flat: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        return self.record.config

    def setting(self, key: str) -> Any:
        """A standard column's value from the config (``None`` if absent), λ and reset as the
        target ran them (:meth:`~snnattack.records.results.JobRecord.setting`), the model a
        network passed to the API is (:meth:`~snnattack.records.results.JobRecord.architecture`)."""
        if key == "model":
            return self.record.architecture()
        nested = {"dataset": ("dataset", "name"), "grad_mode": ("attack", "grad_mode")}
        if key in nested:
            outer, inner = nested[key]
            return (self.config.get(outer) or {}).get(inner)
        return self.record.setting(key)

    @property
    def model_key(self) -> str:
        """The target's store key, shared by the jobs that attack one model; else its weights'
        hash (one file attacked at several seeds is one model); else the job's own name."""
        target = self.record.models.get("target") or {}
        return str(target.get("key") or target.get("weights") or self.name)

    @property
    def simulated(self) -> tuple[Any, ...]:
        """The target as the job ran it: its :attr:`model_key` and the settings it was
        simulated at. A converted ANN is one stored model run at each ``T`` (and ``reset``,
        ``encoding``): a sweep of them measures a model each, not one model repeated."""
        return (self.model_key, *(self.setting(k) for k in SETTING_KEYS))

    @property
    def target_spec(self) -> dict[str, Any] | None:
        """The target's store spec (how it was trained), or None for a file without a store
        record (a foreign checkpoint, a model passed to the API)."""
        spec = (self.record.models.get("target") or {}).get("spec")
        return spec if isinstance(spec, dict) else None

    def trained_as(self) -> dict[str, Any]:
        """What the target was trained with but its seeds: its :attr:`target_spec`, flattened
        (the spec of a model it starts from under ``base.``). Targets that differ here are not
        seeds of one setting. A file without a store record is known by its path alone
        (``checkpoint``: other files are other models, as Table 2's column keeps them); a
        network passed to the API by nothing (empty)."""
        spec = self.target_spec
        if spec is None:
            file = self.config.get("checkpoint")
            return {"checkpoint": file} if file else {}
        return {k: v for k, v in flatten(spec).items() if k.split(".")[-1] != "seed"}


def flatten(tree: dict[str, Any]) -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists become JSON strings."""
    return {
        k: json.dumps(v) if isinstance(v, list) else v
        for k, v in walk(tree)
        if not isinstance(v, dict)
    }


def load_jobs(root: Path) -> tuple[list[Job], list[str]]:
    """Every readable ``metrics.json`` under ``root`` (itself included), sorted by folder; any
    schema :mod:`snnattack.records.results` reads (a newer one stops the report with one line).
    And what they leave out, a line each: a ``metrics.json`` that cannot be read (why), a job
    that left no result (:func:`~snnattack.report.unfinished.unfinished`), a job repeated
    (:func:`_once`)."""
    jobs, left = [], []
    for path in sorted(root.rglob("metrics.json"), key=lambda p: folder_order(p.parent, root)):
        name = str(path.parent.relative_to(root)) if path.parent != root else "."
        try:
            record = read_record(path)
        except (OSError, ValueError) as err:
            left.append(f"{name}/metrics.json cannot be read ({err})")
            continue
        ignored = (*REPORT_IGNORED, *record.config.get("cosmetic_keys", ()))
        flat = {k: v for k, v in flatten(record.config).items() if not is_cosmetic(k, ignored)}
        jobs.append(Job(name, record, flat))
    cosmetic = jobs_cosmetic(jobs)
    made = {(root / job.name).resolve(): moment(job.record.finished) for job in jobs}
    settings = {(root / job.name).resolve(): settings_hash(job.record.config) for job in jobs}
    jobs, repeated = _once(jobs, root)
    return jobs, [*left, *unfinished(root, cosmetic, made, settings), *repeated]


def jobs_cosmetic(jobs: list[Job]) -> list[str]:
    """The keys that change no result by any of ``jobs``' records (their ``cosmetic_keys``)
    or, for what no record says, by the package's own, sorted: what the report leaves out of
    a job's settings, its title and its left-out lines."""
    return sorted(
        {*default_cosmetic(), *(k for j in jobs for k in j.config.get("cosmetic_keys", ()))}
    )


def short_commit(commit: str) -> str:
    """A commit as the report says it: 12 characters, ``+dirty`` kept."""
    return commit[:12] + ("+dirty" if commit.endswith("+dirty") else "")


def _outcome(job: Job) -> str:
    """What a job measured: its accuracies and rows, but where a row was computed, each
    number to 12 digits (a DDP job's mean norm differs from one process's in its 16th: its
    processes' sums are added in another order)."""
    rows = [{k: v for k, v in asdict(r).items() if k != "reused_from"} for r in job.record.results]
    record = job.record
    return json.dumps(_digits([record.clean_acc, record.source_clean_acc, rows]), sort_keys=True)


def _digits(value: Any) -> Any:
    """``value`` with each float to 12 significant digits, in its lists and dicts too."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, list | tuple):
        return [_digits(v) for v in value]
    if isinstance(value, dict):
        return {k: _digits(v) for k, v in value.items()}
    return value


def _setting(job: Job) -> str | None:
    """What fixes a job's results, as a relaunch judges it (its ``result_spec`` and its
    config, cosmetic keys aside; a record without a ``result_spec``: its whole config), and
    which models it attacked (their store specs, a file's own under ``checkpoint=``, else
    their weights' hash); None where a model is neither (a network passed to
    ``snnattack.evaluate``: its config is every such network's, or a record that names no
    target)."""
    models = []
    for role in ("target", "source"):
        model = job.record.models.get(role) or {}
        known = model.get("spec") or model.get("weights")
        if (model or role == "target") and not known:
            return None
        models.append(known)
    spec = what_runs(job.record.result_spec)
    config = job.flat if spec is not None else job.record.config
    return json.dumps([spec, config, models], sort_keys=True, default=str)


def made_at(job: Job, root: Path) -> float:
    """When ``job`` (a folder below ``root``) made its results: its record's ``finished``
    time, else (a record written before it held one, or an edited one) its file's
    modification time."""
    made = moment(job.record.finished)
    return made if made is not None else (root / job.name / "metrics.json").stat().st_mtime


def _once(jobs: list[Job], root: Path) -> tuple[list[Job], list[str]]:
    """``jobs`` with each setting once, and a line for each job left out: several jobs of
    one config (cosmetic keys aside: a sweep extended into its own folder, a folder set aside
    and the job run again, ``threads=2``) are one experiment, which pooled would count twice
    in results.csv and average two runs (two codes, if a commit differs) into one seed's
    cell. The last made counts (of two made at once, the later folder)."""
    setting = {id(j): _setting(j) or id(j) for j in jobs}
    made = {id(j): made_at(j, root) for j in jobs}
    newest = {setting[id(j)]: j for j in sorted(jobs, key=lambda j: made[id(j)])}  # last made
    counted = {id(j) for j in newest.values()}
    lines = []
    for job in jobs:
        same = newest[setting[id(job)]]
        if same is not job:
            other = "the same results" if _outcome(job) == _outcome(same) else "other results"
            codes = (job.record.git_commit, same.record.git_commit)
            if codes[0] != codes[1]:
                other += ", of commit " + " and ".join(short_commit(str(c)) for c in codes)
            later = made[id(same)] > made[id(job)]
            when = "made later" if later else "made at the same time, the later folder"
            lines.append(
                f"{job.name} repeats the settings of {same.name}, which counts ({when}; {other})"
            )
    return [j for j in jobs if id(j) in counted], lines


def swept_keys(jobs: list[Job]) -> list[str]:
    """Config keys whose value differs between jobs (absent counts as a value)."""
    keys = sorted({k for j in jobs for k in j.flat})
    return [k for k in keys if len({json.dumps(j.flat.get(k), sort_keys=True) for j in jobs}) > 1]


def analyses_swept(jobs: list[Job]) -> list[str]:
    """``analysis`` where the jobs ran different analyses (``analysis=[],[shuffle]``), then
    the analyses' config keys (``analysis.*``, which no attack row differs by and the jobs'
    settings leave out) whose value differs between the jobs that ran the analysis:
    ``analysis.shuffle.mode`` (a job without the analysis has no such setting)."""
    ran = {json.dumps(sorted(j.config.get("analysis") or {})) for j in jobs}
    flat = [{k: v for k, v in flatten(j.config).items() if k.startswith("analysis.")} for j in jobs]
    keys = sorted({k for f in flat for k in f})
    return ["analysis"] * (len(ran) > 1) + [
        k for k in keys if len({json.dumps(f[k], sort_keys=True) for f in flat if k in f}) > 1
    ]


def follow_choice(jobs: list[Job]) -> set[str]:
    """Swept keys under a group node (:data:`CHOICES`: ``dataset.``, ``model.``) that vary only
    with the group's choice: ``dataset=digits,digits_events`` changes ``dataset.in_channels``
    and adds ``dataset.params.sensor``, which the user did not sweep and the ``dataset``
    column already tells apart. A key that varies between jobs of one choice
    (``dataset.params.event_encoding=binary,counts``) is swept in its own right."""
    out = set()
    for node, name in CHOICES.items():
        under = {k for k in swept_keys(jobs) if k.startswith(f"{node}.") and k != name}
        for choice in {json.dumps(j.flat.get(name), sort_keys=True) for j in jobs}:
            same = [j for j in jobs if json.dumps(j.flat.get(name), sort_keys=True) == choice]
            under -= set(swept_keys(same))
        out |= under
    return out


def set_by_choice(jobs: list[Job]) -> dict[str, str]:
    """Standard columns that vary only as a swept group choice sets them, each with that
    choice's column: ``encoding`` with ``dataset`` where an event dataset's file sets
    ``encoding: frames`` (its one accepted encoding) and the encoding is the same within each
    dataset and among the jobs whose dataset leaves it free. Empty where the encoding was
    chosen too (jobs of one dataset, or of datasets that accept several, differ by it)."""

    def values(some: list[Job], key: str) -> set[str]:
        return {json.dumps(j.config.get(key), sort_keys=True) for j in some}

    def dataset(job: Job) -> dict[str, Any]:
        return job.config.get("dataset") or {}

    if len(values(jobs, "encoding")) < 2:
        return {}
    names = {json.dumps(dataset(j).get("name")) for j in jobs}
    groups = [[j for j in jobs if json.dumps(dataset(j).get("name")) == n] for n in names]
    free = [j for j in jobs if len(dataset(j).get("encodings") or ()) != 1]
    if len(names) < 2 or any(len(values(g, "encoding")) > 1 for g in [*groups, free]):
        return {}
    return {"encoding": "dataset"}


def mode_params(jobs: list[Job]) -> list[str]:
    """``attack.params.*`` keys that vary between jobs of the same gradient mode."""
    out = set()
    for mode in {j.setting("grad_mode") for j in jobs}:
        same = [j for j in jobs if j.setting("grad_mode") == mode]
        out |= {k for k in swept_keys(same) if k.startswith("attack.params.")}
    return sorted(out)


def method_params(jobs: list[Job]) -> list[str]:
    """``method.<key>.*`` keys that vary between the jobs that run ``key``: their rows differ
    by them (``method.pgd.steps=1,2``), which a method list swept alone does not make. A key
    that is the job's ``seed`` in every job (Square's and APGD's ``seed: ${seed}``) varies as
    the seed does, over which rows are pooled."""
    out = set()
    for key in {k for j in jobs for k in (j.config.get("method") or {})}:
        same = [j for j in jobs if key in (j.config.get("method") or {})]
        swept = [k for k in swept_keys(same) if k.startswith(f"method.{key}.")]
        out |= {k for k in swept if not all(j.flat.get(k) == j.flat.get("seed") for j in same)}
    return sorted(out)


def extra_keys(jobs: list[Job]) -> list[str]:
    """Swept keys that get their own column beside the standard ones (an ``attack.*`` key
    too, ``attack.fold_bn``: jobs that differ by it are never pooled as seeds of one row),
    but those that only follow a swept group choice (:func:`follow_choice`)."""
    shown = COVERED | follow_choice(jobs)
    swept = [k for k in swept_keys(jobs) if k not in shown]
    own = [k for k in swept if not k.startswith(("method.", "attack.params."))]
    return own + mode_params(jobs) + method_params(jobs)


def copied_here(jobs: list[Job]) -> Callable[[str | None, Job], bool]:
    """Whether a row or worst case that a job holds was copied (``reused_from``,
    ``attack.reuse``) from another of ``jobs``, which shows it: each is shown once, under the
    job that computed it (the folder matched by its path within the report, wherever the
    sweep was when it ran)."""
    names = {j.name: Path(j.name).parts for j in jobs if Path(j.name).parts}

    def same(origin: tuple[str, ...], name: tuple[str, ...], holder: tuple[str, ...]) -> bool:
        """Whether the job ``name`` is the ``origin`` of a row that ``holder`` holds: an
        absolute origin (older records) ends with its name; a relative one, a path within
        the holder's sweep folder, is the end of its name, the rest a folder above both."""
        if not origin or name == holder:
            return False
        if Path(*origin).is_absolute():
            return origin[-len(name) :] == name
        above = name[: len(name) - len(origin)]
        return name[-len(origin) :] == origin and holder[: len(above)] == above

    def copied(origin: str | None, holder: Job) -> bool:
        parts = Path(origin).parts if origin else ()
        mine = Path(holder.name).parts
        return any(same(parts, n, mine) for n in names.values())

    return copied


def result_rows(jobs: list[Job]) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and rows of results.csv: one row per job and attack record; a swept config key
    named like a row field (``source_lambda``) holds the row's value: what it ran with (a
    white-box row's own λ, an ANN source's none), not the config's."""
    extra = extra_keys(jobs)
    columns = ["job", *extra, *(k for k in STANDARD if k not in extra), *PROVENANCE]
    rows = []
    for job in jobs:
        r = job.record
        base = {k: job.setting(k) for k in (*SETTING_KEYS, "seed", "grad_mode")}
        base.update(clean_acc=r.clean_acc, source_clean_acc=r.source_clean_acc, n=r.n)
        base.update({k: getattr(r, k) for k in PROVENANCE})
        swept = {"job": job.name, **{k: job.flat.get(k) for k in extra}}
        for attack in r.results:
            fields = asdict(attack)
            row = {**base, **swept, **{k: v for k, v in fields.items() if v is not None}}
            row.update({k: fields[k] for k in extra if k in fields})
            # another method's settings: never this row's (FGSM's pgd.steps), nor an ensemble's
            # (its components run their methods' files, snnattack.attacks.parse.components)
            for key in extra:
                if key.startswith("method.") and key.split(".")[1] != attack.method:
                    row[key] = None
            if attack.examples:  # attack.save_examples: the file, from the report's folder
                row["examples"] = str(Path(job.name) / attack.examples)
            rows.append(row)
    return columns, rows


def cell(value: Any) -> Any:
    """A value as results.csv and the report's W&B table hold it: a nested one (``l0_hist``,
    ``tuned``, a swept list) as JSON text, as metrics.json writes it."""
    return json.dumps(value) if isinstance(value, dict | list | tuple) else value


def paper_block(jobs: list[Job]) -> dict[str, Any]:
    """The experiment file's ``paper:`` numbers (the first job that states them)."""
    return next((paper for job in jobs if (paper := job.config.get("paper"))), {})
