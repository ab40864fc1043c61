"""What a job adds to its record once the attacks and the masking checks are done
(:mod:`snnattack.evaluation.core`), on rank 0: the analyses and the saved adversarial
examples. A new addition is a function here, so the job's data flow
(:mod:`snnattack.job`) does not change."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from lightning import LightningDataModule
from torch import nn

from snnattack.analysis import run_analyses
from snnattack.evaluation import examples
from snnattack.evaluation.evaluator import AttackEvaluator
from snnattack.records.results import JobRecord
from snnattack.settings import JobSettings


def annotate(
    settings: JobSettings,
    record: JobRecord,
    target: nn.Module,
    evaluator: AttackEvaluator,
    datamodule: LightningDataModule,
    output_dir: Path,
) -> JobRecord:
    """``record`` with the configured analyses and saved examples added; the analyses read
    the job's ``datamodule``."""
    record.analyses = run_analyses(settings.analysis, target, datamodule)
    if settings.attack.save_examples:
        record.results = [
            replace(row, examples=examples.save(output_dir, row, parts))
            for row, parts in zip(record.results, evaluator.examples, strict=True)
        ]
    return record
