"""SpikeFool (Büchel et al. 2022, "Adversarial attacks on spiking convolutional neural networks
for event-based vision"): SparseFool on binary spike rasters under a Hamming budget, batched.

Threat model: binary frames (``dataset.params.event_encoding=binary``); a flip inserts or
deletes an event. No radius (one row per box at eps 0); the budget is ``max_hamming_distance``,
the most flips a success may use (a sample needing more keeps its clean input: a failure).

The reference (jubueche/SPAA, ``sparsefool.py``, functions ``sparsefool``, ``deepfool``,
``linear_solver``) attacks one sample at a time; here every sample of the batch runs the same
steps in parallel and leaves once fooled. Per sample, at most ``max_iter`` times:

1. DeepFool from the current raster ``x_i``: linearise every class's logit and step towards
   the nearest linearised boundary (steps of at least ``step_size``) until
   ``x_i + (1 + overshoot) r`` changes the prediction (at most ``max_iter_deep_fool`` steps);
   the boundary point ``x_i + lam * r`` and the unit normal there (the gradient of the new
   class's logit minus the old one's) define a hyperplane.
2. The linear solver moves one coordinate at a time, the largest ``|normal|`` first, by the
   distance to that hyperplane, clipped to [0, 1], until the raster crosses it; the result is
   rounded to {0, 1}.

Differences from the reference: none in the arithmetic; the per-class gradients of a batch
are taken with one backward pass per class over the whole batch (each sample's gradient is its
own, as the model treats samples independently). Where no class's gradient differs from the
predicted class's (a vanished gradient), the reference stops on an assertion; here that
sample's DeepFool stops with a zero normal, so the iteration leaves its raster unchanged.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torchattacks.attack import Attack

from snnattack.attacks.methods.base import compaction_interval, register

SOLVER_CHECK = 16  # linear-solver steps between two reads of whether a sample still moves


@register("sparsefool", order=81, events=("binary",))
class SparseFool(Attack):
    """SpikeFool on binary frames (module docstring); the method ``sparsefool``, its
    parameters ``conf/method/sparsefool.yaml``'s keys."""

    def __init__(
        self,
        model: nn.Module,
        eps: float = 0.0,
        max_hamming_distance: int = 1000,
        lam: float = 2.0,
        max_iter: int = 20,
        overshoot: float = 0.02,
        step_size: float = 0.2,
        max_iter_deep_fool: int = 50,
    ) -> None:
        super().__init__("SparseFool", model)
        self.max_hamming_distance, self.lam, self.max_iter = max_hamming_distance, lam, max_iter
        self.overshoot, self.step_size = overshoot, step_size
        self.max_iter_deep_fool = max_iter_deep_fool
        self.supported_mode = ["default"]

    def _predict(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.get_logits(x).argmax(1)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x0 = images.clone().detach().to(self.device)
        y = labels.clone().detach().to(self.device)
        x = x0.clone()
        active = self._predict(x0) == y  # a sample already misclassified needs no flip
        success = torch.zeros_like(active)
        every = compaction_interval(x.device)
        for n in range(self.max_iter):
            if n % every == 0:
                # the host sync of the loop, every ``every`` iterations: DeepFool's forward
                # and backward passes run on the samples still to attack, and the loop
                # leaves once none is
                idx = active.nonzero().squeeze(1)
                if not len(idx):
                    break
            live = active[idx]  # those fooled since the last read keep their raster
            normal, boundary = self._deepfool(x[idx])
            moved = _linear_solver(x[idx], normal, boundary)
            x[idx] = torch.where(live.view(-1, *[1] * (x.dim() - 1)), moved, x[idx])
            fooled = (self._predict(x[idx]) != y[idx]) & live
            active[idx] &= ~fooled
            success[idx] |= fooled
        l0 = (x - x0).abs().flatten(1).sum(1)
        success &= l0 <= self.max_hamming_distance
        return torch.where(success.view(-1, *[1] * (x.dim() - 1)), x, x0)

    def _class_gradients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``[b, C]`` at ``x`` and every class logit's input gradient ``[b, C, n]``."""
        x = x.clone().requires_grad_(True)
        logits = self.get_logits(x)
        grads = [
            torch.autograd.grad(logits[:, c].sum(), x, retain_graph=c < logits.shape[1] - 1)[0]
            for c in range(logits.shape[1])
        ]
        return logits.detach(), torch.stack(grads, 1).flatten(2)

    def _deepfool(self, x0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The reference's ``deepfool`` per sample of ``x0``: the unit normal at the boundary
        reached and the boundary point ``x0 + lam * r`` (both shaped like ``x0``)."""
        b, shape = len(x0), x0.shape[1:]
        flat0 = x0.flatten(1)
        rows = torch.arange(b, device=x0.device)
        with torch.no_grad():
            order = descending(self.get_logits(x0))
        label = order[:, 0]
        r_tot = torch.zeros_like(flat0)
        adv = flat0.clone()  # x0 + r_tot, summed step by step as the reference does
        k_i = label.clone()
        stuck = torch.zeros_like(label, dtype=torch.bool)  # no class's gradient differs
        every = compaction_interval(x0.device)
        run = rows  # at the start every sample runs
        for n in range(self.max_iter_deep_fool):
            if n and n % every == 0:
                # the host sync of the loop, every ``every`` steps: the gradients of every
                # class are taken on the samples still running, and the loop leaves once
                # none is
                run = ((k_i == label) & ~stuck).nonzero().squeeze(1)
                if not len(run):
                    break
            # those that crossed or stopped since the last read keep their state
            live = (k_i[run] == label[run]) & ~stuck[run]
            logits, grads = self._class_gradients(adv[run].view(-1, *shape))
            at = rows[: len(run)]
            w = grads - grads[at, label[run]][:, None]
            f = (logits - logits.gather(1, label[run, None])).abs()
            pert = f / w.norm(dim=2)
            vanished = ~pert.isfinite().any(1)  # the reference stops on an assertion here
            stuck[run] |= vanished & live
            pert = torch.where(vanished[:, None], torch.ones_like(pert), pert)
            # the reference's scan: the classes by clean logit, strictly smaller wins
            ranked = pert.gather(1, order[run, 1:])
            best = order[run, 1:].gather(1, ranked.argmin(1, keepdim=True))[:, 0]
            w_best = w[at, best]
            p_best = ranked.amin(1, keepdim=True).clamp(min=self.step_size)
            r_i = p_best * w_best / w_best.norm(dim=1, keepdim=True)
            r_i = torch.where(vanished[:, None], 0.0, r_i)
            r_tot[run] = torch.where(live[:, None], r_tot[run] + r_i, r_tot[run])
            adv[run] = torch.where(live[:, None], adv[run] + r_i, adv[run])
            check = (flat0[run] + (1 + self.overshoot) * r_tot[run]).view(-1, *shape)
            k_i[run] = torch.where(live, self._predict(check), k_i[run])
        logits, grads = self._class_gradients(adv.view(-1, *shape))
        normal = grads[rows, k_i] - grads[rows, label]
        normal = normal / (normal.norm(dim=1, keepdim=True) + 1e-10)
        return normal.view_as(x0), (flat0 + self.lam * r_tot).view_as(x0)


def descending(logits: torch.Tensor) -> torch.Tensor:
    """Each row's classes by logit, largest first, by the reference's own ranking,
    ``np.argsort(logits)[::-1]`` per sample. Its order of tied logits (frequent with spike
    counts as outputs) is numpy's sort's, not stable for float32 rows, so it is taken from
    numpy itself: it decides the reference's DeepFool label of a tie (docs/event_attacks.md,
    the fidelity matrix)."""
    rows = [np.argsort(row)[::-1].copy() for row in logits.detach().cpu().numpy()]
    return torch.as_tensor(np.stack(rows), device=logits.device)


def _linear_solver(x0: torch.Tensor, normal: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """The reference's ``linear_solver`` per sample: one coordinate at a time, the largest
    ``|normal|`` first, moved by the distance to the hyperplane (``normal``, ``point``) and
    clipped to [0, 1], until the sign of the plane's side changes; then rounded.

    Every sample steps at once over the whole batch, a sample that has crossed (or has no
    coordinate left) masked out of the later steps; whether any still moves is read every
    :data:`SOLVER_CHECK` steps, not after each (a host sync on a GPU)."""
    x = x0.flatten(1).clone()
    n, p = normal.flatten(1), point.flatten(1)
    coord = n.clone()
    rows = torch.arange(len(x), device=x.device)
    sign_true = ((x - p) * n).sum(1).sign()
    beta = 0.001 * sign_true
    moving = coord.ne(0).any(1)
    while moving.any():
        for _ in range(SOLVER_CHECK):
            f = ((x - p) * n).sum(1) + beta
            j = coord.abs().argmax(1)
            c = coord[rows, j]
            pert = f.abs() / c.abs()  # not finite for a sample without coordinates: masked
            moved = (x[rows, j] + pert.clamp(min=1e-4) * c.sign()).clamp(0.0, 1.0)
            x[rows, j] = torch.where(moving, moved, x[rows, j])
            coord[rows, j] = torch.where(moving, 0.0, c)
            crossed = ((x - p) * n).sum(1).sign() != sign_true
            moving &= ~crossed & coord.ne(0).any(1)
    return torch.round(x).view_as(x0)
