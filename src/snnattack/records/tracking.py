"""W&B dashboard of a sweep: training curves per stored model, one attack run per job, results.

With ``logger=wandb`` every model trained gets a run of ``job_type=train`` named from its
settings and role (``train λ=0.5 T=4 seed 0 [target] (6bcdfe40…)``, :func:`train_run_name`),
and every job a run of ``job_type=attack`` named from its command-line overrides, holding the
results table, the attack numbers in its summary and ``metrics.json``. All runs of a sweep
share one group, the sweep folder's date and time (e.g. ``2026-11-23/04-17-00``), and an
attack run's config names the store keys of the models it used (``store_keys``). Both kinds
of run write their files under the job's output folder and the report's run under the sweep
folder, so ``wandb sync <sweep>/wandb/offline-* <sweep>/*/wandb/offline-*`` uploads a whole
offline sweep. W&B's own console lines (its login's too, not its warnings and errors) are
off unless the run's ``logger.wandb.quiet=false``; one logged line per run says where it is.
If W&B cannot be reached, runs go offline with one printed line.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.loggers import CSVLogger, Logger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from snnattack.records.cosmetic import is_cosmetic_override
from snnattack.records.provenance import provenance
from snnattack.records.results import ROW_FIELDS, JobRecord, write_json
from snnattack.records.store import spec_key
from snnattack.settings import WANDB_MODES, TrackingSettings, row_name
from snnattack.values import one_of

CONFIG_COLUMNS = ("lambda", "T", "seed")  # the setting beside each row in the results table
TABLE_COLUMNS = (*CONFIG_COLUMNS, *ROW_FIELDS)

log = logging.getLogger(__name__)

# beside a job's metrics.json while its W&B attack run has yet to get the results: written
# before metrics.json, removed once log_results returned (a relaunch logs them where it stays)
PENDING = ".wandb_results_pending.json"

# Why W&B could not be reached, once it could not: later runs of the process go offline at once.
_offline_reason: str | None = None


def logged(value: float) -> torch.Tensor:
    """``value`` as a LightningModule logs it unrounded (``self.log``): a float64 tensor.
    Lightning makes a Python float a float32 tensor, so the CSV log and W&B's charts held
    ``clean_acc`` 70.66666412353516 where ``metrics.json`` and the W&B summary hold
    70.66666666666667."""
    return torch.tensor(value, dtype=torch.float64)


def sweep_group(output_dir: Path) -> str:
    """The sweep folder's date and time, e.g. ``2026-11-23/04-17-00``: a multirun's
    ``multirun/<date>/<time>``, a single run's own ``outputs/<date>/<time>``."""
    hydra = HydraConfig.get() if HydraConfig.initialized() else None
    folder = Path(hydra.sweep.dir) if hydra and hydra.mode == RunMode.MULTIRUN else output_dir
    return "/".join(folder.parts[-2:])


def run_name(overrides: list[str], cosmetic: list[str]) -> str:
    """The job's overrides that change results, e.g. ``attack=rga,lambda=0.9`` (or ``default``):
    not one of the ``cosmetic`` keys or below one (``store`` drops ``store.dir``), nor the choice
    of where the job runs (:func:`~snnattack.records.cosmetic.is_cosmetic_override`)."""
    kept = (o.lstrip("+") for o in overrides if not is_cosmetic_override(o, cosmetic))
    return ",".join(kept) or "default"


def train_run_name(
    spec: dict[str, Any], key: str, role: str, resumed_after: int | None = None
) -> str:
    """A training run's name from its settings, e.g. ``train λ=0.5 T=4 seed 0 [target]
    (6bcdfe40…)``: the kind of training when not STBP, the adversary of an adversarial
    training (:func:`adversary_words`), then leak and time steps (none for an ANN, whose spec
    has no neuron: it serves every λ and T) and seed, whether the job trained it as its target
    or black-box source, and the start of its store key; a training that a relaunch resumed
    after ``resumed_after`` epochs says so, apart from the stopped run of the same model."""
    train = spec.get("train") or {}
    kind = train.get("kind")
    neuron = spec.get("neuron") or {}
    words = ["train", *([kind] if kind and kind != "stbp" else [])]
    words += adversary_words(train.get("adversary"))
    words += [
        f"{k}={neuron[n]}" for k, n in (("λ", "lambda"), ("T", "T")) if neuron.get(n) is not None
    ]
    words += [f"seed {spec.get('seed')}"]
    words += [f"[{role}]", f"({key[:8]}…)"]
    if resumed_after is not None:
        words.append(f"resumed after {resumed_after} epochs")
    return " ".join(words)


def adversary_words(adversary: dict[str, Any] | None) -> list[str]:
    """An adversarial training's method, the gradient mode it crafts with where the trained
    model is an SNN (an ANN's spec has none), and its ε in 1/255, e.g. ``pgd/rga ε=16``; none
    for standard training. Without them a sweep over ``train.adversary.method`` or its
    ``grad_mode`` would give train runs of one name, told apart by their store keys' hashes
    alone."""
    if not adversary or adversary.get("method") is None:
        return []
    mode = adversary.get("grad_mode")
    method = adversary["method"] + (f"/{mode}" if mode else "")
    return [method, f"ε={adversary.get('eps')}"]


def run_tags(tracking: TrackingSettings) -> list[str]:
    """An attack run's tags: dataset, model and gradient mode, then the user's ``tags``."""
    t = tracking
    return list(dict.fromkeys([t.dataset, t.model, t.grad_mode, *t.tags]))


def train_tags(tracking: TrackingSettings, role: str, model: str | None = None) -> list[str]:
    """A training run's tags: dataset, the ``model`` it trains (None: the job's), ``target``
    or ``source``, then the user's ``tags`` (no gradient mode: a stored model serves every
    mode's jobs). A ``source_model=`` source is its own architecture, not the target's."""
    return list(dict.fromkeys([tracking.dataset, model or tracking.model, role, *tracking.tags]))


def start_run(w: Mapping[str, Any], save_dir: Path, **init: Any) -> Any:
    """A new W&B run (``wandb.init``) of the ``logger.wandb`` settings ``w`` under
    ``save_dir``, offline if W&B cannot be reached; ``init`` are further ``wandb.init``
    arguments (``job_type`` and ``name`` at least). Every run of the project starts here: a
    job's train and attack runs, the report's and a benchmark entry's."""
    import wandb

    global _offline_reason
    one_of(*WANDB_MODES).check("logger.wandb.mode", w["mode"])
    mode = "offline" if w["mode"] == "online" and _offline_reason else w["mode"]
    save_dir.mkdir(parents=True, exist_ok=True)
    # W&B's informational lines off when quiet (its login's 'Loaded credentials ...' too), never
    # its warnings and errors: wandb.setup sets them once a process, wandb.termsetup (wandb's
    # export) again for each later run (a multirun's jobs, the API's calls) from its show_info
    setup = wandb.setup(wandb.Settings(mode=mode, show_info=not w["quiet"]))
    wandb.termsetup(setup.settings, None)
    kwargs = {
        "project": w["project"],
        "entity": w["entity"],
        "dir": str(save_dir),
        "reinit": "finish_previous",
        # the run's own lines (a notebook's too, which W&B shows as HTML): silent=quiet
        "settings": wandb.Settings(init_timeout=w["init_timeout"], silent=w["quiet"]),
        **init,
    }
    try:
        run = wandb.init(mode=mode, **kwargs)
    except wandb.errors.Error as err:
        if mode != "online":
            raise
        _offline_reason = str(err).strip().splitlines()[0]
        print(
            f"W&B unreachable ({_offline_reason}): logging offline under {save_dir}/wandb; "
            "upload later with `wandb sync`",
            file=sys.stderr,
        )
        run = wandb.init(mode="offline", **kwargs)
    if mode != "disabled":
        offline = run.settings.mode == "offline"
        where = Path(run.dir).parent if offline else run.url  # offline: for `wandb sync`
        log.info("W&B %s run '%s' (%s): %s", init["job_type"], run.name, run.settings.mode, where)
    return run


def lightning_run(w: Mapping[str, Any], save_dir: Path, **init: Any) -> Any:
    """A run of :func:`start_run` in ``w``'s group, else its sweep's, that a Lightning logger
    writes: Lightning's x axis, as WandbLogger sets it for the runs it creates itself."""
    run = start_run(w, save_dir, group=w["group"] or sweep_group(save_dir), **init)
    run.define_metric("trainer/global_step")
    run.define_metric("*", step_metric="trainer/global_step", step_sync=True)
    return run


class _TrainRunLogger(WandbLogger):
    """A W&B logger whose run ends with the training, before the next model's run starts."""

    @rank_zero_only
    def finalize(self, status: str) -> None:
        super().finalize(status)
        if self._experiment is not None:
            self._experiment.finish(exit_code=int(status == "failed"))


def train_loggers(
    tracking: TrackingSettings | None,
    spec: dict[str, Any],
    workdir: Path,
    resumed_after: int | None = None,
) -> list[Logger]:
    """Loggers of one model's training: a CSV log in the store's work folder (a resumed
    training's in ``resumed_after_<epochs>/``, as Lightning's would delete the earlier one) and,
    with ``logger=wandb``, a ``job_type=train`` run named from its settings
    (:func:`train_run_name`) in the job's group; a resumed training's is a new run whose name
    and config say after how many epochs it resumed (the stopped run was ended with its job).
    The model is the job's ``source`` when its seed is not the job's. ``tracking=None`` (a
    model trained outside a job): the CSV log only."""
    version = "" if resumed_after is None else f"resumed_after_{resumed_after}"
    out: list[Logger] = [CSVLogger(workdir, name="", version=version)]
    if tracking is None or not tracking.wandb:
        return out
    run = None
    if rank_zero_only.rank == 0:
        in_hydra = HydraConfig.initialized()  # the job's output folder, else the work folder
        job_dir = Path(HydraConfig.get().runtime.output_dir) if in_hydra else workdir
        key = spec_key(spec)
        role = "target" if spec.get("seed") == tracking.seed else "source"
        run = lightning_run(
            tracking.wandb,
            job_dir,
            name=train_run_name(spec, key, role, resumed_after),
            job_type="train",
            tags=train_tags(tracking, role, (spec.get("model") or {}).get("name")),
            config={
                **spec,
                "store_key": key,
                "resumed_after_epochs": resumed_after,
                "provenance": provenance(),
            },
        )
    out.append(_TrainRunLogger(experiment=run, save_dir=str(workdir)))
    return out


def attack_loggers(
    tracking: TrackingSettings,
    output_dir: Path,
    resolved: dict[str, Any],
    models: dict[str, dict | None],
) -> list[Logger]:
    """The job's loggers: CSV in the output folder and, with ``logger=wandb``, its attack run,
    whose config is the ``resolved`` tree and, as ``store_keys``, the store keys of the target
    and source in ``models`` (their training records), their training runs' names."""
    out: list[Logger] = []
    if tracking.csv:
        out.append(CSVLogger(output_dir, name="csv", version=""))
    if not tracking.wandb:
        return out
    run = None
    if rank_zero_only.rank == 0:
        overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
        store_keys = {role: r.get("key") for role, r in models.items() if r}
        run = lightning_run(
            tracking.wandb,
            output_dir,
            name=run_name(overrides, list(tracking.cosmetic_keys)),
            job_type="attack",
            tags=run_tags(tracking),
            config={**resolved, "store_keys": store_keys, "provenance": provenance()},
        )
    out.append(WandbLogger(experiment=run, save_dir=str(output_dir)))
    return out


def _attack_run(loggers: list[Logger]) -> Any:
    """The W&B run among a job's ``loggers``, or None."""
    return next((lg.experiment for lg in loggers if isinstance(lg, WandbLogger)), None)


def mark_results_pending(loggers: list[Logger], metrics_path: Path) -> None:
    """Notes beside ``metrics_path``, before the job writes it, that its W&B run (if any) has
    yet to get the results (:data:`PENDING`, naming the run): a stop between ``metrics.json``
    and the end of :func:`log_results` leaves it, and the relaunch, which skips the finished
    job, logs them (:func:`log_pending_results`)."""
    run = _attack_run(loggers)
    if run is not None and run.settings.mode != "disabled":
        note = {"run_id": run.id, "run_name": run.name, "metrics": str(metrics_path)}
        write_json(metrics_path.parent / PENDING, note)


def log_pending_results(
    tracking: TrackingSettings,
    output_dir: Path,
    resolved: dict[str, Any],
    record: JobRecord,
) -> None:
    """Logs the finished ``record`` of ``output_dir`` to a new attack run where its own run
    never got it (:data:`PENDING` left by a stop during its logging): a relaunch skipping the
    job, with W&B on, thus logs each job's results once. The first run, ended without them,
    stays in W&B under the same name."""
    pending = output_dir / PENDING
    if not pending.is_file() or tracking.wandb is None or tracking.wandb["mode"] == "disabled":
        return
    try:
        first = json.loads(pending.read_text()).get("run_id", "?")
    except (OSError, ValueError, AttributeError):
        first = "?"
    log.info("W&B run %s of this job ended without its results: logging them now", first)
    loggers = attack_loggers(replace(tracking, csv=False), output_dir, resolved, record.models)
    log_results(loggers, record, output_dir / "metrics.json")


def log_results(loggers: list[Logger], record: JobRecord, metrics_path: Path) -> None:
    """Adds the results table (:data:`TABLE_COLUMNS`), ``n``, ``n_correct``, clean accuracy and
    ``metrics.json`` (an artifact of type ``results``) to the job's W&B run, removes the note
    that the results were pending (:func:`mark_results_pending`), then ends the run."""
    run = _attack_run(loggers)
    if run is None:
        return
    import wandb  # only with a run: its import costs ~0.5 s a job

    setting = [record.setting(k) for k in CONFIG_COLUMNS]
    rows = [[*setting, *(getattr(r, k) for k in ROW_FIELDS)] for r in record.results]
    run.log(
        {"results": wandb.Table(columns=list(TABLE_COLUMNS), data=rows, allow_mixed_types=True)}
    )
    summary = {"clean_acc": record.clean_acc, "n": record.n}
    if record.source_clean_acc is not None:
        summary["source_clean_acc"] = record.source_clean_acc
    if record.results:
        summary["n_correct"] = record.results[0].n_correct  # the target's clean-correct
    for r in record.results:
        name = row_name(r.method, r.box, r.eps_255)
        summary.update({f"asr/{name}": r.asr, f"adv_acc/{name}": r.adv_acc})
        if r.targeted_asr is not None:  # a targeted row's share put in its target class
            summary[f"targeted_asr/{name}"] = r.targeted_asr
    run.summary.update(summary)
    artifact = wandb.Artifact(
        f"results-{run.id}", type="results", description=f"metrics.json of {run.name}"
    )
    artifact.add_file(str(metrics_path))
    run.log_artifact(artifact)
    # the results are W&B's once logged (a stop in finish leaves its local files for `wandb
    # sync`): the note goes first, so that a relaunch never logs them to a second run
    (metrics_path.parent / PENDING).unlink(missing_ok=True)
    run.finish()


@contextmanager
def closing_runs() -> Iterator[None]:
    """Ends any W&B run the job left open, also when it fails (exit code 1)."""
    try:
        yield
    except BaseException:
        _finish(exit_code=1)
        raise
    _finish(exit_code=0)


def _finish(exit_code: int) -> None:
    wandb = sys.modules.get("wandb")  # never imported: no run to end
    if wandb is not None and wandb.run is not None:
        wandb.finish(exit_code=exit_code)
