"""The models the attacks run: copies of the target and source, prepared for attacking (and
kept across the API's calls on an unchanged model), the refusal of a model the attacks cannot
run, and the EOT draws a model whose forward is random is attacked with
(``attack.random_eot_samples``). :func:`attacked_copies` is all of it for a job's rows, in
order: the step of :mod:`snnattack.evaluation.core` before the seeds.

The models handed to the evaluation stay as they are: the analyses, the masking checks' notes
and the store use a job's trained ones, and the Python API never changes the user's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import replace
from typing import NamedTuple

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader

from snnattack.attacks.crafting import ann_boxes
from snnattack.attacks.ensemble import ENSEMBLE, job_mode_read, row_modes
from snnattack.attacks.methods import takes_eot
from snnattack.cuda.convolution import keep_flips
from snnattack.errors import UserError
from snnattack.evaluation.masking import is_random
from snnattack.gradients import GRADIENT_MODES, per_step_refusal, refuse_in_block
from snnattack.interop.common import AdaptedNet
from snnattack.interop.loops import OwnLoopNet
from snnattack.interop.prepared import PREPARED, lists_of, noted, state_of, versions_of
from snnattack.models.copies import model_copy
from snnattack.models.fold import folded
from snnattack.process.numerics import COMPILE_OPTIONS
from snnattack.settings import AttackSettings, AttackSpec, JobSettings
from snnattack.snn.learned import Learned


class Attacked(NamedTuple):
    """What :func:`attacked_copies` prepares for a job's rows: its ``settings`` (the EOT draws
    raised where the target's forward is random), the ``source`` its black box crafts on (the
    one passed; None without a black box), the ``copies`` of the target and that source that
    the rows attack, and the ``probed`` copy of the target (unprepared: what the masking checks
    probe; None where neither they nor ``attack.random_eot_samples`` need it)."""

    settings: JobSettings
    source: nn.Module | None
    copies: tuple[nn.Module, nn.Module | None]
    probed: nn.Module | None


def attacked_copies(
    settings: JobSettings,
    target: nn.Module,
    source: nn.Module | None,
    test: L.LightningDataModule | DataLoader,
) -> Attacked:
    """The models and settings a job's rows attack ``target`` (and, for the black box,
    ``source``) with, before the job's seeds; both stay as they are. In order: what the
    attacks cannot run is refused (:func:`refuse_unattackable`); the ensemble's rows crafted on
    an ANN average ``attack.eot_samples`` draws (:func:`on_anns`); with
    ``attack.random_eot_samples`` set, the models the rows craft on (the probed copy for
    white-box rows, a copy of the source for black-box ones) are probed on the first batch of
    ``test`` (a datamodule's test split, or a loader) and a random forward raises the EOT draws
    of the rows crafted on it (:func:`with_random_eot`); then the copies are made with the
    settings that run (:func:`attacked_models`)."""
    refuse_unattackable(
        settings.attack, list(settings.specs), target, source, probed=settings.masking.enabled
    )
    source = source if settings.store.black_box else None
    # the boxes whose rows craft on an ANN: the target's white box, the source's black box
    # (none without a source)
    anns = ann_boxes({"white": target, "black": source})
    settings = replace(settings, specs=tuple(on_anns(settings.attack, settings.specs, anns)))
    random_eot = settings.attack.random_eot_samples is not None
    probed = probed_model(target) if settings.masking.enabled or random_eot else None
    if random_eot:  # the images of the first batch of ``test``, as the attacks read it first
        loader = test
        if isinstance(test, L.LightningDataModule):
            test.setup("test")
            loader = test.test_dataloader()
        x = next(iter(loader))[0].to(device_of(probed))
        probed_crafters = {"white": probed} | (
            {} if source is None else {"black": probed_model(source)}
        )
        attack, specs = with_random_eot(settings.attack, settings.specs, probed_crafters, x)
        settings = replace(settings, attack=attack, specs=tuple(specs))
    attack = settings.attack
    copies = attacked_models(
        target, source, fold_bn=attack.fold_bn, compiled=compiles(attack, settings.specs, anns)
    )
    return Attacked(settings, source, copies, probed)


def device_of(model: nn.Module) -> torch.device:
    """Where ``model`` runs: the device of its first parameter or buffer (else the CPU)."""
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        return tensor.device
    return torch.device("cpu")


def attacked_models(
    target: nn.Module, source: nn.Module | None, *, fold_bn: bool, compiled: bool
) -> tuple[nn.Module, nn.Module | None]:
    """Copies of ``target`` and ``source`` (None stays None) in eval mode, their parameters
    frozen (an attack asks for the input's gradient alone: the frozen layers of
    :mod:`snnattack.cpu.frozen` then keep nothing of their inputs, also for a model the Python
    API was handed whose weights require a gradient): with their BNs folded into the convs
    where ``fold_bn`` (``attack.fold_bn``), and ``torch.compile``'d where ``compiled``
    (``compile``)."""

    def prepare(model: nn.Module) -> nn.Module:
        out = folded(model) if fold_bn else probed_model(model)
        out.requires_grad_(False)
        keep_flips(out)  # its weights change only by the copy_ of kept_attacked_copy
        if compiled:
            # in place: the module keeps its attributes and state_dict keys
            out.compile(dynamic=compiled_dynamic(out), options=COMPILE_OPTIONS)
        return out

    return prepare(target), None if source is None else prepare(source)


def compiled_dynamic(model: nn.Module) -> bool | None:
    """``torch.compile``'s ``dynamic`` for the attacked copy ``model``: None (torch's default:
    a second shape compiles one graph of symbolic sizes) for this package's own networks, False
    (a graph per shape) for a foreign network's adapter (:mod:`snnattack.interop`): its Python
    checks around the body break the graph, and inductor fails on the symbolic strides of the
    layers' frames (``InductorError: cannot determine truth value of Relational``)."""
    return False if isinstance(model, (AdaptedNet, OwnLoopNet)) else None


def kept_attacked_copy(
    model: nn.Module, *, fold_bn: bool, compiled: bool, compared: bool = False
) -> nn.Module:
    """The copy of ``model`` that :func:`attacked_models` makes, kept from an earlier call
    while neither ``model`` nor the copy's tensors have changed
    (:mod:`snnattack.interop.prepared`: a parameter replaced, its mode, device or dtype; the
    attacks restore what else they set on the copy as they leave), its parameters and buffers
    copied from ``model`` at each call, so that new values of them (an optimiser's step,
    ``load_state_dict``, a change made through ``.data``) are attacked: a loop of
    ``snnattack.attack`` calls, a training loop's too, copies the model's tree once and its
    weights once per batch (no state compares the tensors' versions, which the copies bump, so
    the copy's state is read once per call: what the copy held in them is overwritten
    anyway). A copy with folded BNs (``fold_bn``)
    holds other tensors than ``model``: the values of ``model``'s floating tensors are compared
    at every call instead (:func:`~snnattack.interop.prepared.noted`). The copy's own
    public attributes are compared too (:func:`~snnattack.interop.prepared.state_of`): a
    forward or hook that changed a plain attribute on the copy (a running statistic,
    ``m.max = max(m.max, ...)``) makes it again, as a fresh copy would not hold it; a list of
    the copy's own that the attack appended to (a recording hook's ``outputs``) is first cut
    back to its length at the copy (:func:`~snnattack.interop.prepared.lists_of`), so that a
    hook that only records does not. ``compared``: ``model`` is the network of a preparation
    that its entrance served at this call, having compared the user's model then
    (:meth:`~snnattack.interop.prepared.Preparations.deferred`), so its state is not read
    again. The tensors of ``model`` copied from are kept with the copy whichever it is: the
    same tensors while its state is the one the copy was made of. A learned neuron's
    parameters (a PLIF's ``w``) are copied only at a call after their versions moved."""

    def build() -> list:
        copied, _ = attacked_models(model, None, fold_bn=fold_bn, compiled=compiled)
        if fold_bn:
            for tensor in (*model.parameters(), *model.buffers()):
                if tensor.is_floating_point():
                    noted(tensor)
        theirs = {id(held) for held in lists_of(model)}  # one a deep copy shared: not cut
        lengths = [(held, len(held)) for held in lists_of(copied) if id(held) not in theirs]
        # the tensors copied into at every call (a state compares no version counter, which
        # the copies bump: the copy's state is read once per call, not again after them)
        into = [] if fold_bn else _tensors(copied)  # the copy's, while it is kept
        state = state_of(copied, public=True)  # not the settings its learned neurons follow
        # the learned neuron parameters, copied only once their versions moved
        follows = [] if fold_bn else _learned_parameters(model)
        learned = _learned_parameters(copied) if follows else []
        versions = versions_of(follows)
        return [copied, state, lengths, learned, follows, versions, into, _tensors(model)]

    def unchanged(kept: list) -> bool:
        copied, state, lengths, *_ = kept
        for held, length in lengths:
            del held[length:]  # what the last attack appended: a fresh copy holds none of it
        return state_of(copied, public=True) == state

    key = ("attacked copy", fold_bn, compiled)
    kept = PREPARED.get(model, key, build, valid=unchanged, compared=compared)
    # one multi-tensor copy: on a GPU, a few kernels, not one per tensor; none where there is
    # nothing to copy (a network of pooling and neurons alone), which torch refuses
    copied, _, _, learned, follows, versions, into, sources = kept
    if into:
        with torch.no_grad():
            torch._foreach_copy_(into, sources)
    if versions_of(follows) != versions:
        _take_learned(kept)
    return copied


def _take_learned(kept: list) -> None:
    """The kept attacked copy with the learned neuron parameters of the network it copies
    (an optimiser's step moved their versions: the kept preparation took them,
    :meth:`~snnattack.interop.prepared.Preparations.refreshed`): copied into the copy's,
    whose LIFs read their numbers again at their next forward (the copy moved their
    versions), only after a step."""
    _, _, _, learned, follows, *_ = kept
    with torch.no_grad():
        torch._foreach_copy_(learned, follows)
    kept[5] = versions_of(follows)


def _learned_parameters(model: nn.Module) -> list[torch.Tensor]:
    """The parameters of ``model``'s learned neurons (:class:`~snnattack.snn.learned.Learned`),
    in the order of its tree, each once."""
    modules = (m for m in model.modules() if isinstance(m, Learned))
    return list({id(p): p for m in modules for p in m.parameters()}.values())


def _tensors(model: nn.Module) -> list[torch.Tensor]:
    """``model``'s parameters and buffers, in the order of its tree, but a foreign neuron's
    learned parameters (:class:`~snnattack.snn.learned.Learned`): a copy into them would make
    the LIF read them again (a host sync per such layer and call), so they are copied only
    once their versions moved (:func:`_take_learned`). Each tensor
    once (a tied weight too), as ``parameters()`` and ``buffers()`` give them, read in one
    walk of the tree: a repeated call reads the model's at every call."""
    modules = list(model.modules())
    seen = {id(p) for m in modules if isinstance(m, Learned) for p in m.parameters()}
    out = []
    for registry in ("_parameters", "_buffers"):
        for m in modules:
            for t in getattr(m, registry).values():
                if t is not None and id(t) not in seen:
                    seen.add(id(t))
                    out.append(t)
    return out


def probed_model(target: nn.Module) -> nn.Module:
    """A copy of ``target`` as it is (neither folded nor compiled) in eval mode: what the
    masking checks probe, moved to the Trainer's device without moving ``target``."""
    return model_copy(target).eval()


def refuse_unattackable(
    settings: AttackSettings,
    specs: list[AttackSpec],
    *models: nn.Module | None,
    probed: bool,
) -> None:
    """Refuses, before any work, a model the attacks cannot run as ``settings`` and ``specs``
    ask: one inside a ``gradient_mode`` block (:func:`snnattack.gradients.refuse_in_block`),
    then a gradient mode run on it that needs the whole T loop in one call on a model whose own
    loop calls its neurons one step at a time (:func:`snnattack.gradients.per_step_refusal`).
    The modes run on a model are :func:`~snnattack.attacks.ensemble.row_modes` of the rows
    crafted on it (the first of ``models``, the target: the white box's; the second, the
    source: the black box's; a black-box row only runs the target forward): an ensemble
    component's, and the job's only where such a row reads it or, on the target, the masking
    checks probe with it (``probed``: ``checks.masking.enabled``); a mode nothing runs on a
    model refuses nothing. A component's refusal names the components of such modes, which
    the user may not know the ensemble holds; the job's mode that only the masking checks probe
    with is refused naming them and the key that turns them off."""
    own = settings.recipe.grad_mode
    # each model's rows and the modes they run: the masking checks probe the target alone
    rows = [[s for s in specs if s.box == box] for box in ("white", "black")[: len(models)]]
    runs = [row_modes(own, mine, probed=probed and i == 0) for i, mine in enumerate(rows)]
    refuse_in_block(*models)
    for model, mine, modes in zip(models, rows, runs, strict=True):
        if model is None:
            continue
        refused = {m: line for m in modes if (line := per_step_refusal(model, m)) is not None}
        if not refused:
            continue
        if own in refused and job_mode_read(mine, probed=False):
            raise UserError(refused[own])
        parts = {  # component -> its row's method and its mode
            c.name: (s.method, c.grad_mode)
            for s in mine
            if s.algorithm == ENSEMBLE
            for c in s.params["components"]
            if c.grad_mode in refused
        }
        if parts:
            method, mode = next(iter(parts.values()))
            raise UserError(
                f"method={method}'s components {', '.join(parts)}: {refused[mode]}, or "
                "components of those modes (method.ensemble.components=[...])"
            )
        methods = ",".join(dict.fromkeys(s.method for s in mine))
        unread = f"no method of method=[{methods}]" if mine else "no row on it (boxes=[black])"
        raise UserError(
            f"attack={own} is read by {unread}, but the gradient-masking "
            f"checks (checks.masking) probe the target with it: {refused[own]}, or "
            "checks.masking.enabled=false (snnattack.evaluate: masking=False)"
        )


def compiles(settings: AttackSettings, specs: Sequence[AttackSpec], anns: Set[str]) -> bool:
    """Whether the attacked copy is ``torch.compile``'d: where ``compile`` (``settings``)
    asks, unless a gradient mode of the rows needs the eager model
    (:attr:`~snnattack.gradients.base.GradientMode.compiles`; the config's note says so:
    :func:`snnattack.attacks.checks.eager_modes`). A mode counts only where a row crafts
    with it on a spiking model, its box not among ``anns`` (the boxes whose rows craft on an
    ANN, :func:`~snnattack.attacks.crafting.ann_boxes`): a row crafted on an ANN runs its own
    autograd, and the masking checks probe another copy, never
    compiled (:func:`probed_model`)."""
    modes = row_modes(settings.recipe.grad_mode, specs, probed=False, anns=anns)
    return settings.compiled and all(GRADIENT_MODES[m].compiles for m in modes)


def with_random_eot(
    attack: AttackSettings,
    specs: Sequence[AttackSpec],
    crafters: Mapping[str, nn.Module],
    x: torch.Tensor,
) -> tuple[AttackSettings, list[AttackSpec]]:
    """The attack settings and rows to run, by the models their rows craft on (``crafters``, by
    box: the target's copy for white-box rows, the black box's source's for black-box ones):
    as they are, unless ``attack.random_eot_samples`` is set and the forward of one of them is
    random (two passes of the images ``x`` under two seeds differ,
    :func:`~snnattack.evaluation.masking.is_random`; the caller passes copies it made, so the
    user's models are never run here). Then every gradient of that box's rows that averages
    draws, the row's and each ensemble component's whose method takes EOT, averages at least
    ``attack.random_eot_samples`` (more where ``attack.eot_samples`` or an ensemble's
    ``poisson_eot_samples`` asks more): a random forward attacked on one draw per gradient
    reports robustness it does not have. The other box's rows, crafted on a fixed forward,
    keep the recipe's draws (:attr:`AttackSpec.eot_samples`): N draws of it are one at N times
    the cost. The record states the recipe's draws, the most a row takes
    (``JobRecord.eot_samples``), and each row its own."""
    draws = attack.random_eot_samples
    boxes = set() if draws is None else {s.box for s in specs}  # a box without rows: no probe
    random = {box for box in boxes if is_random(crafters[box], x)}
    if not random:
        return attack, list(specs)
    asked = attack.recipe.eot_samples
    recipe = replace(attack.recipe, eot_samples=max(asked, draws))
    rows = [
        _component_draws(s, lambda eot: max(eot, draws))
        if s.box in random
        else replace(s, eot_samples=asked)
        for s in specs
    ]
    return replace(attack, recipe=recipe), rows


def on_anns(
    attack: AttackSettings, specs: Sequence[AttackSpec], anns: Set[str]
) -> list[AttackSpec]:
    """``specs`` with each ensemble row's components that craft on an ANN (their box among
    ``anns``: an ANN target's white-box rows, an ANN source's black-box rows) averaging
    ``attack.eot_samples`` draws: the ensemble's ``poisson_eot_samples`` raises them for a
    random encoding, which an ANN does not read (it takes the images as they are), so its
    draws would be one fixed forward at N times the cost (the rows' records say the draws
    used)."""
    asked = attack.recipe.eot_samples
    return [_component_draws(s, lambda eot: min(eot, asked)) if s.box in anns else s for s in specs]


def _component_draws(spec: AttackSpec, draws: Callable[[int], int]) -> AttackSpec:
    """``spec`` with the draws of each ensemble component that takes EOT set to
    ``draws(its draws)``; any other row as it is (it crafts with the recipe's draws)."""
    if spec.algorithm != ENSEMBLE:
        return spec
    parts = [
        replace(c, eot_samples=draws(c.eot_samples)) if takes_eot(c.algorithm) else c
        for c in spec.params["components"]
    ]
    return replace(spec, params={**spec.params, "components": parts})
