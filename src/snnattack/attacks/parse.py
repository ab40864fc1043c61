"""The attack rows a config asks for, parsed once: each (method, radius, box) as an
:class:`~snnattack.settings.AttackSpec`, an ensemble's components and the radii (whether the
job tunes: :func:`snnattack.attacks.grids.tunes`; the iterations each method runs:
:func:`snnattack.attacks.convergence.curve_reach`).

The attacks parse their own part of the config because only the methods know their rows (an
event attack has no radius, a method takes EoT draws or not, a gradient-free one names no
``attack=``). The ensemble's check reads the components (:mod:`snnattack.attacks.checks`), and
the job's settings carry the specs (:class:`~snnattack.settings.JobSettings`), so the rest of
``attacks/`` receives specs only, never the config.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from snnattack.attacks.ensemble import ENSEMBLE, FORM, KEYS, Component
from snnattack.attacks.methods import GRADIENT_FREE, METHODS, is_event_attack, takes_eot
from snnattack.errors import ConfigError
from snnattack.package import CONF_DIR  # where attack= and method= names live
from snnattack.settings import AttackSpec
from snnattack.snn.encoding import RANDOM_ENCODINGS
from snnattack.values import BOOL, as_typed, member_of, near


def eps_values(cfg: DictConfig) -> list:
    """The attack radii in 1/255 units; a single value (``eps=8``) counts as a list of one."""
    eps = cfg.eps
    if isinstance(eps, str | bytes) or not hasattr(eps, "__iter__"):
        return [eps]
    return list(eps)


def attack_specs(cfg: DictConfig) -> list[AttackSpec]:
    """Every (method, eps, box) the config asks for, eps and step sizes in [0, 1] units (an
    event attack, which counts its budget in events, once per box at eps 0; so is an ensemble
    of event attacks only: :func:`counts_events`)."""
    specs = []
    for box in cfg.boxes:
        for key, method in cfg.method.items():
            params = {
                k: v for k, v in OmegaConf.to_container(method, resolve=True).items() if k != "name"
            }
            if method.name == ENSEMBLE:
                params = {"components": components(cfg, key)}
            if params.get("alpha") is not None:
                params["alpha"] = params["alpha"] / 255.0
            # an event attack has no radius: one row at eps 0 whatever eps lists
            radii = [0.0] if counts_events(method.name, params) else eps_values(cfg)
            for eps in radii:
                specs.append(AttackSpec(key, eps / 255.0, box, params, algorithm=method.name))
    return specs


def counts_events(algorithm: str, params: dict[str, Any]) -> bool:
    """Whether a row of ``algorithm`` (with its ``params``) counts its budget in events: an
    event attack, or an ensemble whose components are all event attacks (its kept examples
    change events as theirs do, so it is an event attack too). Such a row ignores ``eps``: its
    rows at each radius would be the same row computed again, so it has one row per box at
    eps 0; it reports the events changed per success (the L0 fields:
    :class:`~snnattack.evaluation.budget.EventBudget`) and joins its box's worst case over the
    event attacks (``event_worst_case``). An ensemble with an L-infinity component keeps a row
    per radius (one that mixes threat models is refused: :mod:`snnattack.attacks.checks`)."""
    if algorithm == ENSEMBLE:
        return all(is_event_attack(part.algorithm) for part in params["components"])
    return is_event_attack(algorithm)


def retimes_events(algorithm: str, params: dict[str, Any]) -> bool:
    """Whether a row of ``algorithm`` (with its ``params``) only moves events in time, so
    that it reports ``retiming`` beside its L0 fields
    (:class:`~snnattack.evaluation.budget.EventBudget`): a retiming attack
    (``@register(..., retimes=True)``: ``retime``), or an ensemble whose components all are
    (each example it keeps is one of theirs, so a retiming too; its components share one
    budget norm: :mod:`snnattack.attacks.checks`). An ensemble of other event attacks has no
    ``retiming``: its examples insert and delete events, which no count of moves describes."""
    if algorithm == ENSEMBLE:
        return all(retimes_events(part.algorithm, part.params) for part in params["components"])
    return algorithm in METHODS and METHODS[algorithm].retimes


def component_settings(specs: Iterable[AttackSpec]) -> dict[str, dict[str, dict[str, Any]]]:
    """Each ensemble's components as it runs them, by the ensemble's ``method`` key, then by
    component name: the parameters that their ``method=`` and ``attack=`` files resolve to with
    the entry's overrides, and their EOT draws. The config lists them by name only, so the
    result spec holds these (:func:`snnattack.records.results.result_spec`): an edit of
    ``conf/method/<name>.yaml`` changes the result of an ensemble that runs it."""
    return {
        spec.method: {
            part.name: {k: v for k, v in asdict(part).items() if k not in ("name", "tuned")}
            for part in spec.params["components"]
        }
        for spec in specs
        if spec.algorithm == ENSEMBLE
    }


def names(group: str) -> list[str]:
    """The config names of a group (``attack`` or ``method``)."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def is_ensemble(node: DictConfig) -> bool:
    """Whether a ``method=`` config node is a worst-case ensemble (``ensemble``,
    ``ensemble_quick``): its ``name`` is ``ensemble``."""
    return node.get("name") == ENSEMBLE


def _load(group: str, name: str, where: str) -> DictConfig:
    """The config node ``conf/<group>/<name>.yaml`` of a component; an ensemble is none."""
    path = CONF_DIR / group / f"{name}.yaml"
    node = OmegaConf.load(path) if path.is_file() else None
    if node is None or is_ensemble(node):
        accepted = [
            n
            for n in names(group)
            if not is_ensemble(OmegaConf.load(CONF_DIR / group / f"{n}.yaml"))
        ]
        member_of(accepted).check(where, name)  # refuses it: a name of none of them
    return node


def _plain(node: Any, where: str, accepted: str) -> dict[str, Any]:
    """``node`` (a dict of overrides, or null) as a plain dict; anything else is refused."""
    if node is None:
        return {}
    if not isinstance(node, DictConfig):
        raise ConfigError(f"{where}={_shown(node)} is not a dict; accepted: {accepted}")
    return OmegaConf.to_container(node, resolve=True)


def _shown(node: Any) -> str:
    """``node`` (a config node or a plain value) as the command line's YAML spells it."""
    return as_typed(OmegaConf.to_container(node) if OmegaConf.is_config(node) else node)


def _listed(node: DictConfig, key: str) -> list[DictConfig]:
    """The ensemble's component entries: a non-empty list of dicts, else refused."""
    listed = node.get("components")
    where = f"method.{key}.components"
    accepted = f"a non-empty list of {FORM} entries, e.g. {where}=[{{attack:stbp,method:apgd}}]"
    if not isinstance(listed, ListConfig) or not listed:
        problem = (
            "sets no value"
            if listed is None
            else "is empty"
            if isinstance(listed, ListConfig)
            else "is not a list"
        )
        raise ConfigError(f"{where}={_shown(listed)} {problem}; accepted: {accepted}")
    for i, entry in enumerate(listed):
        if not isinstance(entry, DictConfig):
            raise ConfigError(f"{where}[{i}]={_shown(entry)} is not a component; accepted: {FORM}")
    return list(listed)


def components(cfg: DictConfig, key: str) -> list[Component]:
    """The resolved components of ``cfg.method[key]`` (an ensemble), in order.

    A component that names an ``attack=`` or ``method=`` the project does not have, is not a
    dict, has ``params`` that are not a dict, or repeats an earlier component (their rows
    would share a name and the second could never fool a sample the first left) is a
    :class:`ConfigError`, never dropped.
    """
    node = cfg.method[key]
    listed = _listed(node, key)
    root = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    OmegaConf.set_struct(root, False)
    out: list[Component] = []
    for i, entry in enumerate(listed):
        where = f"method.{key}.components[{i}]"
        unknown = sorted(set(entry) - set(KEYS))
        if unknown:
            raise ConfigError(
                f"{where}.{unknown[0]} is unknown{near(unknown[0], KEYS)}; accepted: "
                f"{', '.join(KEYS)}"
            )
        if not entry.get("method"):
            raise ConfigError(
                f"{where}.method is missing; accepted: one of {', '.join(names('method'))}"
            )
        method = _load("method", entry.method, f"{where}.method")
        gradient_free = method.name in GRADIENT_FREE
        if entry.get("attack") is None and not gradient_free:
            raise ConfigError(f"{where}.attack is missing; accepted: one of {names('attack')}")
        attack = (
            _load("attack", entry.attack, f"{where}.attack")
            if entry.get("attack") is not None
            else OmegaConf.create({"grad_mode": "stbp", "params": {}})
        )
        BOOL.check(f"{where}.tune", entry.get("tune", False))
        label = entry.method if gradient_free else f"{entry.method}/{entry.attack}"
        earlier = [j for j, part in enumerate(out) if part.name == label]
        if earlier:
            raise ConfigError(
                f"{where}={label} repeats method.{key}.components[{earlier[0]}]; accepted: "
                "each attack and method once (a repeat shares the first one's name in the "
                "record and attacks only the samples the first could not fool)"
            )
        root["_component"] = {"attack": attack, "method": method}
        resolved = OmegaConf.to_container(root["_component"], resolve=True)
        params = {k: v for k, v in resolved["method"].items() if k != "name"}
        accepted = f"the parameters of method={entry.method}"
        params.update(_plain(entry.get("params"), f"{where}.params", accepted))
        if params.get("alpha") is not None:
            params["alpha"] = params["alpha"] / 255.0
        grad_params = dict(resolved["attack"].get("params") or {})
        grad_params.update(
            _plain(
                entry.get("attack_params"),
                f"{where}.attack_params",
                f"the parameters of attack={entry.get('attack')}",
            )
        )
        algorithm = resolved["method"]["name"]
        eot = cfg.attack.eot_samples if takes_eot(algorithm) else 1
        if cfg.encoding in RANDOM_ENCODINGS and takes_eot(algorithm):
            eot = max(eot, node.get("poisson_eot_samples", 1))
        out.append(
            Component(
                name=label,
                attack=None if gradient_free else entry.attack,
                grad_mode=resolved["attack"]["grad_mode"],
                grad_params=grad_params,
                method=entry.method,
                algorithm=algorithm,
                params=params,
                eot_samples=eot,
                tune=bool(entry.get("tune", False)),
            )
        )
    return out
