"""Adversarial examples saved for reuse (``attack.save_examples=true``), one file per result row.

``<job folder>/adv_<method>_<eps>_<box>.pt`` (``eps`` in 1/255, e.g. ``adv_pgd_32_white.pt``)
is a ``torch.save`` dict in the layout of torchattacks' ``Attack.save``, so
``torchattacks.attack.Attack.load(path)`` gives a DataLoader of (adversarial input, label):

- ``adv_inputs``: float tensor ``[n, ...]``, the inputs as the model takes them (pixels in
  [0, 1] for images, frames for event data), in test-split order;
- ``labels``: int64 ``[n]``, the true classes;
- ``preds``: int64 ``[n]``, the target model's class on each adversarial input;
- ``indices``: int64 ``[n]``, each sample's position in the test split (the datamodule's
  ``test_set``), to pair it with its clean input;
- ``targets`` and ``aimed`` (a targeted row's only: ``target=<class>`` or ``random``, an
  ensemble with a targeted component): int64 ``[n]``, the class each sample's example was
  aimed at (-1: none), and bool ``[n]``, the samples its ``targeted_asr`` counts
  (``n_targeted`` of them; those put in their class: ``aimed & (preds == targets)``);
- ``clean_inputs`` (event attacks only, an ensemble of event attacks only too): float tensor
  ``[n, ...]``, the clean frames, so that the report can mark the events each example
  inserted and deleted;
- ``save_type``: ``"float"`` (torchattacks' marker), and the row's ``method``, ``box``,
  ``grad_mode``, ``eps`` ([0, 1] units) and ``eps_255``;
- ``row``: the row's name in ``metrics.json`` (``<method>/<box>/eps<eps_255>``, the key of its
  ``row_seconds``), and ``version`` and ``git_commit``: the package version and git commit that
  made the examples (``metrics.json``'s own), so that a file copied away from its job still
  names the code that crafted it. :func:`load` gives them as None for a file written before.

Stochastic encoders (``encoding=poisson``) draw new spikes on every forward, so evaluating the
saved inputs again reproduces the recorded adversarial accuracy exactly only for deterministic
encodings (direct, frames).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from snnattack.records.checkpoints import load_tensors, torch_bytes
from snnattack.records.files import write_atomic
from snnattack.records.results import AttackRow
from snnattack.settings import row_name

# keys added to the format after its first files (load: None in a file written before them):
# the code and the row that made a file, and which samples the row's ASR counts
LATER = ("row", "version", "git_commit", "correct")


def save(
    folder: Path,
    row: AttackRow,
    parts: list[dict[str, torch.Tensor]],
    version: str | None,
    git_commit: str | None,
) -> str:
    """Writes one row's examples (``parts``: per batch ``adv``, ``labels``, ``preds``,
    ``correct``, ``indices``; ``clean``, ``targets`` and ``aimed`` where a row has them) into
    ``folder`` atomically, with the row's name and the package ``version`` and
    ``git_commit`` of its job (its record's); returns the file name. A full
    disk or read-only folder raises :class:`~snnattack.errors.WriteError` naming the file."""
    name = f"adv_{row.method}_{row.eps_255:g}_{row.box}.pt"  # e.g. adv_pgd_32_white.pt
    order = torch.cat([p["indices"] for p in parts]).argsort()
    data = {
        "adv_inputs": torch.cat([p["adv"] for p in parts])[order],
        "labels": torch.cat([p["labels"] for p in parts])[order],
        "preds": torch.cat([p["preds"] for p in parts])[order],
        "correct": torch.cat([p["correct"] for p in parts])[order],
        "indices": torch.cat([p["indices"] for p in parts])[order],
        "save_type": "float",
        **{k: asdict(row)[k] for k in ("method", "box", "grad_mode", "eps", "eps_255")},
        "row": row_name(row.method, row.box, row.eps_255),  # as metrics.json's row_seconds
        "version": version,
        "git_commit": git_commit,
    }
    for key, saved in (("clean", "clean_inputs"), ("targets", "targets"), ("aimed", "aimed")):
        if all(key in p for p in parts):
            data[saved] = torch.cat([p[key] for p in parts])[order]
    write_atomic(folder / name, torch_bytes(data))
    return name


def load(path: Path) -> dict[str, Any]:
    """A saved file's content (tensors on the CPU), read as tensors and plain values only:
    a file that would run code raises :class:`~snnattack.records.checkpoints.RefusedFile`.
    The keys of :data:`LATER` are None in a file written before them."""
    data = load_tensors(path)
    if isinstance(data, dict):
        for key in LATER:
            data.setdefault(key, None)
    return data
