"""Rows computed once per sweep (``attack.reuse``): a job of a multirun copies every row that
an earlier job of the same sweep computed with the same models and settings.

A sweep repeats rows in two ways. The ensemble (its components name their own gradient modes)
and the gradient-free methods (Square) do not read ``attack.grad_mode`` or ``attack.params``,
so a sweep over ``attack=`` (``experiments/digits_adversarial.yaml`` sweeps stbp, rga, bptr and
hart) would compute the same such row in every job that attacks the same models: on digits the
ensemble is most of a job's time. And two jobs can differ only in keys their models ignore
(standard training swept over ``train.adversary.grad_mode``): every row of the second is a
row of the first. So the first job that computes a row keeps it in the sweep folder
(``<sweep dir>/.rows/<key>.json``), and every later job of the sweep with the same key copies
it, whichever process runs it (the basic launcher, joblib, submitit) and across relaunches.
The copy names the job folder that computed it (``reused_from``: its path within the sweep
folder, which a moved or copied sweep keeps true; older records hold an absolute path). A
box's event attacks are copied together with the worst case over them (``event_worst_case``,
which takes each of their samples: kept beside the rows as ``worst-<key>.json``, its key
their keys as a set), or computed together; in any order of ``method=``, as every row.

The key (:func:`row_keys`) is everything that fixes the row: the weights and store keys of
the target and the source (a white-box row's leaves the source out), the result spec
(``records.cosmetic.what_runs``) without the adversary and with, of the methods, the row's own
settings alone (a sweep over ``method.pgd.steps`` copies the FGSM and ensemble rows), the EOT
draws the row averages (a sweep over ``attack.eot_samples`` copies Square's rows, and under a
random encoding an ensemble's, whose components take ``poisson_eot_samples``), the cosmetic
keys that change how it is computed (:data:`HOW`), the gradient mode unless the row ignores it,
the code that computes it (:data:`CODE`), and the row's name (its draws derive from it,
``evaluation.evaluator.row_seed``: the job's lists of radii and boxes are not in it).
Single runs keep nothing. A DDP job computes every row (its ranks must run the same attacks),
and so does a job that saves its adversarial examples (``attack.save_examples``), whose files
need the crafted tensors. Rows kept under another form of the key (by older code) are not
found, and computed again; delete ``.rows`` to recompute them after an uncommitted change of
an attack's code (a dirty tree's commit stays ``<commit>+dirty``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from torch import nn

from snnattack.attacks.crafting import ann_boxes
from snnattack.attacks.ensemble import ENSEMBLE, row_reads_job_mode
from snnattack.attacks.methods import takes_eot
from snnattack.attacks.parse import counts_events
from snnattack.errors import UserError, WriteError
from snnattack.evaluation.kept import check_kept
from snnattack.interop.common import AdaptedNet
from snnattack.records.checkpoints import weights, weights_id
from snnattack.records.cosmetic import what_runs
from snnattack.records.provenance import provenance
from snnattack.records.results import (
    COMPONENTS,
    AttackRow,
    JobRecord,
    complete_record,
    folder_order,
    typed_row,
    write_json,
)
from snnattack.settings import SOURCE_KEYS, AttackSpec, dotted_value

log = logging.getLogger(__name__)
T = TypeVar("T")  # what a kept file is read as
_unwritable: set[Path] = set()  # the sweeps whose rows could not be kept (warned once)

FOLDER = ".rows"  # below the sweep folder
# cosmetic keys that change how a row is computed, so its time, but not what it measures
# (deterministic=false: on a GPU, its last bits): a sweep over them compares speed, which
# copied rows would hide
HOW = (
    "deterministic",
    "threads",
    "malloc",
    "neuron_impl",
    "backend",
    "compile",
    "trainer.accelerator",
    "trainer.devices",
    "trainer.strategy",
    "trainer.num_nodes",
)
# what a row's key holds of the code that computes it (records.provenance): a relaunch after
# a change of the code (a commit, a version, torch) computes its rows again
CODE = ("version", "git_commit", "torch")


def about_weights(net: nn.Module) -> dict[str, Any]:
    """What a record says of the weights of ``net``, the network attacked (another library's
    as adapted: its body, named as the user's network): their count (``parameters``) and
    hash (``weights``: :func:`~snnattack.records.checkpoints.weights_id`), the same for one
    set of weights however it came (passed to the API, a ``checkpoint=`` file, a factory's
    own, the store): a benchmark ranks each set once."""
    own = net.body if isinstance(net, AdaptedNet) else net
    return {
        "parameters": sum(p.numel() for p in own.parameters()),
        "weights": weights_id(own),
    }


def sweep_folder() -> Path | None:
    """The folder of the multirun this job belongs to; None outside a multirun."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    return Path(HydraConfig.get().sweep.dir)


def _not_of_config(path: Path, config: Any) -> bool:
    """Whether the ``metrics.json`` at ``path`` cannot hold the finished record of the
    config ``config`` (the job's resolved config as JSON reads it back): its config, as the
    record's reader parses it, is another, read without building the record (its checks are
    most of the full check's cost: :func:`finished_in_sweep` asks it of every job folder
    there). False where the text is not a JSON object: the full check decides."""
    try:
        read = json.loads(path.read_text())
    except OSError:  # complete_record's None: read_record raises the same
        return True
    except ValueError:  # not JSON, not UTF-8: the full check's to say
        return False
    return isinstance(read, dict) and read.get("config", {}) != config


def finished_in_sweep(
    output_dir: Path,
    resolved: dict[str, Any],
    spec: dict[str, Any],
    n_rows: int,
    built: dict[str, tuple[str, str, str]],
) -> Path | None:
    """The job folder of this job's sweep, other than its own ``output_dir``, that holds this
    job's finished results (:func:`~snnattack.records.results.complete_record` for its result
    ``spec``, ``n_rows`` rows and models ``built`` from files) of the very config ``resolved``,
    its cosmetic keys too (a sweep over ``threads``, ``backend`` or
    ``dataset.params.num_workers`` compares speed: each of its jobs runs); None outside a
    multirun or where none does. A relaunch whose list of values changed (a refused value
    removed, one added) numbers its jobs' folders anew: a finished job would otherwise run
    again in another folder, and the sweep would show it twice.

    A folder whose record holds another config (:func:`_not_of_config`) is ruled out
    before its record is built, and the folders are read in order until one holds the job
    (docs/performance.md, "A relaunch's check of its sweep folder")."""
    folder = sweep_folder()
    if folder is None or not folder.is_dir():
        return None
    own = output_dir.resolve()
    config = json.dumps(resolved, sort_keys=True, default=str)
    # two configs that print alike are equal as JSON reads them back, but for NaN (not equal
    # to itself): a config with one (or the word in a string) is compared in full alone
    target = json.loads(config)
    cheap = "NaN" not in config
    found = sorted(folder.rglob("metrics.json"), key=lambda p: folder_order(p.parent, folder))
    for path in found:  # in order: a relaunch whose earliest folders hold it reads them alone
        job = path.parent
        if (cheap and _not_of_config(path, target)) or job.resolve() == own:
            continue
        try:
            done = complete_record(path, spec, n_rows, built)
        except UserError:  # other model weights there: not this job's results
            continue
        if done is not None and json.dumps(done.config, sort_keys=True, default=str) == config:
            return job
    return None


def row_keys(
    resolved: dict[str, Any],
    spec: dict[str, Any],
    specs: Sequence[AttackSpec],
    models: dict[str, dict[str, Any] | None],
    target: nn.Module,
    source: nn.Module | None,
    world_size: int,
) -> dict[int, str]:
    """The keys of the rows of ``specs``, by position: none unless ``attack.reuse`` is on, the
    job runs in one process and saves no examples. ``spec`` is the ``resolved`` config's
    result spec (:func:`~snnattack.records.results.result_spec`). ``models`` are the records
    of the target and the source (a stored model's carries its store ``key``; a model from a
    file or a factory has none, and its weights alone say which it is). A white-box row's key
    leaves the source out (its weights, store key and :data:`~snnattack.settings.SOURCE_KEYS`):
    a sweep over the source (``source_train``) copies the target's white-box rows."""
    attack = resolved["attack"]
    if not attack["reuse"] or world_size != 1 or attack["save_examples"]:
        return {}
    settings = copy.deepcopy(what_runs(spec))
    mode = {key: settings["attack"].pop(key, None) for key in ("grad_mode", "params")}
    extension = f"|{settings['attack'].pop('time_extension', None)}"  # read by a spiking crafter
    draws = {
        key: settings["attack"].pop(key, None) for key in ("eot_samples", "random_eot_samples")
    }
    settings["train"].pop("adversary", None)  # what training reads of it is in the store keys
    # the row's name holds its radius and box (below); the job's other radii and boxes change
    # none of its draws (row_seed): a sweep over eps=[8],[8,16] copies the 8/255 rows; the
    # analyses run after every row (evaluation/finish.py) and rows read none of their settings
    for key in ("eps", "boxes", "analysis"):
        settings.pop(key, None)
    stored = {role: (record or {}).get("key") for role, record in sorted(models.items())}
    how = {key: dotted_value(resolved, key) for key in HOW}
    made = provenance()
    how["code"] = [made[key] for key in CODE]
    methods, components = settings.pop("method"), settings.pop(COMPONENTS, {})
    target_only = {k: v for k, v in settings.items() if k not in SOURCE_KEYS}
    # the boxes crafting on an ANN (a missing source's is not: it has no rows): their rows read
    # no gradient mode
    anns = ann_boxes({"white": target, "black": source})
    mine = weights(target)  # hashed once: both boxes' keys hold it
    bases = {
        "white": [target_only, how, stored.get("target"), mine],
        "black": [settings, how, stored, mine, weights(source)],
    }
    base = {box: json.dumps(b, sort_keys=True, default=str) for box, b in bases.items()}
    reads_mode = "|" + json.dumps(mode, sort_keys=True, default=str)

    def own(spec: AttackSpec) -> str:
        """The settings of the row's own method (an ensemble's with its components) and the
        draws it averages: an ensemble's components' (their own, random EOT's included), the
        job's for a method that takes EOT (and the row's own, on a fixed forward beside a random
        one), none for the rest (Square)."""
        if spec.algorithm == ENSEMBLE:
            averaged: Any = [c.eot_samples for c in spec.params["components"]]
        else:
            averaged = [draws, spec.eot_samples] if takes_eot(spec.algorithm) else None
        return json.dumps(
            [methods[spec.method], components.get(spec.method), averaged],
            sort_keys=True,
            default=str,
        )

    def mode_of(spec: AttackSpec) -> str:
        """The gradient mode, where the row reads it: never on an ANN (it crafts by autograd),
        nor in the ensemble (its components name their own) or a gradient-free method
        (:func:`~snnattack.attacks.ensemble.row_reads_job_mode`, as the config's notes of an
        unread mode judge it); and the time extension, read by every row crafted on a spiking
        model (never an ANN's: it has no time steps)."""
        reads = row_reads_job_mode(spec, anns)
        return (reads_mode if reads else "") + ("" if spec.box in anns else extension)

    # the exact radius beside the name, which spells it to 6 digits: with the job's eps list
    # out of the key, eps=[16] and eps=[16.0000001] would share one
    return {
        i: hashlib.sha256(
            f"{base[spec.box]}|{own(spec)}{mode_of(spec)}|{spec.name}|{spec.eps!r}".encode()
        ).hexdigest()
        for i, spec in enumerate(specs)
    }


def _kept(path: Path, parse: Callable[[Any], T], what: str, again: str) -> T | None:
    """What ``parse`` makes of the JSON kept in ``path``; None if there is none, or (with a
    warning naming the file, the kept ``what`` and what is computed ``again``) if it is
    unusable (truncated, edited, another version: ``parse`` raises ValueError): that is
    computed again and the file replaced."""
    try:
        return parse(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        log.warning("kept %s %s is unusable (%s): computing %s again", what, path, err, again)
        return None


def _read(path: Path, spec: AttackSpec) -> AttackRow | None:
    """The row of ``spec`` kept in ``path`` (:func:`_kept`): unusable where it is not a row
    of this code's fields and types, or contradicts itself or ``spec``
    (:func:`~snnattack.evaluation.kept.check_kept`)."""

    def row(kept: Any) -> AttackRow:
        read = typed_row(kept)
        check_kept(read, spec)
        return read

    return _kept(path, row, "row", "the row")


def _worst_case(kept: Any) -> dict[str, Any]:
    """A kept worst case (:func:`_worst_file`): a dict of its methods, counts and histogram."""
    if not isinstance(kept, dict) or not {"methods", "n_correct", "l0_hist"} <= set(kept):
        raise ValueError("not a worst case")
    return kept


class Earlier(NamedTuple):
    """What an earlier job of the sweep computed that this one copies: rows by position, and
    the worst case over a box's event attacks (``event_worst_case``) where it copies every
    event row of that box."""

    rows: dict[int, AttackRow]
    worst: dict[str, dict[str, Any]]

    def worst_cases(
        self, computed: dict[str, dict[str, Any]], specs: Sequence[AttackSpec]
    ) -> dict[str, dict[str, Any]]:
        """The job's worst cases by box, in its boxes' order: those it ``computed`` and those
        it copies."""
        found = {**computed, **self.worst}
        return {box: found[box] for box in dict.fromkeys(s.box for s in specs) if box in found}


def _event_boxes(keys: dict[int, str], specs: Sequence[AttackSpec]) -> dict[str, list[int]]:
    """The positions of each box's event-attack rows (that have keys; an ensemble of event
    attacks only is one: :func:`~snnattack.attacks.parse.counts_events`), whose worst case
    takes each of their samples: they are copied together with it, or computed together."""
    boxes: dict[str, list[int]] = {}
    for i, spec in enumerate(specs):
        if i in keys and counts_events(spec.algorithm, spec.params):
            boxes.setdefault(spec.box, []).append(i)
    return boxes


def _worst_file(folder: Path, keys: dict[int, str], positions: list[int]) -> Path:
    """Where the worst case over the rows at ``positions`` is kept: named by their keys as a
    set, so a job listing the same event rows in another order (``method=[retime,sda]``
    after ``[sda,retime]``) finds it. A row's draws derive from its name, not its position
    (``evaluation.evaluator.row_seed``), and the worst case is a minimum per sample, so
    neither depends on the order."""
    digest = hashlib.sha256("|".join(sorted(keys[i] for i in positions)).encode()).hexdigest()
    return folder / FOLDER / f"worst-{digest}.json"


def _within(output_dir: Path, folder: Path) -> Path | None:
    """The job folder ``output_dir``'s path within the sweep's ``folder`` (``2``,
    ``lam0.5/seed0``; ``.`` for the sweep's own), both resolved; None where it is outside.
    One computation for what a kept row says of its job (:func:`origin`) and for finding the
    job's own rows again (:func:`_own`): the two must agree."""
    try:
        return output_dir.resolve().relative_to(folder.resolve())
    except ValueError:
        return None


def origin(output_dir: Path, folder: Path) -> str:
    """What a kept row says of the job folder ``output_dir`` that computed it
    (``reused_from``): its path within the sweep's ``folder`` (``2``, ``lam0.5/seed0``), which
    stays true when the sweep is moved or copied; its absolute path where it is outside."""
    within = _within(output_dir, folder)
    return str(output_dir) if within is None else within.as_posix()


def _own(output_dir: Path, folder: Path) -> Callable[[str | None], bool]:
    """Whether a kept row's origin (``reused_from``) is the job's own folder ``output_dir``:
    its path within the sweep's ``folder`` (:func:`origin`), or, kept by older code, an
    absolute path that ends with it (the sweep may have been elsewhere when the row was kept:
    moved, copied, reached through a link)."""
    found = _within(output_dir, folder)
    if found is None:  # a job folder outside its sweep's: its own path alone
        return lambda origin: origin == str(output_dir)
    within = found.parts

    def own(origin: str | None) -> bool:
        if origin is None:
            return False
        parts = Path(origin).parts
        return parts[-len(within) :] == within if Path(origin).is_absolute() else parts == within

    return own


def earlier_rows(
    keys: dict[int, str], specs: list[AttackSpec], folder: Path, output_dir: Path
) -> Earlier:
    """The rows another job of the sweep in ``folder`` computed, by position, and the worst
    cases of the boxes whose event rows are all among them (a box's event rows of which any
    is not, or whose worst case is not kept, are computed again, all of them). What this
    job's own folder, ``output_dir``, computed before is computed again: its results were
    removed to be replaced."""
    own = _own(output_dir, folder)
    found = {
        i: row
        for i, key in keys.items()
        if (row := _read(folder / FOLDER / f"{key}.json", specs[i])) and not own(row.reused_from)
    }
    worst = {}
    for box, positions in _event_boxes(keys, specs).items():
        kept = None
        if all(i in found for i in positions):
            kept = _kept(
                _worst_file(folder, keys, positions),
                _worst_case,
                "worst case",
                "the box's event rows",
            )
        if kept is None or own(kept.get("reused_from")):
            for i in positions:
                found.pop(i, None)
        else:  # its rows named in this job's order, as the worst case it computes names them
            worst[box] = {**kept, "methods": [specs[i].name for i in positions]}
    for i, row in found.items():
        log.info("reused row %s from %s", specs[i].name, folder / (row.reused_from or ""))
    return Earlier(found, worst)


def remember(
    keys: dict[int, str],
    specs: list[AttackSpec],
    record: JobRecord,
    output_dir: Path,
    folder: Path,
) -> None:
    """Keeps this job's shareable rows, and the worst cases over the event attacks it
    computed, for the later jobs of the sweep in ``folder``.

    The rows are an optimisation: if they cannot be written (a full disk, a file named
    ``.rows``), the job goes on, warning once per sweep (and process), and later jobs
    compute their rows themselves."""
    made = origin(output_dir, folder)
    kept = {
        folder / FOLDER / f"{key}.json": asdict(replace(row, reused_from=made))
        for key, row in ((keys[i], record.results[i]) for i in keys)
        if row.reused_from is None
    }
    for box, positions in _event_boxes(keys, specs).items():
        worst = record.event_worst_case.get(box)
        if worst is not None and "reused_from" not in worst:
            kept[_worst_file(folder, keys, positions)] = {**worst, "reused_from": made}
    for path, content in kept.items():
        try:
            write_json(path, content)
        except WriteError as err:
            if folder not in _unwritable:
                _unwritable.add(folder)
                log.warning(
                    "the sweep's rows are not kept: cannot write %s (%s); its later jobs "
                    "compute their rows again",
                    err.path,
                    err.reason,
                )
            return


class SweepRows(NamedTuple):
    """A job's rows as its sweep shares them: their ``keys`` (:func:`row_keys`), the sweep's
    ``folder`` (None outside a multirun, or for the API, which has no job folder: nothing is
    shared), the job's ``output_dir`` and what an ``earlier`` job of the sweep computed
    (:func:`earlier_rows`). The core reads it before the rows (:func:`sweep_rows`) and hands
    it the finished record after them (:meth:`remember`)."""

    keys: dict[int, str]
    specs: list[AttackSpec]
    folder: Path | None
    output_dir: Path | None
    earlier: Earlier

    def remember(self, record: JobRecord) -> None:
        """Keeps the shareable rows of the finished ``record`` for the sweep's later jobs
        (:func:`remember`)."""
        if self.folder is not None and self.output_dir is not None:
            remember(self.keys, self.specs, record, self.output_dir, self.folder)


def sweep_rows(
    resolved: dict[str, Any],
    spec: dict[str, Any],
    specs: list[AttackSpec],
    models: dict[str, dict[str, Any] | None],
    target: nn.Module,
    source: nn.Module | None,
    world_size: int,
    output_dir: Path | None,
) -> SweepRows:
    """The rows of ``specs`` as the job in ``output_dir`` shares them with its sweep (the
    arguments of :func:`row_keys`), with those an earlier job of the sweep computed."""
    folder = sweep_folder() if output_dir is not None else None
    if folder is None:
        return SweepRows({}, specs, None, output_dir, Earlier({}, {}))
    keys = row_keys(resolved, spec, specs, models, target, source, world_size)
    return SweepRows(keys, specs, folder, output_dir, earlier_rows(keys, specs, folder, output_dir))
