"""A benchmark entry: one model's result under one protocol, a JSON file with a schema version.

An entry is built from a :class:`~snnattack.records.results.JobRecord` alone (the record of
``snnattack.evaluate`` or of a job's ``metrics.json``): the ``benchmark`` block of its config
names the protocol and the model, its rows give the robust accuracies. The worst case is the
lowest robust accuracy of its rows: the ensemble's row is already the per-sample worst case of
its components, and the lineage's attacks and the transfer rows can only lower it. The gap is
the lowest robust accuracy the paper reported minus the worst case (percentage points the paper
overstates robustness by).

:func:`check_entry` reads an entry back against :data:`FIELDS` and refuses, in one line naming
the file and the field, one that does not match (a field missing, of another type, unknown).
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from datetime import date, datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

from snnattack.errors import UserError
from snnattack.package import CONF_DIR
from snnattack.records.files import write_atomic
from snnattack.records.results import AttackRow, JobRecord, count_of
from snnattack.runtime.cli import group_choices
from snnattack.settings import ENCODINGS
from snnattack.values import is_int, is_number

# the entry layout this code writes (2: the protocol's hash, overrides; 3: the model's input
# encoding); an entry of schema 2 is read as one of 3 whose encoding is not stated
SCHEMA = 3
WHITE, TRANSFER = "white", "black"
WEIGHTS = re.compile(r"(params|file|store):[0-9a-f]{16}")  # a digest, a file's, a store key
SHA256 = re.compile(r"[0-9a-f]{64}")  # a protocol file's hash


def _percent(value: Any) -> bool:
    return is_number(value) and 0 <= value <= 100


def _text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _iso_date(value: Any) -> bool:
    """Whether ``value`` is a day as an entry writes it (``date.isoformat``: ``2026-11-25``), a
    real one: ``yesterday`` or ``2026-13-01`` says no day it was measured on."""
    if not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _optional(test: Any) -> Any:
    return lambda value: value is None or test(value)


def _integer(least: int) -> Any:
    return lambda value: is_int(value) and value >= least


def _percents(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value != {}
        and all(_text(k) and _percent(v) for k, v in value.items())
    )


# Every field of an entry, with the test its value passes and how the refusal names it.
FIELDS: dict[str, Any] = {
    "schema": (
        lambda v: v == SCHEMA,
        f"{SCHEMA}, or 2 (read as stating no encoding; an entry of schema 1 has no protocol hash)",
    ),
    "model": {
        "name": (_text, "a name"),
        "paper": (_optional(_text), "a citation or null"),
        "venue": (_optional(_text), "a venue or null"),
        "architecture": (_text, "a name"),
        "T": (_integer(1), "an integer >= 1"),
        "encoding": (
            _optional(lambda v: v in ENCODINGS),
            f"{', '.join(ENCODINGS)}, or null (not stated: the model's own time loop)",
        ),
        "levels": (_optional(_integer(2)), "an integer >= 2 or null"),
        "training": (_text, "a kind of training"),
        "parameters": (_optional(_integer(0)), "an integer >= 0 or null"),
    },
    "protocol": (_text, "a protocol name"),
    "eps_255": (lambda v: isinstance(v, list) and v != [] and all(map(is_number, v)), "radii"),
    "data": (lambda v: v in ("protocol", "user"), "protocol or user"),
    "clean_acc": (_percent, "a percentage"),
    "n": (_integer(1), "an integer >= 1"),
    "robust_acc": (_percents, "{attack: percentage}"),
    "worst_case": (_percent, "a percentage"),
    "eot_samples": (_integer(1), "an integer >= 1"),
    "masking": {"flagged": (lambda v: isinstance(v, list) and all(map(_text, v)), "names")},
    "reported": (_optional(_percents), "{attack or clean: percentage} or null"),
    "gap": (_optional(is_number), "a number or null"),
    "provenance": {
        "snnattack": (_text, "a version"),
        "commit": (_optional(_text), "a git commit or null"),
        "protocol_version": (_integer(1), "an integer >= 1"),
        "protocol_sha256": (
            lambda v: isinstance(v, str) and SHA256.fullmatch(v) is not None,
            "the sha256 of the protocol file it ran (64 hex digits)",
        ),
        "overrides": (
            lambda v: isinstance(v, list) and all(map(_text, v)),
            "the settings that differ from the protocol file's (key=value), [] if none",
        ),
        "weights": (
            _optional(lambda v: isinstance(v, str) and WEIGHTS.fullmatch(v) is not None),
            "params:, file: or store: and 16 hex digits (the weights' hash), or null",
        ),
        "date": (_iso_date, "an ISO date, YYYY-MM-DD (the day it was measured, UTC)"),
    },
}


def row_label(method: str, box: str) -> str:
    """A row's column in an entry: its ``method=`` name, ``<name>/transfer`` in the black box."""
    return method if box == WHITE else f"{method}/transfer"


@cache
def methods_made() -> tuple[str, ...]:
    """The methods whose rows an entry may hold: those of the package's ``conf/method/`` (a
    method of one's own ``-cd`` folder or command line makes no entry)."""
    return tuple(group_choices(CONF_DIR / "method"))


@cache
def rows_made() -> frozenset[str]:
    """Every row name a protocol can make: :func:`row_label` of each method of
    :func:`methods_made` in each box (``clean`` or ``worst case`` is none: the page's own
    columns)."""
    return frozenset(row_label(m, box) for m in methods_made() for box in (WHITE, TRANSFER))


def worst_case(robust_acc: dict[str, float]) -> float:
    """The lowest robust accuracy over the rows."""
    return min(robust_acc.values())


def robust_accuracy(row: AttackRow, n: int) -> float:
    """``row``'s robust accuracy (%) as a leaderboard counts it (RobustBench's): the share of the
    test images right clean and not fooled (its ASR counted back, :func:`count_of`), never above
    the clean accuracy as ``adv_acc`` can be (it counts an image wrong clean that a transferred
    example turned right). ``n``: the job's test images, for a record written before its rows
    counted their own. A row whose ASR counts no whole images is one UserError line naming it."""
    try:
        fooled = count_of(row.asr, row.n_correct, "n_correct") or 0
    except ValueError as err:
        raise UserError(
            f"the record's row {row_label(row.method, row.box)} (eps {row.eps_255:g}/255): its "
            f"asr={row.asr!r} is {err}; accepted: a metrics.json as its job wrote it (the job "
            "again, its metrics.json removed)"
        ) from None
    return 100.0 * (row.n_correct - fooled) / (row.n if row.n is not None else n)


def lowest_reported(reported: dict[str, float] | None) -> float | None:
    """The lowest robust accuracy a paper reported (``clean`` aside); None if none."""
    robust = [v for k, v in (reported or {}).items() if k != "clean"]
    return min(robust) if robust else None


def gap(reported: dict[str, float] | None, worst: float) -> float | None:
    """The lowest reported robust accuracy minus the worst case."""
    lowest = lowest_reported(reported)
    return None if lowest is None else round(lowest - worst, 2)


def weights_of(target: dict[str, Any]) -> str | None:
    """The hash of the target's weights as its record holds it: a digest of the parameters
    (:func:`~snnattack.evaluation.reuse.about_weights`); a record made before it holds the
    model file's sha256 (``checkpoint=``) or the checkpoint store's key (a model the job
    trained: the hash of its training spec)."""
    if target.get("weights"):
        return str(target["weights"])
    if target.get("sha256"):
        return f"file:{target['sha256']}"
    return f"store:{target['key']}" if target.get("key") else None


def from_record(record: JobRecord, protocol_sha256: str, overrides: list[str]) -> dict[str, Any]:
    """The entry of ``record``, whose config's ``benchmark`` block names the protocol and the
    model (``protocol``, ``version``, ``name``; ``paper``, ``venue``, ``training``,
    ``reported``, ``data`` optional), run with the protocol file of hash ``protocol_sha256``
    and ``overrides``, the settings that differ from the file's."""
    cfg = record.config
    block = cfg.get("benchmark") or {}
    for key in ("protocol", "version", "name"):
        if block.get(key) in (None, ""):
            raise UserError(
                f"benchmark.{key} is not set; accepted: a protocol file of experiments/benchmark/ "
                "and benchmark.name=<the model's name>"
            )
    target = record.models.get("target") or {}
    # the draws the attacks used; a record written before JobRecord.eot_samples (a relaunched
    # job's finished metrics.json) ran attack.eot_samples
    eot = record.eot_samples if record.eot_samples is not None else cfg["attack"]["eot_samples"]
    robust = {
        row_label(r.method, r.box): round(robust_accuracy(r, record.n), 2) for r in record.results
    }
    worst = worst_case(robust)
    reported = block.get("reported") or None
    # the kind that trained the target here (or that its file's configured model was trained
    # as); a network passed in or built by a factory was trained elsewhere: not stated
    trained = None if target.get("class") or target.get("factory") else target.get("kind")
    entry = {
        "schema": SCHEMA,
        "model": {
            "name": str(block["name"]),
            "paper": block.get("paper"),
            "venue": block.get("venue"),
            "architecture": target.get("factory") or record.architecture(),
            "T": int(cfg["T"]),
            # a model passed in says what it runs (its encoder: the record's config holds the
            # protocol's); a configured one is built with the config's
            "encoding": target.get("encoding", cfg.get("encoding")),
            "levels": target.get("levels", cfg.get("encoding_levels")),
            "training": str(block.get("training") or trained or "not stated"),
            "parameters": target.get("parameters"),
        },
        "protocol": str(block["protocol"]),
        "eps_255": sorted({r.eps_255 for r in record.results}),
        "data": block.get("data", "protocol"),
        "clean_acc": round(record.clean_acc, 2),
        "n": record.n,
        "robust_acc": robust,
        "worst_case": worst,
        "eot_samples": int(eot),
        "masking": {"flagged": list(record.masking.get("flagged", []))},
        "reported": reported,
        "gap": gap(reported, worst),
        "provenance": {
            "snnattack": record.version or "unknown",
            "commit": record.git_commit,
            "protocol_version": int(block["version"]),
            "protocol_sha256": protocol_sha256,
            "overrides": list(overrides),
            "weights": weights_of(target),
            "date": datetime.now(timezone.utc).date().isoformat(),
        },
    }
    return check_entry(entry, "the new entry")


def check_entry(data: Any, where: str | Path) -> dict[str, Any]:
    """``data`` if it is an entry of :data:`FIELDS` whose numbers agree (:func:`_agree`); else
    one UserError line naming ``where`` (the file) and the first field that does not. An entry
    of schema 2 is taken as one of :data:`SCHEMA` that does not state its input encoding."""
    if isinstance(data, dict) and data.get("schema") == 2 and isinstance(data.get("model"), dict):
        data = {**data, "schema": SCHEMA, "model": {**data["model"]}}
        for key in ("encoding", "levels"):
            if key in data["model"]:  # a field schema 2 does not have: named as it is
                raise UserError(
                    f"{where}: model.{key} is not a field of a schema 2 entry; accepted: "
                    f"schema {SCHEMA}"
                )
            data["model"][key] = None
    _check(data, FIELDS, "", where)
    _agree(data, where)
    return data


def fractions(values: list[float], clean: float | None = None) -> bool:
    """Whether a paper's accuracies look like fractions of 1 (0.907 for 90.7 %) rather than
    percentages, ``clean`` being the clean accuracy among them (None: not given); a paper's
    numbers say nothing else of their unit. Where the clean accuracy is given and above 0, it
    decides alone: at most 1 is a fraction (1.0 is 100 %: no paper reports a model at 1 % clean
    or below, so a clean 1.0 beside robust 0.477 is the set's fractions, not percentages),
    above 1 a percentage whatever the robust values (an undefended model's 0.4 % is a
    percentage). Without it (robust numbers alone), all below 1 and some above 0 are fractions:
    a robust 1.0 may well be 1 %, and all zero reads the same either way (no robust sample).
    An entry's own accuracies are read by :func:`share_of` instead: it states its images."""
    if clean is not None and clean > 0:
        return clean <= 1
    return all(v < 1 for v in values) and any(v > 0 for v in values)


def share_of(value: float, n: int) -> bool:
    """Whether ``value`` is a percentage of ``n`` images as :func:`from_record` writes one:
    ``100 * k / n`` for a whole ``k`` of at most ``n``, rounded to two decimals. An entry's
    accuracies are such shares of its ``n`` test images, which tells a clean accuracy in
    (0, 1] % (a broken model's 0.8 %: 4 of 500 images) from the fraction of 1 an entry written
    by hand may hold (0.975 for 97.5 %: 1.95 of 200 images), where the magnitude alone cannot."""
    near = value * n / 100
    low, high = max(0, math.floor(near) - 1), min(n, math.ceil(near) + 1)
    return any(round(100.0 * k / n, 2) == value for k in range(low, high + 1))


def check_reported(reported: Any, argument: str, rows: tuple[str, ...] | None = None) -> None:
    """Refuses, in one UserError line naming ``argument``, reported numbers that are not
    percentages by name, or that look like fractions, or a name that reads as ``clean``
    (``clean_acc``, ``natural``), as one of ``rows`` (the protocol's, listed; None: any) or as
    any row a protocol makes, written otherwise (``Clean``, ``pgd_10``, ``MI-FGSM``): it would
    count as another attack's robust accuracy. Matched against every row a protocol makes, as
    an entry's names are when it is written and read, a name a job took as it started keeps its
    entry once it ran. Another attack of the paper keeps its own name (``pgd20``,
    ``autoattack``)."""
    if reported is None:
        return
    if not _percents(reported):
        raise UserError(
            f"{argument}={reprlib.repr(reported)} is not the paper's numbers; accepted: a dict "
            "of row names (clean, pgd10, ...) to percentages in [0, 100], or null"
        )
    accepted = ("clean", *(sorted(rows_made()) if rows is None else rows))
    known = (*accepted, *sorted(rows_made() - set(accepted)))  # the protocol's first
    for key in reported:
        meant = [name for name in known if _plain(name) == _plain(key) != key]
        meant = ["clean"] if key != "clean" and _CLEAN.fullmatch(_plain(key)) else meant
        if key not in known and meant:
            raise UserError(
                f"{argument} names {_key(key)}, which reads as {meant[0]}; accepted: "
                f"{meant[0]} (clean, or a row of the protocol by its name: "
                f"{', '.join(accepted[1:])}; another attack of the paper by its own name)"
            )
    if fractions(list(reported.values()), reported.get("clean")):
        raise UserError(
            f"{argument}={reprlib.repr(reported)} looks like fractions; accepted: percentages in "
            "[0, 100] (90.7 for 90.7 %)"
        )


_CLEAN = re.compile(r"(clean|natural|nat)(acc|accuracy)?|acc|accuracy")
"""A plain name that means the clean accuracy (``clean_acc``, ``Clean Acc.``, ``natural``)."""


def _plain(name: str) -> str:
    """``name`` in lower case without punctuation: ``Clean``, ``PGD-10`` read as ``clean``,
    ``pgd10``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _agree(entry: dict[str, Any], where: str | Path) -> None:
    """An entry's numbers agree: every row at most the clean accuracy (an attack only fools
    samples) and named as a protocol names its rows (:func:`rows_made`), the worst case the
    lowest row, the gap the one its numbers give, percentages not fractions (:func:`share_of`
    where the clean accuracy is at most 1), the reported numbers as :func:`check_reported`
    takes them."""
    clean, rows = entry["clean_acc"], entry["robust_acc"]
    for row, value in rows.items():
        if value > clean:
            raise UserError(
                f"{where}: field robust_acc.{_key(row)}={value} is above clean_acc={clean}; "
                "accepted: robust accuracies at most the clean accuracy"
            )
        if row not in rows_made():
            raise UserError(
                f"{where}: field robust_acc.{_key(row)} is not a row a protocol makes; "
                "accepted: a method of conf/method/ (fgsm, pgd10, ensemble, ...), "
                "<method>/transfer in the black box"
            )
    # a clean accuracy above 1 is a percentage (a fraction is at most 1) and one of 0 reads the
    # same either way; in (0, 1] it is a percentage where it and the rows are shares of the
    # entry's n images, as an entry written from a job's record holds them
    n = entry["n"]
    if 0 < clean <= 1 and not all(share_of(v, n) for v in (clean, *rows.values())):
        raise UserError(
            f"{where}: field clean_acc={clean} looks like a fraction; accepted: percentages "
            "in [0, 100] (90.7 for 90.7 %), at most 1 where clean_acc and robust_acc are "
            f"shares of the entry's n={n} test images (100 * k / n, to two decimals)"
        )
    if entry["worst_case"] != worst_case(rows):
        raise UserError(
            f"{where}: field worst_case={entry['worst_case']} is not the lowest robust_acc; "
            f"accepted: {worst_case(rows)}"
        )
    try:
        check_reported(entry["reported"], "reported")
    except UserError as err:
        raise UserError(f"{where}: field {err}") from None
    if entry["gap"] != gap(entry["reported"], entry["worst_case"]):
        raise UserError(
            f"{where}: field gap={entry['gap']} is not the lowest reported robust accuracy "
            f"minus worst_case; accepted: {gap(entry['reported'], entry['worst_case'])}"
        )


def _key(name: str) -> str:
    """A JSON key as a refusal names it: as it is if it is a plain name, else its repr cut to a
    line (``reprlib``: a key with a line break or of a megabyte stays one short line)."""
    return name if re.fullmatch(r"[\w/.+-]{1,80}", name) else reprlib.repr(name)


def _check(data: Any, fields: dict[str, Any], prefix: str, where: str | Path) -> None:
    if not isinstance(data, dict):
        raise UserError(f"{where}: {prefix.rstrip('.') or 'the entry'} is not a JSON object")
    for key in data:
        if key not in fields:
            raise UserError(
                f"{where}: {prefix}{_key(key)} is not a field of a schema {SCHEMA} entry; "
                f"accepted: {', '.join(prefix + k for k in fields)}"
            )
    for key, rule in fields.items():
        if key not in data:
            raise UserError(f"{where}: field {prefix}{key} is missing (docs/benchmark.md)")
        if isinstance(rule, dict):
            _check(data[key], rule, f"{prefix}{key}.", where)
            continue
        test, accepted = rule
        if not test(data[key]):
            field, value = f"{prefix}{key}", data[key]
            bad = [(k, v) for k, v in _rows(value) if not (_text(k) and _percent(v))]
            if bad:  # one row of a dict of percentages: named, not lost in a shortened dict
                (name, value), accepted = bad[0], "a percentage in [0, 100] under a row's name"
                field = f"{field}.{_key(name) if isinstance(name, str) else repr(name)}"
            raise UserError(
                f"{where}: field {field}={reprlib.repr(value)} is invalid; accepted: {accepted}"
            )


def _rows(value: Any) -> list[tuple[Any, Any]]:
    """The rows of a non-empty dict, none of anything else (a dict of percentages names its
    bad row)."""
    return list(value.items()) if isinstance(value, dict) else []


def slug(name: str) -> str:
    """``name`` as a file name: lower case, runs of other characters as one ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "entry"


def check_replaced(path: Path, own: dict[str, Any], argument: str, accepted: str) -> None:
    """Refuses, in one UserError line naming ``argument`` (``key=value``) and ``accepted``
    (where else the entry may go), to write over ``path`` anything but the entry of the same
    model run alike (``own``: its ``name`` and, once known, its ``weights`` hash and ``T``):
    another model's entry, the same weights' at another T or a file that is not an entry would
    be lost; the same model's is the same result, rewritten."""
    if not path.exists():
        return
    try:
        old = read_entry(path)
    except UserError:
        held = "a file that is not an entry"
    else:
        found = {
            "name": old["model"]["name"],
            "weights": old["provenance"]["weights"],
            "T": old["model"]["T"],
        }
        if all(found[k] == v for k, v in own.items()):
            return
        held = f"the entry of {found['name']!r} (weights {found['weights']}, T={found['T']})"
    raise UserError(
        f"{argument}: {path} holds {held}, which this entry would replace; accepted: "
        f"{accepted}, or {path} removed to replace it"
    )


def write_entry(entry: dict[str, Any], path: Path) -> Path:
    """Writes ``entry`` to ``path`` (folders made) and returns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(entry, indent=2) + "\n")
    return path


def read_entry(path: Path) -> dict[str, Any]:
    """The entry in ``path``, checked; one UserError line if it is not JSON or not an entry."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as err:
        why = "nested deeper than Python reads" if isinstance(err, RecursionError) else err
        raise UserError(
            f"{path}: not a JSON entry ({why}); accepted: a schema {SCHEMA} entry"
        ) from None
    return check_entry(data, path)
