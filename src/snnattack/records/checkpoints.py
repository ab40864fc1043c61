"""Models from files: attack a model trained elsewhere (``checkpoint=PATH``).

Three formats are read, each loaded strictly into the configured model:

- this project's store files (``<store>/<key>/model.pt``: ``{"state_dict", "record"}``);
- Lightning checkpoints of this project's training (``*.ckpt``: keys prefixed ``model.``);
- plain state dicts of the RGA reference code (``putshua/SNN_attack_RGA``: ``VGG`` and
  ``ResNet17/19`` naming such as ``layer1.0.weight``, ``classifier.1.weight``,
  ``layer1.0.conv1.fwd.1.running_mean``; a ``module.`` prefix from DataParallel is dropped),
  and of the SNN-RAT code family (``putshua/SNN-RAT`` ``models/``, which HART, FEEL-SNN and
  other defences build on): its VGG and ResNet17/19 have the same names, its WideResNet-16-4
  loads into ``model=wrn16_4``. Their ``LIFSpike(tau, thresh)`` is this project's LIF with
  ``lambda=tau``, ``theta=thresh``, ``reset=hard``; neither value is in the file, so the
  config sets them (both 1.0 in SNN-RAT).

The reference's tensors are mapped onto ours in order, layer by layer (conv, BN, linear, in
the order both codes register them), each pair checked for shape. Its VGG convs carry a bias,
which the BN after them cancels: it is folded into that BN's running mean
(``mean' = mean - bias``), the same function in eval mode. The reference normalises CIFAR
inside the model with mean (0.4914, 0.4822, 0.4465) and std (0.2023, 0.1994, 0.2010), not a
parameter of its files: a reference file gets those values in our ``Normalize`` layer too, so
its logits are the reference's. Anything that does not fit is refused naming the first key.

Every model file this project reads (these, the store's, a training's resume file) is read by
:func:`load_tensors`, torch's weights-only unpickler, so no file runs code: a pickle that
needs any other object is refused unread, naming it. Every model that enters a job passes
:func:`require_finite`, so NaN or infinite weights are never attacked.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from snnattack.errors import CheckpointError

REFERENCE_MEAN = (0.4914, 0.4822, 0.4465)
REFERENCE_STD = (0.2023, 0.1994, 0.2010)
BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


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


def require_finite(state: Mapping[str, Any] | nn.Module, where: str, fix: str = "") -> None:
    """Refuses a model (or state dict) with a NaN or infinite weight or buffer.

    The :class:`CheckpointError` names ``where`` (the file or config key the model came
    from) and the first offending tensor; ``fix`` (what to do) ends the line, else the
    accepted values do. An attack on such a model measures nothing: a NaN logit is never the
    true class, so every attack "succeeds" or none does.
    """
    tensors = state.state_dict() if isinstance(state, nn.Module) else state
    for name, value in tensors.items():
        if torch.is_tensor(value) and value.is_floating_point() and not value.isfinite().all():
            raise CheckpointError(
                f"{where} has non-finite (NaN or inf) weights in {name}; "
                + (fix or "accepted: a model whose weights and buffers are all finite")
            )


def _layers(state: dict[str, torch.Tensor]) -> list[tuple[str, dict[str, torch.Tensor]]]:
    """``state`` grouped by layer (the key up to its last dot), in the file's order."""
    groups: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        prefix, _, name = key.rpartition(".")
        groups.setdefault(prefix, {})[name] = value
    return list(groups.items())


def _is_bn(group: dict[str, torch.Tensor]) -> bool:
    return "running_mean" in group


def from_reference(reference: dict[str, torch.Tensor], model: nn.Module) -> dict[str, Any]:
    """A state dict for ``model`` holding the weights of a reference-code state dict."""
    ours = {k: v for k, v in model.state_dict().items() if not k.startswith("normalize.")}
    theirs = _layers({k.removeprefix("module."): v for k, v in reference.items()})
    mapped: dict[str, torch.Tensor] = {}
    bias_to_fold: torch.Tensor | None = None
    i = 0
    for prefix, group in _layers(ours):
        if i >= len(theirs):
            raise CheckpointError(f"the reference file has no tensor for our layer {prefix!r}")
        ref_prefix, ref = theirs[i]
        i += 1
        if _is_bn(group) != _is_bn(ref):
            raise CheckpointError(
                f"reference layer {ref_prefix!r} does not fit our layer {prefix!r} "
                f"({'BN' if _is_bn(ref) else 'conv/linear'} vs "
                f"{'BN' if _is_bn(group) else 'conv/linear'})"
            )
        for name, tensor in group.items():
            if name not in ref or ref[name].shape != tensor.shape:
                got = tuple(ref[name].shape) if name in ref else "missing"
                raise CheckpointError(
                    f"reference key {ref_prefix}.{name} ({got}) does not fit our "
                    f"{prefix}.{name} {tuple(tensor.shape)}"
                )
            value = ref[name]
            if name == "running_mean" and bias_to_fold is not None:
                value = value - bias_to_fold
            mapped[f"{prefix}.{name}"] = value
        bias_to_fold = ref["bias"] if "bias" in ref and "bias" not in group else None
        if bias_to_fold is not None and not (i < len(theirs) and _is_bn(theirs[i][1])):
            raise CheckpointError(f"reference key {ref_prefix}.bias has no BN to fold into")
    if i < len(theirs):
        raise CheckpointError(f"reference key {theirs[i][0]}.* has no layer in our model")
    return mapped


def own_normalization(model: nn.Module) -> dict[str, torch.Tensor]:
    """The normalisation buffers of ``model`` as configured (the dataset's mean and std): a
    reference-format file of a model that does not take 3-channel CIFAR images (a digits or
    MNIST model of the SNN-RAT family) holds none, and its code's values are not known."""
    return {k: v for k, v in model.state_dict().items() if k.startswith("normalize.")}


def _file_format(payload: Any) -> str:
    if isinstance(payload, dict) and "state_dict" in payload and "record" in payload:
        return "store"
    if isinstance(payload, dict) and "pytorch-lightning_version" in payload:
        return "lightning"
    if isinstance(payload, dict) and all(isinstance(v, torch.Tensor) for v in payload.values()):
        return "reference"
    raise CheckpointError("not a store file, a Lightning checkpoint or a reference state dict")


def load_model_file(path: str | Path, model: nn.Module, key: str = "checkpoint") -> dict[str, Any]:
    """Loads the weights of ``path`` (any format above) into ``model``; returns its record.

    ``key`` is the config key that named the file, for the messages."""
    path = Path(path)
    try:
        payload = load_tensors(path)
        kind = _file_format(payload)
    except (CheckpointError, RefusedFile) as err:
        raise CheckpointError(f"{key}={path}: {err}") from None
    except Exception as err:  # an unreadable file is one user-facing problem, whatever broke
        raise CheckpointError(
            f"{key}={path} is missing, corrupt or unreadable ({type(err).__name__})"
        ) from None
    require_finite(payload["state_dict"] if kind != "reference" else payload, f"{key}={path}")
    record: dict[str, Any] = {}
    if kind == "store":
        state, record = payload["state_dict"], dict(payload["record"])
    elif kind == "lightning":
        state = {k.removeprefix("model."): v for k, v in payload["state_dict"].items()}
    else:
        try:
            state = from_reference(payload, model)
        except CheckpointError as err:
            raise CheckpointError(f"{key}={path}: {err}") from None
        normalize = getattr(model, "normalize", None)
        if isinstance(
            getattr(normalize, "mean", None), torch.Tensor
        ) and normalize.mean.numel() == len(REFERENCE_MEAN):
            state["normalize.mean"] = torch.tensor(REFERENCE_MEAN).view(-1, 1, 1)
            state["normalize.std"] = torch.tensor(REFERENCE_STD).view(-1, 1, 1)
            record["normalization"] = {"mean": REFERENCE_MEAN, "std": REFERENCE_STD}
        else:
            state.update(own_normalization(model))
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # a tensor of another shape
        first = str(err).strip().splitlines()[-1].strip()
        raise CheckpointError(f"{key}={path} does not fit the configured model: {first}") from None
    problems = [*result.missing_keys, *result.unexpected_keys]
    if problems:
        what = "missing" if result.missing_keys else "unexpected"
        raise CheckpointError(
            f"{key}={path} does not fit the configured model: {what} key {problems[0]!r}"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return {**record, "checkpoint": str(path), "format": kind, "sha256": digest, "cached": True}
