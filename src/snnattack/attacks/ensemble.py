"""The worst-case ensemble (``method=[ensemble]``): one robust-accuracy number over a sequence
of (gradient mode, method) components, AutoAttack-style for spiking networks.

Each component names a gradient mode by its ``attack=`` name (``conf/attack/<name>.yaml``)
and a method by its ``method=`` name (``conf/method/<name>.yaml``), with optional overrides of
either's parameters (``params``, ``attack_params``). Component ``j`` attacks only the samples
that every earlier component failed to fool; a sample counts as robust only if it survives
all of them (the per-sample worst case of Özdenizci & Legenstein, TMLR 2024, and of
AutoAttack, Croce & Hein 2020). Each candidate is judged on the whole batch with the
evaluator's seeded forward, so stochastic encoders draw as they do for the clean check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch import nn

from snnattack.attacks.crafting import craft
from snnattack.attacks.methods import GRADIENT_FREE, takes_eot
from snnattack.errors import ConfigError
from snnattack.package import CONF_DIR  # where attack= and method= names live
from snnattack.settings import Recipe
from snnattack.values import BOOL

ENSEMBLE = "ensemble"  # the method name (conf/method/ensemble.yaml's name) of the worst case
KEYS = ("attack", "method", "params", "attack_params", "tune")  # a component's keys
FORM = "{attack: <attack= name>, method: <method= name>}"  # a component as the user writes it


@dataclass(frozen=True)
class Component:
    """One attack of the ensemble: a method under a gradient mode, parameters resolved."""

    name: str  # e.g. apgd/stbp, square
    attack: str | None  # the attack= name (None for a gradient-free method)
    grad_mode: str
    grad_params: dict[str, Any] = field(hash=False)
    method: str  # the method= name, e.g. apgd_dlr
    algorithm: str  # the methods.METHODS entry, e.g. apgd
    params: dict[str, Any] = field(hash=False)
    eot_samples: int = 1
    tune: bool = False  # its gradient mode's parameters are chosen on validation data


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
        raise ConfigError(f"{where}={name!r} is unknown; accepted: {', '.join(accepted)}")
    return node


def _plain(node: Any, where: str, accepted: str) -> dict[str, Any]:
    """``node`` (a dict of overrides, or null) as a plain dict; anything else is refused."""
    if node is None:
        return {}
    if not isinstance(node, DictConfig):
        raise ConfigError(f"{where}={_shown(node)} is not a dict; accepted: {accepted}")
    return OmegaConf.to_container(node, resolve=True)


def _shown(node: Any) -> Any:
    return OmegaConf.to_container(node) if OmegaConf.is_config(node) else node


def _listed(node: DictConfig, key: str) -> list[DictConfig]:
    """The ensemble's component entries: a non-empty list of dicts, else refused."""
    listed = node.get("components")
    where = f"method.{key}.components"
    accepted = f"a non-empty list of {FORM} entries, e.g. {where}=[{{attack:stbp,method:apgd}}]"
    if not isinstance(listed, ListConfig) or not listed:
        empty = isinstance(listed, ListConfig) or listed is None
        problem = "is empty" if empty else "is not a list"
        raise ConfigError(f"{where}={_shown(listed)!r} {problem}; accepted: {accepted}")
    for i, entry in enumerate(listed):
        if not isinstance(entry, DictConfig):
            raise ConfigError(
                f"{where}[{i}]={_shown(entry)!r} is not a component; accepted: {FORM}"
            )
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
        unknown = set(entry) - set(KEYS)
        if unknown:
            raise ConfigError(
                f"{where}.{sorted(unknown)[0]} is unknown; accepted: {', '.join(KEYS)}"
            )
        if not entry.get("method"):
            raise ConfigError(f"{where}.method is missing; accepted: one of {names('method')}")
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
        if cfg.encoding == "poisson" and takes_eot(algorithm):
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


def worst_case(
    parts: list[Component],
    crafter: nn.Module,
    judge: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    correct: torch.Tensor,
    eps: float,
    time_extension: int = 1,
    starting: Callable[[int, Component], None] | None = None,
) -> tuple[torch.Tensor, int, torch.Tensor, torch.Tensor]:
    """The ensemble's adversarial batch, its queries, each component's first successes and
    each component's seconds on this batch (0 for one that had no sample left to attack).

    ``judge(batch)`` gives the target's predictions of a whole batch (seeded as the clean
    check); ``correct`` marks the clean-correct samples, the only ones attacked.
    ``starting(j, part)`` is called before component ``j`` runs (a progress display).
    """
    adv, robust = x.clone(), correct.clone()
    firsts = torch.zeros(len(parts), dtype=torch.long, device=x.device)
    seconds = torch.zeros(len(parts), dtype=torch.float64)
    queries = 0
    for j, part in enumerate(parts):
        rows = robust.nonzero()[:, 0]
        if len(rows) == 0:
            break
        if starting is not None:
            starting(j, part)
        started = time.perf_counter()
        crafted, used = craft(
            part.algorithm,
            crafter,
            x[rows],
            y[rows],
            eps,
            dict(part.params),
            Recipe(part.grad_mode, part.grad_params, time_extension, part.eot_samples),
        )
        queries += used
        candidate = adv.clone()
        candidate[rows] = crafted
        fooled = robust & (judge(candidate) != y)
        adv[fooled] = candidate[fooled]
        robust &= ~fooled
        firsts[j] = fooled.sum()
        seconds[j] = time.perf_counter() - started
    return adv, queries, firsts, seconds
