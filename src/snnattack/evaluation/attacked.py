"""The models the attacks run: copies of the target and source, prepared for attacking, and
the refusal of a gradient mode such a model cannot be differentiated by.

The models handed to the evaluation stay as they are: the analyses, the masking checks' notes
and the store use a job's trained ones, and the Python API never changes the user's.
"""

from __future__ import annotations

import copy

from torch import nn

from snnattack.attacks.ensemble import ENSEMBLE
from snnattack.errors import UserError
from snnattack.gradients import per_step_refusal
from snnattack.models.fold import folded
from snnattack.settings import AttackSettings, AttackSpec


def attacked_models(
    target: nn.Module, source: nn.Module | None, *, fold_bn: bool, compiled: bool
) -> tuple[nn.Module, nn.Module | None]:
    """Copies of ``target`` and ``source`` (None stays None) in eval mode: with their BNs
    folded into the convs where ``fold_bn`` (``attack.fold_bn``), and ``torch.compile``'d
    where ``compiled`` (``compile``)."""

    def prepare(model: nn.Module) -> nn.Module:
        out = folded(model) if fold_bn else probed_model(model)
        if compiled:
            out.compile()  # in place: the module keeps its attributes and state_dict keys
        return out

    return prepare(target), None if source is None else prepare(source)


def probed_model(target: nn.Module) -> nn.Module:
    """A copy of ``target`` as it is (neither folded nor compiled) in eval mode: what the
    masking checks probe, moved to the Trainer's device without moving ``target``."""
    return copy.deepcopy(target).eval()


def refuse_whole_loop_modes(
    settings: AttackSettings, specs: list[AttackSpec], *models: nn.Module | None
) -> None:
    """Refuses, before any work, a gradient mode (the job's, an ensemble component's) that
    needs the whole T loop in one call on a model whose own loop calls its neurons one step
    at a time (:func:`snnattack.gradients.per_step_refusal`)."""
    modes = [settings.recipe.grad_mode]
    modes += [c.grad_mode for s in specs if s.algorithm == ENSEMBLE for c in s.params["components"]]
    for model in filter(None, models):
        for mode in dict.fromkeys(modes):
            refusal = per_step_refusal(model, mode)
            if refusal is not None:
                raise UserError(refusal)
