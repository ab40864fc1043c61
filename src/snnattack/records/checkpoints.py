"""Models from files: attack a model trained elsewhere (``checkpoint=PATH``).

Four formats are read, each loaded strictly into the configured model:

- this project's store files (``<store>/<key>/model.pt``: ``{"state_dict", "record"}``);
- Lightning checkpoints of this project's training (``*.ckpt``: keys prefixed ``model.``);
- the model's own state dict (``torch.save(model.state_dict())``: a native model's, or the
  network a ``model=external`` factory builds), loaded by its names;
- plain state dicts of the RGA reference code (``putshua/SNN_attack_RGA``: ``VGG``,
  ``VGGDVS``, ``ResNet17/19``) and of the SNN-RAT code family (``putshua/SNN-RAT``
  ``models/``, which HART, FEEL-SNN and other defences build on: ``VGG``, ``WideResNet``;
  a ``module.`` prefix from DataParallel is dropped). Their ``LIFSpike(tau, thresh)`` is
  this project's LIF with ``lambda=tau``, ``theta=thresh``, ``reset=hard``; neither value is
  in the file, so the config sets them (both 1.0 in SNN-RAT).

A reference file's tensors are mapped onto ours by their names (:class:`Naming`: their
module path -> ours, for each architecture in :mod:`snnattack.models.reference`), never by
the order in which the file stores them, each checked for shape; a key that names no layer,
a missing key or a tensor of another shape is refused naming the key. Their VGG convs carry
a bias, which the BN after them cancels: it is folded into that BN's running mean
(``mean' = mean - bias``), the same function in eval mode. The reference normalises CIFAR
inside the model with mean (0.4914, 0.4822, 0.4465) and std (0.2023, 0.1994, 0.2010), not a
parameter of its files: a reference file gets those values in our ``Normalize`` layer too, so
its logits are the reference's.

Every model file this project reads (these, the store's, a training's resume file) is read by
:func:`load_tensors`, torch's weights-only unpickler, so no file runs code: a pickle that
needs any other object is refused unread, naming it. Every model that enters a job passes
:func:`require_finite`, so NaN or infinite weights are never attacked.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from snnattack.errors import CheckpointError, ShapeError, UserError
from snnattack.settings import FORMATS

REFERENCE_MEAN = (0.4914, 0.4822, 0.4465)
REFERENCE_STD = (0.2023, 0.1994, 0.2010)
# the file that fits, as the messages say it (the files a model is read from: FORMATS)
FITS = "accepted: a file of the configured architecture, classes and input channels"


class RefusedFile(Exception):
    """A file whose pickle needs an object other than tensors and plain values (one that
    would run code on loading); it was not loaded. The caller names the file."""

    def __init__(self, needs: str) -> None:
        self.needs = needs
        super().__init__(
            f"needs {needs}, which is not a tensor or plain value: refused without loading it "
            "(a pickle that would run code)"
        )


def load_tensors(path: str | os.PathLike) -> Any:
    """``path``'s content read by torch's weights-only unpickler (tensors, containers and plain
    values, on the CPU). Raises :class:`RefusedFile` for a pickle that needs any other class or
    function, and whatever torch raises for a file that is not one (truncated, empty, junk).
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:  # a refused object, or bytes that are no pickle
        needs = re.search(r"GLOBAL (\S+)", str(err))
        if needs is None:
            raise
        raise RefusedFile(needs.group(1)) from None


def damage(path: Path) -> str | None:
    """Why ``path`` is no whole file that torch.save writes, in a user's words, where its first
    bytes and a zip archive's directory tell (empty, a zip archive cut short: a copy that did
    not finish, neither a zip archive nor a pickle, a pickle of protocol 4 or above: Python's
    pickle.dump, whose frames torch's weights-only reader does not read, where torch.save
    pickles with protocol 2 outside a zip archive); None where they tell nothing. Cheap: no
    tensor is read, so a sweep checks its jobs' files before its first job."""
    try:
        with path.open("rb") as file:
            head = file.read(4)
    except OSError:
        return None
    if head == b"":
        return "an empty file"
    if head.startswith(b"PK") and not zipfile.is_zipfile(path):
        return "a zip archive cut short: a copy or download that did not finish?"
    if not head.startswith((b"PK", b"\x80")):
        return "not a file that torch.save writes: neither a zip archive nor a pickle"
    if head.startswith(b"\x80") and head[1:2] >= b"\x04":
        return (
            f"a pickle of protocol {head[1]}, as pickle.dump writes it, which torch's weights-only "
            "reader does not read: save the file again with torch.save"
        )
    return None


def unreadable(path: Path, err: Exception) -> str:
    """Why torch could not read the file ``path`` (``err``): its :func:`damage` where its
    bytes tell, else the error's first line."""
    first = str(err).strip().splitlines()[0][:120] if str(err).strip() else ""
    return damage(path) or f"{type(err).__name__}{': ' + first if first else ''}"


def unreadable_error(key: str, path: Path, why: str) -> CheckpointError:
    """The one-line refusal of the file ``path`` named by ``key`` that cannot be read
    (``why``)."""
    return CheckpointError(
        f"{key}={path} is missing, corrupt or unreadable ({why}); "
        f"accepted: a whole file saved by torch.save ({FORMATS})"
    )


def read_model_file(path: Path, key: str) -> Any:
    """The content of the model file ``path`` named by ``key`` (:func:`load_tensors`); a file
    that cannot be read, or that would run code, is refused in one line naming ``key``; one
    whose :func:`damage` tells, before torch reads it (and warns of a pickle's protocol)."""
    require_whole(path, key)
    try:
        return load_tensors(path)
    except RefusedFile as err:
        raise CheckpointError(f"{key}={path}: {err}") from None
    except Exception as err:  # an unreadable file is one user-facing problem, whatever broke
        raise unreadable_error(key, path, unreadable(path, err)) from None


def require_whole(path: Path, key: str) -> None:
    """Refuses the file ``path`` named by ``key`` where its :func:`damage` shows it is not a
    whole torch.save file, as loading it would (:func:`load_model_file`)."""
    why = damage(path)
    if why is not None:
        raise unreadable_error(key, path, why)


def require_loaded(tensors: Iterable[torch.Tensor], where: str) -> None:
    """Refuses the weights ``tensors`` of the model ``where`` if one is on the meta device (a
    model built under ``torch.device("meta")`` whose weights were never loaded: no values)."""
    if any(t.is_meta for t in tensors):
        raise UserError(
            f"{where} has its weights on the meta device (not loaded); accepted: a model with "
            "real weights (model.to_empty(device=...), then load_state_dict)"
        )


def require_finite(state: Mapping[str, Any] | nn.Module, where: str, fix: str = "") -> None:
    """Refuses a model (or state dict) with a NaN or infinite weight or buffer, or one on the
    meta device (:func:`require_loaded`).

    The :class:`CheckpointError` names ``where`` (the file or config key the model came
    from) and the first offending tensor; ``fix`` (what to do) ends the line, else the
    accepted values do. An attack on such a model measures nothing: a NaN logit is never the
    true class, so every attack "succeeds" or none does.
    """
    tensors = state.state_dict() if isinstance(state, nn.Module) else state
    floats = {k: v for k, v in tensors.items() if torch.is_tensor(v) and v.is_floating_point()}
    require_loaded(floats.values(), where)
    # one host sync per device, not one per tensor: a model's check costs one wait on the GPU
    groups: dict[tuple[torch.device, torch.dtype | None], list[torch.Tensor]] = {}  # None: sparse
    for t in floats.values():
        groups.setdefault((t.device, t.dtype if t.layout == torch.strided else None), []).append(t)
    devices: dict[torch.device, list[torch.Tensor]] = {}
    with torch.no_grad():
        for (device, dtype), group in groups.items():
            flags = (
                [all_finite(group)] if dtype is not None else [t.isfinite().all() for t in group]
            )
            devices.setdefault(device, []).extend(flags)
    if all(torch.stack(flags).all().item() for flags in devices.values()):
        return
    for name, value in floats.items():
        if not value.isfinite().all():
            raise CheckpointError(
                f"{where} has non-finite (NaN or inf) weights in {name}; "
                + (fix or "accepted: a model whose weights and buffers are all finite")
            )


def all_finite(group: Sequence[torch.Tensor]) -> torch.Tensor:
    """Whether every value of ``group`` (strided tensors of one device and dtype) is finite:
    a 0-d flag on their device, left unread. Read off their 2-norms, NaN or infinite where a
    value is (one fused kernel per group on a GPU; on the CPU a pass at memory speed, where
    ``isfinite`` writes a mask as large as the tensors: 0.66 s against 0.02 s for the weights
    of spikingjelly's VGG-11), a half-precision tensor's off its sum in float32, whose norm
    could overflow float16. False also where a finite tensor's norm overflowed (far larger
    weights than a network holds): the caller's exact check decides then."""
    if group[0].dtype.itemsize < 4:
        sizes = [t.sum(dtype=torch.float32) for t in group]
    else:
        sizes = list(torch._foreach_norm(list(group), 2))
    return torch.stack(sizes).isfinite().all()


def _layers(state: Mapping[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """``state`` grouped by layer: the module path (the key up to its last dot) -> its tensors."""
    groups: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        prefix, _, name = key.rpartition(".")
        groups.setdefault(prefix, {})[name] = value
    return groups


@dataclass(frozen=True)
class Naming:
    """A reference code's names for the layers of one of our models.

    ``code`` names the reference class as the messages show it (e.g. ``SNN-RAT's
    VGG('vgg11')``); ``layers`` maps each of its module paths (``layer1.0``) to ours
    (``body.0.module.0``); ``folds`` maps each of its convs that carries a bias, which ours
    has not, to our BN after it, whose running mean absorbs that bias."""

    code: str
    layers: dict[str, str]
    folds: dict[str, str] = field(default_factory=dict)


def from_reference(
    reference: Mapping[str, torch.Tensor], model: nn.Module, namings: Sequence[Naming]
) -> dict[str, Any]:
    """A state dict for ``model`` holding the weights of a reference-code state dict, each
    tensor mapped by its name through the naming that fits the file (its key order plays no
    part). A key of no layer, a missing key, a tensor of another shape or a conv bias with
    no BN to fold into is refused naming the key."""
    theirs = _layers({k.removeprefix("module."): v for k, v in reference.items()})
    # the naming that knows most of the file's module paths (the first one on a tie)
    naming = max(namings, key=lambda naming: len(naming.layers.keys() & theirs.keys()))
    example = next(iter(naming.layers))
    for prefix, group in theirs.items():
        if prefix not in naming.layers:
            key = ".".join(filter(None, (prefix, next(iter(group)))))  # a top-level key alone
            raise CheckpointError(
                f"reference key {key} is not a name of {naming.code} (its names are such as "
                f"{example}.weight; a 'module.' prefix is allowed); {FITS}"
            )
    ours = _layers(model.state_dict())
    mapped: dict[str, torch.Tensor] = {}
    for ref_prefix, prefix in naming.layers.items():
        ref = theirs.get(ref_prefix, {})
        for name, tensor in ours[prefix].items():
            if name not in ref:
                raise CheckpointError(
                    f"reference key {ref_prefix}.{name} is missing ({naming.code} has it, "
                    f"for our {prefix}.{name})"
                )
            if ref[name].shape != tensor.shape:
                raise ShapeError(
                    f"reference key {ref_prefix}.{name} ({tuple(ref[name].shape)}) does not "
                    f"fit our {prefix}.{name} {tuple(tensor.shape)}"
                )
            mapped[f"{prefix}.{name}"] = ref[name]
        extra = [name for name in ref if name not in ours[prefix]]
        if extra and (extra != ["bias"] or ref_prefix not in naming.folds):
            raise CheckpointError(
                f"reference key {ref_prefix}.{extra[0]} has no tensor in our {prefix} "
                f"({naming.code})"
            )
    for ref_prefix, bn in naming.folds.items():  # a conv bias the BN after it cancels
        if "bias" in theirs[ref_prefix]:  # mean' = mean - bias, the same function in eval mode
            mapped[f"{bn}.running_mean"] = mapped[f"{bn}.running_mean"] - theirs[ref_prefix]["bias"]
    return mapped


def own_normalization(model: nn.Module) -> dict[str, torch.Tensor]:
    """The normalisation buffers of ``model`` as configured (the dataset's mean and std): a
    reference-format file of a model that does not take 3-channel CIFAR images (a digits or
    MNIST model of the SNN-RAT family) holds none, and its code's values are not known."""
    return {k: v for k, v in model.state_dict().items() if k.startswith("normalize.")}


def _said(buffers: Mapping[str, torch.Tensor], names: tuple[str, str]) -> str:
    """A normalisation's buffers as the arguments ``names`` give them (``mean=[0.305],
    std=[0.376]``: 6 significant digits)."""
    return ", ".join(
        f"{name}={[float(f'{v:.6g}') for v in buffers[key].flatten().tolist()]}"
        for name, key in zip(names, ("normalize.mean", "normalize.std"), strict=True)
    )


def refuse_other_normalization(
    state: Mapping[str, Any], model: nn.Module, where: str, names: tuple[str, str]
) -> None:
    """Refuses the state dict ``state`` of the file ``where`` whose normalisation
    (``normalize.mean``, ``normalize.std``) is not the one ``model`` was built with from the
    arguments ``names`` (its mean and std): loaded, the file's buffers would silently replace
    the values given; the message names both."""
    ours = own_normalization(model)
    theirs = {k: v for k, v in state.items() if k in ("normalize.mean", "normalize.std")}
    if not ours and not theirs:
        return
    if not ours:
        raise CheckpointError(
            f"{where} holds a normalisation ({_said(theirs, names)}), but no {' or '.join(names)}"
            f" was given; accepted: {_said(theirs, names)}, the file's"
        )
    if not theirs:
        raise CheckpointError(
            f"{where} holds no normalisation (its model normalises nothing), but "
            f"{_said(ours, names)} were given; accepted: leave {' and '.join(names)} out"
        )
    # at the file's precision: a float16 file's mean of 0.305 is 0.30493 there
    if any(
        not torch.allclose(theirs[k].float(), ours[k].to(theirs[k].dtype).float()) for k in ours
    ):
        raise CheckpointError(
            f"{where} holds the normalisation {_said(theirs, names)}, but {_said(ours, names)} "
            f"were given; accepted: {_said(theirs, names)}, the file's"
        )


def _file_format(payload: Any, model: nn.Module, where: str) -> str:
    if isinstance(payload, dict):
        if "state_dict" in payload and "record" in payload:
            return "store"
        if "pytorch-lightning_version" in payload:
            return "lightning"
        if payload and all(isinstance(k, str) and torch.is_tensor(v) for k, v in payload.items()):
            ours = model.state_dict().keys()
            own = any(k.removeprefix("module.") in ours for k in payload)
            return "state_dict" if own else "reference"
    raise CheckpointError(f"{where}: none of the files a model is read from; accepted: {FORMATS}")


def load_model_file(
    path: str | Path,
    model: nn.Module,
    key: str = "checkpoint",
    namings: Sequence[Naming] = (),
    payload: Any = None,
    normalization: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Loads the weights of ``path`` (any format above) into ``model``; returns its record.

    ``key`` is the config key (or argument) that named the file, for the messages.
    ``namings`` are the reference codes' names for ``model``'s layers
    (:func:`snnattack.models.reference.namings`); without any, a state dict must carry the
    model's own names (``torch.save(model.state_dict())``). ``payload``: the file's content
    where the caller has read it (:func:`read_model_file`), else it is read here. A store file's
    weights must be those its record names (:func:`check_stored_weights`). ``normalization``: the
    caller's names for the model's mean and std, where they were given by the caller
    (:func:`refuse_other_normalization`); None: the file's normalisation is loaded as it is."""
    path = Path(path)
    where = f"{key}={path}"
    payload = read_model_file(path, key) if payload is None else payload
    kind = _file_format(payload, model, where)
    require_finite(payload["state_dict"] if kind in ("store", "lightning") else payload, where)
    record: dict[str, Any] = {}
    if kind == "store":
        state, record = payload["state_dict"], dict(payload["record"])
    elif kind == "lightning":
        state = {k.removeprefix("model."): v for k, v in payload["state_dict"].items()}
    elif kind == "state_dict":
        state = {k.removeprefix("module."): v for k, v in payload.items()}
    else:
        if not namings:
            first = next(iter(payload))
            raise CheckpointError(
                f"{where}: its key {first} is not one of the model's own "
                f"(such as {next(iter(model.state_dict()))}), and no reference code's names "
                "are known for this model; accepted: torch.save(model.state_dict()) of this "
                "model, or a reference file of a model that has them (docs/interop.md)"
            )
        try:
            state = from_reference(payload, model, namings)
        except CheckpointError as err:
            raise type(err)(f"{where}: {err}") from None
        mean = getattr(getattr(model, "normalize", None), "mean", None)
        if isinstance(mean, torch.Tensor) and mean.numel() == len(REFERENCE_MEAN):
            state["normalize.mean"] = torch.tensor(REFERENCE_MEAN).view(-1, 1, 1)
            state["normalize.std"] = torch.tensor(REFERENCE_STD).view(-1, 1, 1)
            record["normalization"] = {"mean": REFERENCE_MEAN, "std": REFERENCE_STD}
        else:
            state.update(own_normalization(model))
    ours = model.state_dict()
    for name, tensor in state.items():  # checked first: a failed load would leave some loaded
        if name not in ours or not torch.is_tensor(tensor):
            continue
        if tensor.shape != ours[name].shape:
            raise ShapeError(
                f"{where} does not fit the configured model: key {name} "
                f"{tuple(tensor.shape)} is {tuple(ours[name].shape)} in the model; {FITS}"
            )
        if ours[name].is_floating_point() and not tensor.is_floating_point():
            raise CheckpointError(  # an integer copy ran as weights rounded to whole numbers
                f"{where} holds key {name} as {tensor.dtype}, not a floating-point tensor as "
                f"the model's {ours[name].dtype}; accepted: a file of the model's weights as "
                "saved (float32, float64 or float16: torch.save(model.state_dict()))"
            )
    if normalization is not None and kind != "reference":  # a reference's is set above
        refuse_other_normalization(state, model, where, normalization)
    result = model.load_state_dict(state, strict=False)
    problems = [*result.missing_keys, *result.unexpected_keys]
    if problems:
        what = "missing" if result.missing_keys else "unexpected"
        raise CheckpointError(
            f"{where} does not fit the configured model: {what} key {problems[0]!r}; {FITS}"
        )
    if kind == "store":
        check_stored_weights(model, record, where, "accepted: an intact copy of the file")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return {**record, "checkpoint": str(path), "format": kind, "sha256": digest, "cached": True}


def weights(*models: nn.Module | None) -> str:
    """A digest of the models' parameters and buffers: each tensor's bytes read where they lie
    (a contiguous CPU tensor's memory, not a copy of it: hashing spikingjelly's VGG-11 took
    0.60–0.64 s with the copies, 0.29 s without, on one CPU thread)."""
    digest = hashlib.sha256()
    for model in models:
        for name, tensor in (model.state_dict() if model is not None else {}).items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().reshape(-1).view(torch.uint8).numpy())
        digest.update(b"|")
    return digest.hexdigest()


def check_stored_weights(model: nn.Module, record: dict, what: str, fix: str) -> None:
    """Refuses ``model``'s weights, loaded from the file ``what`` names, where they are not
    those the store wrote into it (its ``record``'s ``weights``): bytes changed in the tensors
    (a disk or a copy that flipped bits) still load, finite, into a model that is not the one
    trained, whose rows would be numbers of no model. A record written before the store kept
    the digest has none, and its weights are loaded unchecked: a digest computed now would
    describe the file as it is, whatever changed in it, so there is nothing to compare."""
    stored = record.get("weights")
    if stored is not None and (loaded := weights_id(model)) != stored:
        raise CheckpointError(
            f"{what} holds other weights than were stored ({loaded}, its record's {stored}): "
            f"the file changed after it was written; {fix}"
        )


def weights_id(model: nn.Module) -> str:
    """How a record names ``model``'s weights: ``params:`` and 16 hex digits of
    :func:`weights` (metrics.json's ``weights``, a stored model's record)."""
    return f"params:{weights(model)[:16]}"


def torch_bytes(obj: Any) -> bytes:
    """``torch.save``'s file of ``obj`` in memory: written with
    :func:`~snnattack.records.files.write_atomic`, a full disk is an ``OSError`` of the write
    (``torch.save`` to a path raises a ``RuntimeError`` from its C++ writer that names neither
    the file nor the reason) and leaves no half file."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()
