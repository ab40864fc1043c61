"""``snnattack.load``: a native model with the weights of a file, from a script or a notebook.

The Python counterpart of ``model=<arch> checkpoint=PATH`` (docs/interop.md, "Attacking a
model from a file"): it builds the architecture ``arch`` with the neuron settings given and
loads any format of :mod:`snnattack.records.checkpoints` into it, a reference code's state
dict (RGA, SNN-RAT family) by its keys' names (:mod:`snnattack.models.reference`). The
neurons' settings and the input encoding are not in such a file, so ``T``, ``lam`` and
``theta`` must be given, and ``encoding`` (``levels``) where it is not ``direct`` (analog); a
file of this project's store holds them, and its data's, in its record, which supplies what
is not given and refuses what differs (as ``checkpoint=`` does).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from snnattack.cpu.guard import BACKENDS
from snnattack.errors import ShapeError, UserError
from snnattack.models.base import SpikingNet
from snnattack.models.reference import namings
from snnattack.models.zoo import MODELS, build
from snnattack.records.checkpoints import load_model_file, read_model_file
from snnattack.settings import FORMATS
from snnattack.snn.encoding import ENCODINGS
from snnattack.snn.neurons import RESETS
from snnattack.training.base import STRATEGIES
from snnattack.values import (
    Rule,
    as_python,
    integer,
    is_number,
    is_real,
    keywords_checked,
    member_of,
    one_of,
    optional,
    real,
)


def channel_values(positive: bool) -> Rule:
    """A list of finite numbers, one per input channel; ``positive``: each > 0 (a std, which
    divides the images: 0 made them infinite). A NaN was named "not a list of numbers"."""

    def fits(x: Any) -> bool:
        return is_real(x) and (not positive or x > 0)

    def problem(v: Any, spell: Callable[[Any], str]) -> str:
        if not (isinstance(v, list | tuple) and v and all(is_number(x) for x in v)):
            return "is not a list of numbers"
        bad = next(x for x in v if not fits(x))
        return f"holds {spell(bad)}, which is {'not > 0' if is_real(bad) else 'not finite'}"

    return Rule(
        lambda v: isinstance(v, list | tuple) and len(v) > 0 and all(fits(x) for x in v),
        f"a list of numbers{', each > 0' if positive else ''}, one per input channel",
        problem,
    )


RULES: dict[str, Rule] = {
    "T": integer(1),
    "lam": real(0, 1, lo_open=True),
    "theta": real(0, lo_open=True),
    "reset": one_of(*RESETS),
    "num_classes": integer(1),
    "in_channels": integer(1),
    "mean": optional(channel_values(positive=False)),
    "std": optional(channel_values(positive=True)),
    "encoding": one_of(*ENCODINGS),
    "levels": optional(integer(2)),
    "backend": one_of(*BACKENDS),
}
# a file without a record; its encoding cannot be read from its weights (a Poisson encoder
# has none), so a model trained on spikes must be told it (encoding=, levels=)
DEFAULTS = {"reset": "hard", "num_classes": 10, "in_channels": 3, "encoding": "direct"}
SHAPES = ("num_classes", "in_channels")  # of the defaults, those that shape the weights
UNSET = {  # what each neuron setting is in the reference codes, for the message
    "T": "the time steps the model was trained with",
    "lam": "the leak, their LIFSpike's tau: 1.0 in SNN-RAT",
    "theta": "the threshold, their LIFSpike's thresh: 1.0 in SNN-RAT",
}


@keywords_checked  # a misspelt keyword named with the one it stands for, not a TypeError
def load(
    arch: str,
    path: str | os.PathLike,
    *,
    T: int | None = None,
    lam: float | None = None,
    theta: float | None = None,
    reset: str | None = None,
    num_classes: int | None = None,
    in_channels: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    encoding: str | None = None,
    levels: int | None = None,
    backend: str = "c",
) -> SpikingNet:
    """The native model ``arch`` (a ``model=`` name: ``vgg11``, ``resnet19``, ``wrn16_4``, ...)
    with the weights of the file ``path`` (``~`` the home folder), in eval mode.

    ``T``, ``lam`` (λ, their ``tau``) and ``theta`` (θ, their ``thresh``) are the neurons'
    settings, which a reference file does not hold; ``reset`` is theirs (``hard`` in the RGA
    and SNN-RAT codes). ``num_classes`` (10) and ``in_channels`` (3) must be the file's.
    ``mean`` and ``std`` normalise the images inside the model; a reference file of a 3-channel
    model sets its code's CIFAR values instead, and another file's normalisation must be given
    as the file holds it (left out for a file of none): other values are refused, not
    replaced. ``encoding`` (the config's ``encoding``) and ``levels`` (its ``encoding_levels``;
    None: analog) are the input encoding the model was trained with, which a file of weights
    does not hold: a Poisson-trained model loaded as ``direct`` would run on other inputs.
    A store file's record gives every one of these that is left out, and one that differs is
    refused (``levels`` too where the record has none). Each argument is checked by its rule
    before the record (``T='4'`` is invalid, not the file's 4), and a file that does not fit
    is refused naming its first wrong key, each in one :class:`~snnattack.errors.UserError`
    line.
    """
    if complaint := member_of(MODELS).complaint("arch", arch, spell=as_python):
        raise UserError(complaint)
    if not isinstance(path, str | os.PathLike) or not Path(path).expanduser().is_file():
        raise UserError(  # first: a mistyped path is not a missing T
            f"path={str(path)!r} is not a file; accepted: the path of a model file ({FORMATS})"
        )
    path = Path(path).expanduser()  # '~/models/x.pt', as a shell would have read it
    given = dict(T=T, lam=lam, theta=theta, reset=reset, num_classes=num_classes)
    given |= dict(in_channels=in_channels, mean=mean, std=std, encoding=encoding, levels=levels)
    for name, value in {**given, "backend": backend}.items():
        complaint = None if value is None else RULES[name].complaint(name, value, spell=as_python)
        if complaint is not None:  # by its rule before the file's: T='4' is not the file's 4
            raise UserError(complaint)
    trained, surrogate, payload = _stored_settings(arch, path)
    for name, value in trained.items():
        if given[name] is None:
            given[name] = value
        elif not _same(given[name], value):
            raise UserError(
                f"path={path} was trained with {name}={value} (its record's spec), but "
                f"{name}={given[name]} was given; accepted: {name}={value}, the file's, or "
                "leave it out"
            )
    defaulted = [k for k in SHAPES if given[k] is None]  # of load's defaults, not the file's
    given |= {k: v for k, v in DEFAULTS.items() if given[k] is None}
    given["backend"] = backend
    if given["encoding"] != "direct" and (mean is not None or std is not None):
        raise UserError(  # the model would drop them: build normalises direct inputs only
            f"mean={mean!r}, std={std!r} normalise a direct model's images, but encoding="
            f"{given['encoding']} feeds them to its encoder as they are (poisson_signed: "
            "normalised with its fixed 0.5, 0.5); accepted: mean and std left out, or "
            "encoding='direct'"
        )
    mean, std, in_channels = given["mean"], given["std"], given["in_channels"]
    for name, value in given.items():
        if value is None and name in UNSET:
            raise UserError(
                f"{name}=None: a model file does not hold the neurons' settings; accepted: "
                f"{RULES[name].describe().format(key=name)} ({UNSET[name]})"
            )
        complaint = RULES[name].complaint(name, value, spell=as_python)  # Python's arguments
        if complaint is not None:
            raise UserError(complaint)
    if (
        (mean is None) != (std is None)
        or mean is not None
        and not len(mean) == len(std) == in_channels
    ):
        assumed = (
            " (load's default: in_channels= for another)" if "in_channels" in defaulted else ""
        )
        raise UserError(
            f"mean={mean!r}, std={std!r}: accepted: both None, or both a list of "
            f"in_channels={in_channels}{assumed} numbers (one value per input channel)"
        )
    model = build(arch, **given, **surrogate)
    try:
        load_model_file(path, model, "path", namings(arch, model), payload, ("mean", "std"))
    except ShapeError as err:
        if not defaulted:
            raise
        raise ShapeError(  # the shapes were of load's defaults, not the user's numbers
            f"{err} ({', '.join(f'{k}={DEFAULTS[k]}' for k in defaulted)}: load's "
            f"default{'s' if len(defaulted) > 1 else ''}, which the file's may not be: give "
            "the file's"
            + (", e.g. in_channels=1 for grey images)" if "in_channels" in defaulted else ")")
        ) from None
    return model.eval()


def _stored_settings(arch: str, path: object) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """The settings that the record of a store file at ``path`` holds, as :func:`load`'s
    arguments and its neurons' surrogate width (:func:`build`'s), and the file's content
    (read once); nothing for another file. A file that cannot be read (empty, cut short, a
    pickle that would run code) is refused here, naming why, not as a missing ``T``."""
    payload = read_model_file(Path(path), "path")  # type: ignore[arg-type]
    record = payload.get("record") if isinstance(payload, dict) else None
    spec = record.get("spec") if isinstance(record, dict) else None
    if not isinstance(spec, dict):  # not a store file, or one written before records
        return {}, {}, payload
    try:
        return (*_settings_of(arch, path, spec), payload)
    except (KeyError, TypeError) as err:
        raise UserError(
            f"path={path} is a store file whose record's spec lacks {err}; accepted: a store "
            "file as the store wrote it"
        ) from None


def _settings_of(arch: str, path: object, spec: dict[str, Any]) -> tuple[dict, dict]:
    """The arguments of :func:`load` and the surrogate width that a store file's training
    ``spec`` fixes (at ``path``, for the messages). Its ``levels`` is kept when it is None:
    a record's None is a model that quantises nothing, not a value left to the caller."""
    dataset, train = spec["dataset"], spec["train"]
    stored, kind = spec["model"]["name"], train["kind"]
    if stored != arch:
        raise UserError(
            f"path={path} holds a {stored} (its record's spec.model); accepted: arch={stored!r}"
        )
    spiking = [name for name, s in STRATEGIES.items() if s.spiking]
    if kind not in spiking:
        raise UserError(
            f"path={path} holds a model of train.kind={kind} (its record's spec.train), not "
            f"an SNN, which load builds; accepted: a file of {', '.join(spiking)}, or the "
            f"command line: model={arch} train.kind={kind} checkpoint=PATH"
        )
    neuron = STRATEGIES[kind].stored_neuron(spec)  # no T: a model that runs at any
    trained = dict(T=neuron.get("T"), lam=neuron["lambda"], theta=neuron["theta"])
    trained |= dict(reset=neuron["reset"], num_classes=dataset["num_classes"])
    trained |= dict(in_channels=dataset["in_channels"], mean=dataset.get("mean"))
    trained |= dict(std=dataset.get("std"), encoding=spec["encoding"])
    known = {k: v for k, v in trained.items() if v is not None}
    known["levels"] = spec.get("encoding_levels")
    return known, dict(surrogate_width=train["surrogate_width"])


def _same(a: object, b: object) -> bool:
    """Whether a given value is a file's: numbers to float precision (a hybrid's θ is a
    product), a tuple the list of the same numbers (``mean=(0.3,)`` is a file's ``[0.3]``)."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9)
    return a == b
