r"""The grids an attack run's gradient-mode parameters are tuned on (``attack.tune.grids``).

Its rows are :class:`~snnattack.settings.AttackSpec`\ s, parsed from the config once
(:mod:`snnattack.attacks.parse`) and carried in the job's settings. Whether a config tunes
anything (:func:`tunes`) and whether its grids are sound (:func:`check_grid`) are read by
the validation too (:mod:`snnattack.attacks.checks`).
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Mapping
from typing import Any

from snnattack.attacks.ensemble import ENSEMBLE
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES, check_params
from snnattack.values import as_typed, is_real

RANGE_KEYS = ("start", "stop", "step")
GRID_FORM = "a non-empty list of values, or {start: a, stop: b >= a, step: s > 0} (ends included)"
ROUNDING = 1e-9  # a range's last step may fall short of its stop by float rounding


def axis_size(key: str, spec: Any) -> int:
    """The values of a grid axis: a list's length, or a ``{start, stop, step}`` range's points
    (counted, not listed: a range of a million points is refused before it is made)."""
    if isinstance(spec, list) and spec:
        return len(spec)
    if isinstance(spec, dict) and set(spec) == set(RANGE_KEYS):
        start, stop, step = (spec[k] for k in RANGE_KEYS)
        if all(map(is_real, (start, stop, step))) and step > 0:
            if stop < start:
                problem = "has its stop below its start"
                raise ConfigError(f"{key}={as_typed(spec)} {problem}; accepted: {GRID_FORM}")
            count = (stop - start) / step
            if not math.isfinite(count):  # {start: 1, stop: 1e300, step: 1e-300}: no integer
                raise ConfigError(
                    f"{key}={as_typed(spec)} has more points than a number holds (its span "
                    f"over its step is beyond {sys.float_info.max:.3g}); accepted: {GRID_FORM}, "
                    "of a larger step"
                )
            return math.floor(count + ROUNDING) + 1
    problem = "is empty" if spec == [] else "is not a grid"
    raise ConfigError(f"{key}={as_typed(spec)} {problem}; accepted: {GRID_FORM}")


def grid_values(key: str, spec: Any) -> list[float]:
    """A grid axis: a list of values, or ``{start, stop, step}`` (both ends included)."""
    size = axis_size(key, spec)
    if isinstance(spec, list):
        return list(spec)
    return [round(spec["start"] + i * spec["step"], 10) for i in range(size)]


def tunable(mode: str) -> bool:
    """Whether the gradient mode ``mode`` has parameters to tune (``bptr`` and ``ann`` have
    none; ``pdsg``'s only one chooses a variant)."""
    spec = GRADIENT_MODES[mode]
    return bool(spec.ranges) and not spec.fixed


def grid_key(grids: Mapping[str, Any], mode: str) -> str:
    """The key a message names for ``mode``'s grid: the first grid of ``grids`` equal to it.
    A grid that reads another (``rga_layerwise: ${.rga}``, conf/config.yaml) is named as the
    user typed it, ``attack.tune.grids.rga.beta=[0]``, not as the mode that reads it."""
    axes = grids.get(mode)
    typed = next((name for name, other in grids.items() if axes and other == axes), mode)
    return f"attack.tune.grids.{typed}"


def grid(tune: Mapping[str, Any], mode: str) -> list[dict[str, Any]]:
    """Every point of ``mode``'s grid in ``tune`` (``attack.tune`` as plain containers: the
    product of its parameters' values, a parameter set to null not tuned); ``[{}]`` for a mode
    without parameters. A grid of more than ``tune["max_points"]`` points is refused before
    its points are made."""
    if not tunable(mode):
        return [{}]
    every = tune.get("grids") or {}
    key = grid_key(every, mode)
    axes = every.get(mode)
    if not axes:
        accepted = ", ".join(sorted(every)) or "none"
        raise ConfigError(
            f"{key} is missing: attack={mode} has no grid to tune; accepted: a grid for it "
            f"('+{key}={{<parameter>: [values]}}'), or a gradient mode with one ({accepted})"
        )
    if not isinstance(axes, dict):
        raise ConfigError(
            f"{key}={as_typed(axes)} is not a grid; accepted: a dict of each parameter's values, "
            f"each {GRID_FORM}, e.g. {key}={{<parameter>: [0.5, 1.0]}}"
        )
    names = [n for n, values in axes.items() if values is not None]
    if not names:
        raise ConfigError(
            f"{key}={as_typed(axes)} tunes nothing (every parameter null); accepted: the values of "
            f"one of {', '.join(axes)}, e.g. {key}.{next(iter(axes))}=[0.5,1.0]"
        )
    points = math.prod(axis_size(f"{key}.{n}", axes[n]) for n in names)
    if points > tune["max_points"]:
        raise ConfigError(
            f"{key} has {as_typed(points)} points, more than attack.tune.max_points="
            f"{tune['max_points']} (each point is one attack per row); accepted: a grid of "
            "at most that many points (fewer values, a larger step), or a larger "
            "attack.tune.max_points"
        )
    values = [grid_values(f"{key}.{n}", axes[n]) for n in names]
    return [dict(zip(names, point, strict=True)) for point in itertools.product(*values)]


def tunes(resolved: dict[str, Any]) -> bool:
    """Whether a resolved config tunes anything: ``attack.tune.enabled``, or an ensemble
    component with ``tune: true``."""
    ensembles = [m for m in resolved["method"].values() if m.get("name") == ENSEMBLE]
    parts = [c for m in ensembles for c in m.get("components") or []]
    return bool(resolved["attack"]["tune"]["enabled"]) or any(c.get("tune") for c in parts)


def check_grid(resolved: dict[str, Any], mode: str) -> None:
    """The gradient mode ``mode`` has a grid in ``attack.tune.grids`` of parameters it takes,
    every point in their ranges (each point is an attack that tuning runs)."""
    tune = resolved["attack"].get("tune") or {}
    for point in grid(tune, mode):
        check_params(grid_key(tune.get("grids") or {}, mode), point, mode, f"attack={mode}")
