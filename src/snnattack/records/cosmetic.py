"""Keys that do not change a result: one list, ``cosmetic_keys`` in ``conf/config.yaml``.

Everything that must leave them out derives from that list: the relaunch check (the result
spec), the checkpoint store's key, W&B run names and the report's columns. The store key keeps
those of them that no attack reads but that change a trained model
(``snnattack.training.store_key.TRAINING_KEYS``: the data loader's workers). An entry is a
dotted key and covers the keys below it (``logger`` covers ``logger.wandb.project``).

A config group's choice is an override too (``trainer=ddp_cpu``): it is cosmetic where every
option of the group differs from the others in cosmetic keys only (:data:`COSMETIC_CHOICES`),
although keys below the group may change results (``trainer.max_epochs``). Names built from a
job's overrides (W&B run names, a report's matching of jobs, and Hydra's
``override_dirname``, whose ``exclude_keys`` in ``conf/config.yaml`` list these groups) leave
such a choice out; the resolved config still records the keys it set. A sweep that varies
such a key or choice keeps it in its jobs' ``override_dirname``, a folder each
(``hydra_plugins.snnattack_sweeper``).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from functools import cache
from typing import Any

import yaml

from snnattack.package import CONF_DIR
from snnattack.settings import dotted_value

# the config's per-kind lookups that T and lambda interpolate (experiment files'
# ``lambda: ${kinds.lambda.${train.kind}}``): no job reads them, T and lambda hold what it runs
LOOKUPS = ("kinds",)

# config groups whose options differ from each other in cosmetic keys only: where a job runs
# (trainer=cpu, gpu, ddp, ddp_cpu set accelerator, devices, strategy, log_every_n_steps)
COSMETIC_CHOICES = ("trainer",)


def is_cosmetic(key: str, cosmetic: Iterable[str]) -> bool:
    """Whether the dotted ``key`` is one of ``cosmetic`` or below one of them."""
    return any(key == c or key.startswith(c + ".") for c in cosmetic)


def is_cosmetic_override(override: str, cosmetic: Iterable[str]) -> bool:
    """Whether the command-line ``override`` (``key=value``, ``+key=value``, ``~key``) changes
    no result: its key is one of ``cosmetic`` or below one, or it chooses an option of a
    group of :data:`COSMETIC_CHOICES` (``trainer=ddp_cpu``, not ``trainer.max_epochs=3``)."""
    key = override.lstrip("+~").split("=", 1)[0]
    return key in COSMETIC_CHOICES or is_cosmetic(key, cosmetic)


def without_cosmetic(tree: dict[str, Any], cosmetic: Iterable[str]) -> dict[str, Any]:
    """A copy of a config ``tree`` (plain dicts) without its ``cosmetic`` keys."""
    out = copy.deepcopy(tree)
    for dotted in cosmetic:
        parent, _, leaf = dotted.rpartition(".")
        node = dotted_value(out, parent) if parent else out
        if isinstance(node, dict):
            node.pop(leaf, None)
    return out


@cache
def default_cosmetic() -> tuple[str, ...]:
    """The package's own ``cosmetic_keys`` (``conf/config.yaml``), for what no record says
    (a folder of jobs that wrote none)."""
    config = yaml.safe_load((CONF_DIR / "config.yaml").read_text())
    return tuple(config.get("cosmetic_keys") or ())


def settings_hash(resolved: dict[str, Any]) -> str:
    """What a resolved config runs, as a short hash: the config without its cosmetic keys
    (its own ``cosmetic_keys``), each number as a float (``lambda=1`` as the job spells it,
    ``1.0``), its per-kind lookups (:data:`LOOKUPS`) empty. Jobs of one hash ran the same
    settings, whatever their overrides spelt (``seed=0`` or the default, ``lambda=1`` or
    ``+kinds.l=1 lambda=${kinds.l}``): a sweep's launch, a refused job and a job's record say
    it."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    kept = what_runs(plain(without_cosmetic(resolved, resolved.get("cosmetic_keys") or ())))
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:16]


def what_runs(spec: Any) -> Any:
    """A result ``spec`` as two are compared (a relaunch's, the report's repeats) and kept
    rows are keyed (``attack.reuse``): its per-kind lookups (:data:`LOOKUPS`) empty, which a
    job that spells ``lambda=1`` as ``+kinds.l=1 lambda=${kinds.l}`` fills and runs nothing
    more by. Empty, not left out: a config that sets none holds them so, and its spec and
    rows' keys stay as they were. A record keeps them."""
    if not isinstance(spec, dict):
        return spec
    return {k: {} if k in LOOKUPS else v for k, v in spec.items()}
