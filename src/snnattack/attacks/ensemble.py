"""The worst-case ensemble (``method=[ensemble]``): one robust-accuracy number over a sequence
of (gradient mode, method) components, AutoAttack-style for spiking networks.

Each component names a gradient mode by its ``attack=`` name (``conf/attack/<name>.yaml``)
and a method by its ``method=`` name (``conf/method/<name>.yaml``), with optional overrides of
either's parameters (``params``, ``attack_params``). Component ``j`` attacks only the samples
that every earlier component failed to fool; a sample counts as robust only if it survives
all of them (the per-sample worst case of Özdenizci & Legenstein, TMLR 2024, and of
AutoAttack, Croce & Hein 2020); it keeps the first example that fooled it, or where none did
the last component's (under a random forward the row's scoring draw may still be fooled).
Each candidate is judged on the whole batch by ``judge``: in a job the target's forward on a
draw of the row's own for the batch (``AttackEvaluator._judge``, ``row_seed``'s ``judge``),
not the crafting's, which a stochastic encoder's candidate would pass by its own noise; the
row's count then judges the kept examples with the clean check's seeded forward, as every
row's.

A component may be targeted (its method's ``target`` a class or ``random``): like any other it
keeps the first example that misclassifies a sample, into any class. The row's targeted
success rate follows that choice (:class:`WorstCase`): a sample counts where a targeted
component aimed at it (it was left to that component and is of another class than its
target) and the example kept for it, that of the first component to fool it, is a targeted
component's, aimed at a class other than the sample's, and is classified as that class (a
component's target that is the sample's own class is no goal: a random judge may keep its
example as a success that the row's scoring puts back in that class).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import nn

from snnattack.attacks.crafting import craft_tracked
from snnattack.attacks.methods import GRADIENT_FREE
from snnattack.process.clock import synced_time
from snnattack.settings import AttackSpec, Recipe, aims_at_class

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

    @property
    def configured_mode(self) -> bool:
        """Whether it differentiates by its gradient mode at its configured parameters, which
        must fit the crafting network's neurons: a gradient component not tuned (a tuned
        one's are chosen among the points of its grid that fit, :mod:`snnattack.attacks.tuning`)."""
        return self.attack is not None and not self.tune


def reads_job_mode(method: str) -> bool:
    """Whether the rows of the method named ``method`` (a ``method.<m>.name``) are
    differentiated by the job's gradient mode (``attack=``) where they craft on a spiking
    model: not the ensemble's (its components name their own modes), nor a gradient-free
    method's (it only queries outputs). A sweep over ``attack=`` repeats the other rows."""
    return method != ENSEMBLE and method not in GRADIENT_FREE


def row_reads_job_mode(spec: AttackSpec, anns: Collection[str] = frozenset()) -> bool:
    """Whether the row ``spec`` is differentiated by the job's gradient mode (``attack=``): its
    method reads it (:func:`reads_job_mode`) and it crafts on a spiking model, its box not
    among ``anns`` (the boxes whose rows craft on an ANN: the white box's on an ANN target,
    the black box's on an ANN source), as an ANN is differentiated by its own autograd (its
    rows record ``ann-autograd``)."""
    return spec.box not in anns and reads_job_mode(spec.algorithm)


def job_mode_read(
    specs: Iterable[AttackSpec], *, probed: bool, anns: Collection[str] = frozenset()
) -> bool:
    """Whether anything differentiates a model with the job's gradient mode (``attack=``):
    a row of ``specs`` that reads it (:func:`row_reads_job_mode`: a method that reads it,
    crafting on a spiking model, its box not among ``anns``), or, where ``probed``, the
    gradient-masking checks (``checks.masking``: their zero-gradient and unbounded-eps
    probes take the job's mode on the target). With only ensemble and gradient-free rows,
    or rows crafted on ANNs, and no probe, nothing does: the mode may neither turn
    ``compile`` off nor refuse a model."""
    return probed or any(row_reads_job_mode(spec, anns) for spec in specs)


def row_modes(
    recipe_mode: str,
    specs: Iterable[AttackSpec],
    *,
    probed: bool,
    anns: Collection[str] = frozenset(),
) -> list[str]:
    """The gradient modes that differentiate a model under the rows ``specs``, each once: the
    recipe's where something reads it (:func:`job_mode_read`; ``probed``: the masking checks
    probe this model with it), then each ensemble component's that has one (a gradient-free
    component's is a placeholder). Rows of the boxes ``anns`` craft on an ANN, which runs no
    gradient mode (its own autograd, ``ann-autograd``): neither the job's mode nor their
    components' count for them. The recipe's was listed also where nothing read it, so
    ``attack=rga`` beside an ensemble of STBP components alone turned ``compile`` off and
    refused a model of a per-step loop, and rows crafted on an ANN turned ``compile`` off."""
    specs = list(specs)
    modes = [recipe_mode] if job_mode_read(specs, probed=probed, anns=anns) else []
    for spec in specs:
        if spec.algorithm == ENSEMBLE and spec.box not in anns:
            modes += [c.grad_mode for c in spec.params["components"] if c.attack is not None]
    return list(dict.fromkeys(modes))


class WorstCase(NamedTuple):
    """The ensemble's outcome on one batch: its adversarial batch ``adv``, the ``queries``
    its components made, each component's first successes (``firsts``) and seconds (0 for
    one that had no sample left to attack); where a component is targeted, ``aimed`` marks
    the samples some targeted component attacked with a target other than their class, and
    ``goals`` holds per sample the target class of the component whose example was kept (-1
    where that component is untargeted or aimed at the sample's own class, or none fooled
    the sample): the row's targeted rate
    is the share of ``aimed`` classified as their ``goals``. Both None where no component is
    targeted (the row is untargeted)."""

    adv: torch.Tensor
    queries: int
    firsts: torch.Tensor
    seconds: torch.Tensor
    aimed: torch.Tensor | None = None
    goals: torch.Tensor | None = None


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
) -> WorstCase:
    """The ensemble's adversarial batch, its queries, each component's first successes and
    seconds on this batch, and where a component is targeted the samples aimed at and the
    target class of each kept example (:class:`WorstCase`).

    ``judge(batch)`` gives the target's predictions of a whole batch (in a job on a draw of
    the row's own for the batch, not the crafting's); ``correct`` marks the clean-correct
    samples, the only ones attacked.
    ``starting(j, part)`` is called before component ``j`` runs (a progress display).
    """
    adv, robust = x.clone(), correct.clone()
    firsts = torch.zeros(len(parts), dtype=torch.long, device=x.device)
    seconds = torch.zeros(len(parts), dtype=torch.float64)
    queries = 0
    aimed = torch.zeros_like(correct) if any(aims_at_class(p.params) for p in parts) else None
    goals = torch.full_like(y, -1) if aimed is not None else None
    for j, part in enumerate(parts):
        rows = robust.nonzero()[:, 0]
        if len(rows) == 0:
            break
        if starting is not None:
            starting(j, part)
        started = synced_time(x.device)
        crafted, used, _, aimed_at = craft_tracked(
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
        # every sample attacked keeps this component's example, fooled or not: under a random
        # forward one the judge's draw was not fooled by may still fool the row's scoring draw,
        # as a single row's example does (kept clean, an ensemble of PGD alone read half its
        # row's ASR); a fooled one is attacked no further, so it keeps its first success
        adv[robust] = candidate[robust]
        if aimed is not None and goals is not None and aimed_at is not None:
            target = torch.full_like(y, -1)
            target[rows] = aimed_at.to(y.device)
            other = target != y  # a target that is the sample's own class is no goal
            aimed[rows] |= other[rows]
            # the kept example's goal: the component's target, but -1 where it is the
            # sample's class (never aimed at, as a single row leaves it out): a random
            # judge's draw may count it fooled while the row's scoring draw puts it back in
            # its class, which a goal of its class would have counted as a targeted hit
            goals[robust] = target[robust].where(other[robust], -1)
        robust &= ~fooled
        firsts[j] = fooled.sum()
        seconds[j] = synced_time(x.device) - started
    return WorstCase(adv, queries, firsts, seconds, aimed, goals)
