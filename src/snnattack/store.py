"""Checkpoint cache: each model is trained once per distinct training configuration.

A model is stored under the hash of everything that affects its training (data, model,
neuron, encoding, recipe, trainer limits, seed). Jobs that need the same model find it there;
the first one trains it under a file lock, so parallel jobs never train it twice, and the
checkpoint is written atomically, so an interrupted job leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock
from torch import nn

from snnattack.errors import CheckpointError

CHECKPOINT = "model.pt"


def spec_key(spec: dict[str, Any]) -> str:
    """Stable short hash of a training specification (JSON, sorted keys)."""
    blob = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


class ModelStore:
    """Folder of trained models, one sub-folder per training-spec hash."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, spec: dict[str, Any]) -> Path:
        return self.root / spec_key(spec)

    def get_or_train(
        self,
        spec: dict[str, Any],
        build: Callable[[], nn.Module],
        train: Callable[[Path], tuple[nn.Module, dict[str, Any]]],
    ) -> tuple[nn.Module, dict[str, Any]]:
        """The stored model for ``spec``, training it with ``train(workdir)`` if absent.

        ``build()`` makes an untrained model to load weights into; ``train`` returns the
        trained model and a record (validation accuracy, epochs, ...) kept beside it.
        """
        folder = self.path(spec)
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(folder) + ".lock"):
            if (folder / CHECKPOINT).exists():
                model = build()
                record = self.load(folder, model)
                return model, {**record, "cached": True}
            workdir = folder.with_name(folder.name + ".partial")
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir(parents=True)
            model, record = train(workdir)
            record = {**record, "spec": spec, "key": folder.name}
            torch.save({"state_dict": model.state_dict(), "record": record}, workdir / CHECKPOINT)
            (workdir / "record.json").write_text(json.dumps(record, indent=2, default=str))
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(workdir, folder)
            return model, {**record, "cached": False}

    @staticmethod
    def load(folder: Path, model: nn.Module) -> dict[str, Any]:
        """Loads ``folder``'s weights into ``model`` (strictly) and returns its record."""
        path = folder / CHECKPOINT
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            state, record = payload["state_dict"], payload["record"]
        except Exception as err:  # any unreadable file is the same user-facing problem
            raise CheckpointError(
                f"checkpoint {path} is corrupt or unreadable ({type(err).__name__}); "
                f"delete the folder {folder} to retrain it"
            ) from None
        _check_trusted(path, folder, state, record)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0]
            raise CheckpointError(
                f"checkpoint {path} does not fit the configured model ({first}); "
                f"delete the folder {folder} to retrain it"
            ) from None
        return record


def _check_trusted(path: Path, folder: Path, state: dict, record: dict) -> None:
    """Refuses a readable checkpoint that is not this folder's model, or has non-finite weights.

    The folder is named after the hash of the training spec, so the record's key and the hash
    of the record's spec must both be the folder's name: another model's ``model.pt`` copied
    here (e.g. the black-box source into the target's folder) is caught.
    """
    spec = record.get("spec") if isinstance(record, dict) else None
    key = record.get("key") if isinstance(record, dict) else None
    if spec is None or key != folder.name or spec_key(spec) != folder.name:
        raise CheckpointError(
            f"checkpoint {path} holds another model (its record's key is {key!r}, not the "
            f"folder's {folder.name!r}); delete the folder {folder} to retrain it"
        )
    bad = [name for name, t in state.items()
           if torch.is_tensor(t) and t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise CheckpointError(
            f"checkpoint {path} has non-finite (NaN or inf) weights in {bad[0]}; delete the "
            f"folder {folder} to retrain it"
        )
