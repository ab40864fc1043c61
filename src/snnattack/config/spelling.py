"""One spelling of each number, whatever wrote it: a key's rule spells the numbers it accepts
(:attr:`~snnattack.values.Rule.spelling`: a real key's ``float``, a radius in 1/255 units an
integer where it is one), so that two ways of writing one value are one setting wherever
settings are hashed (a model's store key: one model trained, not two counted as seeds; a
job's result spec and record, by which a relaunch and the report match jobs).

A value set plainly (``lambda=1``) is spelt in the config by validation (:func:`spell_config`);
one set by an interpolation (an experiment file's ``lambda: ${kinds.lambda.${train.kind}}``)
stays one there, as a model derived from the config resolves it anew, so the resolved trees
that settings are hashed by are spelt as they are made (:func:`spelt`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from functools import reduce
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from snnattack.config.kept import read_once
from snnattack.config.keys import unresolved
from snnattack.gradients import GRADIENT_MODES
from snnattack.settings import walk
from snnattack.values import RULES, is_real, matches

# the gradient modes' parameters, each read by the rule of its mode's declared range
MODE_PARAMS = {"attack.params.": "attack", "train.adversary.params.": "train.adversary"}


def flat(node: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every (dotted key, value) of a resolved config; lists are values, dicts are walked."""
    return ((k, v) for k, v in walk(node) if not isinstance(v, dict))


def resolve(cfg: DictConfig) -> dict[str, Any]:
    """``cfg`` resolved into plain dicts; an interpolation that does not resolve is refused
    in one line (:func:`~snnattack.config.keys.unresolved`)."""
    try:
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except OmegaConfBaseException as err:
        raise unresolved(err, cfg) from None


def spelt(cfg: DictConfig) -> dict[str, Any]:
    """``cfg`` resolved, each number spelt as its key's rule spells it, interpolated ones too:
    ``lambda=${kinds.l}`` that reads ``1`` is ``1.0``, as ``lambda=1`` is. The tree that a
    model's store key and a job's result spec and record are made of: the caller's own (a
    kept config's resolved once, :func:`~snnattack.config.kept.read_once`, and copied)."""

    def read() -> dict[str, Any]:
        tree = resolve(cfg)
        _spell_tree(tree)
        return tree

    return copy.deepcopy(read_once(cfg, "spelt", read))


def spell_config(cfg: DictConfig, tree: dict[str, Any]) -> None:
    """Spells in ``cfg`` (``tree``: it resolved) each number set plainly as its key's rule
    does; a value set by an interpolation stays one, and :func:`spelt` spells what it reads.
    ``tree`` is spelt as :func:`spelt` spells it, interpolated numbers too: validation's notes
    read it, and said ``attack.params.alpha=2`` where every tree made after it (the record's,
    :func:`~snnattack.config.validation.notes` of a spelt tree) says ``2.0``."""
    for key, value in _spell_tree(tree):
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(cfg, parent) if parent else cfg
        if not OmegaConf.is_interpolation(node, leaf):
            node[leaf] = value


def _spell_tree(tree: dict[str, Any]) -> list[tuple[str, Any]]:
    """Spells in place each number of a resolved ``tree`` as its key's rule does
    (:func:`_respelt`); returns the (dotted key, number spelt) it changed."""
    changed = list(_respelt(tree))
    for key, value in changed:
        *parents, leaf = key.split(".")
        reduce(lambda node, k: node[k], parents, tree)[leaf] = value
    return changed


def _respelt(tree: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Each (dotted key, number spelt) of a resolved ``tree`` whose rule spells its number
    otherwise (``lambda``: ``1`` as ``1.0``)."""
    for key, value in flat(tree):
        spelling = _spelling(key, tree) if is_real(value) else None
        if spelling is not None and type(spelling(value)) is not type(value):
            yield key, spelling(value)


def _spelling(key: str, tree: dict[str, Any]) -> Callable[[Any], Any] | None:
    """How a number set for ``key`` is spelt: as its rules spell it (a real key's ``float``),
    None where they keep it as given."""
    for prefix, node in MODE_PARAMS.items():
        if key.startswith(prefix):
            mode = reduce(lambda d, k: d[k], node.split("."), tree)["grad_mode"]
            rule = GRADIENT_MODES[mode].ranges.get(key.removeprefix(prefix))
            return None if rule is None else rule.spelling
    found = {rule.spelling for pattern, rule in RULES.items() if matches(key, pattern)}
    return found.pop() if len(found) == 1 else None
