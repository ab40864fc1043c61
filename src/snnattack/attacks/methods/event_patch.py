"""AE-Patch (yszbb/AE-Patch, 2024): a spatio-temporal event patch on binary frames, per
sample, targeted or not, batched.

Threat model: binary frames (``dataset.params.event_encoding=binary``). A square patch of
side ``int(sqrt(area * H * W))`` (the reference's ``patch_initialization``; ``area`` 0.03 =
3 % of the frame) covers every time bin and both polarities at one location and replaces the
events there; outside it nothing changes. No radius (one row per box at eps 0); the events
changed per success are reported.

Per sample: the location is drawn uniformly (``placement: random``, the reference's
``location_global=1``) or put where the loss gradient is largest summed over the patch's
window (``placement: receptive_field``; the reference hard-codes one region per class of its
48x48 CIFAR10-DVS model, which no other dataset has: this is its data-driven counterpart).
The patch starts empty (the reference's zeros) and takes at most ``steps`` signed gradient
steps of size 1 (the reference's targeted ``lr=1.``, which keeps it binary) on the
log-probability: down for the true class (``target: -1``, untargeted) or up for class
``target``. A sample stops at its first success (fooled, or predicted as ``target``); one
never succeeding keeps its clean input (a failure). The reference's universal patch trained
over a training set is ``event_patch_universal`` (:mod:`.event_patch_universal`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torchattacks.attack import Attack

from snnattack.attacks.methods.base import register
from snnattack.errors import ConfigError

PLACEMENTS = ("random", "receptive_field")


def patch_side(key: str, area: float, height: int, width: int) -> int:
    """The side of a square covering ``area`` of ``height x width`` frames (the reference's
    ``patch_initialization``, ``int(sqrt(area * H * W))``), inside the frame. The patch of the
    method ``key`` (``method.event_patch``) is refused where ``area`` is under one pixel: its
    side would be 0, and a patch of one pixel would change more of the frame than ``area``,
    the budget its row reports."""
    pixels = area * height * width
    if pixels < 1:
        raise ConfigError(
            f"{key}.area={area:g} is {pixels:.2g} of a pixel of the {height}x{width} frames, "
            f"under one; accepted: 1/{height * width} ({1 / (height * width):.3g}) <= "
            f"{key}.area <= 1 (a patch of at least one pixel), or larger frames "
            "(dataset.params.size)"
        )
    return min(int(math.sqrt(pixels)), height, width)


def random_corners(x: torch.Tensor, side: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` top-left corners of a ``side`` window in ``x``'s frames, each uniform."""
    top = torch.randint(0, x.shape[-2] - side + 1, (n,), device=x.device)
    left = torch.randint(0, x.shape[-1] - side + 1, (n,), device=x.device)
    return top, left


def salient_corners(grad: torch.Tensor, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per sample the top-left corner of the ``side`` window where the loss gradient
    ``grad``'s magnitude, summed over the window, every bin and polarity, is largest."""
    saliency = grad.abs().flatten(1, -3).sum(1, keepdim=True)  # [b, 1, H, W]
    best = F.avg_pool2d(saliency, side, stride=1).flatten(1).argmax(1)
    columns = grad.shape[-1] - side + 1
    return best // columns, best % columns


def windows(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, side: int) -> torch.Tensor:
    """Per sample of ``x`` its ``side`` x ``side`` window at (``top``, ``left``) over every
    bin and polarity: 1 inside, 0 outside, ``x``'s shape."""
    height, width = x.shape[-2], x.shape[-1]
    rows = torch.arange(height, device=x.device)
    cols = torch.arange(width, device=x.device)
    inside_r = (rows >= top[:, None]) & (rows < top[:, None] + side)
    inside_c = (cols >= left[:, None]) & (cols < left[:, None] + side)
    window = (inside_r[:, :, None] & inside_c[:, None, :]).to(x.dtype)
    return window.view(len(x), *[1] * (x.dim() - 3), height, width).expand_as(x)


@register("event_patch", order=83, events=("binary",))
class EventPatch(Attack):
    """AE-Patch per sample on binary frames (module docstring); the method ``event_patch``,
    its parameters ``conf/method/event_patch.yaml``'s keys."""

    curve = False  # a step runs the samples not yet fooled alone: no attack.steps_curve

    def __init__(
        self,
        model: nn.Module,
        eps: float = 0.0,
        area: float = 0.03,
        placement: str = "random",
        target: int = -1,
        steps: int = 100,
    ) -> None:
        super().__init__("EventPatch", model)
        self.area, self.placement, self.target, self.steps = area, placement, target, steps
        self.supported_mode = ["default"]

    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Summed loss to ascend: ``-log p_y`` untargeted, ``log p_target`` targeted."""
        log_p = F.log_softmax(self.get_logits(x), dim=1)
        if self.target < 0:
            return -log_p.gather(1, y[:, None]).sum()
        return log_p[:, self.target].sum()

    def _succeeded(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            pred = self.get_logits(x).argmax(1)
        return pred != y if self.target < 0 else pred == self.target

    def _mask(self, x: torch.Tensor, y: torch.Tensor, side: int) -> torch.Tensor:
        """Per sample a ``side`` x ``side`` window over every bin and polarity, 1 inside."""
        if self.placement == "random":
            top, left = random_corners(x, side, len(x))
        else:
            current = x.clone().requires_grad_(True)
            g = torch.autograd.grad(self._loss(current, y), current)[0]
            top, left = salient_corners(g, side)
        return windows(x, top, left, side)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = images.clone().detach().to(self.device)
        y = labels.clone().detach().to(self.device)
        side = patch_side("method.event_patch", self.area, *x.shape[-2:])
        mask = self._mask(x, y, side)
        patch = torch.zeros_like(x)
        adv = x.clone()
        with torch.no_grad():
            active = self.get_logits(x).argmax(1) == y  # clean-correct samples only
        if self.target >= 0:
            active &= y != self.target  # the reference leaves out samples of the target class
        success = torch.zeros_like(active)
        for _ in range(self.steps):
            idx = active.nonzero().squeeze(1)
            if not len(idx):
                break
            p = patch[idx].requires_grad_(True)
            m = mask[idx]
            g = torch.autograd.grad(self._loss(m * p + (1 - m) * x[idx], y[idx]), p)[0]
            patch[idx] = (p.detach() + (m * g).sign()).clamp(0.0, 1.0)
            adv[idx] = m * patch[idx] + (1 - m) * x[idx]
            won = self._succeeded(adv[idx], y[idx])
            active[idx[won]] = False
            success[idx[won]] = True
        return torch.where(success.view(-1, *[1] * (x.dim() - 1)), adv, x)
