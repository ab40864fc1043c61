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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from snnattack.attacks.crafting import craft
from snnattack.process.clock import synced_time
from snnattack.settings import AttackSpec, Recipe

ENSEMBLE = "ensemble"  # the method name (conf/method/ensemble.yaml's name) of the worst case
KEYS = ("attack", "method", "params", "attack_params", "tune")  # a component's keys
ENSEMBLE_KEYS = ("name", "components", "poisson_eot_samples")  # an ensemble's own keys
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
    # how they were chosen (values, validation ASR and size), as a row's ``tuned``; values
    # None where no point of the grid scored above another; None where not asked
    tuned: dict[str, Any] | None = field(default=None, hash=False)


def row_modes(recipe_mode: str, specs: Iterable[AttackSpec]) -> list[str]:
    """The gradient modes that the rows ``specs`` differentiate with, each once: the
    recipe's, then each ensemble component's that has one (a gradient-free component's is a
    placeholder)."""
    modes = [recipe_mode]
    for spec in specs:
        if spec.algorithm == ENSEMBLE:
            modes += [c.grad_mode for c in spec.params["components"] if c.attack is not None]
    return list(dict.fromkeys(modes))


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
        started = synced_time(x.device)
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
        seconds[j] = synced_time(x.device) - started
    return adv, queries, firsts, seconds
