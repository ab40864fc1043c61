"""The entry of a ``run.py`` job launched on a protocol file (a Hydra callback).

Each protocol file registers it (``hydra.callbacks.benchmark_entry``): after every job that
wrote ``metrics.json``, it writes ``entry.json`` beside it (the target's parameter count and
weights hash as the job recorded them), and with ``logger=wandb`` logs it as a W&B run
(:mod:`snnattack.benchmark.wandb_run`). The entry records the hash of the protocol file and
every setting of :data:`PROTECTED` that differs from the file's (the command line's or a
config's built on the file), and the ``train`` settings that train its standard surrogate
alone (:func:`overridden`), all taken when the job starts; the leaderboard ranks only an
entry of the released file with nothing overridden. Before the job starts, its ``benchmark``
block is checked (:func:`start`: one line, exit 2, nothing written; a sweep's job refused so
is recorded as its other refused jobs are, and the others run); an entry that cannot be made
once the job ran is one line, its results kept, no entry written, and the command exits 2 at
its end.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from snnattack.benchmark import leaderboard
from snnattack.benchmark.entry import (
    check_replaced,
    check_reported,
    from_record,
    methods_made,
    read_entry,
    weights_of,
    write_entry,
)
from snnattack.benchmark.protocol import PROTOCOL_DIR, Protocol, leaves, protocol
from snnattack.benchmark.release import recorded, sha256_of
from snnattack.benchmark.wandb_run import log_entry
from snnattack.config.compose import hydra_value
from snnattack.config.validation import checked
from snnattack.errors import UserError
from snnattack.interop.external import is_external
from snnattack.records.failures import FAILURES, failures
from snnattack.records.files import file_size
from snnattack.records.launches import LAUNCHES
from snnattack.records.results import read_record
from snnattack.runtime.cli import fail_at_end, refuse
from snnattack.runtime.lifecycle import (
    every_job_refused,
    job_folders,
    refuse_when_run,
    restore_kept,
)
from snnattack.settings import SOURCE_KEYS
from snnattack.training.parse import source_key

log = logging.getLogger(__name__)

# the entries of a benchmark sweep's jobs: in job folders at any depth below the sweep folder
# (hydra.sweep.subdir=a/s${seed}, a swept checkpoint=models/a.pt in its folder's name), not in
# the sweep folder itself
ENTRIES = "*/**/entry.json"


def protocol_folder(hydra: Any) -> Path:
    """The folder of the protocol file the job was launched on (``-cd``), as Hydra records it
    in ``hydra`` (its config node)."""
    for source in hydra.runtime.config_sources:
        if source.provider == "command-line" and source.schema == "file":
            return Path(source.path)
    return PROTOCOL_DIR


# the keys of a job's config that make a protocol what it is: its attacks and their settings,
# radii, boxes, seeds, test subset, data, standard surrogate and masking checks. A job on a
# protocol file may set the model's own keys (model, T, lambda, encoding, encoding_levels,
# checkpoint, train where the job trains its model, ...) and the entry's names (benchmark.name,
# paper, venue, training, reported), nothing of these; train and trainer keys that train only
# the standard surrogate are found by :func:`overridden`.
PROTECTED = (
    "method",
    "attack",
    "eps",
    "boxes",
    "seed",
    "eval_batch_size",
    "trainer.limit_test_batches",
    "dataset",
    *SOURCE_KEYS,
    "checks.masking",
    "benchmark.protocol",
    "benchmark.version",
    "benchmark.stochastic_eot",
)


@dataclass(frozen=True)
class Started:
    """What a job on a protocol file was started with: the hash of the protocol file and the
    settings that differ from it (``key=value``; ``~key`` for a key the job dropped)."""

    protocol_sha256: str
    overrides: list[str]


def settings(cfg: DictConfig) -> dict[str, Any]:
    """The :data:`PROTECTED` keys of ``cfg`` as written (interpolations unresolved), by
    dotted key of each leaf or list; ``method`` holds the names of the methods chosen, their
    settings below it; the cosmetic ones below them (``cosmetic_keys``: ``attack.reuse``, the
    data's folder) left out."""
    cosmetic = [str(k) for k in cfg.get("cosmetic_keys") or ()]
    found = {}
    for key in PROTECTED:
        value = OmegaConf.select(cfg, key, default=None)
        value = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
        below = tuple(c for c in cosmetic if c.startswith(f"{key}."))
        if key == "method" and isinstance(value, dict):  # a method's settings alone: not chosen
            chosen = [k for k, v in value.items() if isinstance(v, dict) and "name" in v]
            pairs = [("method", sorted(chosen)), *leaves(value, "method.")]
        else:
            pairs = leaves({key: value}, "")
        found.update((k, v) for k, v in pairs if not k.startswith(below))
    return found


def overridden(job: DictConfig, reference: DictConfig) -> list[str]:
    """The :data:`PROTECTED` settings of ``job`` that differ from ``reference`` (the config the
    protocol file composes alone); ``attack.eot_samples`` or ``attack.random_eot_samples`` at
    the protocol's ``benchmark.stochastic_eot`` is not one (a stochastic model's EoT, set or
    left to the core's probe of the model: docs/benchmark.md).

    Then, in a job that attacks a model it does not train (``checkpoint=``,
    ``model=external``), the ``train`` and ``trainer`` settings that train its standard
    surrogate otherwise: there ``train.epochs=1`` changes only the transfer rows, a setting
    of the protocol, not of the model (a job that trains its model trains the surrogate by
    the model's recipe). Each differing one is tried alone on ``reference``: one the
    surrogate's store key leaves out (``train.kind``, which ``source_train`` replaces, the
    trainer's accelerator) is none."""
    ours, theirs = settings(job), settings(reference)
    stochastic = theirs.get("benchmark.stochastic_eot")
    eot = [("attack.eot_samples", stochastic), ("attack.random_eot_samples", stochastic)]
    both = set(ours.get("method", [])) & set(theirs.get("method", []))
    found = []
    for key in dict.fromkeys([*theirs, *ours]):
        method = key.split(".")[1] if key.startswith("method.") else None
        if method is not None and method not in both:
            continue  # a method added or dropped: the list of methods says it
        if key not in ours:
            found.append(f"~{key}")
        elif (key not in theirs or ours[key] != theirs[key]) and (key, ours[key]) not in eot:
            found.append(f"{key}={hydra_value(ours[key])}")
    trains_model = job.get("checkpoint") is None and not is_external(job)
    if trains_model or "black" not in job.boxes or job.get("source_checkpoint") is not None:
        return found  # no surrogate, or one trained by the model's own recipe
    # without the hydra node, whose interpolations only a running job resolves
    file = OmegaConf.masked_copy(reference, [k for k in reference if k != "hydra"])
    standard = source_key(file)
    job_training, file_training = (
        dict(leaves({k: OmegaConf.to_container(c[k]) for k in ("train", "trainer")}, ""))
        for c in (job, reference)
    )
    for key, value in job_training.items():
        if key in file_training and value == file_training[key]:
            continue
        alone = copy.deepcopy(file)
        OmegaConf.update(alone, key, value, merge=False, force_add=True)
        if source_key(alone) != standard:
            found.append(f"{key}={hydra_value(value)}")
    return found


def reference(chosen: Protocol) -> DictConfig:
    """The config the protocol file composes with nothing set, by the running app's loader
    (its search path: the ``-cd`` folder, then ``conf/``)."""
    loader = GlobalHydra.instance().config_loader()
    return loader.load_configuration(chosen.label, overrides=[], run_mode=RunMode.RUN)


def start(cfg: DictConfig, protocols: Path, folder: Path) -> Started:
    """Checks the job's ``benchmark`` block before any work (its protocol and version have a
    file in ``protocols`` whose keys are readable and known (:meth:`Protocol.check_file`), it
    names its model, its reported numbers are percentages by the protocol's row names, its
    methods are the package's, the job folder ``folder`` holds no other model's entry) and
    returns what it starts with; one UserError line naming the key otherwise."""
    block = cfg.get("benchmark") or {}
    chosen = protocol(
        block.get("protocol"), block.get("version"), folder=protocols, argument="benchmark.protocol"
    )
    chosen.check_file()  # the file's own mistakes, named with it (a drafted file's typo)
    reported = block.get("reported")
    reported = OmegaConf.to_container(reported) if OmegaConf.is_config(reported) else reported
    name = block.get("name")
    if name in (None, ""):  # found after the job ran, it would leave the job without its entry
        raise UserError(
            'benchmark.name is not set; accepted: benchmark.name="<the model\'s name>" (the '
            "entry's model)"
        )
    check_reported(reported, "benchmark.reported", chosen.measures.rows)
    own = [m for m in cfg.get("method") or {} if m not in methods_made()]
    if own:  # found after the job ran, its row would leave the job without its entry
        raise UserError(
            f"method.{own[0]} is not a method of the package (conf/method/), and an entry's rows "
            f"are; accepted: the protocol's methods, or others of {', '.join(methods_made())}"
        )
    replaced(folder, {"name": name}, name)
    import snnattack.job  # noqa: F401  (declares every kind's rules; the job loads it next)

    # a config the job refuses: its refusal, never the notes first (the job's config: no hydra)
    checked(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), machine=False)
    started = Started(sha256_of(chosen.path), overrides=overridden(cfg, reference(chosen)))
    if started.protocol_sha256 != recorded(protocols).get(chosen.path.name):
        log.warning(
            "note: %s is not a released protocol file: its entry is ranked apart", chosen.path
        )
    if started.overrides:
        log.warning(
            "note: the protocol's settings overridden (%s): its entry is ranked apart",
            ", ".join(started.overrides),
        )
    return started


def replaced(folder: Path, own: dict[str, Any], name: Any) -> None:
    """Refuses a job whose folder holds the entry of another model than ``own`` (``name``:
    the job's ``benchmark.name``): :func:`~snnattack.benchmark.entry.check_replaced`."""
    accepted = "another hydra.run.dir (for a sweep another hydra.sweep.dir)"
    check_replaced(folder / "entry.json", own, f"benchmark.name={name!r}", accepted)


def job_entry(cfg: DictConfig, folder: Path, started: Started) -> Path | None:
    """Writes the entry of the job in ``folder`` to ``folder/entry.json``; None when the job
    wrote no record. An entry that cannot be made is a UserError line, ``no benchmark entry:``
    and why, nothing written (an entry.json there kept)."""
    metrics = folder / "metrics.json"
    if not metrics.is_file():
        return None
    try:
        record = read_record(metrics)
        entry = from_record(record, started.protocol_sha256, started.overrides)
        own = {"name": entry["model"]["name"], "weights": entry["provenance"]["weights"]}
        replaced(folder, {**own, "T": entry["model"]["T"]}, own["name"])  # the weights known now
        path = write_entry(entry, folder / "entry.json")
    except UserError as err:
        raise UserError(f"no benchmark entry: {err}") from None
    wandb_cfg = (cfg.get("logger") or {}).get("wandb")
    if wandb_cfg:
        log_entry(entry, dict(wandb_cfg), folder, list(cfg.get("tags") or []))
    return path


def own_entry(folder: Path) -> bool:
    """Whether the job folder's ``entry.json`` is the entry of its ``metrics.json``: of the
    model its record names, with the weights it attacked (an old entry kept beside new
    results, which :func:`job_entry` would not replace, is not)."""
    try:
        entry, record = read_entry(folder / "entry.json"), read_record(folder / "metrics.json")
    except (OSError, ValueError, UserError):
        return False
    name = (record.config.get("benchmark") or {}).get("name")
    weights = weights_of(record.models.get("target") or {})
    return entry["model"]["name"] == str(name) and entry["provenance"]["weights"] == weights


class EntryCallback(Callback):
    """Checks each job's ``benchmark`` block before it starts (:func:`start`; a refusal as the
    module says, a sweep's job's by :func:`~snnattack.runtime.lifecycle.refuse_when_run`),
    writes each finished job's ``entry.json`` (:func:`job_entry`), and at a multirun's end the
    leaderboard of its entries into the sweep folder (``leaderboard.md``, ``.html``; not of a
    file in a refused job's folder, the user's and no result of that job)."""

    def __init__(self) -> None:
        self.started: dict[str, Started] = {}  # by job folder
        self.failed: set[Path] = set()  # the job folders whose entry this process could not make
        self.failures_at = 0  # where this launch's lines of the sweep's failures.jsonl begin
        self.launches_at = 0  # and its record in launches.jsonl

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = Path(config.hydra.sweep.dir)
        self.failures_at = file_size(sweep / FAILURES)  # this launch's records: after these bytes
        self.launches_at = file_size(sweep / LAUNCHES)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = Path(config.hydra.sweep.dir)
        failed = failures(sweep, since=self.failures_at)
        if every_job_refused(sweep, failed, self.launches_at):
            return  # the launch is undone: the sweep's summary says why, in one line
        refused = {(sweep / job["folder"]).resolve() for job in failed}  # the summary's lines
        elsewhere = [  # jobs that ran in a launcher's workers, which said their line there
            folder.relative_to(sweep).as_posix()
            for folder in job_folders(sweep, None)  # at any depth: hydra.sweep.subdir=a/s0
            if (folder / "metrics.json").is_file()  # not a killed job's: its results are due
            and not own_entry(folder)
            and folder.resolve() not in self.failed | refused
        ]
        if elsewhere:
            fail_at_end(
                UserError(
                    f"no benchmark entry: the job{'s' * (len(elsewhere) > 1)} "
                    f"{', '.join(elsewhere)} of {sweep} ran and made none (each said why in its "
                    "own output: the launcher's workers'); accepted: the fix of each job's line, "
                    "then the sweep again (its attacks skipped: their results are there)"
                )
            )
        # a job refused as it started holds the user's file, which its refusal named (one that
        # is no entry, another model's): not a result; an entry of its own earlier run is one
        refused_here = [sweep / job["folder"] for job in failed if job.get("refused") is True]
        users = [folder for folder in refused_here if folder != sweep and not own_entry(folder)]
        if not leaderboard.candidates(sweep, ENTRIES, users):  # not the leaderboard command's line
            said = failed or self.failed or elsewhere  # the jobs' lines say why
            why = (
                "each failed job's line says why" if said else "no job folder holds its entry.json"
            )
            fail_at_end(
                UserError(
                    f"no leaderboard: no job of the sweep {sweep} made an entry ({why}); accepted: "
                    "the fix of each failed job's line, then the same command again (finished "
                    "jobs are skipped)"
                )
            )
            return
        try:
            files = leaderboard.write(
                sweep, sweep, protocol_folder(config.hydra), ENTRIES, left_out=users
            )
        except UserError as err:  # the jobs' results stand; the command exits 2 at its end
            fail_at_end(UserError(f"no leaderboard: {err}"))
            return
        log.info("benchmark leaderboard %s", files["html"])

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        hydra = HydraConfig.get()
        folder = hydra.runtime.output_dir
        try:
            self.started[folder] = start(config, protocol_folder(hydra), Path(folder))
        except UserError as err:
            if hydra.mode == RunMode.MULTIRUN:  # the job's own, as the job's other refusals
                refuse_when_run(Path(folder), err)
                return
            kept = restore_kept(Path(folder))  # as it was: a new one's dated parents gone
            refuse(err, None if kept else Path(folder))

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        hydra = HydraConfig.get()
        started = self.started.pop(hydra.runtime.output_dir, None)
        if started is None:  # refused as it started: the job recorded it, and wrote nothing
            return
        try:
            path = job_entry(config, Path(hydra.runtime.output_dir), started)
        except UserError as err:  # the job's results stand: exit 2 once the run has ended
            self.failed.add(Path(hydra.runtime.output_dir).resolve())
            fail_at_end(err)
            return
        if path is not None:
            log.info("benchmark entry %s", path)
