"""Benchmark entries as a test writes them: a valid entry with the fields a test changes, and
a folder of protocol files (``<name>_v<version>.yaml``) for the leaderboard to check against."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

VALID: dict[str, Any] = {
    "schema": 1,
    "model": {
        "name": "STBP digits_net",
        "paper": "Bu et al., CVPR 2023",
        "venue": "CVPR",
        "architecture": "digits_net",
        "T": 4,
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
        "weights": "params:0123456789abcdef",
        "date": "2026-11-25",
    },
}


def entry(name: str, worst: float, **changes: Any) -> dict[str, Any]:
    """:data:`VALID` named ``name`` with worst case ``worst``; ``changes`` set top-level
    fields, ``version=`` the protocol version, ``flagged=`` the masking flags."""
    made = copy.deepcopy(VALID)
    made["model"]["name"] = name
    made["worst_case"] = worst
    made["robust_acc"]["ensemble"] = worst
    made["provenance"]["protocol_version"] = changes.pop("version", 1)
    made["masking"]["flagged"] = changes.pop("flagged", [])
    made.update(changes)
    return made


def write(folder: Path, name: str, data: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def protocols(folder: Path, **versions: list[int]) -> Path:
    """Protocol files ``<name>_v<k>.yaml`` for each name's versions (only their block)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, listed in versions.items():
        for k in listed:
            (folder / f"{name}_v{k}.yaml").write_text(
                f"benchmark:\n  protocol: {name}\n  version: {k}\n"
            )
    return folder
