"""Attack settings tuned on validation data, never on test (``attack.tune``).

A gradient mode's parameters (HART's surrogate half-width γ, RGA's β and γ, ...) change how
strong an attack is. HART's authors pick γ per attack on a grid from 0.10 to 2.45 in steps of
0.05 (``hzc1208/HART_Attack``); they choose it on the test loader, which overstates the attack.
Here each row (method, ε, box) tries every point of the mode's grid
(``attack.tune.grids.<mode>``, the product of its parameters' values, at most
``attack.tune.max_points``; a mode without parameters, ``bptr`` or ``ann``, runs as it is,
with a note: :func:`snnattack.attacks.checks.notes`) on the first
``attack.tune.val_size`` images of the *validation* split and keeps the point of highest ASR
(the first such point on ties; none where every point scores alike: the row keeps its
configured parameters and records ``params: None`` with the tied score). The rows record the
chosen values. Ensemble components with ``tune: true`` are tuned the same way, each with its
own method. A black-box row's examples are crafted on the source and
scored on the target: its attacker may query the target on validation images
(docs/configuration.md). The validation batch (:func:`validation_batch`, drawn by the
evaluation core once its seeds are set) is also the one universal attacks are fitted on
(:mod:`snnattack.attacks.universal`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

import lightning as L
import torch
from rich.console import Console
from torch import nn
from torch.utils.data import DataLoader, Dataset

from snnattack.attacks.crafting import craft, grad_mode_of
from snnattack.attacks.ensemble import ENSEMBLE
from snnattack.attacks.grids import grid, tunable
from snnattack.attacks.universal import fit_specs, universal_rows
from snnattack.data import first_samples
from snnattack.errors import UserError
from snnattack.gradients import GRADIENT_MODES
from snnattack.process.distributed import agree
from snnattack.process.numerics import manual_seed
from snnattack.settings import AttackSettings, AttackSpec, JobSettings, Recipe, row_recipe, thaw
from snnattack.snn.neurons import LIF

log = logging.getLogger(__name__)
# the notes of the tuning under way, kept for the job's record (None: none is kept)
_NOTES: ContextVar[list[str] | None] = ContextVar("tuning_notes", default=None)


def _note(text: str) -> None:
    """Logs ``text`` as a job's other notes are, and keeps it, once, for the record's
    ``notes`` (:func:`prepared_specs`): printed alone, a tie of a grid never reached
    metrics.json, W&B or the report."""
    log.warning("note: %s", text)
    kept = _NOTES.get()
    if kept is not None and text not in kept:
        kept.append(text)


def _asr(
    target: nn.Module,
    crafter: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    correct: torch.Tensor,
    spec: AttackSpec,
    recipe: Recipe,
) -> float:
    """The validation ASR (%) of ``spec``'s method and ε crafted by ``recipe`` on ``crafter``
    and judged on ``target``, among the ``correct`` samples."""
    manual_seed(recipe.seed)
    adv, _ = craft(spec.algorithm, crafter, x, y, spec.eps, dict(spec.params), recipe)
    manual_seed(recipe.seed)
    with torch.no_grad():
        fooled = correct & (target(adv).argmax(1) != y)
    return 100.0 * int(fooled.sum()) / max(int(correct.sum()), 1)


def best_point(
    points: list[dict[str, Any]],
    base: dict[str, Any],
    score: Any,
    what: str = "the grid",
) -> tuple[dict[str, Any] | None, float]:
    """The point (merged into ``base``) of highest ``score(params)``, first on ties, and its
    score; no point (None) and the score they all share where every point scores alike (the
    grid chose nothing: its first point, often its weakest, would be recorded as tuned), with
    a note naming ``what`` was tuned."""
    scored = [({**base, **p}, score({**base, **p})) for p in points]
    if len(scored) > 1 and len({s for _, s in scored}) == 1:
        kept = {k: v for k, v in base.items() if v is not None} or "(the mode's defaults)"
        _note(
            f"every point of {what} scored {scored[0][1]:.2f} % ASR on the validation images: "
            f"the row is not tuned and keeps its configured parameters {kept} (a larger "
            "attack.tune.val_size tells points apart)"
        )
        return None, scored[0][1]
    best = max(range(len(scored)), key=lambda i: (scored[i][1], -i))
    return scored[best]


def read_grid(
    tune: dict[str, Any], mode: str, crafter: nn.Module, params: dict[str, Any], box: str
) -> list[dict[str, Any]]:
    """The points of ``mode``'s grid (:func:`~snnattack.attacks.grids.grid`) without the
    parameters that no neuron of ``crafter`` (the target for ``box`` white, the source for
    black) reads under ``params`` (``width`` where the neurons' own surrogate is the arctan:
    docs/interop.md, "Surrogates"), each dropped with a note naming the model: they would tie
    every point and record a choice that chose nothing. ``[{}]`` where none is left."""
    on = _crafted_on(box)
    points = _fitting(grid(tune, mode), mode, crafter, params, on)
    reads = GRADIENT_MODES[mode].reads
    if reads is None:
        return points
    read = reads(crafter, {**params, **points[0]})
    for name in points[0]:
        if name not in read:
            _note(
                f"attack.tune.grids.{mode}.{name} changes no gradient of {on} (its neurons "
                f"read {', '.join(sorted(read))} under attack={mode}: docs/interop.md, "
                "Surrogates); tuned without it"
            )
    kept = dict.fromkeys(tuple((n, v) for n, v in p.items() if n in read) for p in points)
    return [dict(point) for point in kept]


def _crafted_on(box: str) -> str:
    """The model that ``box``'s rows are crafted on, in the tuning's notes."""
    model = "target" if box == "white" else "source"
    return f"the {model}, which the {box}-box rows are crafted on"


def _fitting(
    points: list[dict[str, Any]],
    mode: str,
    crafter: nn.Module,
    params: dict[str, Any],
    on: str,
) -> list[dict[str, Any]]:
    """``points`` without those that do not fit a spiking layer of ``crafter`` (RGA's
    curve, :attr:`~snnattack.gradients.base.GradientMode.neurons`), each dropped with a note
    naming the model (``on``); all of them where none fits (the first is then refused naming
    why)."""
    spec = GRADIENT_MODES[mode]
    neurons = {(m.lam, m.theta) for m in crafter.modules() if isinstance(m, LIF)}
    kept = [
        p
        for p in points
        if all(spec.neuron_complaint(lam, theta, {**params, **p}) is None for lam, theta in neurons)
    ]
    for p in points:
        if p not in kept and kept:
            _note(
                f"attack.tune.grids.{mode}'s point {p} does not fit the neurons of {on} "
                "(docs/gradient_modes.md); tuned without it"
            )
    return kept or points


def tune_specs(
    settings: AttackSettings,
    specs: list[AttackSpec],
    target: nn.Module,
    source: nn.Module | None,
    validation: tuple[torch.Tensor, torch.Tensor] | None,
    skip: Collection[int] = (),
) -> list[AttackSpec]:
    """``specs`` with their gradient-mode parameters (and tunable ensemble components')
    chosen on the ``validation`` batch (the first ``attack.tune.val_size`` validation images,
    never test ones; None where the job tunes nothing, :func:`~snnattack.attacks.grids.tunes`:
    ``specs`` are returned as they are); each tuned spec (and ensemble component) gains
    ``tuned`` (values, None where every point scored alike, validation ASR and size). The
    specs at positions ``skip`` (rows reused from an earlier job) are left as they are."""
    if validation is None:
        return specs
    tune, recipe = thaw(settings.tune), settings.recipe
    tunes_job = tune.get("enabled", False)
    x, y = validation
    manual_seed(recipe.seed)
    with torch.no_grad():
        correct = target(x).argmax(1) == y
    mode = recipe.grad_mode
    grids: dict[tuple[str, str, str], list[dict[str, Any]]] = {}  # each read (and noted) once
    out = []
    for i, spec in enumerate(specs):
        if i in skip:
            out.append(spec)
            continue
        crafter = target if spec.box == "white" else source

        def choose(
            row: AttackSpec, grad_mode: str, base: dict[str, Any], eot: int, crafter=crafter
        ) -> tuple[dict[str, Any] | None, float] | None:
            """The best point of ``grad_mode``'s grid for ``row`` and its validation ASR (no
            point, None, where every point scores alike: :func:`best_point`); None where
            ``crafter`` reads no gradient mode (an ANN crafts by autograd) or no parameter of
            the grid changes its gradient."""
            if grad_mode_of(row.algorithm, grad_mode, crafter) != grad_mode:
                return None
            key = (grad_mode, row.box, repr(base))
            if key not in grids:
                grids[key] = read_grid(tune, grad_mode, crafter, base, row.box)
            points = grids[key]
            if points == [{}]:
                return None
            recipes = replace(recipe, grad_mode=grad_mode, eot_samples=eot)

            def score(point: dict[str, Any]) -> float:
                return _asr(
                    target, crafter, x, y, correct, row, replace(recipes, grad_params=point)
                )

            what = f"attack.tune.grids.{grad_mode} for {row.name}"
            return agree(best_point(points, base, score, what))

        if spec.algorithm == ENSEMBLE:
            parts = []
            for p in spec.params["components"]:
                row = AttackSpec(p.algorithm, spec.eps, spec.box, p.params)
                best = choose(row, p.grad_mode, p.grad_params, p.eot_samples) if p.tune else None
                parts.append(p if best is None else _tuned(p, best, len(x)))
            out.append(dataclasses.replace(spec, params={**spec.params, "components": parts}))
            continue
        best = None
        if tunes_job and tunable(mode):
            best = choose(spec, mode, recipe.grad_params, row_recipe(recipe, spec).eot_samples)
        if best is None:
            out.append(spec)
            continue
        out.append(_tuned(spec, best, len(x)))
    return out


def _tuned(spec: Any, best: tuple[dict[str, Any] | None, float], val_n: int) -> Any:
    """A row's or ensemble component's ``spec`` with the parameters ``best`` chose, and how
    they were chosen (``tuned``: values, validation ASR and size). Where it chose none (every
    point scored alike) the spec keeps its configured parameters and ``tuned`` says so with
    ``params: None`` and the tied ASR: a record without it reads as a row never tuned."""
    chosen, val_asr = best
    tuned = {"params": chosen, "val_asr": val_asr, "val_n": val_n}
    kept = spec.grad_params if chosen is None else chosen
    return dataclasses.replace(spec, grad_params=kept, tuned=tuned)


@contextmanager
def _status(shown: bool, text: str) -> Iterator[None]:
    """A spinner naming ``text`` on the terminal while the block runs (if ``shown``)."""
    if not shown:
        yield
        return
    with Console().status(text):
        yield


def prepared_specs(
    settings: AttackSettings,
    specs: list[AttackSpec],
    target: nn.Module,
    source: nn.Module | None,
    validation: tuple[torch.Tensor, torch.Tensor] | None,
    reused: Collection[int],
    shown: bool,
    notes: list[str] | None = None,
) -> list[AttackSpec]:
    """``specs`` tuned (:func:`tune_specs`, a spinner on the terminal if ``shown``) and their
    universal rows fitted (:func:`~snnattack.attacks.universal.fit_specs`) on the
    ``validation`` batch, the rows at ``reused`` (copied from an earlier job) left as they
    are; the tuning's notes appended to ``notes``."""
    token = _NOTES.set(notes)
    try:
        if validation is not None:
            with _status(shown, f"tuning on {len(validation[1])} validation images"):
                fitted = universal_rows(specs)  # fitted below, with the job's gradient mode
                reused_or_fitted = {*reused, *fitted}
                specs = tune_specs(settings, specs, target, source, validation, reused_or_fitted)
        return fit_specs(settings, specs, target, source, validation, skip=reused)
    finally:
        _NOTES.reset(token)


def validation_batch(
    settings: JobSettings, data: L.LightningDataModule | Dataset | None
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The first ``attack.tune.val_size`` images and labels of ``data`` (a datamodule's
    validation split; the test split is never read for it) where a row is tuned or fitted
    there, else None; a missing ``data`` is refused there."""
    fitted = universal_rows(list(settings.specs))
    if data is None and settings.tunes:
        raise UserError(
            "val_data=None but the attack tunes its gradient mode's parameters (tune=True or "
            "an ensemble component with tune: true); accepted: val_data=<validation images "
            "and labels, never the test data>, or tune=False and no tuned component"
        )
    if data is None and fitted:
        methods = list(dict.fromkeys(s.method for s in settings.specs))
        raise UserError(
            f"val_data=None but methods={methods} has a universal attack, fitted on "
            "validation data; accepted: val_data=<validation images and labels, never the "
            "test data>, or methods fitted per sample"
        )
    if not (settings.tunes or fitted):
        return None
    size = settings.attack.tune["val_size"]
    if isinstance(data, L.LightningDataModule):
        data.setup("validate")
        return first_samples(data.val_dataloader(), size)
    return first_samples(DataLoader(data, size), size)
