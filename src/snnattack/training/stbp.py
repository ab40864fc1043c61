"""STBP training of a classifier (the Lightning module every kind fits with): SGD, cosine."""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy


class STBPClassifier(L.LightningModule):
    """Trains ``model`` with cross-entropy on its T-averaged logits (BPTT, surrogate gradient).

    ``val_acc`` (%) and ``val_loss`` are logged every epoch so the best checkpoint is chosen on
    validation data. Both are metric states summed across processes at the epoch's end (no
    collective per step, so processes may hold different numbers of validation batches).
    """

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        nesterov: bool = False,
    ) -> None:
        super().__init__()
        self.model = model
        self.lr, self.momentum, self.weight_decay, self.nesterov = (
            lr, momentum, weight_decay, nesterov
        )
        self.train_acc = MulticlassAccuracy(num_classes, average="micro")
        self.val_acc = MulticlassAccuracy(num_classes, average="micro")
        self.val_loss = MeanMetric()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        logits = self.model(x)
        loss = F.cross_entropy(logits, y)
        self.train_acc(logits, y)
        self.log("train_loss", loss, prog_bar=True)
        self.log("train_acc", self.train_acc, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        x, y = batch
        logits = self.model(x)
        self.val_acc.update(logits, y)
        self.val_loss.update(F.cross_entropy(logits, y, reduction="none"))

    def on_validation_epoch_end(self) -> None:
        self.log("val_acc", 100.0 * self.val_acc.compute(), prog_bar=True)
        self.log("val_loss", self.val_loss.compute())
        self.val_acc.reset()
        self.val_loss.reset()

    def configure_optimizers(self):
        opt = torch.optim.SGD(
            self.parameters(), lr=self.lr, momentum=self.momentum,
            weight_decay=self.weight_decay, nesterov=self.nesterov,
        )
        epochs = max(int(self.trainer.max_epochs or 1), 1)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}
