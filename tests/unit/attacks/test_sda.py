"""SDA on event digits: batched equals one sample at a time, flips only whole events, fails
back to the clean input; every gradient mode drives it; the events-used summary of its rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fixtures_event_nets import binary_digits_net

from snnattack.attacks.crafting import craft
from snnattack.attacks.methods.sda import SDA, cw_margin
from snnattack.evaluation.budget import EventBudget
from snnattack.gradients import GRADIENT_MODES, gradient_mode
from snnattack.settings import Recipe


@pytest.fixture(scope="module")
def net_and_frames() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """digits_net fitted briefly on binary event-digit frames, six held-out digits and the
    net's own predictions as labels (all start clean-correct)."""
    return binary_digits_net()


def test_cw_margin_is_the_true_logit_over_the_best_other_clipped_at_zero() -> None:
    logits = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 1.0]])
    assert cw_margin(logits, torch.tensor([0, 0])).tolist() == [1.0, 0.0]


def test_cw_margin_at_a_tie_has_the_reference_subgradient() -> None:
    """``torch.max(t, 0)`` of the reference: half the margin's gradient at ``t = 0`` (clamp
    would give all of it, relu none)."""
    logits = torch.tensor([[2.0, 2.0, 1.0], [1.0, 1.0, 1.0]], requires_grad=True)
    cw_margin(logits, torch.tensor([0, 0])).sum().backward()
    expected = torch.tensor([[0.5, -0.5, 0.0], [0.5, -0.25, -0.25]])  # amax splits its ties
    torch.testing.assert_close(logits.grad, expected)


@pytest.fixture(scope="module")
def spiking_output() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """The event net with LIF neurons after its readout (spike rates out, many ties)."""
    return binary_digits_net(16, spiking_output=True)


def test_a_tie_sample_of_a_spiking_output_net_gets_a_non_zero_sda_gradient(
    spiking_output,
) -> None:
    model, x, y = spiking_output
    with torch.no_grad():
        out = model(x)
    top = out.topk(2, 1).values
    tie = top[:, 0] == top[:, 1]  # the true class (the first of the tied) ties the runner-up
    assert tie.sum() >= 2
    frames = x[tie].clone().requires_grad_(True)
    with gradient_mode(model, "stbp", surrogate="atan"):
        loss = cw_margin(model(frames), y[tie])
        (grad,) = torch.autograd.grad(loss.sum(), frames)
    assert (loss == 0).all()
    assert (grad.flatten(1).abs().sum(1) > 0).all()


def test_sda_on_a_spiking_output_net_gives_the_same_examples_under_two_seeds(
    spiking_output,
) -> None:
    model, x, y = spiking_output
    runs = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        with gradient_mode(model, "stbp", surrogate="atan"):  # spikingjelly's ATan: no zero
            runs.append(SDA(model, k_init=10, n_iter=50)(x, y))
    with torch.no_grad():
        fooled = model(runs[0]).argmax(1) != y
    assert fooled.sum() >= 12
    assert torch.equal(runs[0], runs[1])


def test_batched_sda_equals_one_sample_at_a_time_and_flips_whole_events(net_and_frames) -> None:
    model, x, y = net_and_frames
    with gradient_mode(model, "stbp"):
        torch.manual_seed(0)
        batched = SDA(model, k_init=4, n_iter=20, batch_limit=16)(x, y)
        alone = []
        for i in range(len(y)):
            torch.manual_seed(0)
            alone.append(
                SDA(model, k_init=4, n_iter=20, batch_limit=16)(x[i : i + 1], y[i : i + 1])
            )
    alone = torch.cat(alone)
    assert set(batched.unique().tolist()) <= {0.0, 1.0}
    with torch.no_grad():
        fooled = model(batched).argmax(1) != y
    flips = (batched != x).flatten(1).sum(1)
    assert fooled.sum() >= 4 and (flips[~fooled] == 0).all() and (flips[fooled] > 0).all()
    # the same flips where no zero-gradient candidate's random order decided (here: all)
    assert torch.equal((alone != x).flatten(1).sum(1), flips)


def test_a_sample_not_fooled_within_its_iterations_gets_its_clean_input(net_and_frames) -> None:
    model, x, y = net_and_frames
    with gradient_mode(model, "stbp"):
        adv = SDA(model, k_init=1, n_iter=1)(x, y)
    with torch.no_grad():
        fooled = model(adv).argmax(1) != y
    assert (adv[~fooled] == x[~fooled]).all()
    assert ((adv != x).flatten(1).sum(1)[fooled] == 1).all()  # one iteration of k = 1


@pytest.mark.parametrize("mode", sorted(m for m in GRADIENT_MODES if m != "ann"))
def test_every_spiking_gradient_mode_drives_sda(net_and_frames, mode: str) -> None:
    model, x, y = net_and_frames
    adv, queries = craft("sda", model, x, y, 0.0, {"k_init": 4, "n_iter": 10}, Recipe(mode))
    with torch.no_grad():
        assert (model(adv).argmax(1) != y).sum() >= 3 and queries > len(y)


def test_event_budget_counts_inserted_and_deleted_events_of_successes_only() -> None:
    budget = EventBudget()
    delta = torch.zeros(4, 10)
    delta[0, :3] = 1.0  # 3 inserted
    delta[1, :2], delta[1, 2:7] = 1.0, -1.0  # 2 inserted, 5 deleted
    delta[2, :9] = 1.0  # not fooled: left out
    delta[3, 0] = -1.0  # 1 deleted
    budget.update(torch.tensor([True, True, False, True]), delta)
    summary = budget.summary((2, 4))
    assert summary["l0_mean"] == pytest.approx(11 / 3) and summary["l0_median"] == 3.0
    assert summary["inserted_mean"] == pytest.approx(5 / 3)
    assert summary["deleted_mean"] == 2.0
    assert summary["l0_under"] == {"2": pytest.approx(100 / 3), "4": pytest.approx(200 / 3)}
    assert np.isclose(EventBudget().summary((200,))["l0_under"]["200"] or 0.0, 0.0)
