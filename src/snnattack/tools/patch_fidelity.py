"""The universal AE-Patch against the reference's patch update on the same mini-batches
(``python -m snnattack.tools.bench --patch-reference FOLDER``).

The reference is ``attack/adversarial_patchs_targeted.py`` of a clone of ``yszbb/AE-Patch``
(2024), imported as written from the folder given (with its siblings ``fun.py`` and
``patch_utils.py``): its repository has no licence, so this project does not copy it. It runs
on CPU: only ``torch.cuda.FloatTensor`` reads as ``torch.FloatTensor`` while it runs. Its
``Event_patch_attack_targeted.forward`` cannot run on the event digits as written (while
fitting it draws the window inside hard-coded regions of a 48x48 frame), so the comparison
is at the level of what it does per training batch, ``patch_attack``:
``event_patch_universal`` fits a targeted patch per class (each of the ten digits in turn;
``area`` 0.2, random placement, the defaults of ``conf/method/event_patch_universal.yaml``
otherwise) on held-out event digits of the test fixture's net
(:func:`~snnattack.tools.retime_fidelity.event_digits_net`, STBP gradients, one thread), and
at every mini-batch the reference's ``patch_attack`` gets the same frames (time
first), window, incoming patch, eligible samples and settings:

- ``one_step``: ``max_iteration=1`` and an initial probability of -inf (so its bookkeeping
  keeps the step): its patch against this project's one signed step (the loss, the gradient's
  sign, the mask, the step size and the clipping), bit for bit;
- ``update``: the whole update (``max_iteration`` steps, its own stopping rule and best-step
  bookkeeping) against this project's: how many mini-batches give the same patch;
- ``fitted``: the same fitting (every draw the same) with the reference's update in place of
  this project's, each patch's successes (reaching its class) on the test digits after the
  held-out ones: the effect of the reference's stopping-rule bug. The untargeted script's
  update (``adversarial_patchs_every_class_untargeted.py``) fits one patch per *source*
  class, not one for every class, and is not compared.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F

from snnattack.attacks.methods.event_patch import windows
from snnattack.attacks.methods.event_patch_universal import UniversalEventPatch, placed
from snnattack.gradients import gradient_mode
from snnattack.tools.reference import TimeFirst, reference_module
from snnattack.tools.retime_fidelity import event_digits_net

REFERENCE = "a clone of github.com/yszbb/AE-Patch (the folder holding attack/)"
PATH = "attack/adversarial_patchs_targeted.py"
AREA = 0.2  # 3x3 pixels of the 8x8 frames (3 % is one pixel there)
TARGETS = range(10)  # every class of the digits is a target in turn


def reference_patch(folder: str | Path) -> ModuleType:
    """The reference's ``attack/adversarial_patchs_targeted.py`` of the clone in ``folder``."""
    return reference_module(folder, "--patch-reference", REFERENCE, ["patch_attack"], path=PATH)


@contextlib.contextmanager
def on_cpu() -> Iterator[None]:
    """Within the block ``torch.cuda.FloatTensor`` is ``torch.FloatTensor`` (the reference's
    only CUDA call in ``patch_attack``) and its prints are dropped."""
    kept = torch.cuda.FloatTensor
    torch.cuda.FloatTensor = torch.FloatTensor
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        torch.cuda.FloatTensor = kept


class Compared(UniversalEventPatch):
    """``event_patch_universal`` whose every mini-batch update is also run by the reference
    (``reference``'s ``patch_attack``), counted in ``tally``; ``use_reference`` fits with the
    reference's update instead of this project's."""

    def __init__(self, model, reference: ModuleType, use_reference: bool, **params) -> None:
        super().__init__(model, **params)
        self.reference, self.use_reference = reference, use_reference
        self.tally = {"batches": 0, "one_step_equal": 0, "update_equal": 0}

    def _reference(self, patch, x, y, corner, steps: int, start: float) -> torch.Tensor:
        top, left = corner
        side, height, width = patch.shape[-1], x.shape[-2], x.shape[-1]
        pads = (int(left), width - side - int(left), int(top), height - side - int(top))
        applied = F.pad(patch, pads).unsqueeze(1)  # [T, 1, C, H, W], as its mask_generation
        mask = windows(x[:1], top, left, side)[0].unsqueeze(1)
        with on_cpu():
            _, out, _ = self.reference.patch_attack(
                x.transpose(0, 1), applied, mask, None, int(top), int(left), 0,
                self.threshold, TimeFirst(self.model), torch.tensor(start),
                torch.ones(len(y)), self.target, "cpu", self.lr, steps,
            )  # fmt: skip
        return out.squeeze(1)[..., int(top) : int(top) + side, int(left) : int(left) + side]

    def _step(self, patch, x, y, corner) -> torch.Tensor:
        ours = super()._step(patch, x, y, corner)
        start = self._probability(placed(patch, x, *corner), y)  # its forward's mean_score
        theirs = self._reference(patch, x, y, corner, self.max_iteration, start)
        one = self._reference(patch, x, y, corner, 1, float("-inf"))
        stepped = self._signed_step(patch, x, y, corner)
        self.tally["batches"] += 1
        self.tally["one_step_equal"] += torch.equal(one, patch if stepped is None else stepped)
        self.tally["update_equal"] += torch.equal(theirs, ours)
        return theirs.detach() if self.use_reference else ours


def measure_patch_fidelity(
    folder: str | Path,
    samples: int = 32,
    seed: int = 0,
    spiking_output: bool = False,
    grad: str = "stbp",
) -> dict[str, Any]:
    """The record: ``samples`` held-out event digits fit the patch, the ``samples`` after them
    test it; per target class (:data:`TARGETS`) and side (this project's update, the reference's)
    the fitted patch's test successes and the per-mini-batch agreement (module docstring); the
    net with ``spiking_output`` (:func:`event_digits_net`), both sides under ``grad``."""
    reference = reference_patch(folder)
    torch.set_num_threads(1)
    model, x, y = event_digits_net(2 * samples, seed, spiking_output=spiking_output)
    (xv, yv), (xt, yt) = (x[:samples], y[:samples]), (x[samples:], y[samples:])
    record: dict[str, Any] = {
        "samples": samples,
        "seed": seed,
        "spiking_output": spiking_output,
        "grad": grad,
        "settings": {},
    }
    with gradient_mode(model, grad):
        for target in TARGETS:
            sides = record["settings"][str(target)] = {}
            for side, use_reference in (("ours", False), ("reference", True)):
                torch.manual_seed(seed)
                attack = Compared(model, reference, use_reference, area=AREA, target=target)
                state = attack.fit(xv, yv)
                torch.manual_seed(seed)
                patched = UniversalEventPatch(model, area=AREA, target=target, fitted=state)
                changed = patched(xt, yt).ne(xt).flatten(1).any(1)  # a success, and only one
                sides[side] = {
                    **attack.tally,
                    "patch_events": int(state["patch"].sum()),
                    "test_eligible": int((yt != target).sum()),
                    "test_succeeded": int(changed.sum()),
                }
    return record
