"""Hybrid training (``train.kind=hybrid``): conversion as initialisation, then STBP fine-tuning.

The ECCV 2020 "backpropagated SNN" (Rathi et al., ICLR 2020 hybrid training): the converted
SNN of the same seed is fine-tuned with STBP at the configured ``T`` (small, e.g. 4-8) for
``train.hybrid.epochs`` epochs at learning rate ``train.hybrid.lr`` (cosine-annealed, the
rest of the recipe as in ``train``). Before the fine-tuning every spiking layer's threshold is
multiplied by ``train.hybrid.threshold_scale`` (the converted weights are kept): Rathi et al.
lower the converted thresholds so that the network fires enough in few steps, and Sharmin et
al.'s backpropagated SNN runs with its conversion thresholds scaled by 0.7
(``ssharmin/spikingNN-adversarial-attack``, ``model_loader.py``: ``scaling_threshold=0.7``).
Adversarial training (``train.adversary``) applies to the fine-tuning only: the converted
model it starts from is the standard one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from snnattack.settings import ModelSettings
from snnattack.training.base import Strategy, build_net, register
from snnattack.training.conversion import CALIBRATION
from snnattack.training.fit import TrainContext, Trained, fit
from snnattack.values import NEURON_THETA


def scaled_theta(theta: float, train: Mapping[str, Any]) -> float:
    """The threshold a hybrid model runs with: the configured one scaled (``train.hybrid``)."""
    return theta * train["hybrid"]["threshold_scale"]


@register
class Hybrid(Strategy):
    """STBP fine-tuning of the converted model; its key includes the conversion's."""

    name = "hybrid"
    title = "hybrid (backprop) SNN"
    order = 40
    blocks = ("conversion", "hybrid")
    trains_ann = True  # its conversion's ANN
    # the standard conversion: an adversary (``train.adversary``) acts in fine-tuning
    base_train = {"kind": "conversion", "adversary": None}

    def fine_tuning(self, train: Mapping[str, Any]) -> dict[str, Any]:
        """``train.hybrid``'s epochs and learning rate."""
        return {"epochs": train["hybrid"]["epochs"], "lr": train["hybrid"]["lr"]}

    def build(self, model: ModelSettings) -> nn.Module:
        return build_net(model, theta=scaled_theta(model.tree["theta"], model.train))

    def stored_neuron(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {**spec["neuron"], "theta": scaled_theta(spec["neuron"]["theta"], spec["train"])}

    def stored_settings(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """The scale of its converted thresholds: a float, in no weight."""
        return {"train.hybrid.threshold_scale": spec["train"]["hybrid"]["threshold_scale"]}

    def train(self, model: ModelSettings, workdir: Path, ctx: TrainContext) -> Trained:
        converted, record = ctx.base
        scaled = self.build(model)  # the converted weights under the scaled thresholds
        scaled.load_state_dict(converted.state_dict())
        net, fitted = fit(model.fine_tuning, scaled.train(), workdir, ctx)
        return net, {
            **fitted,
            "ann_val_acc": record.get("ann_val_acc"),
            "converted_key": record.get("key"),
            # the conversion it started from read these batches (a note where they are fewer)
            **{k: record[k] for k in (CALIBRATION,) if k in record},
        }


NEURON_THETA.enter(Hybrid.name, scaled_theta)  # the checks of a mode's parameters read it
