"""Benchmark entries as a test writes them: a valid entry with the fields a test changes, and
a folder of released protocol files (``<name>_v<version>.yaml`` and their recorded hashes) for
the leaderboard to check against."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

from snnattack.benchmark.release import release

VALID: dict[str, Any] = {
    "schema": 3,
    "model": {
        "name": "STBP digits_net",
        "paper": "Bu et al., CVPR 2023",
        "venue": "CVPR",
        "architecture": "digits_net",
        "T": 4,
        "encoding": "direct",
        "levels": None,
        "training": "stbp",
        "parameters": 12345,
    },
    "protocol": "digits",
    "eps_255": [16.0],
    "data": "protocol",
    "clean_acc": 97.5,
    "n": 200,
    "robust_acc": {"fgsm": 60.0, "pgd": 40.5, "ensemble": 20.25, "pgd/transfer": 80.0},
    "worst_case": 20.25,
    "eot_samples": 1,
    "masking": {"flagged": []},
    "reported": {"clean": 98.0, "pgd": 45.0},
    "gap": 24.75,
    "provenance": {
        "snnattack": "0.1.0",
        "commit": "abc123",
        "protocol_version": 1,
        "protocol_sha256": "",  # digits_v1's as protocols() writes it: set below
        "overrides": [],
        "weights": "params:0123456789abcdef",
        "date": "2026-11-25",
    },
}


def entry(name: str, worst: float, **changes: Any) -> dict[str, Any]:
    """:data:`VALID` named ``name`` with worst case ``worst`` (the ensemble's row; no row
        below it, its gap to match); ``changes`` set top-level fields, ``version=`` the protocol
        version, ``flagged=`` the masking flags, ``weights=`` the weights' hash (default: one of
    its own name). It names the
        released file of its protocol and version (:func:`protocols`)."""
    made = copy.deepcopy(VALID)
    made["model"]["name"] = name
    made["worst_case"] = worst
    made["robust_acc"] = {k: max(v, worst) for k, v in VALID["robust_acc"].items()}
    made["robust_acc"]["ensemble"] = worst
    made["gap"] = round(45.0 - worst, 2)  # VALID's lowest reported robust accuracy
    provenance = made["provenance"]
    provenance["protocol_version"] = changes.pop("version", 1)
    own = hashlib.sha256(name.encode()).hexdigest()[:16]  # each model its own weights
    provenance["weights"] = changes.pop("weights", f"params:{own}")
    made["masking"]["flagged"] = changes.pop("flagged", [])
    made.update(changes)
    provenance["protocol_sha256"] = released(made["protocol"], provenance["protocol_version"])
    return made


def write(folder: Path, name: str, data: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def protocols(folder: Path, **versions: list[int]) -> Path:
    """Protocol files ``<name>_v<k>.yaml`` for each name's versions (only their block),
    released (their hashes recorded)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, listed in versions.items():
        for k in listed:
            (folder / f"{name}_v{k}.yaml").write_text(BLOCK.format(name=name, k=k))
    release(folder)
    return folder


BLOCK = "benchmark:\n  protocol: {name}\n  version: {k}\n"  # a test protocol file's text


def released(name: str, k: int) -> str:
    """The hash of the test protocol file ``<name>_v<k>.yaml`` that :func:`protocols` writes."""
    return hashlib.sha256(BLOCK.format(name=name, k=k).encode()).hexdigest()


VALID["provenance"]["protocol_sha256"] = released("digits", 1)
