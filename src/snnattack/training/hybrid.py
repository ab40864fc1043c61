"""Hybrid training (``train.kind=hybrid``): conversion as initialisation, then STBP fine-tuning.

The ECCV 2020 "backpropagated SNN" (Rathi et al., ICLR 2020 hybrid training): the converted
SNN of the same seed is fine-tuned with STBP at the configured ``T`` (small, e.g. 4-8) for
``train.hybrid.epochs`` epochs at learning rate ``train.hybrid.lr`` (cosine-annealed, the
rest of the recipe as in ``train``). Adversarial training (``train.adversary``) applies to the
fine-tuning only: the converted model it starts from is the standard one.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from snnattack.training.base import Strategy, with_train
from snnattack.training.fit import TrainContext, Trained, fit


class Hybrid(Strategy):
    """STBP fine-tuning of the converted model; its key includes the conversion's."""

    blocks = ("conversion", "hybrid")

    def base(self, cfg: DictConfig) -> DictConfig:
        """The standard conversion: an adversary (``train.adversary``) acts in fine-tuning."""
        return with_train(cfg, kind="conversion", adversary=None)

    def train(self, cfg: DictConfig, workdir: Path, ctx: TrainContext) -> Trained:
        converted, record = ctx.base
        recipe = with_train(cfg, epochs=cfg.train.hybrid.epochs, lr=cfg.train.hybrid.lr)
        model, fitted = fit(recipe, converted.train(), workdir, ctx)
        return model, {
            **fitted,
            "ann_val_acc": record.get("ann_val_acc"),
            "converted_key": record.get("key"),
        }
