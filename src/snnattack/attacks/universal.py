"""Universal attacks: one perturbation fitted once on held-out data, then applied as it is to
every test batch (no per-test-sample optimisation).

A method declares that it needs fitting by its attack class deriving from
:class:`~snnattack.attacks.methods.base.UniversalAttack`: ``fit(x, y)`` returns its state
(tensors) fitted on a batch, and ``apply(x, y, state)`` the adversarial batch under that
state. The evaluation core
(:mod:`snnattack.evaluation.core`) calls :func:`fit_specs` once per row before
``trainer.test``, on the validation batch (the first ``attack.tune.val_size`` images of the
validation split; the API's ``val_data``), never on test data; the state travels in the
row's params (``fitted``) to every test batch. A universal method is refused where no
validation data is given, and anywhere it would run unfitted (tuning skips it).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Collection
from typing import Any

import torch
from torch import nn

from snnattack.attacks.crafting import crafting_on
from snnattack.attacks.ensemble import ENSEMBLE
from snnattack.attacks.methods import METHODS, build_attack
from snnattack.attacks.methods.base import UniversalAttack, unfitted
from snnattack.errors import UserError
from snnattack.process.distributed import agree
from snnattack.process.numerics import manual_seed
from snnattack.settings import AttackSettings, AttackSpec, row_recipe

log = logging.getLogger(__name__)

FITTED = "fitted"  # the params key that carries a row's fitted state to the test batches


def needs_fitting(method: str) -> bool:
    """Whether the registered ``method`` is a universal attack (fitted before the test)."""
    make = METHODS[method].make if method in METHODS else None
    return isinstance(make, type) and issubclass(make, UniversalAttack)


def fits(resolved: dict[str, Any]) -> bool:
    """Whether a resolved config has a row of a universal method (it needs validation data)."""
    return any(needs_fitting(m.get("name", "")) for m in resolved["method"].values())


def universal_rows(specs: list[AttackSpec]) -> set[int]:
    """The positions of ``specs`` whose method is universal (tuning leaves them out)."""
    return {i for i, s in enumerate(specs) if needs_fitting(s.algorithm)}


def fit_specs(
    settings: AttackSettings,
    specs: list[AttackSpec],
    target: nn.Module,
    source: nn.Module | None,
    validation: tuple[torch.Tensor, torch.Tensor] | None,
    skip: Collection[int] = (),
) -> list[AttackSpec]:
    """``specs`` with each universal row's state fitted on the ``validation`` batch (on the
    crafting model of its box, under the job's recipe, seeded by its seed) and put in its
    params (``fitted``); the rows at ``skip`` (reused from an earlier job) and the others are
    returned as they are. Refuses a universal row without validation data, or in an
    ensemble."""
    for spec in specs:
        if spec.algorithm == ENSEMBLE:
            for part in spec.params["components"]:
                if needs_fitting(part.algorithm):
                    raise UserError(unfitted(f"method.{spec.method}.components: {part.method}"))
    out = []
    for i, spec in enumerate(specs):
        if i in skip or not needs_fitting(spec.algorithm):
            out.append(spec)
            continue
        if validation is None:
            raise UserError(
                f"method={spec.method} fits a universal attack on validation data, but none "
                "was given; accepted: val_data=<validation images and labels, never the test "
                "data> (snnattack.evaluate), or a method fitted per sample"
            )
        crafter = target if spec.box == "white" else source
        recipe = row_recipe(settings.recipe, spec)
        x, y = validation
        attack = build_attack(spec.algorithm, crafter, spec.eps, **spec.params)
        manual_seed(recipe.seed)
        started = time.perf_counter()
        with crafting_on(spec.algorithm, crafter, recipe), torch.enable_grad():
            state = attack.fit(x.detach(), y)
        # rank 0's state on every DDP rank (fitted on each, it may differ in GPU rounding)
        agreed = agree({k: v.detach().cpu() for k, v in state.items()})
        state = {k: v.to(x.device) for k, v in agreed.items()}
        seconds = time.perf_counter() - started  # not in the row's seconds (the test only)
        log.info("fitted %s on %d validation images in %.1f s", spec.name, len(y), seconds)
        out.append(dataclasses.replace(spec, params={**spec.params, FITTED: state}))
    return out
