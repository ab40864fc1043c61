"""The Lightning module every kind of training fits with (:class:`Classifier`): a classifier
network trained with SGD and cosine annealing, an SNN by STBP (BPTT with surrogate gradients)
or its ANN counterpart (one time step, ``train.kind=ann``) by plain backpropagation.

Checkpoint selection (:data:`SELECTION`): the epoch with the highest validation accuracy, and
among epochs of equal accuracy the one with the lowest validation loss. A small validation
split (135 digits) often ties at the top accuracy in many epochs; plain "max val_acc" then keeps
the *first* of them, trained with the learning rate still high. The logged ``val_score`` is
``val_acc - (100 / n_val) * val_loss / (1 + val_loss)``: the loss term is smaller than one
validation sample's share of the accuracy, so it only ever breaks ties.
"""

from __future__ import annotations

import math
import time
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric, SumMetric
from torchmetrics.classification import MulticlassAccuracy

from snnattack.data.base import is_padding
from snnattack.errors import TrainingError
from snnattack.process.clock import Spans
from snnattack.process.numerics import COMPILE_OPTIONS
from snnattack.records.provenance import LAUNCH, launch_provenance
from snnattack.records.tracking import logged
from snnattack.training.adversaries.recipe import Adversary

SELECTION = "max val_acc, ties broken by min val_loss (monitor val_score)"
# How models are trained and selected, in the store key (not SELECTION's wording, which would
# retrain every model when reworded): raise it when the training code or the selection rule
# changes what a stored model is, so that older models are trained again.
TRAINING_VERSION = 2
# a training's cost in its record (:meth:`Classifier.cost_record`), which a model made from the
# trained one without training (a conversion) carries as its own
COST_KEYS = (
    "train_craft_seconds",
    "train_update_seconds",
    "train_loop_seconds",
    "adversary_gradients_per_epoch",
)


class Classifier(L.LightningModule):
    """Trains the classifier ``model`` with cross-entropy on its T-averaged logits, logging
    ``val_acc`` (%), ``val_loss`` and ``val_score`` every epoch (module doc).

    With an ``adversary`` (``train.adversary``) each batch is first replaced by the examples it
    crafts, and the loss is its method's; each batch's time is split into crafting and update,
    and the input-gradient evaluations counted (:meth:`cost_record`).

    No training step waits for the device: the times are CUDA events read once an epoch, and
    the losses are checked for a divergence at each logging step (when Lightning reads them
    anyway) and at the epoch's last batch.
    """

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        nesterov: bool = False,
        compile: bool = False,
        adversary: Adversary | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        # the call of standard training and validation steps: torch.compile'd (``compile=true``)
        # or plain (an adversary uses ``model``); a bound method, not a module, so checkpoints
        # keep the plain ``model.`` keys (no ``_orig_mod.``)
        self.run_model = (
            torch.compile(model.forward, options=COMPILE_OPTIONS) if compile else model.__call__
        )
        self.lr, self.momentum = lr, momentum
        self.weight_decay, self.nesterov = weight_decay, nesterov
        self.train_acc = MulticlassAccuracy(num_classes, average="micro")
        self.val_acc = MulticlassAccuracy(num_classes, average="micro")
        self.val_loss = MeanMetric()
        self.val_n = SumMetric()
        self.history: dict[int, dict[str, float]] = {}
        self.adversary = adversary
        self.cost = {"craft_seconds": 0.0, "update_seconds": 0.0, "adversary_gradients": 0}
        self.earlier_seconds = 0.0  # the fit's wall time in the processes it resumes after
        self.earlier_launches: list[dict[str, Any]] = []  # the launches it resumes after
        self._fit_start = time.time()  # made just before it is fitted
        self.batch_spans, self.craft_spans = Spans(), Spans()  # not yet in ``cost``
        self._batch_start: Any = None  # the running batch's start mark
        # (epoch, step of the epoch, global step, loss) of the steps not yet checked
        self._losses: list[tuple[int, int, int, torch.Tensor]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run_model(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], step: int) -> torch.Tensor:
        x, y = batch
        if self.adversary is None:
            logits = self.run_model(x)
            loss = F.cross_entropy(logits, y)
        else:
            start = Spans.mark(self.device)
            adv = self.adversary.craft(self.model, x, y, self.current_epoch, self._random(x))
            self.craft_spans.add(start, Spans.mark(self.device))
            # every DDP process crafts an equal share of the global batch (Lightning's
            # distributed sampler gives each the same count), and rank 0 writes the record
            crafted = len(x) * self.trainer.world_size
            self.cost["adversary_gradients"] += self.adversary.n_steps * crafted
            loss, logits = self.adversary.loss(self.model, x, adv, y)
        self._losses.append((self.current_epoch, step, self.global_step, loss.detach()))
        self.train_acc.update(logits, y)
        if self._logging_at(self.global_step):  # self.log at every step: ~10 % of a training
            self.log("train_loss", loss, prog_bar=True)
        return loss

    def _logging_at(self, step: int) -> bool:
        """Whether Lightning hands the values of global step ``step`` (0-based) to the
        loggers: every ``trainer.log_every_n_steps`` steps, every step of a fast dev run."""
        every = self.trainer.log_every_n_steps
        return bool(self.trainer.fast_dev_run) or (
            bool(every) and ((step + 1) % every == 0 or self.trainer.should_stop)
        )

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._batch_start = Spans.mark(self.device)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.batch_spans.add(self._batch_start, Spans.mark(self.device))
        last = batch_idx + 1 == self.trainer.num_training_batches
        if last or self._logging_at(self.global_step - 1):  # the optimiser has stepped
            self._check_losses()

    def on_train_epoch_end(self) -> None:
        self._settle_times()
        # a percentage, as val_acc is (one chart shows both)
        self.log("train_acc", logged(100.0 * float(self.train_acc.compute())))
        self.train_acc.reset()

    def _check_losses(self) -> None:
        """Raises at the first unchecked step whose loss is not finite (one host sync)."""
        losses, self._losses = self._losses, []
        if not losses:
            return
        finite = torch.isfinite(torch.stack([loss for *_, loss in losses]))
        if bool(finite.all()):
            return
        epoch, step, global_step, loss = losses[int((~finite).nonzero()[0, 0])]
        raise TrainingError(
            f"training diverged: the loss is {loss.item()} at epoch {epoch}, "
            f"step {step} of the epoch (global step {global_step}); nothing was "
            "stored; accepted: a smaller train.lr (or a gradient clip, "
            "trainer.gradient_clip_val)"
        )

    def _settle_times(self) -> None:
        """Adds the batches' times since the last call to ``cost``: crafting, and the rest of
        each batch (forward, backward, optimiser step) as update."""
        crafting = self.craft_spans.settle()
        self.cost["craft_seconds"] += crafting
        self.cost["update_seconds"] += self.batch_spans.settle() - crafting

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        super().optimizer_step(*args, **kwargs)
        if self.adversary is not None:
            self.adversary.regularise(self.model, self._random(torch.zeros(())))

    def _random(self, like: torch.Tensor) -> torch.Generator:
        """A generator on ``like``'s device for this step's adversary draws, seeded from the
        epoch's seed (``EpochSeed``) and the step: a resumed run draws the same numbers."""
        generator = torch.Generator(device=like.device)
        return generator.manual_seed(hash((torch.initial_seed(), self.global_step)) % 2**63)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        if is_padding(self.trainer.val_dataloaders):  # a rank with no batch of its own
            return
        x, y = batch
        logits = self.run_model(x)
        self.val_acc.update(logits, y)
        self.val_loss.update(F.cross_entropy(logits, y), weight=len(y))
        self.val_n.update(len(y))

    def on_validation_epoch_end(self) -> None:
        acc = 100.0 * float(self.val_acc.compute())
        loss, n = float(self.val_loss.compute()), float(self.val_n.compute())
        for metric in (self.val_acc, self.val_loss, self.val_n):
            metric.reset()
        score = selection_score(acc, loss, n)
        self.log_dict(
            {"val_acc": logged(acc), "val_loss": logged(loss), "val_score": logged(score)},
            prog_bar=True,
        )
        if not self.trainer.sanity_checking:
            self.history[self.current_epoch] = {"val_acc": acc, "val_loss": loss}

    def fit_seconds(self) -> float:
        """The fit's wall time (validation and start-up included), summed over the launches
        that trained it up to their last checkpoint (under DDP this process's: rank 0's is
        recorded, not the processes' sum)."""
        return self.earlier_seconds + time.time() - self._fit_start

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._settle_times()
        checkpoint["validation_history"] = self.history  # a resumed run still knows every epoch
        checkpoint["training_cost"] = dict(self.cost)  # and the cost of the epochs done
        checkpoint["fit_seconds"] = self.fit_seconds()
        checkpoint["launches"] = self.launches(int(checkpoint["epoch"]) + 1)  # at an epoch's end

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.history = dict(checkpoint.get("validation_history", {}))
        self.cost.update(checkpoint.get("training_cost", {}))
        self.earlier_seconds = float(checkpoint.get("fit_seconds", 0.0))
        # a resume file written before a key: its launches' processes, code, machine not known
        unknown = dict.fromkeys(("epochs", "world_size", *LAUNCH))  # in the record's order
        done = [{"epochs": [0, int(checkpoint["epoch"]) + 1]}]
        launches = checkpoint.get("launches", done)
        self.earlier_launches = [{**unknown, **launch} for launch in launches]

    def launches(self, epochs: int) -> list[dict[str, Any]]:
        """Every launch that trained it, oldest first, this one's up to ``epochs`` epochs
        done: the epochs each ran (``[first, end)``), its ``world_size`` and its code and
        machine (:func:`~snnattack.records.provenance.launch_provenance`; None: not known). A
        resumed training is reproduced only with each launch's: each changes every later step."""
        first = self.earlier_launches[-1]["epochs"][1] if self.earlier_launches else 0
        this = {
            "epochs": [first, epochs],
            "world_size": self.trainer.world_size,
            **launch_provenance(),
        }
        return [*self.earlier_launches, this]

    def cost_record(self, epochs: int) -> dict[str, Any]:
        """The training time split into crafting and update (seconds, summed over the
        ``epochs`` trained, resumed ones included) and the adversary's input-gradient
        evaluations (one per sample and step) per epoch."""
        craft, update = self.cost["craft_seconds"], self.cost["update_seconds"]
        values = (
            round(craft, 2),
            round(update, 2),
            round(craft + update, 2),
            self.cost["adversary_gradients"] // max(epochs, 1),
        )
        return dict(zip(COST_KEYS, values, strict=True))

    def validation_record(self, epoch: int) -> dict[str, Any]:
        """Validation accuracy and loss of ``epoch`` (the selected one) and the rule used."""
        return {**self.history[epoch], "selection": SELECTION}

    def configure_optimizers(self):
        opt = torch.optim.SGD(
            self.parameters(),
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            nesterov=self.nesterov,
        )
        epochs = max(int(self.trainer.max_epochs or 1), 1)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}


def selection_score(acc: float, loss: float, n: float) -> float:
    """Accuracy (%) minus less than one sample's share (100/n) of it, growing with the loss."""
    if not math.isfinite(loss):
        return acc - 100.0 / n
    return acc - (100.0 / n) * loss / (1.0 + loss)
