"""Settings that are accepted but do less than they say: each gives a one-line note, logged
before any work (:func:`snnattack.config.validate`) and kept in the job record's ``notes``.

A sweep may set a key for every job although some of its jobs cannot use it (``attack.tune``
swept over ``attack=stbp,bptr``: BPTR has no parameter; ``attack.steps_curve`` with
``method=[fgsm,pgd]``: FGSM has no iterations; a curve to 200 with PGD-7 beside SA-PGD-200:
PGD's curve stops at 7); those jobs run, and say so.
"""

from __future__ import annotations

from typing import Any

from snnattack.attacks.convergence import iterations
from snnattack.attacks.spec import tunable
from snnattack.config.specs import curve_reach


def notes(resolved: dict[str, Any]) -> list[str]:
    """The notes of a resolved config, one line each."""
    out = []
    attack = resolved["attack"]
    mode = attack["grad_mode"]
    if (attack.get("tune") or {}).get("enabled") and not tunable(mode):
        out.append(
            f"attack.tune.enabled=true tunes nothing with attack.grad_mode={mode}: it has no "
            "parameter to tune; its rows run as they are"
        )
    counts = attack.get("steps_curve") or []
    for key, method in resolved["method"].items() if counts else ():
        if iterations(method["name"], method) is None:
            out.append(
                f"attack.steps_curve={counts} gives no curve for method={key}: it has no "
                "iterations of its own; its asr_curve is null"
            )
    for runs, total in (curve_reach(resolved) if counts else {}).items():
        if max(counts) > total:
            out.append(
                f"attack.steps_curve={counts}: the counts above {runs} are left out of its curve"
            )
    return out
