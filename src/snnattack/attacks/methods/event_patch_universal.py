"""Universal AE-Patch (yszbb/AE-Patch, 2024, ``Event_patch_attack_targeted.forward``): ONE
event patch fitted on held-out data, then applied as it is to every test sample.

Threat model: as ``event_patch`` (:mod:`.event_patch`): binary frames, a square of side
``int(sqrt(area * H * W))`` over every bin and both polarities replaces the events of its
window. Fitting (:mod:`snnattack.attacks.universal`: on the validation batch, never on test
data), as the reference trains its patch over a training loader: the patch starts empty (the
reference's zeros); for ``epochs`` passes over the batch in shuffled mini-batches of
``batch_size``, each mini-batch's eligible samples (clean-correct; for a targeted patch, not
of class ``target``) take at most ``max_iteration`` signed gradient steps of size ``lr`` of
the shared patch on their mean log-probability, up for class ``target`` or down for the true
class (``target: -1``: one patch for every class), until their mean probability of that class
reaches ``threshold`` (targeted: at least, untargeted: at most); the step of best mean
probability is kept; after each epoch the patch is rounded to {0, 1}. Where it goes:
``placement: random`` draws one uniform window per mini-batch while fitting (the reference's
untargeted class at ``location_global=1``; its targeted class fits inside hard-coded
regions) and one per test sample; ``placement: receptive_field`` fits and
applies the patch at one window, where the loss gradient of the validation samples is
largest (the data-driven counterpart of the reference's hard-coded regions per class).

Deviations, each a bug or a choice (docs/event_attacks.md): the reference measures the mean
target probability after a step on the image *before* the step, so it stops one step late and
keeps the step before the best; here it is measured on the stepped image. Its random window
never touches the last row or column (numpy's exclusive ``high``). It keeps the patch of best
*test* success rate; here the last epoch's, never selected on test data.

Applied to a test batch (no per-sample optimisation): a sample succeeds when its patched
frames are predicted as ``target`` (targeted) or not as its label; a failure keeps its clean
input, as ``event_patch`` does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from snnattack.attacks.methods.base import UniversalAttack, refuse_empty, register
from snnattack.attacks.methods.event_patch import (
    patch_side,
    random_corners,
    salient_corners,
    windows,
)


def placed(
    patch: torch.Tensor, x: torch.Tensor, top: torch.Tensor, left: torch.Tensor
) -> torch.Tensor:
    """``x`` with ``patch`` (``[..., side, side]``, shared) replacing each sample's window at
    (``top``, ``left``), one corner for all (one-element tensors) or one per sample."""
    side, height, width = patch.shape[-1], x.shape[-2], x.shape[-1]
    top, left = top.expand(len(x)), left.expand(len(x))
    # the corners read at once (one host sync per call, not two per sample): the patch is
    # padded per sample, which keeps its gradient's sum over the samples as it was
    corners = torch.stack([top, left], 1).tolist()
    canvas = torch.stack(
        [F.pad(patch, (c, width - side - c, r, height - side - r)) for r, c in corners]
    )
    mask = windows(x, top, left, side)
    return mask * canvas + (1 - mask) * x


@register("event_patch_universal", order=83.5, events=("binary",))
class UniversalEventPatch(UniversalAttack):
    """The universal AE-Patch on binary frames (module docstring); the method
    ``event_patch_universal``, its parameters ``conf/method/event_patch_universal.yaml``'s
    keys."""

    def __init__(
        self,
        model: nn.Module,
        eps: float = 0.0,
        area: float = 0.03,
        placement: str = "random",
        target: int = -1,
        epochs: int = 8,
        batch_size: int = 4,
        max_iteration: int = 8,
        lr: float = 0.1,
        threshold: float = 0.2,
        fitted: dict[str, torch.Tensor] | None = None,
    ) -> None:
        super().__init__("UniversalEventPatch", model, fitted)
        self.area, self.placement, self.target = area, placement, target
        self.epochs, self.batch_size, self.max_iteration = epochs, batch_size, max_iteration
        self.lr, self.threshold = lr, threshold

    def _class_of(self, y: torch.Tensor) -> torch.Tensor:
        """The class whose probability the patch moves: ``target``, else the true class."""
        return y if self.target < 0 else torch.full_like(y, self.target)

    def _mean_prob(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The mean log-probability of :meth:`_class_of` over ``x`` (differentiable)."""
        log_p = F.log_softmax(self.get_logits(x), dim=1)
        return log_p.gather(1, self._class_of(y)[:, None]).mean()

    def _eligible(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Clean-correct samples, less those of class ``target`` (the reference's)."""
        with torch.no_grad():
            keep = self.get_logits(x).argmax(1) == y
        return keep & (y != self.target) if self.target >= 0 else keep

    def _probability(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """The mean probability of :meth:`_class_of` over ``x`` (the reference's stop)."""
        with torch.no_grad():
            p = F.softmax(self.get_logits(x), dim=1).gather(1, self._class_of(y)[:, None])
        return float(p.mean())

    def _step(
        self, patch: torch.Tensor, x: torch.Tensor, y: torch.Tensor, corner: tuple
    ) -> torch.Tensor:
        """The patch after at most ``max_iteration`` signed steps on the mini-batch ``x``
        with its window at ``corner``: the step of best mean probability (the reference's
        ``patch_attack``, its probability measured on the stepped image)."""
        sign = 1.0 if self.target >= 0 else -1.0  # up for the target, down for the label
        best, best_p = patch, sign * self._probability(placed(patch, x, *corner), y)
        for _ in range(self.max_iteration):
            # the reference's stop on the mean probability: a host sync per step, kept
            if best_p >= sign * self.threshold:
                break
            stepped = self._signed_step(patch, x, y, corner)
            if stepped is None:
                break  # the reference's "Gradient vanish"
            patch = stepped
            now = sign * self._probability(placed(patch, x, *corner), y)
            if now > best_p:
                best, best_p = patch, now
        return best

    def _signed_step(
        self, patch: torch.Tensor, x: torch.Tensor, y: torch.Tensor, corner: tuple
    ) -> torch.Tensor | None:
        """One signed step of size ``lr`` of ``patch`` on the mini-batch ``x`` (up the mean
        log-probability of the target, down the label's), clipped to [0, 1]; None where the
        gradient vanished."""
        sign = 1.0 if self.target >= 0 else -1.0
        p = patch.clone().requires_grad_(True)
        g = torch.autograd.grad(sign * self._mean_prob(placed(p, x, *corner), y), p)[0]
        if not g.abs().sum():  # the reference's vanished gradient: a host sync per step, kept
            return None
        return (patch + self.lr * g.sign()).clamp(0.0, 1.0)

    def fit(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        x, y = x.to(self.device), y.to(self.device)
        side = patch_side("method.event_patch_universal", self.area, *x.shape[-2:])
        patch = torch.zeros(*x.shape[1:-2], side, side, device=x.device)
        keep = self._eligible(x, y)
        other = f" and not of class {self.target}" if self.target >= 0 else ""
        refuse_empty(keep, f"clean-correct{other}")
        x, y = x[keep], y[keep]
        corner = torch.full((2,), -1, device=x.device)  # random placement: none fitted
        if self.placement == "receptive_field":
            current = x.clone().requires_grad_(True)
            g = torch.autograd.grad(-self._mean_prob(current, y), current)[0].sum(0, True)
            corner = torch.cat(salient_corners(g, side))
        for _ in range(self.epochs):
            for rows in torch.randperm(len(x), device=x.device).split(self.batch_size):
                at = corner[:1], corner[1:]
                if self.placement == "random":
                    at = random_corners(x, side, 1)
                patch = self._step(patch, x[rows], y[rows], at)
            patch = patch.round()
        return {"patch": patch, "corner": corner}

    def apply(
        self, x: torch.Tensor, y: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        patch, corner = state["patch"], state["corner"]
        side = patch.shape[-1]
        if self.placement == "random":
            top, left = random_corners(x, side, len(x))
        else:
            top, left = corner[:1], corner[1:]
        adv = placed(patch, x, top, left)
        with torch.no_grad():
            clean, pred = self.get_logits(x).argmax(1), self.get_logits(adv).argmax(1)
        won = (pred == self.target) & (y != self.target) if self.target >= 0 else pred != y
        won &= clean == y
        return torch.where(won.view(-1, *[1] * (x.dim() - 1)), adv, x)
