"""Per-key rules: each key a user may set, its test and the accepted values.

Every key has one rule in :data:`~snnattack.values.RULES` (a dotted key, ``*`` matching any
one level, e.g. ``method.*.steps``). Rules of keys that a config does not hold are skipped, so
a new key needs one line and nothing else: in :mod:`snnattack.config.plain_rules` for the
config's own keys whose values are numbers, switches or fixed words (the neurons, the trainer,
the data, the parameters that several methods share, ...), here for those that name one of
this package's kinds (a reset, an encoding, a gradient mode, a model, a dataset), beside its
code for a key whose accepted values a kind defines (``train.kind`` in
:mod:`snnattack.training.base`, ``method.*.name`` in :mod:`snnattack.attacks.checks`,
``model.name`` in :mod:`snnattack.interop.external`, ...).
"""

from __future__ import annotations

from snnattack.config import plain_rules  # noqa: F401  (declares the rules that name no kind)
from snnattack.cpu.guard import BACKENDS
from snnattack.data import DATAMODULES
from snnattack.data.events import EVENT_ENCODINGS, SPLITS
from snnattack.gradients import GRADIENT_MODES
from snnattack.models import MODELS
from snnattack.process.malloc import POLICIES as MALLOC_POLICIES
from snnattack.snn.encoding import ENCODINGS
from snnattack.snn.neurons import IMPLS, RESETS
from snnattack.values import Rule, declare, member_of, one_of, optional

declare(
    {
        # a kind's reset before reset, which reads it (${oc.select:train.resets.<kind>,...}):
        # train.resets.stbp=sideways is refused naming the key typed, not reset
        "train.resets.*": one_of(*RESETS),
        "reset": one_of(*RESETS),
        "neuron_impl": one_of(*IMPLS),
        "backend": one_of(*BACKENDS),
        "malloc": one_of(*MALLOC_POLICIES),
        "encoding": one_of(*ENCODINGS),
        "dataset.encodings": Rule(
            lambda v: isinstance(v, list) and bool(v) and all(e in ENCODINGS for e in v),
            lambda: f"a list of encodings of {', '.join(ENCODINGS)}",
            "names an unknown encoding",
        ),
        "train.adversary.grad_mode": member_of(GRADIENT_MODES),
        "source_model": optional(one_of(*MODELS)),
        "attack.grad_mode": member_of(GRADIENT_MODES),
        "dataset.name": one_of(*DATAMODULES),
        "dataset.params.split_by": one_of(*SPLITS),
        "dataset.params.event_encoding": one_of(*EVENT_ENCODINGS),
    },
    order=0,
)
