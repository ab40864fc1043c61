"""Spike-Retiming (Yu et al., ICLR 2026, "Time Is All It Takes: Spike-Retiming Attacks on
Event-Driven Spiking Neural Networks"): events moved in time only, batched.

Threat model: binary frames (``dataset.params.event_encoding=binary``) or integer counts
(``counts``, the paper's integer grid). A *line* is one (polarity, pixel) over the T bins; a
spike (on the integer grid, a bin's whole count, moved as one packet) may move to another bin of
its line. Counts per line are kept, and a bin holds at most one spike (packet): nothing is
inserted or deleted, and two spikes never merge. The budget is one of three (``norm``):

- ``linf`` (B∞): each spike moves by at most ``budget`` bins (the reference's ``D``);
- ``l1`` (B1): the bins moved, summed over a sample's spikes, at most ``budget``;
- ``l0`` (B0): at most ``budget`` spikes of a sample move.

The reference (yuyi-sd/Spike-Retiming-Attacks, ``utils/attack.py``: B∞ as
``PGDTimeShiftAfterEncoder_Lowgpu``, the class its ``test.py`` runs (``PGDTimeShiftAfterEncoder``
with the active-line bookkeeping), B1 ``PGDTimeShiftAfterEncoder_L1``, B0
``PGDTimeShiftAfterEncoder_L0``) is this method. Per source spike a logit ``phi`` for each
target (the ``2 budget + 1`` shifts under B∞, initialised to ``phi_init`` on the three
middle ones, 0 elsewhere; every bin of the line under B1 and B0, initialised to 0),
``pi = softmax(phi / temperature)``, and per step ``1 .. steps``:

- the soft retiming ``sum_s pi[s, t] x[s]`` carries the gradient, the hard projection of
  ``pi`` gives the forward value (straight-through, the paper's PIL): under B∞ the relaxed
  projection (each spike to its most likely target, conflicts to the higher ``pi``, the others
  stay), under B1 and B0 the strict one below;
- the loss: cross-entropy (ascended) minus ``lam_cap`` times the expected occupancy over one
  per bin (squared, summed over bins, divided by the sample's T x lines), minus, under B1 and
  B0, ``budget_weight`` times the expected budget's excess over ``budget``, divided by
  ``budget`` (the reference's 10 under B1, 5 under B0);
- ``phi`` takes a signed gradient step of ``alpha_phi`` and is clipped to [-10, 10].

The example is the strict projection of the final ``pi``: under B∞ each line repeatedly
places, among its spikes not yet placed, the one with the most likely free target (targets
held by a spike not yet placed are not free, so a spike can always stay); under B1 and B0 the
candidate moves (source, target) of a sample sorted by ``pi`` (shorter moves first among
equals) are taken in turn where the source has not moved, the target is free and not held
by a spike not yet moved, until the next one would pass the sample's budget.

Batched: every sample and line runs at once; a line's greedy placement depends on its own
spikes only, so each line is placed by itself (at most T rounds under B∞, one round per
candidate rank under B1 and B0) instead of the reference's one global candidate at a time,
with the same result. Under B1 and B0 the candidates of each sample are sorted by their own
``argsort`` call, on the reference's enumeration (spike by bin, then line, then target), so
ties fall as in the reference's one-sample run. The sum over a batch replaces the reference's
mean over its one sample (each sample's gradient is its own). A sample the model already
misclassifies keeps its clean frames (the reference retimes it too, and its hard projection
put some back in their class). A larger budget may fool fewer samples, in the reference as
here: its signed steps spread each spike's softmax over more targets. Not done: the reference's
targeted variant, its random start (off in its runs), and its dual variable ``lambda_B``
(updated, never used in its loss).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torchattacks.attack import Attack

from snnattack.attacks.methods.base import register
from snnattack.errors import ConfigError
from snnattack.values import declare, one_of

NORMS = ("linf", "l1", "l0")  # B∞ (jitter in bins), B1 (total delay), B0 (spikes moved)
NORM = one_of(*NORMS)  # the norm's rule: the config's, and a Retime made in Python
declare({"method.*.norm": NORM})
PHI_CLIP = 10.0  # the reference clips the logits to [-10, 10]
TIE_BREAK = 1e-6  # B1, B0: a shorter move first among candidates of equal pi (the reference's)


def shift(x: torch.Tensor, d: int, dim: int) -> torch.Tensor:
    """``x`` moved by ``d`` along ``dim`` (``out[t] = x[t - d]``), zero where nothing arrives."""
    out = torch.roll(x, d, dim)
    if d > 0:
        out.narrow(dim, 0, d).fill_(0)
    elif d < 0:
        out.narrow(dim, out.shape[dim] + d, -d).fill_(0)
    return out


class Candidates(NamedTuple):
    """The candidate moves of B1 and B0 in the reference's enumeration (spike by sample, bin,
    line, then target), fixed for an attack: sample, source bin, line, target bin, their
    distance, the flat index of their ``pi`` in ``[B, N, T, T]``, the candidates per sample;
    and per line holding spikes (``lines``), its candidates (``table``, padded with the index
    one past the last) and, flat over those lines' bins with one spare bin past them (the
    padding's), each candidate's source and target bin and the bins holding a spike."""

    b: torch.Tensor
    s: torch.Tensor
    j: torch.Tensor
    t: torch.Tensor
    dist: torch.Tensor
    at: torch.Tensor
    sizes: list[int]
    table: torch.Tensor
    src_at: torch.Tensor
    tgt_at: torch.Tensor
    held: torch.Tensor


def candidates(v: torch.Tensor) -> Candidates:
    """Every move (source spike, other bin of its line) of the lines ``v`` ``[B, N, T]``."""
    B, N, T = v.shape
    src = v > 0
    b, s, j = src.transpose(1, 2).nonzero(as_tuple=True)
    targets = torch.arange(T, device=v.device).expand(len(b), T)
    move = targets != s[:, None]
    b, s, j = (a[:, None].expand(-1, T)[move] for a in (b, s, j))
    t = targets[move]
    at = ((b * N + j) * T + s) * T + t
    sizes = torch.bincount(b, minlength=B).tolist()
    lines, compact, counts = torch.unique(b * N + j, return_inverse=True, return_counts=True)
    E = len(b)
    by_line = torch.argsort(compact, stable=True)
    rank = torch.arange(E, device=v.device) - (counts.cumsum(0) - counts)[compact[by_line]]
    width = int(counts.max()) if len(counts) else 1
    table = torch.full((len(counts), width), E, device=v.device)
    table[compact[by_line], rank] = by_line
    spare = torch.tensor([len(counts) * T], device=v.device)
    src_at = torch.cat([compact * T + s, spare])
    tgt_at = torch.cat([compact * T + t, spare])
    held = torch.cat([src.reshape(-1, T)[lines].flatten(), src.new_zeros(1)])
    return Candidates(b, s, j, t, (t - s).abs(), at, sizes, table, src_at, tgt_at, held)


def check_budget(key: str, params: str, norm: str, budget: int, T: int) -> None:
    """Refuses a retiming of the method ``key`` (``method.retime_l0``, or an ensemble's
    component), whose parameters are ``params.*``, that cannot run as set:
    T = 1 (one time bin: no spike can move under any norm, so its row would be a 0 % ASR that
    reads as robustness), or a B∞ budget of T bins or more (a spike moves within its sample's
    T bins, so a shift of T or more has no target; B1 and B0 are caps per sample: one above
    what a sample holds is never reached, and legal)."""
    if T < 2:
        raise ConfigError(
            f"{key}=retime moves spikes between time bins, but T={T} gives one bin; "
            "accepted: T >= 2"
        )
    if norm == "linf" and budget > T - 1:
        raise ConfigError(
            f"{params}.budget={budget} is out of range for T={T} (method norm=linf moves a "
            f"spike by at most budget bins within the T bins); accepted: 1 <= {params}.budget "
            f"<= {T - 1}"
        )


@register("retime", order=85, events=("binary", "counts"), retimes=True)
class Retime(Attack):
    """Spike-Retiming on event frames (module docstring); the method ``retime``, its
    parameters ``conf/method/retime.yaml``'s keys."""

    def __init__(
        self,
        model: nn.Module,
        eps: float = 0.0,
        norm: str = "linf",
        budget: int = 1,
        steps: int = 20,
        alpha_phi: float = 1.0,
        lam_cap: float = 20.0,
        budget_weight: float = 0.0,
        temperature: float = 1.0,
        phi_init: float = 4.0,
    ) -> None:
        super().__init__("Retime", model)
        NORM.check("method.retime.norm", norm)
        if not (isinstance(budget, int) and budget >= 1):
            raise ConfigError(f"method.retime.budget={budget!r} is out of range; accepted: >= 1")
        self.norm, self.budget, self.steps = norm, budget, steps
        self.alpha_phi, self.lam_cap, self.budget_weight = alpha_phi, lam_cap, budget_weight
        self.temperature, self.phi_init = temperature, phi_init
        self.supported_mode = ["default"]

    # the soft retiming and its penalties ------------------------------------------------------

    def _moves(self) -> list[int]:
        return list(range(-self.budget, self.budget + 1))

    def _spread(self, mass: torch.Tensor, pi: torch.Tensor) -> torch.Tensor:
        """``sum_s mass[s] pi[s, t]`` per line (``mass``: ``[B, N, T]``)."""
        if self.norm == "linf":
            out = torch.zeros_like(mass)
            for k, d in enumerate(self._moves()):
                out = out + shift(pi[..., k] * mass, d, -1)
            return out
        return torch.einsum("bns,bnst->bnt", mass, pi)

    def _penalty(
        self, src: torch.Tensor, pi: torch.Tensor, occupancy: torch.Tensor
    ) -> torch.Tensor:
        """Per sample: ``lam_cap`` x the squared excess of the expected ``occupancy`` (the
        spikes' ``_spread``) over one per bin (over T x lines), plus under B1 and B0 the
        budget's weighted relative excess."""
        # no gradient at exactly one per bin, as the reference's ``(occ -
        # self.cap_limit).clamp_min(0.0)`` (``utils/attack.py``, ``_occupancy_penalty_active``)
        over = (occupancy - 1.0).clamp(min=0)
        penalty = self.lam_cap * (over * over).sum((1, 2)) / (src.shape[1] * src.shape[2])
        if self.norm == "linf":
            return penalty
        T = src.shape[-1]
        if self.norm == "l1":
            bins = torch.arange(T, device=pi.device, dtype=pi.dtype)
            cost = (bins[None, :] - bins[:, None]).abs()  # [s, t]: |t - s|
            used = (pi * cost * src[..., None]).sum((1, 2, 3))
        else:
            stay = pi.diagonal(dim1=-2, dim2=-1)  # [B, N, T]: pi[s, s]
            used = ((1.0 - stay) * src).sum((1, 2))
        # no gradient at exactly the budget, as the reference's ``F.relu(S_soft_b -
        # self.l1_steps_budget)`` (``PGDTimeShiftAfterEncoder_L1``; ``_L0`` alike)
        excess = F.relu(used - self.budget)
        return penalty + self.budget_weight * excess / self.budget

    def _pi(self, phi: torch.Tensor, src: torch.Tensor, spikes: torch.Tensor) -> torch.Tensor:
        """``pi`` ``[B, N, T, width]`` from the logits ``phi`` ``[spikes, width]`` of the
        spikes at the flat positions ``spikes`` of ``src`` (0 where no spike is: it never
        counts)."""
        soft = F.softmax(phi / self.temperature, dim=-1)
        pi = phi.new_zeros(src.numel(), phi.shape[-1]).index_copy(0, spikes, soft)
        return pi.view(*src.shape, -1)

    # the hard projections ---------------------------------------------------------------------

    @torch.no_grad()
    def _relaxed(self, v: torch.Tensor, pi: torch.Tensor) -> torch.Tensor:
        """B∞ during the steps: each spike to its most likely shift, a target to the source
        with the higher ``pi`` (the smaller shift among equals; a move never lands on another
        spike's bin), the others stay."""
        src = v > 0
        pi_max, best = pi.max(-1)
        zero = torch.zeros(1, device=v.device, dtype=v.dtype)
        scores, values = [], []
        for k, d in enumerate(self._moves()):
            mine = (best == k) & src
            s = shift(torch.where(mine, pi_max, zero), d, -1)
            val = shift(torch.where(mine, v, zero), d, -1)
            if d != 0:
                s, val = s * ~src, val * ~src
            scores.append(s)
            values.append(val)
        score, chosen = torch.stack(scores, -1).max(-1)  # per target, its first best source
        value = torch.stack(values, -1).gather(-1, chosen[..., None])[..., 0]
        # a source is used where its target chose its shift with a positive score
        T = v.shape[-1]
        target = torch.arange(T, device=v.device) + best - self.budget
        inside = (target >= 0) & (target < T)
        target = target.clamp(0, T - 1)
        won = (chosen.gather(-1, target) == best) & (score.gather(-1, target) > 0)
        used = won & inside & src
        return value + torch.where(~used, v, zero)

    @torch.no_grad()
    def _greedy_window(self, v: torch.Tensor, pi: torch.Tensor) -> torch.Tensor:
        """B∞'s strict projection, every line at once (module docstring)."""
        adv = torch.zeros_like(v)
        active = (v > 0).any(-1)
        lines, p = v[active], pi[active]  # [L, T], [L, T, K]
        src = lines > 0
        occupied, reserved, unplaced = torch.zeros_like(src), src.clone(), src.clone()
        low = torch.finfo(v.dtype).min
        out = torch.zeros_like(lines)
        rows = torch.arange(len(lines), device=v.device)
        for _ in range(lines.shape[-1]):
            live = unplaced.any(-1)
            if not live.any():  # a host sync per bin, kept: once per batch, after the steps
                break
            best = torch.full_like(lines, low)
            best_k = torch.zeros_like(lines, dtype=torch.long)
            for k, d in enumerate(self._moves()):
                free = ~occupied & (~reserved | (d == 0))
                allowed = shift(free, -d, -1) & unplaced
                score = torch.where(allowed, p[..., k], low)
                take = score > best
                best, best_k = torch.where(take, score, best), torch.where(take, k, best_k)
            s = torch.where(unplaced, best, low).argmax(-1)[live]
            r = rows[live]
            t = s + best_k[r, s] - self.budget
            out[r, t] = lines[r, s]
            occupied[r, t] = True
            reserved[r, s] = False
            unplaced[r, s] = False
        adv[active] = out
        return adv

    @torch.no_grad()
    def _greedy_budget(
        self, v: torch.Tensor, pi: torch.Tensor, moves: Candidates | None = None
    ) -> torch.Tensor:
        """B1's or B0's strict projection under each sample's budget (module docstring);
        ``moves``: :func:`candidates` of ``v``, if computed already."""
        B, N, T = v.shape
        if moves is None:
            moves = candidates(v)
        if not len(moves.b):
            return v.clone()
        b, s, j, t, dist = moves.b, moves.s, moves.j, moves.t, moves.dist
        key = pi.view(-1).index_select(0, moves.at) + torch.tensor(
            TIE_BREAK, device=v.device, dtype=v.dtype
        ) * ((T - 1) - dist).to(v.dtype)
        # each sample's candidates sorted by their own argsort: ties as in a one-sample run
        sizes = moves.sizes
        order, start = [], 0
        for size in sizes:
            order.append(torch.argsort(key[start : start + size], descending=True) + start)
            start += size
        order = torch.cat(order)
        # each line's candidates in their sample's order, one rank per round
        E = len(order)
        rank_of = torch.full((E + 1,), E, device=v.device)
        rank_of[order] = torch.arange(E, device=v.device)
        table = moves.table.gather(1, rank_of[moves.table].argsort(1))
        src_at, tgt_at = moves.src_at, moves.tgt_at
        moved = torch.zeros_like(moves.held)
        occupied = torch.zeros_like(moved)
        reserved = moves.held.clone()
        accepted = torch.zeros(E + 1, dtype=torch.bool, device=v.device)
        for e in table.T.contiguous():
            cs, ct = src_at.index_select(0, e), tgt_at.index_select(0, e)
            held = moved.index_select(0, cs) | reserved.index_select(0, ct)
            ok = ~(held | occupied.index_select(0, ct))
            accepted.scatter_(0, e, ok)
            occupied.scatter_(0, ct, occupied.index_select(0, ct) | ok)
            reserved.scatter_(0, cs, reserved.index_select(0, cs) & ~ok)
            moved.scatter_(0, cs, moved.index_select(0, cs) | ok)
        accepted = accepted[:E]
        # the budget: each sample's accepted moves in order, until the next would pass it
        cost = (dist if self.norm == "l1" else torch.ones_like(dist)) * accepted
        spent = torch.empty_like(cost)
        spent[order] = cost[order].cumsum(0)  # ``order`` keeps each sample's block in place
        starts = torch.tensor([0, *sizes[:-1]], device=v.device).cumsum(0)
        offset = torch.where(starts > 0, spent[order[(starts - 1).clamp(min=0)]], 0)
        keep = accepted & (spent - offset[b] <= self.budget)
        # the moves not kept go to a spare last element, not compacted away (a host sync)
        spare = v.numel()
        line = (b * N + j) * T
        origin = torch.where(keep, line + s, spare)
        arrival = torch.where(keep, line + t, spare)
        flat = torch.cat([v.reshape(-1), v.new_zeros(1)])
        adv = flat.clone()
        adv.index_fill_(0, origin, 0)
        adv.index_copy_(0, arrival, flat.index_select(0, origin))
        return adv[:spare].view_as(v)

    def _strict(
        self, v: torch.Tensor, pi: torch.Tensor, moves: Candidates | None = None
    ) -> torch.Tensor:
        if self.norm == "linf":
            return self._greedy_window(v, pi)
        return self._greedy_budget(v, pi, moves)

    # the attack -------------------------------------------------------------------------------

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = images.clone().detach().to(self.device)
        y = labels.clone().detach().to(self.device)
        B, T = x.shape[:2]
        check_budget("method.retime", "method.retime", self.norm, self.budget, T)
        lines = x.movedim(1, -1)  # [B, C, H, W, T]
        v = lines.reshape(B, -1, T)  # [B, N, T]: one line per polarity and pixel
        src = v > 0
        binary = bool(((v == 0) | (v == 1)).all())  # then the spikes' occupancy is ``soft``
        moves = candidates(v) if self.norm != "linf" else None
        width = 2 * self.budget + 1 if self.norm == "linf" else T
        spikes = src.flatten().nonzero().squeeze(1)
        phi = torch.zeros(len(spikes), width, device=x.device, dtype=x.dtype)  # per spike
        if self.norm == "linf":
            phi[..., self.budget - 1 : self.budget + 2] = self.phi_init

        def frames(w: torch.Tensor) -> torch.Tensor:
            return w.reshape(lines.shape).movedim(-1, 1)

        for _ in range(self.steps):
            phi.requires_grad_(True)
            pi = self._pi(phi, src, spikes)
            soft = self._spread(v, pi)
            hard = (
                self._relaxed(v, pi) if self.norm == "linf" else self._greedy_budget(v, pi, moves)
            )
            logits = self.get_logits(frames(hard + (soft - soft.detach())))
            occupancy = soft if binary else self._spread(src.to(pi.dtype), pi)
            penalty = self._penalty(src, pi, occupancy)
            loss = F.cross_entropy(logits, y, reduction="sum") - penalty.sum()
            grad = torch.autograd.grad(loss, phi)[0]
            phi = (phi.detach() + self.alpha_phi * grad.sign()).clamp(-PHI_CLIP, PHI_CLIP)
        with torch.no_grad():
            adv = frames(self._strict(v, self._pi(phi, src, spikes), moves))
            # one the model misclassifies already needs no move (as SDA's): retimed anyway, a
            # quarter of them were put back in their class, read as robust accuracy
            wrong = self.get_logits(x).argmax(1) != y
            return torch.where(wrong.view(-1, *[1] * (x.dim() - 1)), x, adv)
