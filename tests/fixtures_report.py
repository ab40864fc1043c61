"""Hand-made ``metrics.json`` files for the report's tests: a digits job, a 2-λ sweep."""

from __future__ import annotations

import csv
import json
from pathlib import Path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def hand_made_job(
    folder: Path, seed: int, mode: str, asr: float, lam: float = 1.0, **extra
) -> None:
    """A digits job's record at λ = ``lam``: one white-box FGSM row at ε = 48 of ASR ``asr``."""
    folder.mkdir(parents=True)
    config = {
        "dataset": {"name": "digits"},
        "model": {"name": "digits_net"},
        "T": 4,
        "lambda": lam,
        "reset": "hard",
        "encoding": "direct",
        "seed": seed,
        "attack": {"grad_mode": mode},
        "new_key_from_another_agent": {"x": 1},
        "paper": {
            "table2": [
                {
                    "lambda": 1.0,
                    "method": "fgsm",
                    "clean": 93.06,
                    "white": {"stbp": 86.28, "rga": 93.74},
                }
            ]
        },
    }
    record = {
        "clean_acc": 90.0 + seed,
        "n": 100,
        "config": config,
        "some_new_field": [1, 2],
        "results": [
            {
                "method": "fgsm",
                "eps": 48 / 255,
                "eps_255": 48.0,
                "box": "white",
                "grad_mode": mode,
                "asr": asr,
                "adv_acc": 10.0,
                "n_correct": 90,
            }
        ],
        **extra,
    }
    (folder / "metrics.json").write_text(json.dumps(record))


def _lambda_job(folder: Path, lam: float, seed: int, mode: str, asr: float) -> None:
    """A job of a 2-λ sweep: one white-box FGSM row, robust accuracy 100 − asr of 90 %."""
    folder.mkdir(parents=True)
    config = {
        "dataset": {"name": "digits"},
        "model": {"name": "digits_net"},
        "T": 4,
        "lambda": lam,
        "reset": "hard",
        "encoding": "direct",
        "seed": seed,
        "attack": {"grad_mode": mode},
    }
    row = {"method": "fgsm", "eps_255": 32.0, "box": "white", "grad_mode": mode, "asr": asr}
    row.update(adv_acc=90.0 * (1 - asr / 100), n_correct=90, n=100)
    record = {"clean_acc": 90.0, "n": 100, "config": config, "results": [row]}
    record["git_commit"], record["version"] = "0123456789abcdef0123", "0.1.0"
    (folder / "metrics.json").write_text(json.dumps(record))


def lambda_sweep(folder: Path, asr: dict[tuple[float, str], tuple[float, float]]) -> None:
    """Jobs of a sweep over λ × gradient mode × seeds 0, 1; ``asr[λ, mode]`` per seed."""
    i = 0
    for (lam, mode), values in asr.items():
        for seed, value in enumerate(values):
            _lambda_job(folder / str(i), lam, seed, mode, value)
            i += 1


def results_csv(folder: Path) -> list[dict[str, str]]:
    """The rows of the report's ``results.csv`` in ``folder``."""
    with open(folder / "results.csv") as f:
        return list(csv.DictReader(f))
