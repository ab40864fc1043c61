"""The convergence curve of an iterative attack: each sample's running best adversarial
example after listed iteration counts, read off one run (``attack.steps_curve``).

The crafting model's forward calls carry the attack's iterates: the ``j``-th group of
``eot`` calls evaluates iterate ``j`` (0 = the start, ``j`` = after ``j`` updates). A sample's
running best is the last iterate that fooled the crafting model, else its latest iterate.
After iterate ``k`` has been evaluated its running best is kept as the snapshot of count
``k``; counts the attack never reached take the attack's output. The evaluator judges each
snapshot on the target as it judges the output, so the curve's last point is the running best
of the whole run (at least the output's ASR when the model is deterministic).

Attacks that split the batch into restarts over the still-robust samples (APGD's
``attack_single_run``) call the model on a subset; those calls are mapped back to the batch
by matching the subset's (image, label) rows in order, and calls outside a restart (APGD's
clean check) are not iterates.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from snnattack.attacks.methods import GRADIENT_FREE, METHODS


def iterations(algorithm: str, params: dict[str, Any]) -> int | None:
    """The iterations an attack runs (its ``steps`` times ``n_restarts``); None for a method
    without iterations (FGSM, Square, AutoAttack, the ensemble, whose components have their
    own)."""
    if algorithm not in METHODS or algorithm in GRADIENT_FREE:
        return None
    signature = inspect.signature(METHODS[algorithm].make).parameters
    if "steps" not in signature:
        return None

    def setting(name: str) -> int:
        default = signature[name].default if name in signature else 1
        return int(params.get(name, default))

    return setting("steps") * setting("n_restarts")


def followed(algorithm: str) -> bool:
    """Whether a curve can follow the attack's iterates: not where each step runs only the
    samples it has not fooled yet (AE-Patch, GSAttack: their class's ``curve = False``),
    whose forwards hold no batch rows to map back."""
    return algorithm in METHODS and getattr(METHODS[algorithm].make, "curve", True)


def curve_reach(resolved: dict[str, Any], every: bool = False) -> dict[str, int]:
    """The iterations of each method of a resolved config that has a curve (``every``: each
    that has iterations, a count of its passes), by its setting as the user reads it:
    ``{"method.pgd.steps=7": 7, "method.apgd.steps=10 x n_restarts=2": 20}``."""
    out = {}
    for key, method in resolved["method"].items():
        total = iterations(method["name"], method)
        if total is not None and (every or followed(method["name"])):
            runs = f"method.{key}.steps={method.get('steps', total)}"
            if method.get("n_restarts", 1) > 1:
                runs += f" x n_restarts={method['n_restarts']}"
            out[runs] = total
    return out


def curve_counts(algorithm: str, params: dict[str, Any], steps_curve: Sequence[int]) -> list[int]:
    """The counts of ``steps_curve`` an attack reaches, sorted: ``[]`` for a method without
    iterations or whose iterates a curve cannot follow (:func:`followed`), else those up to
    its :func:`iterations`."""
    total = iterations(algorithm, params)
    if total is None or not followed(algorithm):
        return []
    return sorted({int(k) for k in steps_curve if k <= total})


def _match_rows(x: torch.Tensor, y: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> list[int]:
    """The batch rows that ``(xs, ys)`` copies, in order (a subsequence of ``(x, y)``).
    Its comparisons wait for the device (host syncs), once per restart, not per iteration."""
    flat, sub, rows, j = x.flatten(1), xs.flatten(1), [], 0
    for i in range(len(xs)):
        while j < len(x) and not (ys[i] == y[j] and torch.equal(sub[i], flat[j])):
            j += 1
        if j == len(x):
            raise RuntimeError("steps_curve: an attack's restart holds rows not in the batch")
        rows.append(j)
        j += 1
    return rows


class IterateTracker:
    """Records the running best adversarial of every sample at the listed counts."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, counts: Sequence[int], eot: int) -> None:
        self.x, self.y, self.eot = x, y, max(eot, 1)
        self.best = x.clone()
        self.fooled = torch.zeros(len(x), dtype=torch.bool, device=x.device)
        self.pending = sorted(counts)
        self.snapshots: dict[int, torch.Tensor] = {}
        self.every = torch.arange(len(x), device=x.device)  # the rows of a whole-batch call
        self.rows: torch.Tensor | None = None
        self.active, self.calls = True, 0

    def _snap_before(self, iterate: int) -> None:
        while self.pending and self.pending[0] < iterate:
            self.snapshots[self.pending.pop(0)] = self.best.clone()

    def _record(self, rows: torch.Tensor, inputs: torch.Tensor, logits: torch.Tensor) -> None:
        self._snap_before(self.calls // self.eot)
        self.calls += 1
        now = logits.argmax(1) != self.y[rows]
        keep = (self.fooled[rows] & ~now).view(-1, *([1] * (inputs.dim() - 1)))
        self.best[rows] = torch.where(keep, self.best[rows], inputs.to(self.best.dtype))
        self.fooled[rows] |= now

    def hook(self, module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        """Forward hook of the crafting model: one call = one evaluated iterate (or EOT draw)."""
        if not self.active:
            return
        rows = self.rows if self.rows is not None else self.every
        if len(args[0]) == len(rows):
            with torch.no_grad():
                self._record(rows, args[0].detach(), output.detach())

    def run_on_rows(self, run):
        """``run`` (an ``attack_single_run``) with its calls mapped to the rows it attacks."""

        def tracked(xs: torch.Tensor, ys: torch.Tensor, *args, **kwargs):
            rows = _match_rows(self.x, self.y, xs, ys)
            self.rows, self.active = torch.tensor(rows, device=self.x.device), True
            try:
                return run(xs, ys, *args, **kwargs)
            finally:
                self.rows, self.active = None, False

        return tracked

    def finish(self, adv: torch.Tensor) -> dict[int, torch.Tensor]:
        """The snapshots, counts the attack did not reach taking its output ``adv``."""
        self.best = torch.where(
            self.fooled.view(-1, *([1] * (adv.dim() - 1))), self.best, adv.to(self.best.dtype)
        )
        self._snap_before(float("inf"))
        return self.snapshots


@contextmanager
def tracking(
    model: nn.Module,
    attack: Any,
    x: torch.Tensor,
    y: torch.Tensor,
    counts: Sequence[int],
    eot: int,
) -> Iterator[IterateTracker | None]:
    """Within the block, ``attack`` on ``model`` is tracked at ``counts`` (None: no counts)."""
    if not counts:
        yield None
        return
    tracker = IterateTracker(x, y, counts, eot)
    handle = model.register_forward_hook(tracker.hook)
    if hasattr(attack, "attack_single_run"):
        tracker.active = False
        attack.attack_single_run = tracker.run_on_rows(attack.attack_single_run)
    try:
        yield tracker
    finally:
        handle.remove()
        if hasattr(attack, "attack_single_run"):
            del attack.attack_single_run
