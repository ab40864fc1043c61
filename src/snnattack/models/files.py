"""``snnattack.load``: a native model with the weights of a file, from a script or a notebook.

The Python counterpart of ``model=<arch> checkpoint=PATH`` (docs/interop.md, "Attacking a
model from a file"): it builds the architecture ``arch`` with the neuron settings given and
loads any format of :mod:`snnattack.records.checkpoints` into it, a reference code's state
dict (RGA, SNN-RAT family) by its keys' names (:mod:`snnattack.models.reference`). The
neurons' settings are not in such a file, so ``T``, ``lam`` and ``theta`` must be given.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from snnattack.cpu.guard import BACKENDS
from snnattack.errors import UserError
from snnattack.models.base import SpikingNet
from snnattack.models.reference import namings
from snnattack.models.zoo import MODELS, build
from snnattack.records.checkpoints import load_model_file
from snnattack.snn.neurons import RESETS
from snnattack.values import Rule, integer, is_real, one_of, optional, real

SEQUENCE = Rule(
    lambda v: isinstance(v, list | tuple) and len(v) > 0 and all(is_real(x) for x in v),
    "a list of numbers, one per input channel",
    "is not a list of numbers",
)
RULES: dict[str, Rule] = {
    "T": integer(1),
    "lam": real(0, 1, lo_open=True),
    "theta": real(0, lo_open=True),
    "reset": one_of(*RESETS),
    "num_classes": integer(1),
    "in_channels": integer(1),
    "mean": optional(SEQUENCE),
    "std": optional(SEQUENCE),
    "backend": one_of(*BACKENDS),
}
UNSET = {  # what each neuron setting is in the reference codes, for the message
    "T": "the time steps the model was trained with",
    "lam": "the leak, their LIFSpike's tau: 1.0 in SNN-RAT",
    "theta": "the threshold, their LIFSpike's thresh: 1.0 in SNN-RAT",
}


def load(
    arch: str,
    path: str | os.PathLike,
    *,
    T: int | None = None,
    lam: float | None = None,
    theta: float | None = None,
    reset: str = "hard",
    num_classes: int = 10,
    in_channels: int = 3,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    backend: str = "c",
) -> SpikingNet:
    """The native model ``arch`` (a ``model=`` name: ``vgg11``, ``resnet19``, ``wrn16_4``, ...)
    with the weights of the file ``path``, in eval mode.

    ``T``, ``lam`` (λ, their ``tau``) and ``theta`` (θ, their ``thresh``) are the neurons'
    settings, which a reference file does not hold; ``reset`` is theirs (``hard`` in the RGA
    and SNN-RAT codes). ``num_classes`` and ``in_channels`` must be the file's. ``mean`` and
    ``std`` normalise the images inside the model; a reference file of a 3-channel model sets
    its code's CIFAR values instead. Every argument is checked first, and a file that does not
    fit is refused naming its first wrong key, each in one :class:`~snnattack.errors.UserError`
    line.
    """
    given = dict(T=T, lam=lam, theta=theta, reset=reset, num_classes=num_classes)
    given |= dict(in_channels=in_channels, mean=mean, std=std, backend=backend)
    if not isinstance(arch, str) or arch not in MODELS:
        raise UserError(f"arch={arch!r} is unknown; accepted: {', '.join(MODELS)}")
    for name, value in given.items():
        if value is None and name in UNSET:
            raise UserError(
                f"{name}=None: a model file does not hold the neurons' settings; accepted: "
                f"{RULES[name].describe().format(key=name)} ({UNSET[name]})"
            )
        complaint = RULES[name].complaint(name, value)
        if complaint is not None:
            raise UserError(complaint)
    if (
        (mean is None) != (std is None)
        or mean is not None
        and not len(mean) == len(std) == in_channels
    ):
        raise UserError(
            f"mean={mean!r}, std={std!r}: accepted: both null, or both a list of "
            f"in_channels={in_channels} numbers (one value per input channel)"
        )
    if not isinstance(path, str | os.PathLike) or not Path(path).is_file():
        raise UserError(
            f"path={str(path)!r} is not a file; accepted: the path of a model file (a state "
            "dict of the RGA or SNN-RAT code, of this model, a store model.pt or a Lightning .ckpt)"
        )
    model = build(arch, **given)
    load_model_file(path, model, "path", namings(arch, model))
    return model.eval()
