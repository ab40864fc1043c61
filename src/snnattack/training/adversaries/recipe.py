"""Adversarial training (``train.adversary``): the examples a model is trained on.

``train.adversary.method`` (null = standard training) names one of the adversaries of
:mod:`snnattack.training.adversaries`, one module each (``fgsm``, ``fgsm_rs``, ``pgd``,
``trades``: their references there).

The input gradients come from ``grad_mode`` (any gradient mode of ``attack=``: stbp, rga,
bptr, hart, ...) with its ``params`` ({} = the mode's defaults), so an adversary can be
crafted with the RGA backward. An ANN (``train.kind=ann``) is differentiated as it is.

``bn_mode`` says which function the examples are crafted on
(:func:`~snnattack.training.adversaries.set_training_mode`): ``eval`` (running statistics, no
dropout) or ``train`` (the batch's statistics; the running ones restored after the crafting).
null takes the adversary's reference (its ``bn``, named in its module), and ``eval`` for a
gradient mode that needs time-invariant layers (``rga``, ``ann``: a train-mode BN is not;
``bn_mode=train`` with them is refused). The model is put back in training mode for the update.

``reg`` > 0 turns on the RAT regulariser (Ding et al., *SNN-RAT*, NeurIPS 2022): after every
optimiser step each conv/linear weight is retracted towards a Parseval-tight frame
(:func:`parseval_retraction`), as the reference applies it (its ``arsnn_reg`` loss term is
never called). It leaves ``train.weight_decay`` as set: the reference's RAT runs without weight
decay, which the RAT recipe sets itself (``experiments/defense/rat.yaml``).

``ramp_epochs`` > 0 grows ε linearly over the first epochs, ε · min(1, (epoch + 1) /
ramp_epochs): a warm-up against the early collapse large-ε training can show; 0 = off.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from snnattack.attacks.crafting import spiking
from snnattack.gradients import GRADIENT_MODES, gradient_mode
from snnattack.training.adversaries import ADVERSARIES, Method, set_training_mode
from snnattack.values import declare, member_of, one_of, optional

BN_MODES = ("eval", "train")
declare(
    {
        "train.adversary.method": optional(member_of(ADVERSARIES)),  # read at each check
        "train.adversary.bn_mode": optional(one_of(*BN_MODES)),
    }
)
GRADIENT_KEYS = ("grad_mode", "params")  # the settings of the SNN gradient that crafts
RAT_SAMPLED_ROWS = 200  # linear layers with this many rows or more retract a random subset...
RAT_ROW_SHARE = 0.3  # ...of this share of their rows (the SNN-RAT reference)


def default_bn_mode(method: str, grad_mode: str | None) -> str:
    """``bn_mode`` null: the method's reference, ``eval`` for a gradient mode that needs it
    (module doc); ``grad_mode`` None: the model is an ANN, differentiated as it is."""
    needs_eval = grad_mode is not None and GRADIENT_MODES[grad_mode].time_invariant
    return "eval" if needs_eval else ADVERSARIES[method].bn


def adversary_spec(node: dict[str, Any] | None, spiking: bool = True) -> dict[str, Any] | None:
    """The adversary settings that change the trained model, or None for standard training
    (``method`` null: no adversary in the store key, so the models trained before this option
    keep their keys). ``bn_mode`` is always there, null resolved (:func:`default_bn_mode`).
    An ANN (``spiking`` False) has one gradient, its own: ``grad_mode`` and ``params`` are left
    out, as they change nothing; a ``ramp_epochs`` of 1 (full ε from the first epoch) is 0.
    """
    if not node or node.get("method") is None:
        return None
    keys = [k for k in ADVERSARIES[node["method"]].keys() if spiking or k not in GRADIENT_KEYS]
    spec = {k: node[k] for k in keys if k in node}
    mode = spec.get("grad_mode", "stbp") if spiking else None
    spec["bn_mode"] = node.get("bn_mode") or default_bn_mode(node["method"], mode)
    if spec.get("ramp_epochs") == 1:  # full eps from the first epoch: no ramp
        spec["ramp_epochs"] = 0
    return spec


@dataclass(frozen=True)
class Adversary:
    """One adversarial-training recipe; ε and α in [0, 1] pixel units."""

    method: str
    eps: float
    alpha: float | None = None
    steps: int = 7
    beta: float = 6.0
    grad_mode: str = "stbp"
    params: dict[str, Any] = field(default_factory=dict)
    reg: float = 0.0
    ramp_epochs: int = 0
    bn_mode: str | None = None  # None: the method's reference (default_bn_mode)

    @classmethod
    def from_config(cls, node: Any, spiking: bool = True) -> Adversary | None:
        """The adversary ``train.adversary`` describes (ε, α in 1/255 units), or None;
        ``spiking``: it trains an SNN (:func:`adversary_spec`)."""
        spec = adversary_spec(None if node is None else dict(node), spiking)
        if spec is None:
            return None
        spec["eps"] = spec["eps"] / 255.0
        if spec.get("alpha") is not None:
            spec["alpha"] = spec["alpha"] / 255.0
        spec["params"] = dict(spec.get("params") or {})
        return cls(**spec)

    @property
    def kind(self) -> Method:
        """The adversary ``method`` names (:mod:`snnattack.training.adversaries`)."""
        return ADVERSARIES[self.method]()

    @property
    def n_steps(self) -> int:
        """Input-gradient evaluations per crafted example."""
        return 1 if self.kind.one_step else self.steps

    def radius(self, epoch: int) -> float:
        """ε at ``epoch`` (0-based): the ramp's value, then ε."""
        if self.ramp_epochs <= 0:
            return self.eps
        return self.eps * min(1.0, (epoch + 1) / self.ramp_epochs)

    def step_size(self, eps: float) -> float:
        """α for radius ``eps``: the configured one scaled with the ramp, or the method's rule."""
        return self.kind.step_size(self, eps)

    def craft(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        epoch: int = 0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Adversarial examples of ``(x, y)`` crafted on ``model`` in ``bn_mode`` (module doc);
        the random start is drawn from ``generator`` (on ``x``'s device; None: torch's)."""
        eps = self.radius(epoch)
        alpha = self.step_size(eps)
        grad_mode = self.grad_mode if spiking(model) else None
        bn_mode = self.bn_mode or default_bn_mode(self.method, grad_mode)
        kind = self.kind
        differentiation = (  # the configured gradient mode on a spiking model; an ANN as it is
            nullcontext() if grad_mode is None else gradient_mode(model, grad_mode, **self.params)
        )
        with set_training_mode(model, bn=bn_mode), torch.enable_grad(), differentiation:
            adv, target = kind.start(model, x, eps, generator)
            for _ in range(self.n_steps):
                adv.requires_grad_(True)
                loss = kind.step_loss(model(adv), y, target)
                (grad,) = torch.autograd.grad(loss, adv)
                adv = adv.detach() + alpha * grad.sign()
                adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1)
        return adv.detach()

    def loss(
        self, model: nn.Module, x: torch.Tensor, adv: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The training loss on the batch and the logits its accuracy is logged on (the
        adversary's: cross-entropy on the examples, TRADES' clean CE + β · KL)."""
        return self.kind.loss(self, model, x, adv, y)

    def regularise(self, model: nn.Module, generator: torch.Generator | None = None) -> None:
        """The RAT retraction after an optimiser step (nothing when ``reg`` is 0)."""
        if self.reg > 0:
            parseval_retraction(model, self.reg, generator)


@torch.no_grad()
def parseval_retraction(
    model: nn.Module, beta: float, generator: torch.Generator | None = None
) -> None:
    """``W <- (1 + β) W - β W Wᵀ W`` on every conv/linear weight (rows: output units).

    As SNN-RAT's ``orthogonal_retraction`` (``-special reg``): a conv's kernel flattened per
    output channel; a linear layer with :data:`RAT_SAMPLED_ROWS` rows or more retracts a random
    :data:`RAT_ROW_SHARE` of its rows (drawn on the CPU from ``generator``; None: torch's).
    """
    for m in model.modules():
        if not isinstance(m, nn.Conv2d | nn.Linear):
            continue
        w = m.weight.reshape(m.weight.shape[0], -1)
        if isinstance(m, nn.Linear) and w.shape[0] >= RAT_SAMPLED_ROWS:
            order = torch.randperm(w.shape[0], generator=generator).to(w.device)
            rows = order[: int(w.shape[0] * RAT_ROW_SHARE)]
        else:
            rows = torch.arange(w.shape[0], device=w.device)
        part = w[rows]
        w[rows] = (1 + beta) * part - beta * part @ part.t() @ part
