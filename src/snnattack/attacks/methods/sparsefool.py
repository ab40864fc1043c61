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

from snnattack.attacks.methods.base import register


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
        for _ in range(self.max_iter):
            idx = active.nonzero().squeeze(1)
            if not len(idx):
                break
            normal, boundary = self._deepfool(x[idx])
            x[idx] = _linear_solver(x[idx], normal, boundary)
            fooled = self._predict(x[idx]) != y[idx]
            active[idx[fooled]] = False
            success[idx[fooled]] = True
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
        for _ in range(self.max_iter_deep_fool):
            run = ((k_i == label) & ~stuck).nonzero().squeeze(1)
            if not len(run):
                break
            logits, grads = self._class_gradients(adv[run].view(-1, *shape))
            at = rows[: len(run)]
            w = grads - grads[at, label[run]][:, None]
            f = (logits - logits.gather(1, label[run, None])).abs()
            pert = f / w.norm(dim=2)
            vanished = ~pert.isfinite().any(1)  # the reference stops on an assertion here
            stuck[run[vanished]] = True
            pert = torch.where(vanished[:, None], torch.ones_like(pert), pert)
            # the reference's scan: the classes by clean logit, strictly smaller wins
            ranked = pert.gather(1, order[run, 1:])
            best = order[run, 1:].gather(1, ranked.argmin(1, keepdim=True))[:, 0]
            w_best = w[at, best]
            p_best = ranked.amin(1, keepdim=True).clamp(min=self.step_size)
            r_i = p_best * w_best / w_best.norm(dim=1, keepdim=True)
            r_i[vanished] = 0.0
            r_tot[run] += r_i
            adv[run] += r_i
            check = (flat0[run] + (1 + self.overshoot) * r_tot[run]).view(-1, *shape)
            k_i[run] = self._predict(check)
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
    clipped to [0, 1], until the sign of the plane's side changes; then rounded."""
    x = x0.flatten(1).clone()
    n, p = normal.flatten(1), point.flatten(1)
    coord = n.clone()
    sign_true = ((x - p) * n).sum(1).sign()
    beta = 0.001 * sign_true
    moving = coord.ne(0).any(1)
    while moving.any():
        idx = moving.nonzero().squeeze(1)
        f = ((x[idx] - p[idx]) * n[idx]).sum(1) + beta[idx]
        j = coord[idx].abs().argmax(1)
        c = coord[idx, j]
        pert = f.abs() / c.abs()
        x[idx, j] = (x[idx, j] + pert.clamp(min=1e-4) * c.sign()).clamp(0.0, 1.0)
        coord[idx, j] = 0.0
        crossed = ((x[idx] - p[idx]) * n[idx]).sum(1).sign() != sign_true[idx]
        moving[idx] = ~crossed & coord[idx].ne(0).any(1)
    return torch.round(x).view_as(x0)
