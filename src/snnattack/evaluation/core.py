"""The one evaluation of every entrance: ``python run.py`` (:mod:`snnattack.job`), the Python
API (:func:`snnattack.evaluate`) and the benchmark, both through the tail of the preparation
they share (:mod:`snnattack.preparation.evaluation`). Each entrance only sets up its process
(once), produces the typed settings, the models and the data and calls :func:`record_attacks`
once; all that surrounds the rows happens here, so the same model and settings give the same
record from each. It runs four steps, each entered once: the attacked
copies (:mod:`.attacked`: the refusal of what cannot run, the EOT draws of a target whose
forward is random, ``attack.random_eot_samples``, the copies with ``attack.fold_bn`` and
``compile``); seeded, the validation batch, the Lightning Trainer and the rows an earlier job
of the sweep computed (:mod:`.reuse`); the rows (tuning, the attacks under ``trainer.test``,
the masking checks); the record finished (:mod:`.finish`: the kinds of each row, a job's
annotations, what it keeps). :func:`attack_batch` is the same for one batch of one row
(:func:`snnattack.attack`): the attacked copy, the refusal, the EOT draws, the seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from snnattack.attacks.crafting import ann_boxes, craft
from snnattack.attacks.ensemble import ENSEMBLE, worst_case
from snnattack.attacks.methods import reads_recordings
from snnattack.attacks.parse import component_settings
from snnattack.attacks.tuning import prepared_specs, validation_batch
from snnattack.data import first_samples
from snnattack.data.recordings import Recordings
from snnattack.errors import UserError
from snnattack.evaluation.attacked import (
    attacked_copies,
    compiles,
    device_of,
    kept_attacked_copy,
    refuse_unattackable,
    with_random_eot,
)
from snnattack.evaluation.evaluator import AttackEvaluator
from snnattack.evaluation.finish import finished_record
from snnattack.evaluation.masking import job_masking_checks, probe_count
from snnattack.evaluation.reuse import sweep_rows
from snnattack.process.numerics import manual_seed
from snnattack.records.moments import now
from snnattack.records.provenance import provenance
from snnattack.records.results import JobRecord, result_spec
from snnattack.settings import AttackSettings, AttackSpec, JobSettings
from snnattack.training.fit import interrupts_raised, lightning_trainer


def record_under_test(
    attacked: tuple[nn.Module, nn.Module | None],
    specs: list[AttackSpec],
    settings: JobSettings,
    test: L.LightningDataModule | DataLoader,
    validation: tuple[torch.Tensor, torch.Tensor] | None,
    trainer: L.Trainer,
    *,
    models: dict[str, Any],
    config: dict[str, Any],
    result_spec: dict[str, Any],
    probed: nn.Module | None = None,
    reused: dict[int, Any] | None = None,
    recordings: Recordings | None = None,
) -> tuple[JobRecord, AttackEvaluator]:
    """The record of the attacks ``specs`` on the ``attacked`` (target, source) models, and
    the evaluator that ran them (its saved examples): the specs are tuned on the
    ``validation`` batch (None: nothing is tuned) and a universal row is fitted on it
    (:func:`~snnattack.attacks.tuning.prepared_specs`; a universal row is refused if None),
    every row runs under ``trainer.test`` on ``test`` (a datamodule's test split, or a
    loader), and where ``settings.masking`` enables them the masking checks probe ``probed``
    (the attacked target if None) on the first test images (on rank 0 only). ``models``,
    ``config`` (the resolved tree) and ``result_spec`` are written into the record as they
    are; ``reused`` are rows copied from an earlier job (:mod:`.reuse`), neither tuned nor
    run; ``recordings`` are the test split's raw events (a datamodule's own when None).
    All of it runs on the trainer's device (``strategy.root_device``), which the record names.
    Refuses a test split left empty (``trainer.limit_test_batches``)."""
    device = trainer.strategy.root_device  # this rank's GPU in a GPU job, known before the test
    target, source = (None if m is None else m.to(device) for m in attacked)
    if validation is not None:
        validation = (validation[0].to(device), validation[1].to(device))
    reused = reused or {}
    if recordings is None and any(reads_recordings(s.algorithm) for s in specs):
        recordings = test.recordings()  # an event datamodule (validation refuses the rest)

    attack = settings.attack
    evaluator = AttackEvaluator(
        target, source, specs, attack.recipe, attack.save_examples, reused, recordings
    )

    def prepared(specs: list[AttackSpec]) -> list[AttackSpec]:
        """``specs`` tuned and their universal rows fitted on ``validation``: inside
        ``trainer.test``, once every DDP rank has started (a rank started by the test would
        otherwise tune on its own after rank 0 had, while rank 0 waited for it)."""
        shown = settings.masking.progress
        return prepared_specs(
            attack, specs, target, source, validation, reused, shown, tuning_notes
        )

    tuning_notes: list[str] = []  # the tuning's, for the record beside the config's
    evaluator.prepare = prepared
    probed = target if probed is None else probed
    started = time.time()
    with interrupts_raised():
        if isinstance(test, L.LightningDataModule):
            trainer.test(evaluator, datamodule=test, verbose=False)
            test.trainer = None  # what reads it next sees the whole split, not its limit
            loader = test.test_dataloader()
        else:
            trainer.test(evaluator, dataloaders=test, verbose=False)
            loader = test
    seconds = round(time.time() - started, 1)
    if not evaluator.clean_result.get("n"):
        raise UserError(
            f"no test sample was attacked (trainer.limit_test_batches="
            f"{trainer.limit_test_batches}); accepted: a limit that leaves at least one "
            "batch, or null"
        )
    record = JobRecord(
        **evaluator.clean_result,
        results=evaluator.results,
        models=models,
        eot_samples=attack.recipe.eot_samples,
        attack_seconds=seconds,
        row_seconds=evaluator.timings,
        event_worst_case=evaluator.event_worst_case,
        world_size=trainer.world_size,
        device=str(device),
        config=config,
        result_spec=result_spec,
        notes=[*settings.notes, *(n for n in tuning_notes if n not in settings.notes)],
        finished=now(),
        **provenance(),
    )
    masking = settings.masking
    if masking.enabled and trainer.is_global_zero:
        probed.to(device)  # Lightning hands its modules back on the CPU after a GPU test
        x, y = first_samples(loader, probe_count(masking, record.n), device)
        targeted = {s.method for s in specs if s.targeted}
        record.masking = job_masking_checks(
            masking, attack.recipe, probed, record.results, x, y, targeted
        )
    return record, evaluator


@dataclass(frozen=True)
class RunSettings:
    """How an entrance has the evaluation run, as plain settings: the Lightning Trainer's
    keys (``trainer``: a job's ``trainer`` block, the API's one device), the job's registry of
    Trainers that a failed job tears down (``trainers``) and its ``loggers``, its folder
    (``output_dir``: the analyses and saved examples go there and the sweep's rows are kept;
    None, as for the API: neither), and ``keep``, what rank 0 does with the finished record
    (a job writes ``metrics.json``)."""

    trainer: Mapping[str, Any]
    trainers: list[L.Trainer] | None = None
    loggers: tuple[Any, ...] = ()
    output_dir: Path | None = None
    keep: Callable[[JobRecord], None] | None = None

    @classmethod
    def on(cls, device: torch.device, progress: bool) -> RunSettings:
        """The attacks on one ``device`` (the Python API's: its model's), showing the progress
        bar (rows, ensemble components, batches) if ``progress``, without a model summary or
        checkpoints, and nothing kept but the record returned."""
        cuda = device.type == "cuda"
        trainer = {
            "accelerator": "gpu" if cuda else "cpu",
            "devices": [device.index or 0] if cuda else 1,
            "enable_progress_bar": progress,
            "enable_model_summary": False,
            "enable_checkpointing": False,
        }
        return cls(trainer)


def record_attacks(
    settings: JobSettings,
    target: nn.Module,
    source: nn.Module | None,
    test: L.LightningDataModule | DataLoader,
    validation_data: L.LightningDataModule | Dataset | None,
    run_settings: RunSettings,
    *,
    models: dict[str, Any],
    config: dict[str, Any],
    recordings: Recordings | None = None,
) -> JobRecord:
    """The record of the attacks ``settings.specs`` on ``target`` (and, for the black box,
    ``source``), which stay as they are: the attacks run prepared copies. ``test`` is a
    datamodule (its test split) or a loader; tuning and universal fitting read the first
    ``attack.tune.val_size`` images of ``validation_data`` (a datamodule's validation split, or
    a dataset; None is refused where they are needed). ``models`` are the records of the target
    and the source (each with its ``kind``), ``config`` the resolved config; ``recordings``
    are the test split's raw events (:func:`record_under_test`). The four steps of the module
    docstring, in order; a random forward's EOT draws are probed on an unprepared copy of the
    target that the masking checks probe too, and rank 0 hands the finished record to
    ``run_settings.keep``."""
    configured = settings
    settings, source, attacked, probed = attacked_copies(settings, target, source, test)
    specs = list(settings.specs)
    L.seed_everything(settings.store.seed, workers=True, verbose=False)
    validation = validation_batch(settings, validation_data)
    # the components as configured, before random EOT raised their draws: what a job compares
    components = component_settings(configured.specs)
    spec = result_spec(config, components)
    trainer = lightning_trainer(
        dict(run_settings.trainer),
        run_settings.trainers,
        logger=list(run_settings.loggers) or False,
        inference_mode=False,  # the attacks differentiate the input
        default_root_dir=run_settings.output_dir,
    )
    world, output_dir = trainer.world_size, run_settings.output_dir
    sweep = sweep_rows(config, spec, specs, models, target, source, world, output_dir)
    record, evaluator = record_under_test(
        attacked,
        specs,
        settings,
        test,
        validation,
        trainer,
        models=models,
        config=config,
        result_spec=spec,
        probed=probed,
        reused=sweep.earlier.rows,
        recordings=recordings,
    )
    return finished_record(
        record,
        evaluator,
        settings,
        target,
        test,
        models,
        sweep,
        output_dir,
        run_settings.keep,
        rank_zero=trainer.is_global_zero,
    )


def attack_batch(
    spec: AttackSpec,
    attack: AttackSettings,
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    compared: bool = False,
) -> torch.Tensor:
    """Adversarial examples of the batch ``x`` with labels ``y`` (moved to ``model``'s
    device) by the one row ``spec`` (a method at its radius, the ensemble included), crafted
    by ``attack``'s recipe on an attacked copy of ``model`` that :func:`record_attacks` would make
    of a target (eval mode, BN folded where ``attack.fold_bn``, compiled where ``compile``;
    kept for the next call while ``model`` is unchanged; ``compared``: its entrance compared
    it at this call, :func:`~snnattack.evaluation.attacked.kept_attacked_copy`): ``model``
    stays as it is. As in
    :func:`record_attacks`, a gradient mode the model's own loop cannot take is refused, and where
    ``attack.random_eot_samples`` is set and the copy's forward is random on ``x``, every
    gradient averages at least that many draws; then the recipe's seed seeds the attack."""
    refuse_unattackable(attack, [spec], model, probed=False)  # no masking checks here
    crafter = kept_attacked_copy(
        model,
        fold_bn=attack.fold_bn,
        compiled=compiles(attack, [spec], ann_boxes({spec.box: model})),
        compared=compared,
    )
    # contiguous, as a job's batches are: a random start follows the strides of its images
    device = device_of(model)
    x, y = x.detach().to(device).contiguous(), y.to(device)
    attack, (spec,) = with_random_eot(attack, [spec], {spec.box: crafter}, x)
    recipe = attack.recipe
    manual_seed(recipe.seed)
    if spec.algorithm != ENSEMBLE:
        adv, _ = craft(spec.algorithm, crafter, x, y, spec.eps, spec.params, recipe)
        return adv

    def judge(batch: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return crafter(batch).argmax(1)

    parts = spec.params["components"]
    correct = judge(x) == y
    return worst_case(parts, crafter, judge, x, y, correct, spec.eps, recipe.time_extension).adv
