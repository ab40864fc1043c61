"""Spike-Retiming on event digits: only spike times change (counts per line kept, one spike
per bin), each budget holds exactly, it fools the trained event net under every gradient mode,
and it is deterministic, batched as one at a time. Its equality with the reference code (which
has no licence, so it is not copied here) is measured by ``python -m fidelity.retime
--reference FOLDER`` (tests/fidelity/test_fidelity_retime.py, docs/event_attacks.md)."""

from __future__ import annotations

import pytest
import torch
from fixtures_event_nets import binary_digits_net
from harness import compose
from sklearn.datasets import load_digits
from torch import nn

import snnattack
from snnattack.attacks.crafting import craft
from snnattack.attacks.methods.retime import Retime, shift
from snnattack.config.validation import validate
from snnattack.data.digits_events import record
from snnattack.data.events import to_frames
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES, gradient_mode
from snnattack.settings import Recipe

WEIGHT = {"linf": 0.0, "l1": 10.0, "l0": 5.0}  # the reference's budget weights


@pytest.fixture(scope="module")
def net_and_frames() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """digits_net fitted briefly on binary event-digit frames, six held-out digits and the
    net's own predictions as labels (all start clean-correct)."""
    return binary_digits_net()


def retime(model: nn.Module, x: torch.Tensor, y: torch.Tensor, norm: str, budget: int, **kw):
    with gradient_mode(model, "stbp"):
        return Retime(model, norm=norm, budget=budget, budget_weight=WEIGHT[norm], **kw)(x, y)


def spike_times(frames: torch.Tensor) -> list[list[int]]:
    """Per line (sample, polarity, pixel) of ``[B, T, C, H, W]`` frames, its spikes' bins."""
    return [line.nonzero().squeeze(1).tolist() for line in lines(frames)]


def matched(x: torch.Tensor, adv: torch.Tensor) -> list[tuple[int, int, int]]:
    """Per sample: (the largest move, the total delay, the spikes that must move) of the
    sorted matching of its lines' spikes, which is the least for each (1-D transport)."""
    out = []
    for xs, advs in zip(x, adv, strict=True):
        moves = [
            (a - b)
            for p, q in zip(spike_times(xs[None]), spike_times(advs[None]), strict=True)
            for a, b in zip(p, q, strict=True)
        ]
        left = int(((xs > 0) & (advs == 0)).sum())
        out.append((max(map(abs, moves), default=0), sum(map(abs, moves)), left))
    return out


def test_shift_moves_along_time_and_fills_zeros() -> None:
    x = torch.tensor([[1.0, 2.0, 3.0]])
    assert shift(x, 1, -1).tolist() == [[0.0, 1.0, 2.0]]
    assert shift(x, -2, -1).tolist() == [[3.0, 0.0, 0.0]]
    assert torch.equal(shift(x, 0, -1), x)


@pytest.mark.parametrize(("norm", "budget"), [("linf", 1), ("linf", 2), ("l1", 6), ("l0", 3)])
def test_only_times_change_and_the_budget_holds_exactly(net_and_frames, norm, budget) -> None:
    model, x, y = net_and_frames
    adv = retime(model, x, y, norm, budget, steps=8)
    assert set(adv.unique().tolist()) <= {0.0, 1.0}  # one spike per bin at most
    assert torch.equal(adv.sum(1), x.sum(1))  # every line keeps its count
    assert (adv != x).any()
    largest, delay, moved = zip(*matched(x, adv), strict=True)
    bound = {"linf": largest, "l1": delay, "l0": moved}[norm]
    assert max(bound) <= budget
    if norm != "linf":
        assert max(bound) == budget  # the budget binds on these samples


def lines(frames: torch.Tensor) -> torch.Tensor:
    """``[B, T, C, H, W]`` frames as lines ``[B * C * H * W, T]``."""
    return frames.movedim(1, -1).reshape(-1, frames.shape[1])


def test_integer_counts_move_as_whole_packets(net_and_frames) -> None:
    """On the integer grid a bin's count moves as one packet: each line keeps its counts."""
    model = net_and_frames[0]
    streams = record(load_digits().images[240:246] / 16.0)
    x = to_frames(streams, (16, 16, 2), 4, 8, "time", "counts")
    with torch.no_grad():
        y = model(x).argmax(1)
    adv = retime(model, x, y, "linf", 1, steps=4)
    assert x.max() > 1 and (adv != x).any()
    for before, after in zip(lines(x), lines(adv), strict=True):
        assert sorted(before[before > 0].tolist()) == sorted(after[after > 0].tolist())


def test_retime_fools_the_trained_event_net(net_and_frames) -> None:
    model, x, y = net_and_frames
    adv = retime(model, x, y, "linf", 1)
    with torch.no_grad():
        assert (model(adv).argmax(1) == y).float().mean() <= 0.5  # from 100 % clean


@pytest.mark.parametrize("norm,budget", [("linf", 2), ("l1", 6), ("l0", 3)])
def test_a_sample_already_misclassified_keeps_its_clean_frames(
    net_and_frames, norm: str, budget: int
) -> None:
    """Labels other than the net's predictions (every sample misclassified): each was retimed
    anyway, and the hard projection put some back in their class, raising the robust
    accuracy a white-box attack reports (at B∞ 2, 49 of 196 misclassified test digits)."""
    model, x, y = net_and_frames
    wrong = (y + 1) % 10
    assert torch.equal(retime(model, x, wrong, norm, budget), x)
    mixed = torch.where(torch.arange(len(y)) % 2 == 0, y, wrong)  # half of them right
    adv = retime(model, x, mixed, norm, budget)
    assert torch.equal(adv[1::2], x[1::2]) and not torch.equal(adv[::2], x[::2])


@pytest.mark.parametrize("mode", sorted(m for m in GRADIENT_MODES if m != "ann"))
def test_every_spiking_gradient_mode_drives_retime(net_and_frames, mode: str) -> None:
    model, x, y = net_and_frames
    adv, queries = craft("retime", model, x, y, 0.0, {"steps": 10}, Recipe(mode))
    with torch.no_grad():
        assert (model(adv).argmax(1) != y).sum() >= 1 and queries >= 10
    assert torch.equal(adv.sum(1), x.sum(1))


def test_a_norm_or_budget_out_of_range_is_refused(net_and_frames) -> None:
    model = net_and_frames[0]
    with pytest.raises(ConfigError, match=r"method.retime.norm='l2' is unknown; accepted: linf"):
        Retime(model, norm="l2")
    with pytest.raises(ConfigError, match=r"norm='lnf' is unknown \(did you mean linf\?\)"):
        Retime(model, norm="lnf")
    with pytest.raises(ConfigError, match=r"method.retime.budget=0 is out of range"):
        Retime(model, budget=0)


def test_a_linf_budget_of_t_bins_is_refused_naming_it_not_an_index_error(net_and_frames) -> None:
    """From Python: the attack itself (T is the frames') and ``snnattack.attack`` (before any
    work, T the model's)."""
    model, x, y = net_and_frames
    with pytest.raises(ConfigError) as err:
        retime(model, x, y, "linf", budget=5)
    assert str(err.value) == (
        "method.retime.budget=5 is out of range for T=4 (method norm=linf moves a spike by at "
        "most budget bins within the T bins); accepted: 1 <= method.retime.budget <= 3"
    )
    with pytest.raises(ConfigError) as err:  # in the argument's name
        snnattack.attack(model, x, y, "retime", overrides=["dataset=digits_events"], budget=5)
    assert str(err.value).startswith("budget=5 is out of range for T=4")
    assert str(err.value).endswith("accepted: 1 <= budget <= 3")


@pytest.mark.parametrize("method", ["retime", "retime_l1", "retime_l0"])
def test_one_time_bin_is_refused_before_any_work_and_by_the_attack(net_and_frames, method) -> None:
    """With T = 1 no spike can move: a job ran every norm to a row of 0 % ASR (B1 and B0 with
    nothing said, B∞ naming the range 1 <= budget <= 0)."""
    with pytest.raises(ConfigError) as refused:
        validate(compose("dataset=digits_events", f"method=[{method}]", "T=1"))
    assert str(refused.value) == (
        f"method.{method}=retime moves spikes between time bins, but T=1 gives one bin; "
        "accepted: T >= 2"
    )
    model, x, y = net_and_frames
    with pytest.raises(ConfigError, match=r"^method.retime=retime moves spikes .* T=1 gives"):
        retime(model, x[:, :1], y, "l0", 3)


@pytest.mark.parametrize(("norm", "budget"), [("linf", 1), ("l1", 6), ("l0", 3)])
def test_batched_equals_one_at_a_time_and_repeats_exactly(net_and_frames, norm, budget) -> None:
    """No draw: the same examples batched, one sample at a time, and on a second run."""
    model, x, y = net_and_frames
    batched = retime(model, x, y, norm, budget, steps=6)
    alone = torch.cat(
        [retime(model, x[i : i + 1], y[i : i + 1], norm, budget, steps=6) for i in range(len(y))]
    )
    assert torch.equal(batched, alone)
    assert torch.equal(batched, retime(model, x, y, norm, budget, steps=6))


def test_the_relaxed_retiming_keeps_every_spike(net_and_frames) -> None:
    """Each step's forward value moves every spike somewhere, even one whose best move is
    blocked (the reference's dense class drops such spikes: docs/event_attacks.md)."""
    model, x, _ = net_and_frames
    torch.manual_seed(0)
    pi = torch.softmax(torch.randn(*x.shape, 3), -1)  # [B, T, C, H, W, K]
    v = x.movedim(1, -1).reshape(len(x), -1, x.shape[1])
    p = pi.movedim(1, -2).reshape(len(x), -1, x.shape[1], 3)
    assert torch.equal(Retime(model, budget=1)._relaxed(v, p).sum(-1), v.sum(-1))
