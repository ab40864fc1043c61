"""What an adversary of adversarial training is: how it starts, steps and is trained on.

A :class:`Method` is stateless: the recipe's numbers (ε, α, steps, β) come from the
:class:`Recipe` that uses it (:class:`~snnattack.training.adversaries.recipe.Adversary`), whose
``craft`` runs the loop ``adv <- clip(adv + alpha * sign(grad step_loss(model(adv))))`` from
the method's ``start``. The recipe is described here by what a method reads, so this package
does not import the module that imports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from snnattack.registry import Registry


class Recipe(Protocol):
    """The numbers of an adversarial-training recipe that a method reads (ε, α in [0, 1]
    pixel units; α None: the method's default step)."""

    eps: float
    alpha: float | None
    steps: int
    beta: float


PGD_STEP = 2.5  # alpha = this * eps / steps when alpha is null (Madry et al.)


class Method:
    """One adversary: ``name`` (``train.adversary.method``), ``order`` (its place in
    listings), ``reads`` (the settings of its own it reads, besides ε and the gradient's),
    ``bn`` (its reference's ``bn_mode``: ``train`` crafts on the batch's statistics),
    ``one_step`` (one gradient step, ``steps`` unused). The default is PGD's: a uniform
    random start in the ε-ball, cross-entropy steps, training on the examples alone."""

    name: ClassVar[str] = ""
    order: ClassVar[float] = 0.0
    reads: ClassVar[tuple[str, ...]] = ()
    bn: ClassVar[str] = "eval"
    one_step: ClassVar[bool] = False

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The settings this adversary reads, in the store key's order (which keeps only
        these): every adversary's around its own."""
        return ("method", "eps", *cls.reads, "grad_mode", "params", "reg", "ramp_epochs")

    def default_step(self, adversary: Recipe, eps: float) -> float:
        """α at radius ``eps`` when ``alpha`` is null."""
        return PGD_STEP * eps / adversary.steps

    def step_size(self, adversary: Recipe, eps: float) -> float:
        """α at radius ``eps``: the configured one scaled with the ramp, or the default."""
        if adversary.alpha is not None:
            return adversary.alpha * eps / adversary.eps
        return self.default_step(adversary, eps)

    def start(
        self, model: nn.Module, x: torch.Tensor, eps: float, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, Any]:
        """The first example and what the step loss compares with (None: the labels)."""
        start = torch.empty_like(x).uniform_(-eps, eps, generator=generator)
        return (x + start).clamp(0, 1), None

    def step_loss(self, logits: torch.Tensor, y: torch.Tensor, target: Any) -> torch.Tensor:
        """The loss whose input gradient's sign is each step's direction."""
        return F.cross_entropy(logits, y)

    def loss(
        self,
        adversary: Recipe,
        model: nn.Module,
        x: torch.Tensor,
        adv: torch.Tensor,
        y: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The training loss on the batch and the logits its accuracy is logged on:
        cross-entropy on the adversarial examples."""
        logits = model(adv)
        return F.cross_entropy(logits, y), logits


ADVERSARIES: Registry[type[Method]] = Registry()  # filled by this package's modules


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: ``cls`` is the adversary ``cls.name`` at its place by ``cls.order``."""
    return ADVERSARIES.register(cls.name, order=cls.order)(cls)


def kl_divergence(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """KL(target ‖ softmax(logits)) summed over classes, averaged over the batch (TRADES)."""
    return F.kl_div(F.log_softmax(logits, dim=1), target, reduction="batchmean")


@contextmanager
def set_training_mode(model: nn.Module, bn: str = "eval") -> Iterator[nn.Module]:
    """Within the block ``model`` crafts as ``bn`` says (torchattacks'
    ``set_model_training_mode``): ``eval``, eval mode (BatchNorm on its running statistics, no
    dropout); ``train``, training mode (BatchNorm on the batch's statistics) with the
    BatchNorms' running statistics restored afterwards, so passes in the block move nothing.
    The training flag is restored after either."""
    if bn not in ("eval", "train"):
        raise ValueError(f"bn={bn!r} is unknown; accepted: eval, train")
    was = model.training
    batchnorm = nn.modules.batchnorm._BatchNorm
    norms = [m for m in model.modules() if isinstance(m, batchnorm)] if bn == "train" else []
    saved = [{k: b.clone() for k, b in m.named_buffers(recurse=False)} for m in norms]
    model.train(bn == "train")
    try:
        yield model
    finally:
        with torch.no_grad():
            for m, buffers in zip(norms, saved, strict=True):
                for k, b in m.named_buffers(recurse=False):
                    b.copy_(buffers[k])
        model.train(was)
