"""The ANN counterpart of a spiking model (``train.kind=ann``): every LIF replaced by a ReLU.

Same layers and parameter names as the SNN, one time step, the analog image as input (so
``T``, ``lambda``, ``theta`` and ``reset`` do not enter its store key). A plain ReLU, not a
clipped one: the conversion normalises each layer by a percentile of its activations
(:mod:`snnattack.training.conversion`), which handles unbounded activations. Under Poisson
encoding the ANN sees the un-normalised image in [0, 1], the expected value of the Poisson
spikes, so its converted SNN receives inputs on the same scale it was trained on; under
signed Poisson encoding it sees the image normalised as that encoding's input (mean = std =
0.5, as Sharmin et al.'s ANN), again the spikes' expected value.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from snnattack.settings import ModelSettings, thaw
from snnattack.snn.encoding import FIXED_NORMALISATION
from snnattack.training.base import Strategy, build_net, register
from snnattack.values import NEURON_THETA

INPUT_ENCODINGS = ("direct", "poisson", "poisson_signed")  # encodings an ANN can take as analog


@register
class ANN(Strategy):
    """Trained with the same recipe as the SNN (``Classifier``: SGD, cosine)."""

    name = "ann"
    title = "ANN"
    order = 20
    trains_at_T = False  # one step
    trains_ann = True
    spiking = False

    def build(self, model: ModelSettings) -> nn.Module:
        dataset, encoding = model.tree["dataset"], model.tree["encoding"]
        mean, std = (
            (thaw(dataset["mean"]), thaw(dataset["std"])) if encoding == "direct" else (None, None)
        )
        if encoding in FIXED_NORMALISATION:
            channels = dataset["in_channels"]
            mean, std = ([v] * channels for v in FIXED_NORMALISATION[encoding])
        return build_net(model, activation="relu", T=1, encoding="direct", mean=mean, std=std)

    def key(self, spec: dict[str, Any]) -> dict[str, Any]:
        """No neuron settings (nor, as for every kind trained as an ANN, an adversary's
        gradient mode: ``adversary_spec``)."""
        return {k: v for k, v in spec.items() if k != "neuron"}


NEURON_THETA.enter(ANN.name, lambda theta, train: None)  # no spiking layer
