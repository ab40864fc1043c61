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
from snnattack.training.adversary import Adversary

SELECTION = "max val_acc, ties broken by min val_loss (monitor val_score)"
# How models are trained and selected, in the store key (not SELECTION's wording, which would
# retrain every model when reworded): raise it when the training code or the selection rule
# changes what a stored model is, so that older models are trained again. 1 was the key that
# held the SELECTION sentence itself; its models are trained once more under 2.
TRAINING_VERSION = 2


class Classifier(L.LightningModule):
    """Trains the classifier ``model``, an SNN or an ANN, with cross-entropy on its T-averaged
    logits (an SNN: BPTT with surrogate gradients; an ANN: one step).

    ``val_acc`` (%), ``val_loss`` and ``val_score`` (synchronised across processes) are logged
    every epoch so the best checkpoint is chosen on validation data (see :data:`SELECTION`);
    :meth:`validation_record` gives the numbers of the selected epoch.

    With an ``adversary`` (``train.adversary``) each batch is first replaced by the examples it
    crafts, and the loss is its method's (:mod:`snnattack.training.adversary`). The time of
    every training batch is split into crafting and update (forward, backward, optimiser
    step), and the adversary's input-gradient evaluations are counted: :meth:`cost_record`.
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
        self.run_model = torch.compile(model.forward) if compile else model.__call__
        self.lr, self.momentum, self.weight_decay, self.nesterov = (
            lr,
            momentum,
            weight_decay,
            nesterov,
        )
        self.train_acc = MulticlassAccuracy(num_classes, average="micro")
        self.val_acc = MulticlassAccuracy(num_classes, average="micro")
        self.val_loss = MeanMetric()
        self.val_n = SumMetric()
        self.history: dict[int, dict[str, float]] = {}
        self.adversary = adversary
        self.cost = {"craft_seconds": 0.0, "update_seconds": 0.0, "adversary_gradients": 0}
        self._batch_start = (0.0, 0.0)  # (time, craft_seconds) at the batch's start

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run_model(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], step: int) -> torch.Tensor:
        x, y = batch
        if self.adversary is None:
            logits = self.run_model(x)
            loss = F.cross_entropy(logits, y)
        else:
            start = self._now()
            adv = self.adversary.craft(self.model, x, y, self.current_epoch, self._random(x))
            self.cost["craft_seconds"] += self._now() - start
            self.cost["adversary_gradients"] += self.adversary.n_steps * len(x)
            loss, logits = self.adversary.loss(self.model, x, adv, y)
        if not torch.isfinite(loss):
            raise TrainingError(
                f"training diverged: the loss is {loss.item()} at epoch {self.current_epoch}, "
                f"step {step} of the epoch (global step {self.global_step}); nothing was "
                "stored; accepted: a smaller train.lr (or a gradient clip, "
                "trainer.gradient_clip_val)"
            )
        self.train_acc(logits, y)
        self.log("train_loss", loss, prog_bar=True)
        self.log("train_acc", self.train_acc, on_step=False, on_epoch=True)
        return loss

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self._batch_start = (self._now(), self.cost["craft_seconds"])

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        start, crafted = self._batch_start
        crafting = self.cost["craft_seconds"] - crafted
        self.cost["update_seconds"] += self._now() - start - crafting

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        super().optimizer_step(*args, **kwargs)
        if self.adversary is not None:
            self.adversary.regularise(self.model, self._random(torch.zeros(())))

    def _random(self, like: torch.Tensor) -> torch.Generator:
        """A generator on ``like``'s device for this step's adversary draws, seeded from the
        epoch's seed (``EpochSeed``) and the step: a resumed run draws the same numbers."""
        generator = torch.Generator(device=like.device)
        return generator.manual_seed(hash((torch.initial_seed(), self.global_step)) % 2**63)

    def _now(self) -> float:
        """Wall-clock seconds, after the device's queued work (so CUDA time is counted)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

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
        self.log_dict({"val_acc": acc, "val_loss": loss, "val_score": score}, prog_bar=True)
        if not self.trainer.sanity_checking:
            self.history[self.current_epoch] = {"val_acc": acc, "val_loss": loss}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["validation_history"] = self.history  # a resumed run still knows every epoch
        checkpoint["training_cost"] = dict(self.cost)  # and the cost of the epochs done

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.history = dict(checkpoint.get("validation_history", {}))
        self.cost.update(checkpoint.get("training_cost", {}))

    def cost_record(self, epochs: int) -> dict[str, Any]:
        """The training time split into crafting and update (seconds, summed over the
        ``epochs`` trained, resumed ones included) and the adversary's input-gradient
        evaluations (one per sample and step) per epoch."""
        craft, update = self.cost["craft_seconds"], self.cost["update_seconds"]
        return {
            "train_craft_seconds": round(craft, 2),
            "train_update_seconds": round(update, 2),
            "train_loop_seconds": round(craft + update, 2),
            "adversary_gradients_per_epoch": self.cost["adversary_gradients"] // max(epochs, 1),
        }

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
