"""The one evaluation core of a job (``python run.py``, :mod:`snnattack.job`) and of the Python
API (:func:`snnattack.evaluate`): tuning on one validation batch, the attacks under a
Lightning Trainer's ``test``, the record, the masking checks. Both callers hand it what they
built (the attacked models, the rows, the typed settings, the test data), so a fix here
reaches both."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader

from snnattack.attacks.methods import reads_recordings
from snnattack.attacks.tuning import tune_specs
from snnattack.attacks.universal import fit_specs, universal_rows
from snnattack.data import first_samples
from snnattack.data.recordings import Recordings
from snnattack.errors import UserError
from snnattack.evaluation.checks import job_checks, probe_count
from snnattack.evaluation.evaluator import AttackEvaluator
from snnattack.records.provenance import provenance
from snnattack.records.results import JobRecord
from snnattack.settings import AttackSpec, JobSettings


def device_of(model: nn.Module) -> torch.device:
    """Where ``model`` runs: the device of its first parameter or buffer (else the CPU)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


@contextmanager
def _status(shown: bool, text: str) -> Iterator[None]:
    """A spinner naming ``text`` on the terminal while the block runs (if ``shown``)."""
    if not shown:
        yield
        return
    from rich.console import Console

    with Console().status(text):
        yield


def evaluation_record(
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
    (:mod:`snnattack.attacks.universal`; refused if None), every row runs under
    ``trainer.test`` on ``test`` (a datamodule's test split, or a loader), and where
    ``settings.checks`` enables them the masking checks probe ``probed`` (the attacked target
    if None; a job probes its trained target) on the first test images (on rank 0 only).
    ``models`` and ``config`` (the resolved tree) and ``result_spec`` (the config without its
    cosmetic keys) are written into the record as they are (and the settings' notes); ``reused``
    are rows copied from an earlier job (``evaluation/reuse.py``), neither tuned nor run;
    ``recordings`` are the test split's raw events, which an attack on them reads (a
    datamodule's own when None).
    All of it runs on the trainer's device (``strategy.root_device``), which the record names.
    Refuses a test split left empty (``trainer.limit_test_batches``)."""
    # where Lightning runs the test (this rank's GPU in a GPU job), known before it starts:
    # tuning, universal fitting and the masking checks run there too, and the record says it
    device = trainer.strategy.root_device
    target, source = (None if m is None else m.to(device) for m in attacked)
    if validation is not None:
        validation = (validation[0].to(device), validation[1].to(device))
    reused = reused or {}
    if recordings is None and any(reads_recordings(s.algorithm) for s in specs):
        recordings = test.recordings()  # an event datamodule (validation refuses the rest)

    def prepared(specs: list[AttackSpec]) -> list[AttackSpec]:
        """``specs`` tuned and their universal rows fitted on ``validation``: inside
        ``trainer.test``, once every DDP rank has started (a rank started by the test would
        otherwise tune on its own after rank 0 had, while rank 0 waited for it)."""
        if validation is not None:
            size = len(validation[1])
            with _status(settings.checks.progress, f"tuning on {size} validation images"):
                fitted = universal_rows(specs)  # fitted below, with the job's gradient mode
                specs = tune_specs(
                    settings.attack, specs, target, source, validation, {*reused, *fitted}
                )
        return fit_specs(settings.attack, specs, target, source, validation, skip=reused)

    attack = settings.attack
    evaluator = AttackEvaluator(
        target, source, specs, attack.recipe, attack.save_examples, reused, recordings, prepared
    )
    probed = target if probed is None else probed
    started = time.time()
    if isinstance(test, L.LightningDataModule):
        trainer.test(evaluator, datamodule=test, verbose=False)
        test.trainer = None  # what reads it next sees the whole split, not the trainer's limit
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
        attack_seconds=seconds,
        row_seconds=evaluator.timings,
        event_worst_case=evaluator.event_worst_case,
        world_size=trainer.world_size,
        device=str(device),
        config=config,
        result_spec=result_spec,
        notes=list(settings.notes),
        **provenance(),
    )
    checks = settings.checks
    if checks.enabled and trainer.is_global_zero:
        probed.to(device)  # Lightning hands its modules back on the CPU after a GPU test
        x, y = first_samples(loader, probe_count(checks, record.n), device)
        record.masking = job_checks(checks, attack.recipe, probed, record.results, x, y)
    return record, evaluator
