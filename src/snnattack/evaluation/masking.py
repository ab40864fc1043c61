"""Gradient-masking checks run after every job's attacks (``checks.masking``); they warn, they
never fail a job. They are diagnostics of a job's results, not the config's checks (the rules
of several keys that refuse a job before any work: ``values.CHECKS``, declared in
:mod:`snnattack.attacks.checks` and :mod:`snnattack.training.checks`).

An evaluation that reports high robustness may only show that its gradients are broken
(Athalye et al., ICML 2018; Carlini et al. 2019, "On Evaluating Adversarial Robustness"). As
``fra31/auto-attack``'s ``checks.py`` does for AutoAttack, each job looks for the signs:

- ``zero_gradients``: samples whose input gradient is exactly zero, per gradient mode;
- ``random_forward_without_eot``: the model's forward is random (two draws differ, e.g.
  Poisson inputs) but a white-box gradient attack averaged no draws (``eot_samples`` 1);
- ``black_box_stronger``: a gradient-free (Square) or black-box attack beats every white-box
  gradient attack at the same ε;
- ``asr_falls``: ASR falls as ε grows (same method, box, mode) or along a white-box
  ``asr_curve``;
- ``unbounded_eps``: PGD at ε = 1 (any image reachable) stays below ~100 % ASR;
- ``apgd_weaker_than_pgd``: white-box APGD-CE below PGD at the same ε and mode;
- ``random_flips_stronger``: on binary event frames, random bit flips within an event
  attack's budget (the most events it changed for a success) fool more probe samples than the
  white-box gradient event attack fooled: its gradient guides the flips worse than chance.

The probes (zero gradients, random forward, unbounded ε) use the first ``probe_size`` test
images, never more than the job attacked (:func:`probe_count`); the comparisons read the job's
result rows. ``tolerance`` (ASR points, and at least one sample's worth, :func:`margin`)
absorbs noise. Each probe is shown on a progress bar (``MaskingSettings.progress``), and its
seconds are logged and kept in the record (``masking.seconds``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections import defaultdict
from collections.abc import Collection, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
import torch.nn.functional as F
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from snnattack.attacks.crafting import ANN_GRAD_MODE, craft, spiking
from snnattack.attacks.ensemble import ENSEMBLE
from snnattack.attacks.universal import needs_fitting
from snnattack.gradients import gradient_mode
from snnattack.process.numerics import manual_seed
from snnattack.settings import MaskingSettings, Recipe

log = logging.getLogger(__name__)

GRADIENT_FREE_MODE = "none"  # grad_mode of a gradient-free row


class Probes:
    """The masking checks' probes one at a time: each named on the progress bar ``bar``
    (disabled where nothing is shown), its seconds logged and kept in ``seconds`` by name."""

    def __init__(self, bar: Progress, total: int) -> None:
        self.bar, self.task = bar, bar.add_task("masking checks", total=total)
        self.seconds: dict[str, float] = {}

    @contextmanager
    def probe(self, name: str) -> Iterator[None]:
        """Times the probe ``name`` run in the block."""
        self.bar.update(self.task, description=f"masking check: {name}")
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        self.seconds[name] = round(seconds, 2)
        log.info("masking check %s: %.1f s", name, seconds)
        self.bar.advance(self.task)


def probe_count(settings: MaskingSettings, attacked: int) -> int:
    """How many images the probes use: the first ``probe_size`` test images, but never more
    than the ``attacked`` ones (a job limited by ``trainer.limit_test_batches`` probes only
    what it evaluated); the console says so when it probes fewer than ``probe_size``."""
    if attacked >= settings.probe_size:
        return settings.probe_size
    log.info(
        "masking checks probe the %d test images the attacks ran on, fewer than "
        "checks.masking.probe_size=%d",
        attacked,
        settings.probe_size,
    )
    return attacked


def _check(name: str, flagged: bool, detail: str, **values: Any) -> dict[str, Any]:
    return {"name": name, "flagged": bool(flagged), "detail": detail, **values}


def _forward(model: nn.Module, x: torch.Tensor, seed: int) -> torch.Tensor:
    manual_seed(seed)
    return model(x)


def zero_gradient_share(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, mode: str, params: dict[str, Any]
) -> float:
    """Share of samples whose cross-entropy input gradient is all zeros under ``mode``."""
    x = x.clone().requires_grad_()
    modes = gradient_mode(model, mode, **params) if spiking(model) else nullcontext()
    with torch.enable_grad(), modes:
        loss = F.cross_entropy(_forward(model, x, 0), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, [x], allow_unused=True)
    if grad is None:
        return 1.0
    return (grad.flatten(1).abs().sum(1) == 0).float().mean().item()


def is_random(model: nn.Module, x: torch.Tensor) -> bool:
    """Whether two forward passes of ``x`` under different seeds give different outputs."""
    with torch.no_grad():
        return not torch.equal(_forward(model, x, 1), _forward(model, x, 2))


def unbounded_asr(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    mode: str,
    params: dict[str, Any],
    steps: int,
    eot: int,
) -> float:
    """ASR (%) of PGD at ε = 1 (every image reachable) among the correctly classified (NaN
    where none is: nothing to attack, nothing to flag)."""
    with torch.no_grad():
        correct = _forward(model, x, 0).argmax(1) == y
    manual_seed(0)
    recipe = Recipe(mode, params, eot_samples=eot)
    adv, _ = craft("pgd", model, x, y, 1.0, {"steps": steps}, recipe)
    with torch.no_grad():
        fooled = correct & (_forward(model, adv, 0).argmax(1) != y)
    return _asr(fooled, correct)


def _asr(fooled: torch.Tensor, correct: torch.Tensor) -> float:
    """ASR (%) among the correctly classified; NaN where none is, as a row's."""
    n = int(correct.sum())
    return 100.0 * int((fooled & correct).sum()) / n if n else float("nan")


def _gradient_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r.get("grad_mode") not in (GRADIENT_FREE_MODE, ENSEMBLE)]


def _eot_of_gradient_attacks(rows: list[dict[str, Any]]) -> list[int]:
    """The draws each gradient of the target averaged: its white-box rows' (a black-box row's
    gradients are the source's, whose forward the target's randomness does not touch)."""
    rows = [r for r in rows if r["box"] == "white"]
    eots = [r.get("eot_samples", 1) for r in _gradient_rows(rows)]
    for r in rows:
        eots += [c["eot_samples"] for c in r.get("components") or [] if c["grad_mode"] != "none"]
    return eots


def margin(row: dict[str, Any], tolerance: float) -> float:
    """ASR points a comparison of ``row`` may miss by: ``tolerance``, and at least one sample
    (one attacked image more or less is noise, not masking)."""
    n = row.get("n_correct") or 0
    return max(tolerance, 100.0 / n) if n else tolerance


def black_box_stronger(rows: list[dict[str, Any]], tolerance: float) -> dict[str, Any]:
    """Flags an ε where a gradient-free or black-box row beats every white-box gradient row."""
    found = []
    for eps in sorted({r["eps_255"] for r in rows}):
        at = [r for r in rows if r["eps_255"] == eps]
        white = [r["asr"] for r in _gradient_rows(at) if r["box"] == "white"]
        other = [
            r
            for r in at
            if r["box"] == "black" or r.get("grad_mode") == GRADIENT_FREE_MODE
            if r.get("grad_mode") != ENSEMBLE
        ]
        if white and other:
            best = max(other, key=lambda r: r["asr"])
            if best["asr"] > max(white) + margin(best, tolerance):
                found.append(
                    f"eps {eps:g}: {best['method']} ({best['box']} box) {best['asr']:.1f} % > "
                    f"best white-box gradient attack {max(white):.1f} %"
                )
    return _check("black_box_stronger", bool(found), "; ".join(found) or "no")


def asr_falls(rows: list[dict[str, Any]], tolerance: float) -> dict[str, Any]:
    """Flags ASR that falls as ε grows (per method, box, mode) or along a steps curve."""
    found = []
    series = defaultdict(list)
    for r in rows:
        series[(r["method"], r["box"], r.get("grad_mode"))].append(
            (r["eps_255"], r["asr"], margin(r, tolerance))
        )
        white = r["box"] == "white"  # a transfer's running best is the source's, not monotone
        curve = [(p["steps"], p["asr"]) for p in r.get("asr_curve") or [] if white]
        found += [
            f"{r['method']}/{r.get('grad_mode')} eps {r['eps_255']:g}: {a:.1f} % at {s} steps "
            f"< {b:.1f} % at {t}"
            for (t, b), (s, a) in zip(curve, curve[1:], strict=False)
            if a < b - margin(r, tolerance)
        ]
    for (method, box, mode), points in series.items():
        points.sort()
        found += [
            f"{method}/{mode} {box} box: {a:.1f} % at eps {e:g} < {b:.1f} % at eps {d:g}"
            for (d, b, _), (e, a, miss) in zip(points, points[1:], strict=False)
            if a < b - miss
        ]
    return _check("asr_falls", bool(found), "; ".join(found) or "no")


def apgd_weaker_than_pgd(rows: list[dict[str, Any]], tolerance: float) -> dict[str, Any]:
    """Flags white-box APGD-CE (row ``apgd``) below PGD (row ``pgd``) at the same ε and mode
    (black box: APGD returns unfooled samples clean, so it transfers less by design)."""
    rows = [r for r in rows if r["box"] == "white"]
    pgd = {
        (r["eps_255"], r["box"], r.get("grad_mode")): r["asr"] for r in rows if r["method"] == "pgd"
    }
    found = [
        f"eps {r['eps_255']:g} {r['box']} box {r.get('grad_mode')}: APGD {r['asr']:.1f} % < "
        f"PGD {pgd[key]:.1f} %"
        for r in rows
        if r["method"] == "apgd"
        for key in [(r["eps_255"], r["box"], r.get("grad_mode"))]
        if key in pgd and r["asr"] < pgd[key] - margin(r, tolerance)
    ]
    return _check("apgd_weaker_than_pgd", bool(found), "; ".join(found) or "no")


def random_flips_asr(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, budget: int, draws: int
) -> float:
    """ASR (%) of random flips on the binary frames ``x`` among the correctly classified: per
    sample, ``draws`` draws of ``budget`` distinct bits flipped (events inserted or deleted);
    a sample counts as fooled if any draw fools it (NaN where none is classified right)."""
    with torch.no_grad():
        correct = _forward(model, x, 0).argmax(1) == y
        fooled = torch.zeros_like(correct)
        flat = x.flatten(1)
        size = flat.shape[1]
        manual_seed(0)
        for _ in range(draws):
            picks = torch.rand(len(x), size, device=x.device).argsort(1)[:, : min(budget, size)]
            flipped = flat.clone()
            flipped.scatter_(1, picks, 1 - flat.gather(1, picks))
            fooled |= _forward(model, flipped.view_as(x), 0).argmax(1) != y
    return _asr(fooled, correct)


def largest_l0(row: dict[str, Any]) -> int | None:
    """The most events an event attack's ``row`` changed for one success (its ``l0_hist``);
    None for a row without successes, not of an event attack, of a retiming attack (random
    flips change counts, so they are not its gradient-free variant), of a universal attack
    (one patch for every sample; flips drawn per sample are a stronger threat model) or of a
    targeted one (it must reach its class; a random flip only has to leave the true one)."""
    if row.get("retiming") is not None or needs_fitting(row["method"]) or row.get("targeted"):
        return None
    hist = row.get("l0_hist") or {}
    return max((int(float(v)) for v in hist), default=None)


def flip_budgets(rows: list[dict[str, Any]]) -> list[int]:
    """The budgets a random-flip probe runs at: each white-box gradient event row's
    :func:`largest_l0`."""
    rows = [r for r in _gradient_rows(rows) if r["box"] == "white"]
    return sorted({b for r in rows for b in [largest_l0(r)] if b})


def random_flips_stronger(
    rows: list[dict[str, Any]], random_asr: dict[int, float], tolerance: float
) -> dict[str, Any]:
    """Flags a white-box gradient event attack whose ASR random flips beat at its budget
    (``random_asr``: ASR % of :func:`random_flips_asr` per budget; empty: not binary frames)."""
    found = [
        f"{r['method']}/{r.get('grad_mode')}: random flips of {b} events {random_asr[b]:.1f} % > "
        f"{r['asr']:.1f} %"
        for r in _gradient_rows(rows)
        if r["box"] == "white"
        for b in [largest_l0(r)]
        if b in random_asr and random_asr[b] > r["asr"] + margin(r, tolerance)
    ]
    return _check(
        "random_flips_stronger", bool(found), "; ".join(found) or "no", asr=dict(random_asr)
    )


def masking_checks(
    settings: MaskingSettings,
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    rows: list[dict[str, Any]],
    modes: dict[str, dict[str, Any]],
    eot: int,
) -> dict[str, Any]:
    """Every check on the target ``model`` (probe images ``x``, ``y``) and the job's ``rows``;
    ``modes`` are the gradient modes its attacks used with their parameters. Each flag is
    logged as a warning; the record keeps the probe's size and each probe's seconds."""
    tol = settings.tolerance
    shares = {}
    budgets = flip_budgets(rows) if ((x == 0) | (x == 1)).all() else []  # binary event frames
    random_asr = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), disable=not settings.progress) as bar:
        timed = Probes(bar, len(modes) + 2 + len(budgets))
        for m, p in modes.items():
            with timed.probe(f"zero gradients ({m})"):
                shares[m] = zero_gradient_share(model, x, y, m, p)
        with timed.probe("random forward"):
            random = is_random(model, x)
        mode, params = next(iter(modes.items()))
        with timed.probe(f"unbounded eps ({mode}, {settings.unbounded_steps} PGD steps)"):
            unbounded = unbounded_asr(model, x, y, mode, params, settings.unbounded_steps, eot)
        for b in budgets:
            with timed.probe(f"random flips ({b} events, {settings.flip_draws} draws)"):
                random_asr[b] = random_flips_asr(model, x, y, b, settings.flip_draws)
    zero = [f"{m}: {s:.0%} of samples" for m, s in shares.items() if s > settings.zero_grad_share]
    no_eot = 1 in _eot_of_gradient_attacks(rows)
    short = unbounded < settings.unbounded_asr
    checks = [
        _check("zero_gradients", bool(zero), "; ".join(zero) or "no", share=shares),
        _check(
            "random_forward_without_eot",
            random and no_eot,
            "the forward pass is random and a gradient attack used eot_samples=1"
            if random and no_eot
            else "no",
            random_forward=random,
        ),
        black_box_stronger(rows, tol),
        asr_falls(rows, tol),
        _check(
            "unbounded_eps",
            short,
            f"PGD at eps=1 ({mode}): {unbounded:.1f} % ASR"
            + (f" < {settings.unbounded_asr:g} %" if short else "")
            + (
                " (no probe image is classified right: nothing to attack)"
                if math.isnan(unbounded)
                else ""
            ),
            asr=unbounded,
        ),
        apgd_weaker_than_pgd(rows, tol),
    ]
    if budgets:
        checks.append(random_flips_stronger(rows, random_asr, tol))
    flagged = [c["name"] for c in checks if c["flagged"]]
    for c in checks:
        if c["flagged"]:
            log.warning("possible gradient masking (%s): %s", c["name"], c["detail"])
    return {"flagged": flagged, "checks": checks, "probe_size": len(y), "seconds": timed.seconds}


def job_masking_checks(
    settings: MaskingSettings,
    recipe: Recipe,
    model: nn.Module,
    results: list[Any],
    x: torch.Tensor,
    y: torch.Tensor,
    targeted: Collection[str] = (),
) -> dict[str, Any]:
    """:func:`masking_checks` of a job's ``results`` (:class:`~snnattack.records.results.AttackRow`)
    on the probe images ``x``, ``y`` (the first :func:`probe_count` test images, on ``model``'s
    device), with the job's gradient mode (``recipe``) and every ensemble component's;
    ``targeted``: the rows (methods) that aim at a class, which no untargeted probe stands for."""
    rows = [{**dataclasses.asdict(r), "targeted": r.method in targeted} for r in results]
    modes = {recipe.grad_mode: recipe.grad_params}  # the job's own first (``attack=``)
    for r in rows:
        for c in r.get("components") or []:
            if c["grad_mode"] not in (GRADIENT_FREE_MODE, ANN_GRAD_MODE):  # no target's mode
                modes.setdefault(c["grad_mode"], c["grad_params"])
    return masking_checks(settings, model.eval(), x, y, rows, modes, recipe.eot_samples)
