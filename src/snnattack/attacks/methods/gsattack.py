"""GSAttack (Yao et al., ECCV 2024, "Exploring vulnerabilities in spiking neural networks:
direct adversarial attacks on raw event data"), batched: on raw events (``gsattack``) and on
binary frames (``gsattack_frames``).

Threat model of ``gsattack``: the recording itself. Each candidate event, a position (t, x, y)
of the sensor, takes a value -1 (an OFF event), 0 (no event) or +1 (an ON event): a recorded
event can be kept, deleted or flip polarity, and an insertion candidate can become an event.
The adversarial recording is framed as the dataset frames every recording (its ``split_by``,
``frames``, ``size`` and ``event_encoding``), so the network reads exactly the frames of the
recording the attack reports. No radius (one row per box at eps 0); an L1 penalty (``kappa``)
keeps the changed events few, and the events changed per success are reported on the frames.

Candidates (``candidates``; the reference's ``init_alpha_mode``): the recording's events only
(``events``, its ``default``), plus ``insert_ratio`` of the events of a training recording of
the target class (``target``, its default; untargeted: of a class drawn among the others), or
plus ``insert_ratio`` times as many positions drawn uniformly over the sensor and the
recording's time span (``random``, its ``random_add_indices``). Three logits per candidate,
initialised to the one-hot of its value (recorded events) or to (0.05, 0.9, 0.05) (insertion
candidates, favouring "no event"), all sorted by time (``utils/init_alpha.py``).

Per sample and step ``e = 1 .. steps`` (``main.py``, ``attacker.py``, ``config/``):

- a Gumbel-softmax draw at temperature ``tau`` (cosine-annealed from ``max_tau`` to ``min_tau``
  over ``decay_step`` steps) whose argmax is the value; its gradient flows straight through to
  the drawn entry (the reference's ``HardDiffArgmax``);
- the draw is framed differentiably: each event adds 1 to its (bin, polarity, y, x) count
  (``relu(v)`` to ON, ``relu(-v)`` to OFF, the reference's), and the counts take the dataset's
  values (:func:`snnattack.data.events.encode`). The bins are those of the drawn recording
  under the dataset's framing (``bins: stream``); the reference instead cuts the *candidates*,
  present or not, into bins of equal number (``bins: candidates``), so the frames it attacks
  are not the framing of the recording it reports, nor, before any change, the clean frames
  (docs/event_attacks.md measures the difference);
- the loss: cross-entropy (ascended for the true class, ``target: -1``; descended for class
  ``target``) plus ``kappa`` times the mean L1 distance of the values to the clean ones;
- Adam (``lr``, cosine-annealed with ``T_max = lr_period``) on the logits, each sample's
  gradient clipped to norm ``max_grad_norm``, the logits to ``[-alpha_boundary,
  alpha_boundary]``;
- the sample stops at the first draw that succeeds (fooled, or predicted as ``target``) on a
  recording the dataset frames (not one it refuses as too short: ``GSAttack._framable``); one
  never succeeding keeps its clean input (a failure).

``gsattack_frames`` is the repository's binary-frame generator (``ProbabilityFrameAttacker``:
two logits per bit, initialised to the one-hot clean bit) in the same loop: every bit of the
frames is a candidate. The reference attacks one sample at a time; here the batch runs at once
(Adam is elementwise, the clipping per sample), and a batch of one draws the reference's noise.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchattacks.attack import Attack

from snnattack.attacks.methods.base import drawing_targets, register
from snnattack.data.events import DISCRETE_ENCODINGS, encode
from snnattack.data.recordings import RecordedBatch
from snnattack.values import declare, either, integer, one_of

CANDIDATES = ("events", "target", "random")
BINS = ("stream", "candidates")
INSERTED_LOGITS = (0.05, 0.9, 0.05)  # an insertion candidate's initial logits (-1, 0, +1)
RANDOM = "random"  # ``target``: a class drawn per sample among the others (the paper's runs)
# ``random``, said with the methods that take it: every method's target shares the rule
DRAWN_TARGET = replace(
    one_of(RANDOM), accepted=lambda: f"{RANDOM} ({', '.join(drawing_targets())})"
)
declare(
    {
        "method.*.target": either(integer(-1), DRAWN_TARGET),
        "method.*.candidates": one_of(*CANDIDATES),
        "method.*.bins": one_of(*BINS),
    }
)


class _GumbelLoop(Attack):
    """The reference's attack loop over logits of discrete values (module docstring), with
    its parameters (``conf/method/gsattack*.yaml``'s keys); a subclass says what is drawn and
    how a draw becomes frames."""

    random_target = True  # takes ``target: random`` (config validation reads it)
    curve = False  # a step runs the samples not yet fooled alone: no attack.steps_curve

    def __init__(
        self,
        model: nn.Module,
        eps: float = 0.0,
        steps: int = 100,
        kappa: float = 0.1,
        lr: float = 1.0,
        lr_period: int = 10,
        max_tau: float = 2.0,
        min_tau: float = 0.1,
        decay_step: int = 100,
        alpha_boundary: float = 2.0,
        max_grad_norm: float = 20.0,
        target: int | str = -1,
    ) -> None:
        super().__init__("GSAttack", model)
        self.steps, self.kappa, self.lr, self.lr_period = steps, kappa, lr, lr_period
        self.max_tau, self.min_tau, self.decay_step = max_tau, min_tau, decay_step
        self.alpha_boundary, self.max_grad_norm, self.target = alpha_boundary, max_grad_norm, target
        self.supported_mode = ["default"]

    def _tau(self, e: int) -> float:
        """The reference's ``CosineAnnealing`` after ``e`` steps: ``max_tau`` to ``min_tau``."""
        if e >= self.decay_step:
            return self.min_tau
        return self.min_tau + 0.5 * (self.max_tau - self.min_tau) * (
            1 + math.cos(math.pi * e / self.decay_step)
        )

    def _goals(self, y: torch.Tensor, classes: int) -> torch.Tensor | None:
        """Each sample's target class: ``target``, a class drawn among the others per sample
        (``target: random``, the reference's protocol), or None (untargeted)."""
        if self.target == RANDOM:
            return (y + torch.randint(1, classes, y.shape, device=y.device)) % classes
        return None if self.target < 0 else torch.full_like(y, self.target)

    @staticmethod
    def _main_loss(
        logits: torch.Tensor, y: torch.Tensor, goal: torch.Tensor | None
    ) -> torch.Tensor:
        """Per sample: ``-CE(true)`` untargeted, ``CE(goal)`` targeted (to minimise)."""
        if goal is None:
            return -F.cross_entropy(logits, y, reduction="none")
        return F.cross_entropy(logits, goal, reduction="none")

    @staticmethod
    def _succeeded(
        logits: torch.Tensor, y: torch.Tensor, goal: torch.Tensor | None
    ) -> torch.Tensor:
        pred = logits.argmax(1)
        return pred != y if goal is None else pred == goal

    def _start(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The initial logits ``[B, ..., K]`` and the clean values ``[B, ...]``."""
        raise NotImplementedError

    def _draw(
        self, alpha: torch.Tensor, tau: float, idx: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples ``idx``'s values drawn from ``alpha`` (straight-through) and their frames."""
        raise NotImplementedError

    def _won(self, idx: torch.Tensor, values: torch.Tensor) -> None:
        """Samples ``idx`` succeeded with the drawn ``values``."""

    def _framable(self, values: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Per sample: whether the drawn ``values`` are an input the dataset gives the network
        (one that is not is never a success); every draw of frames is."""
        return torch.ones(len(idx), dtype=torch.bool, device=values.device)

    def _distance(
        self, values: torch.Tensor, clean: torch.Tensor, idx: torch.Tensor
    ) -> torch.Tensor:
        """Per sample: the mean L1 distance of ``values`` to the ``clean`` ones."""
        return (values - clean).abs().flatten(1).mean(1)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = images.clone().detach().to(self.device)
        y = labels.clone().detach().to(self.device)
        with torch.no_grad():
            clean_logits = self.get_logits(x)
        self.classes = clean_logits.shape[1]
        self.goals = self._goals(y, self.classes)
        alpha, clean = self._start(x, y)
        alpha = alpha.requires_grad_(True)
        optimizer = torch.optim.Adam([alpha], lr=self.lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.lr_period)
        adv = x.clone()
        active = clean_logits.argmax(1) == y  # clean-correct samples only
        if self.goals is not None:
            active &= y != self.goals
        success = torch.zeros_like(active)
        for e in range(1, self.steps + 1):
            idx = active.nonzero().squeeze(1)
            if not len(idx):
                break
            optimizer.zero_grad()
            a = alpha[idx]
            values, frames = self._draw(a, self._tau(e - 1), idx)
            logits = self.get_logits(frames)
            distance = self._distance(values, clean[idx], idx)
            goal = None if self.goals is None else self.goals[idx]
            loss = self._main_loss(logits, y[idx], goal) + self.kappa * distance
            loss.sum().backward()
            grad = alpha.grad
            norm = grad.flatten(1).norm(dim=1).view(-1, *[1] * (grad.dim() - 1))
            grad.mul_((self.max_grad_norm / (norm + 1e-6)).clamp(max=1.0))  # clip_grad_norm_
            optimizer.step()
            schedule.step()
            with torch.no_grad():
                alpha.clamp_(-self.alpha_boundary, self.alpha_boundary)
            won = self._succeeded(logits.detach(), y[idx], goal)
            won &= self._framable(values.detach(), idx)
            self._won(idx[won], values.detach()[won])
            adv[idx[won]] = frames.detach()[won]
            active[idx[won]] = False
            success[idx[won]] = True
        return torch.where(success.view(-1, *[1] * (x.dim() - 1)), adv, x)


@register("gsattack_frames", order=84.5, events=("binary",))
class GSAttackFrames(_GumbelLoop):
    """GSAttack's binary-frame generator (module docstring); the method ``gsattack_frames``,
    its parameters ``conf/method/gsattack_frames.yaml``'s keys."""

    def _start(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.stack([(x == 0).float(), (x == 1).float()], -1), x  # init_alpha_from_frame

    def _draw(
        self, alpha: torch.Tensor, tau: float, idx: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        bits = _hard_bit(F.gumbel_softmax(alpha, tau=tau, hard=True))
        return bits, bits


@register("gsattack", order=84, events=DISCRETE_ENCODINGS, recordings=True)
class GSAttack(_GumbelLoop):
    """GSAttack on raw events (module docstring); the method ``gsattack``, its parameters
    ``conf/method/gsattack.yaml``'s keys. ``recordings`` (the batch's, handed over by the
    evaluation) are what it changes."""

    def __init__(
        self,
        model: nn.Module,
        eps: float = 0.0,
        candidates: str = "target",
        insert_ratio: float = 1.0,
        bins: str = "stream",
        recordings: RecordedBatch | None = None,
        **loop: Any,
    ) -> None:
        super().__init__(model, eps, **loop)  # the loop's parameters: _GumbelLoop's
        if recordings is None:
            raise ValueError("gsattack attacks raw events: it needs the batch's recordings")
        self.candidates, self.insert_ratio, self.bins = candidates, insert_ratio, bins
        self.recordings = recordings

    def _start(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.set_candidates(self.batch_candidates(y), x.device)
        self.recordings.changes.append(torch.zeros(len(y), 4, dtype=torch.long))
        return self._alpha0.clone(), self._clean

    def _won(self, idx: torch.Tensor, values: torch.Tensor) -> None:
        """Records what the successful draws changed (``RecordedBatch.changes``)."""
        clean, valid = self._clean[idx], self._valid[idx]
        had, has = (clean != 0) & valid, (values != 0) & valid
        counts = [~had & has, had & ~has, had & has & (values != clean), had]
        self.recordings.changes[-1][idx.cpu()] = torch.stack([c.sum(1) for c in counts], 1).cpu()

    def batch_candidates(self, y: torch.Tensor) -> list[Candidates]:
        """Every sample's candidates, drawn from a generator seeded by torch's (the evaluation
        seeds each batch)."""
        rng = np.random.default_rng(int(torch.randint(2**62, ()).item()))
        goals = [None] * len(y) if self.goals is None else self.goals.tolist()
        return [
            self._candidates(stream, int(label), goal, rng)
            for stream, label, goal in zip(self.recordings.streams, y.tolist(), goals, strict=True)
        ]

    def _candidates(
        self, stream: np.ndarray, label: int, goal: int | None, rng: np.random.Generator
    ) -> Candidates:
        """One sample's candidates (module docstring), sorted by time; ``goal``: its target
        class (None: untargeted)."""
        own = Candidates.recorded(stream)
        count = int(len(stream) * self.insert_ratio)
        if self.candidates == "events" or not count:
            return own
        if self.candidates == "random":
            width, height, _ = self.recordings.source.sensor_size
            span = (int(stream["t"].min()), int(stream["t"].max()) + 1) if len(stream) else (0, 1)
            added = Candidates.inserted(
                rng.integers(*span, count), rng.integers(0, width, count),
                rng.integers(0, height, count),
            )  # fmt: skip
            return own.merged(added)
        donor_class = goal if goal is not None else _other_class(label, self.classes, rng)
        donor = self.recordings.donor(donor_class, rng)
        if donor is None or not len(donor):
            return own
        pick = rng.permutation(len(donor))[: int(len(donor) * self.insert_ratio)]
        pick = np.sort(pick)
        return own.merged(Candidates.inserted(donor["t"][pick], donor["x"][pick], donor["y"][pick]))

    def set_candidates(self, lists: list[Candidates], device: torch.device) -> None:
        """Pads the samples' candidates into the batch's tensors (``[B, N]``; logits
        ``[B, N, 3]``)."""
        n = max(max(len(c.t) for c in lists), 1)
        pad = np.zeros((len(lists), n), dtype=np.int64)
        t, xs, ys = pad.copy(), pad.copy(), pad.copy()
        alpha = torch.zeros(len(lists), n, 3)
        alpha[..., 1] = 1.0  # padding: "no event", and masked out below
        valid = torch.zeros(len(lists), n, dtype=torch.bool)
        for b, c in enumerate(lists):
            k = len(c.t)
            t[b, :k], xs[b, :k], ys[b, :k] = c.t, c.x, c.y
            alpha[b, :k] = torch.as_tensor(c.alpha)
            valid[b, :k] = True
        self._t, self._x, self._y = (torch.as_tensor(a, device=device) for a in (t, xs, ys))
        self._valid = valid.to(device)
        self._alpha0 = alpha.to(device)
        self._clean = alpha.argmax(-1).to(device) - 1

    def _draw(
        self, alpha: torch.Tensor, tau: float, idx: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        soft = F.gumbel_softmax(alpha, tau=tau, hard=False)
        chosen = soft.argmax(-1)
        picked = soft.gather(-1, chosen.unsqueeze(-1)).squeeze(-1)
        values = (chosen - 1).to(soft.dtype) + (picked - picked.detach())  # HardDiffArgmax
        values = values * self._valid[idx]
        return values, self.frames(values, idx)

    def _framable(self, values: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Per sample: whether the drawn recording is one the dataset frames. Framed by time
        (``bins: stream``), a recording whose events span fewer microseconds than the frames
        has bins 0 µs long: the dataset refuses it (:class:`snnattack.data.events.TooShort`)
        and its draw's frames are blank, so it is no success. A recording without events
        (every event deleted) is framed, blank, as the dataset frames one."""
        framing = self.recordings.source.framing
        if self.bins == "candidates" or framing.split_by != "time":
            return super()._framable(values, idx)
        present = (values != 0) & self._valid[idx]
        first, last = _extent(present, self._t[idx])
        return ~present.any(1) | (last - first >= framing.frames).squeeze(1)

    def _distance(
        self, values: torch.Tensor, clean: torch.Tensor, idx: torch.Tensor
    ) -> torch.Tensor:
        valid = self._valid[idx]
        return ((values - clean).abs() * valid).sum(1) / valid.sum(1).clamp(min=1)

    def frames(self, values: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """The frames ``[len(idx), T, 2, size, size]`` of samples ``idx``'s candidates with
        ``values`` (differentiable in them)."""
        source = self.recordings.source
        framing, (width, height, _) = source.framing, source.sensor_size
        t, x, y, valid = self._t[idx], self._x[idx], self._y[idx], self._valid[idx]
        bins, keep = _bins(values.detach(), t, valid, framing.frames, framing.split_by, self.bins)
        b = torch.arange(len(idx), device=values.device).unsqueeze(1).expand_as(t)
        cells = (b * framing.frames + bins.clamp(max=framing.frames - 1)) * 2
        counts = values.new_zeros(len(idx) * framing.frames * 2 * height * width)
        for polarity, part in ((1, F.relu(values)), (0, F.relu(-values))):
            cell = ((cells + polarity) * height + y) * width + x
            counts = counts.index_add(0, cell[keep], part[keep])
        counts = counts.view(len(idx), framing.frames, 2, height, width)
        return encode(counts, framing.size, framing.event_encoding, framing.count_scale)


class Candidates:
    """One sample's candidate events: positions ``t``, ``x``, ``y`` and logits ``alpha``
    ``[N, 3]`` over the values -1, 0, +1."""

    def __init__(self, t: np.ndarray, x: np.ndarray, y: np.ndarray, alpha: np.ndarray) -> None:
        self.t, self.x, self.y = (np.asarray(a, dtype=np.int64) for a in (t, x, y))
        self.alpha = np.asarray(alpha, dtype=np.float32).reshape(-1, 3)

    @classmethod
    def recorded(cls, stream: np.ndarray) -> Candidates:
        """A recording's events, each the one-hot of its value (OFF -1, ON +1)."""
        value = np.where(np.asarray(stream["p"]) > 0, 2, 0)
        return cls(stream["t"], stream["x"], stream["y"], np.eye(3, dtype=np.float32)[value])

    @classmethod
    def inserted(cls, t: np.ndarray, x: np.ndarray, y: np.ndarray) -> Candidates:
        """Insertion candidates, each at the initial logits of "no event"."""
        return cls(t, x, y, np.tile(np.float32(INSERTED_LOGITS), (len(t), 1)))

    def merged(self, other: Candidates) -> Candidates:
        """Both sets, sorted by time (stable: a recording keeps its order)."""
        t = np.concatenate([self.t, other.t])
        order = np.argsort(t, kind="stable")
        x, y = np.concatenate([self.x, other.x]), np.concatenate([self.y, other.y])
        return Candidates(
            t[order], x[order], y[order], np.concatenate([self.alpha, other.alpha])[order]
        )


def _other_class(label: int, classes: int, rng: np.random.Generator) -> int:
    """A class drawn uniformly among the ``classes`` other than ``label``."""
    return int((label + rng.integers(1, classes)) % classes)


def _bins(
    values: torch.Tensor,
    t: torch.Tensor,
    valid: torch.Tensor,
    frames: int,
    split_by: str,
    bins: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each candidate's time bin ``[B, N]`` and whether it lands in a frame.

    ``stream``: the bins of the recording the draw gives (its events: the candidates with a
    value), framed by ``split_by`` as :func:`snnattack.data.events.bin_counts` frames a
    recording; a candidate without an event gets the bin it would take. ``candidates``: the
    reference's (``FrameGenerator``): ``N // frames`` candidates a bin in order, the rest
    dropped."""
    if bins == "candidates":
        per_bin = (valid.sum(1, keepdim=True) // frames).clamp(min=1)
        position = torch.arange(t.shape[1], device=t.device).expand_as(t)
        index = position // per_bin
        enough = valid.sum(1, keepdim=True) >= frames
        return index, valid & (index < frames) & enough
    present = (values != 0) & valid
    if split_by == "number":
        n = present.sum(1, keepdim=True)
        per_bin = n // frames
        rank = present.cumsum(1) - present.long()
        index = torch.where(per_bin > 0, rank // per_bin.clamp(min=1), frames - 1)
        return index.clamp(max=frames - 1), valid
    first, last = _extent(present, t)
    window = (last - first) // frames
    index = torch.where(window > 0, (t - first) // window.clamp(min=1), frames)
    return index, valid & (index < frames) & (t >= first)


def _extent(present: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The first and last time ``[B, 1]`` of each sample's ``present`` candidates (the
    largest integer and -1 where none is)."""
    big = torch.iinfo(t.dtype).max
    first = torch.where(present, t, big).amin(1, keepdim=True)
    return first, torch.where(present, t, -1).amax(1, keepdim=True)


def _hard_bit(one_hot: torch.Tensor) -> torch.Tensor:
    """The drawn bit (the index of ``one_hot``'s 1) whose gradient flows to the drawn class's
    entry only: the reference's ``SoftArgmax2d``."""
    chosen = (one_hot * one_hot.detach()).sum(-1)  # 1, with the gradient of the drawn entry
    return one_hot.detach()[..., 1] + (chosen - chosen.detach())
