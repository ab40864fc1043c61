"""Kinds of training, chosen by ``train.kind``: each a :class:`Strategy` in its own module.

``stbp`` (surrogate-gradient BPTT), ``ann`` (the ReLU counterpart), ``conversion`` (ANN ->
SNN, no gradient training), ``hybrid`` (conversion, then STBP fine-tuning).
"""

from snnattack.training.ann import ANN
from snnattack.training.base import Strategy, TrainContext, build_net
from snnattack.training.conversion import Conversion
from snnattack.training.hybrid import Hybrid
from snnattack.training.stbp import SELECTION, TRAINING_VERSION, STBPClassifier

STRATEGIES: dict[str, Strategy] = {
    "stbp": Strategy(),
    "ann": ANN(),
    "conversion": Conversion(),
    "hybrid": Hybrid(),
}
# train sub-blocks read by some kinds only (each kind's store key keeps only the ones it reads)
KIND_BLOCKS = tuple(dict.fromkeys(b for s in STRATEGIES.values() for b in s.blocks))

__all__ = [
    "STRATEGIES",
    "KIND_BLOCKS",
    "SELECTION",
    "TRAINING_VERSION",
    "STBPClassifier",
    "Strategy",
    "TrainContext",
    "build_net",
]
