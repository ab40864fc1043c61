"""How one adversarial batch is crafted: the gradient mode, the time extension, the queries.

- The gradient mode (``attack=``) sets how the crafting model's spiking layers differentiate;
  a gradient-free method (Square) only reads outputs, so it runs without one (``none``), and
  an ANN (``train.kind=ann``) is differentiated as it is (``ann-autograd``).
- The time-extended attack (RGA paper, ``attack.time_extension=k``) crafts with the model
  simulated for ``k * T`` steps; the example is then judged at ``T`` as usual.
- An attack's random start is drawn from the CPU's generator on every device, so one seed
  gives one start on the CPU and on a GPU (:mod:`snnattack.attacks.draws`).
- Every call of the crafting model is counted (samples passed through it), so results can
  report the queries an attack needed per sample.
- With ``steps_curve`` counts, the running best example after each count is kept as well
  (:mod:`snnattack.attacks.convergence`).
- Event frames ``[B, T, C, H, W]`` reach an image attack (torchattacks' APGD, Square and
  AutoAttack assume ``[B, C, H, W]``) as ``T * C`` channels and go back to frames for the
  model; an event attack (SDA, ...) gets the frames as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from snnattack.attacks.convergence import tracking
from snnattack.attacks.draws import host_start
from snnattack.attacks.methods import (
    GRADIENT_FREE,
    METHODS,
    build_attack,
    is_event_attack,
    takes_eot,
)
from snnattack.attacks.methods.base import LINF
from snnattack.gradients import gradient_mode
from snnattack.settings import Recipe
from snnattack.snn.neurons import LIF

ANN_GRAD_MODE = "ann-autograd"  # recorded grad_mode of attacks crafted on an ANN


def spiking(model: nn.Module) -> bool:
    """Whether ``model`` has spiking layers (else it is an ANN, differentiated as it is)."""
    return any(isinstance(m, LIF) for m in model.modules())


def ann_boxes(crafters: Mapping[str, nn.Module | None]) -> frozenset[str]:
    """The boxes of ``crafters`` (each box's crafting model: the target for the white box, the
    black box's source) whose rows craft on an ANN (:func:`spiking`): they are differentiated
    by its own autograd (``ann-autograd``), so they read no gradient mode and no time
    extension. A box without a model (no source) crafts no row, on an ANN or else: it is not
    among them, as :func:`snnattack.training.checks.ann_boxes_of` leaves out a box the job
    does not run (one convention: a box is named only where it runs and crafts on an ANN)."""
    return frozenset(
        box for box, model in crafters.items() if model is not None and not spiking(model)
    )


class FramesAsChannels(nn.Module):
    """``model`` taking event frames ``[B, T, C, H, W]`` as images ``[B, T * C, H, W]``: an
    image attack sees each time bin's channels as channels of one image (an elementwise
    attack such as PGD draws and steps exactly as on the frames)."""

    def __init__(self, model: nn.Module, frames: torch.Size) -> None:
        super().__init__()
        self.model = model
        self.frames = tuple(frames)  # (T, C)
        self.train(model.training)  # torchattacks hands the wrapper back in its own mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.unflatten(1, self.frames))


@contextmanager
def time_extended(model: nn.Module, k: int) -> Iterator[nn.Module]:
    """Within the block ``model`` simulates ``k`` times its T steps (``model.T`` restored)."""
    if k == 1:
        yield model
        return
    T = model.T
    model.T = k * T
    try:
        yield model
    finally:
        model.T = T


@contextmanager
def in_dtype(model: nn.Module, dtype: torch.dtype, crafting: torch.dtype) -> Iterator[None]:
    """Within the block ``model`` takes its input in ``dtype``, the images', and returns its
    output in ``crafting``, the attack's. An attack on a float16 or bfloat16 model crafts in
    float32 (:func:`craft_tracked`): torchattacks' APGD and Square draw their noise in float32
    and write it into a copy of the images, APGD reads its losses with NumPy (no bfloat16),
    and SAPGD's random start is float32, so on such a model they raised. Where the two are
    one dtype (float32, float64: every model but those) nothing is hooked: no call of an
    attack's hot loop pays for casts that change nothing."""
    if dtype == crafting:
        yield
        return
    cast_in = model.register_forward_pre_hook(lambda _, a: (a[0].to(dtype), *a[1:]), prepend=True)
    cast_out = model.register_forward_hook(lambda _, a, out: out.to(crafting))  # the last hook
    try:
        yield
    finally:
        cast_in.remove()
        cast_out.remove()


def rounded_into_ball(adv: torch.Tensor, x: torch.Tensor, eps: float) -> torch.Tensor:
    """``adv``, crafted in a finer dtype than the images ``x`` (float32 for float16), in
    their dtype and within ``eps`` of them: a value that rounding to the nearest put past
    ``eps`` (by half a unit in the last place) is the neighbour toward ``x`` instead."""
    rounded = adv.to(x.dtype)
    past = (rounded.to(adv.dtype) - x.to(adv.dtype)).abs() > eps
    return torch.where(past, torch.nextafter(rounded, x), rounded)


@contextmanager
def counting_queries(model: nn.Module) -> Iterator[list[int]]:
    """Counts the samples passed through ``model`` in the block (``box[0]``)."""
    box = [0]

    def count(module: nn.Module, args: tuple) -> None:
        box[0] += args[0].shape[0]

    handle = model.register_forward_pre_hook(count)
    try:
        yield box
    finally:
        handle.remove()


def grad_mode_of(method: str, grad_mode: str, crafter: nn.Module) -> str:
    """The gradient mode a result row records: ``none`` for a gradient-free method,
    ``ann-autograd`` for an ANN crafting model, else ``grad_mode``."""
    if method in GRADIENT_FREE:
        return "none"
    return grad_mode if spiking(crafter) else ANN_GRAD_MODE


@contextmanager
def crafting_on(algorithm: str, crafter: nn.Module, recipe: Recipe) -> Iterator[None]:
    """Within the block ``crafter`` is simulated for the recipe's time extension and
    differentiated by its gradient mode (neither for an ANN; no mode for a gradient-free
    ``algorithm``): how every attack, and a universal attack's fitting, crafts on it."""
    snn = spiking(crafter)  # a walk of its modules, once
    extension = time_extended(crafter, recipe.time_extension) if snn else nullcontext()
    uses_mode = algorithm not in GRADIENT_FREE and snn
    differentiation = (
        gradient_mode(crafter, recipe.grad_mode, **recipe.grad_params)
        if uses_mode
        else nullcontext()
    )
    with extension, differentiation:
        yield


def eot_draws(algorithm: str, recipe: Recipe) -> int:
    """The EOT draws ``algorithm`` averages per gradient under ``recipe``: one for a method that
    averages none (validation refuses ``attack.eot_samples`` > 1 beside it, so only a random
    forward's raised draws, ``attack.random_eot_samples``, are left to the others)."""
    return recipe.eot_samples if algorithm not in METHODS or takes_eot(algorithm) else 1


def craft(
    algorithm: str,
    crafter: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    params: dict[str, Any],
    recipe: Recipe,
) -> tuple[torch.Tensor, int]:
    """Adversarial examples of ``x`` crafted on ``crafter`` by ``recipe``, and the queries it
    took (the recipe's ``steps_curve`` is not tracked)."""
    adv, queries, _, _ = craft_tracked(
        algorithm, crafter, x, y, eps, params, replace(recipe, steps_curve=())
    )
    return adv, queries


def aimed_classes(attack: Any, y: torch.Tensor, params: dict[str, Any]) -> torch.Tensor | None:
    """Each sample's target class where the ``attack`` aims at one: the classes it drew
    (``target: random``, its ``goals``), else its ``params``' ``target`` class; None for an
    untargeted attack (``target`` -1, or none)."""
    drawn = getattr(attack, "goals", None)
    if isinstance(drawn, torch.Tensor):
        return drawn.detach()
    target = params.get("target", -1)
    return torch.full_like(y, target) if isinstance(target, int) and target >= 0 else None


def craft_tracked(
    algorithm: str,
    crafter: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    params: dict[str, Any],
    recipe: Recipe,
) -> tuple[torch.Tensor, int, dict[int, torch.Tensor], torch.Tensor | None]:
    """:func:`craft`, the running best examples after each of the recipe's ``steps_curve``
    counts, and each sample's target class of a targeted method (:func:`aimed_classes`;
    None: untargeted), which its row's targeted success rate counts against."""
    eot = eot_draws(algorithm, recipe)
    frames = x.dim() == 5 and not is_event_attack(algorithm)
    attacked = FramesAsChannels(crafter, x.shape[1:3]) if frames else crafter
    attack = build_attack(algorithm, attacked, eps, eot_samples=eot, **params)
    images = x.to(torch.promote_types(x.dtype, torch.float32))  # float16: float32
    # the gradient mode first: a proxy pass's output (rga, ann) is replaced by the true output
    # in the mode's forward hook, which must run before the tracker's hook judges the iterate
    with (
        crafting_on(algorithm, crafter, recipe),
        counting_queries(crafter) as queries,
        tracking(crafter, attack, x, y, recipe.steps_curve, eot) as tracker,
        torch.enable_grad(),
        host_start(attacked, x.device),
        in_dtype(attacked, x.dtype, images.dtype),
    ):
        adv = (
            attack(images.flatten(1, 2), y).unflatten(1, x.shape[1:3])
            if frames
            else attack(images, y)
        )
    adv = adv.detach()
    if adv.dtype != x.dtype:  # crafted in float32 on float16 images: in their dtype again
        in_ball = METHODS[algorithm].threat(params) == LINF  # not an event attack's flips
        adv = rounded_into_ball(adv, x, eps) if in_ball else adv.to(x.dtype)
    snapshots = tracker.finish(adv) if tracker is not None else {}
    return adv, queries[0], snapshots, aimed_classes(attack, y, params)
