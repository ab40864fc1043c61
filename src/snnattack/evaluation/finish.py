"""The step of :mod:`snnattack.evaluation.core` after the rows: the record finished as every
entrance gets it. Each row says the kinds of its models, and each model whether it spikes
(:mod:`.kinds`); a job (one with a folder) adds, on rank 0, the configured analyses and the
saved adversarial examples (:func:`annotate`: a new addition is a function there, so the
core's data flow does not change); the worst cases of the event rows an earlier job of the
sweep computed join those the job computed; rank 0 hands the record to the entrance's ``keep``
and keeps the shareable rows for the sweep's later jobs (:mod:`.reuse`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from lightning import LightningDataModule
from torch import nn
from torch.utils.data import DataLoader

from snnattack.analysis import run_analyses
from snnattack.evaluation import examples
from snnattack.evaluation.evaluator import AttackEvaluator
from snnattack.evaluation.kinds import with_kinds, with_spiking
from snnattack.evaluation.reuse import SweepRows
from snnattack.records.results import JobRecord
from snnattack.settings import JobSettings


def finished_record(
    record: JobRecord,
    evaluator: AttackEvaluator,
    settings: JobSettings,
    target: nn.Module,
    test: LightningDataModule | DataLoader,
    models: dict[str, Any],
    sweep: SweepRows,
    output_dir: Path | None,
    keep: Callable[[JobRecord], None] | None,
    *,
    rank_zero: bool,
) -> JobRecord:
    """``record``, which ``evaluator`` made of the rows of ``settings`` on ``target``, finished
    (module docstring): ``models`` are the records of the target and the source (each with its
    ``kind``), ``test`` the job's datamodule, which the analyses read, ``sweep`` the rows the
    job shares with its sweep, ``output_dir`` the job's folder (where the examples go; None, as
    for the API: no analyses, no examples) and ``keep`` what rank 0 (``rank_zero``) does with
    the record."""
    crafting = {"white": settings.model, "black": settings.source}
    record.results = with_kinds(record.results, models["target"], models["source"], crafting)
    record.models = with_spiking(record.models)
    if rank_zero and output_dir is not None:
        record = annotate(settings, record, target, evaluator, test, output_dir)
    record.event_worst_case = sweep.earlier.worst_cases(record.event_worst_case, sweep.specs)
    if rank_zero and keep is not None:
        keep(record)
    if rank_zero:
        sweep.remember(record)
    return record


def annotate(
    settings: JobSettings,
    record: JobRecord,
    target: nn.Module,
    evaluator: AttackEvaluator,
    datamodule: LightningDataModule,
    output_dir: Path,
) -> JobRecord:
    """``record`` with the configured analyses and saved examples added; the analyses read
    the job's ``datamodule``, and their notes join the record's."""
    record.analyses = run_analyses(settings.analysis, target, datamodule, record.notes)
    if settings.attack.save_examples:
        record.results = [
            replace(
                row,
                examples=examples.save(output_dir, row, parts, record.version, record.git_commit),
            )
            for row, parts in zip(record.results, evaluator.examples, strict=True)
        ]
    return record
