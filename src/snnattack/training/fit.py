"""Lightning fitting of one model with its ``train`` recipe: the step every trained kind shares.

SGD with cosine annealing (:class:`~snnattack.training.classifier.Classifier`), the best
validation checkpoint kept (its rule is :data:`~snnattack.training.classifier.SELECTION`), resume
from the store's work folder, every RNG reseeded at each epoch's start, and the job's loggers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from torch import nn

from snnattack.attacks.crafting import spiking
from snnattack.data import datamodule
from snnattack.errors import CheckpointError
from snnattack.process.distributed import RankWatch
from snnattack.process.numerics import lightning_deterministic
from snnattack.records.checkpoints import RefusedFile, load_tensors, unreadable
from snnattack.records.provenance import provenance
from snnattack.records.store import RESUME_FILE
from snnattack.records.tracking import train_loggers
from snnattack.settings import ModelSettings, TrackingSettings, thaw
from snnattack.training.adversaries.recipe import Adversary
from snnattack.training.classifier import Classifier

log = logging.getLogger(__name__)
# the step between the seeds of two DDP ranks' epochs: more epochs than any training runs
RANK_SEEDS = 1_000_003

Trained = tuple[nn.Module, dict[str, Any]]


@dataclass(frozen=True)
class TrainContext:
    """What a strategy gets to train one model (from ``training.trained.trained_model``).

    ``seed``: the model's seed. ``spec``: its store key (it names the model's W&B run).
    ``trainers``: the job's list every Trainer joins (so DDP ranks are awaited at the end).
    ``base``: the model this kind starts from (``Strategy.base``), from the store or trained
    first, with its record; None for a kind that starts from scratch.
    """

    seed: int
    spec: dict[str, Any]
    trainers: list[L.Trainer]
    base: Trained | None = None
    tracking: TrackingSettings | None = None  # where its training run is logged (None: CSV only)


def fit(settings: ModelSettings, model: nn.Module, workdir: Path, ctx: TrainContext) -> Trained:
    """Lightning-fits ``model`` with the recipe of ``settings`` (its ``train`` and ``trainer``
    blocks) in ``workdir`` (resuming from its ``last.ckpt`` if there is one); the best
    validation checkpoint's weights are kept."""
    resume = workdir / RESUME_FILE
    resumed_from = _epochs_done(resume) if resume.exists() else None
    resuming = "" if resumed_from is None else f", resuming after {resumed_from} epochs"
    log.info("training model (seed %d) into %s%s", ctx.seed, workdir, resuming)
    train = settings.train
    module = Classifier(
        model,
        settings.tree["dataset"]["num_classes"],
        lr=train["lr"],
        momentum=train["momentum"],
        weight_decay=train["weight_decay"],
        nesterov=train["nesterov"],
        compile=settings.tree["compile"],
        adversary=Adversary.from_config(thaw(train.get("adversary")), spiking(model)),
    )
    best = ModelCheckpoint(dirpath=workdir, filename="best", monitor="val_score", mode="max")
    # every epoch's end (Lightning's save_last writes only when the best one improved), after
    # the best one's, so that a resumed run knows it
    last = ModelCheckpoint(
        dirpath=workdir, filename=Path(RESUME_FILE).stem, enable_version_counter=False
    )
    trainer = lightning_trainer(
        thaw(settings.tree["trainer"]),
        ctx.trainers,
        logger=train_loggers(ctx.tracking, ctx.spec, workdir, resumed_from),
        callbacks=[best, last, EpochSeed(ctx.seed), LearningRateMonitor(logging_interval="epoch")],
        default_root_dir=workdir,
    )
    trainer.fit(
        module,
        datamodule=datamodule(replace(settings.data, seed=ctx.seed)),
        ckpt_path=str(resume) if resume.exists() else None,
        weights_only=True,  # tensors and plain values: a resume file never runs code
    )
    if not trainer.is_global_zero:  # rank 0 stores the model; the store reads it back
        return model, {}
    # the best checkpoint stays until the store has written the model and dropped the resume
    # file (ModelStore._train): a job stopped in between resumes to this very selection
    state = _best_checkpoint(Path(best.best_model_path), workdir)
    model.load_state_dict(
        {k.removeprefix("model."): v for k, v in state["state_dict"].items()}, strict=True
    )
    return model, {
        "seed": ctx.seed,
        **module.validation_record(int(state["epoch"])),
        "best_epoch": int(state["epoch"]),
        "epochs": trainer.current_epoch,
        "resumed_after_epochs": resumed_from,
        "launches": module.launches(trainer.current_epoch),
        "train_seconds": round(module.fit_seconds(), 1),
        **module.cost_record(trainer.current_epoch),
        **provenance(),
    }


def _best_checkpoint(path: Path, workdir: Path) -> dict[str, Any]:
    """The best epoch's checkpoint ``path`` in the store's work folder ``workdir``, read as
    tensors only; one that cannot be read (the work folder is the user's too) or would run code
    is refused in one line naming it and the remedy, not torch's error at every relaunch."""
    remedy = f"delete the folder {workdir} to train this model from scratch"
    try:
        return load_tensors(path)
    except RefusedFile as err:
        raise CheckpointError(f"the training's best checkpoint {path} {err}; {remedy}") from None
    except Exception as err:  # any unreadable file is the same user-facing problem
        raise CheckpointError(
            f"the training's best checkpoint {path} is missing, corrupt or unreadable "
            f"({unreadable(path, err)}); {remedy}"
        ) from None


def _epochs_done(checkpoint: Path) -> int:
    """How many epochs a Lightning checkpoint saved at an epoch's end has finished (the store
    has checked that it reads as tensors and plain values: ``ModelStore._resumable``)."""
    return int(load_tensors(checkpoint)["epoch"]) + 1


class EpochSeed(L.Callback):
    """Reseeds every RNG at each epoch's start from (seed, epoch, DDP rank), so a resumed run
    draws what an uninterrupted one does (dropout, Poisson draws, augmentation) and each DDP
    process draws its own; rank 0's, a single process's, are those of (seed, epoch). Logs each
    epoch's start where no progress bar shows it (``trainer.enable_progress_bar=false``).

    A loader without workers draws its workers' seed from torch's generator at each pass (in a
    training's first epoch before the reseed); one with workers at its first pass only. So that
    a model be the same at any ``dataset.params.num_workers``, a training whose loaders have
    workers takes that draw where its loader does not: after the reseed at each epoch but the
    first, at each validation but the first. A resumed run's first epoch takes it after the
    reseed, as the uninterrupted run's did. The samples' own draws are seeded per sample
    (:class:`~snnattack.data.base.SeededSamples`)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.resumed_at: int | None = None  # the first epoch this training runs, if not 0
        self.validations = 0  # the validation passes this process has started

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.resumed_at = trainer.current_epoch or None

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        # numpy takes seeds below 2**32: a larger one wraps (below 42949 a seed is not changed)
        epoch = trainer.current_epoch
        seed = self.seed * 100_003 + epoch + RANK_SEEDS * trainer.global_rank
        L.seed_everything(seed % 2**32, verbose=False)
        workers = getattr(trainer.train_dataloader, "num_workers", 0)
        if epoch > 0 and (workers or epoch == self.resumed_at):
            torch.empty((), dtype=torch.int64).random_()  # the loader's draw, after the reseed
        level = logging.DEBUG if trainer.progress_bar_callback else logging.INFO
        log.log(level, "epoch %d of %d starts", trainer.current_epoch + 1, trainer.max_epochs)

    def on_validation_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        loaders = trainer.val_dataloaders
        first = loaders[0] if isinstance(loaders, list | tuple) and loaders else loaders
        if self.validations and getattr(first, "num_workers", 0):
            torch.empty((), dtype=torch.int64).random_()  # a loader without workers' draw
        self.validations += 1


@contextmanager
def interrupts_raised() -> Iterator[None]:
    """A Ctrl-C (KeyboardInterrupt) in a Trainer's run raised as itself: Lightning shuts the
    run down and then exits the process (``sys.exit(1)``), which a script's or a notebook's
    ``except KeyboardInterrupt`` around ``snnattack.evaluate`` would not catch."""
    try:
        yield
    except SystemExit as stop:
        if isinstance(stop.__context__, KeyboardInterrupt):
            raise stop.__context__ from None
        raise


def lightning_trainer(
    keys: dict[str, Any], trainers: list[L.Trainer] | None = None, **kwargs: Any
) -> L.Trainer:
    """The one place a Lightning Trainer is made (a job's training and attacks, the Python
    API's attacks): with the ``trainer`` keys ``keys`` and ``kwargs``, registered in the job's
    ``trainers`` (which a preempted or failed job tears down) where given. It keeps the
    process's deterministic kernels as the entrance set them (``deterministic``)."""
    callbacks = [*kwargs.pop("callbacks", []), RankWatch()]  # a DDP rank that stops: one line
    trainer = L.Trainer(
        **keys, deterministic=lightning_deterministic(), callbacks=callbacks, **kwargs
    )
    if trainers is not None:
        trainers.append(trainer)
    return trainer
