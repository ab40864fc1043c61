"""sparsefool, spike_grad, event_patch and gsattack_frames on event digits: batched equals one
sample at a time (sparsefool), whole events only, budgets kept, failures give the clean input,
the gradient trigger where gradients vanish, patches inside one window, every gradient mode
drives them (and gsattack on the digits' recordings)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fixtures_event_nets import binary_digits_net, held_out_recordings
from harness import compose

from snnattack.attacks.crafting import craft
from snnattack.attacks.methods.event_patch import EventPatch
from snnattack.attacks.methods.event_patch_universal import UniversalEventPatch
from snnattack.attacks.methods.gsattack import GSAttackFrames, _hard_bit
from snnattack.attacks.methods.sparsefool import (
    SOLVER_CHECK,
    SparseFool,
    _linear_solver,
    descending,
)
from snnattack.attacks.methods.spike_grad import SpikeGrad
from snnattack.config.validation import validate
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES, gradient_mode
from snnattack.settings import Recipe


@pytest.fixture(scope="module")
def net_and_frames() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    return binary_digits_net(8)


def flips(adv: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (adv != x).flatten(1).sum(1)


def fooled(model: torch.nn.Module, adv: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(adv).argmax(1) != y


def test_sparsefool_ranks_tied_logits_as_the_references_numpy_argsort() -> None:
    """The reference ranks one sample's logits at a time (``argsort()[::-1]`` of a 1-d array);
    the batch's rows get the same order, ties included (spike rates as outputs)."""
    torch.manual_seed(0)
    logits = torch.randint(0, 5, (64, 10)).float() / 4  # rates of T = 4: many ties
    order = descending(logits)
    assert order.dtype == torch.int64
    for row, ranked in zip(logits, order, strict=True):
        assert ranked.tolist() == np.argsort(row.numpy())[::-1].tolist()
        assert (row[ranked].diff() <= 0).all()


def test_batched_sparsefool_equals_one_sample_at_a_time(net_and_frames) -> None:
    model, x, y = net_and_frames
    with gradient_mode(model, "stbp"):
        batched = SparseFool(model)(x, y)
        alone = torch.cat([SparseFool(model)(x[i : i + 1], y[i : i + 1]) for i in range(len(y))])
    assert torch.equal(batched, alone)
    assert set(batched.unique().tolist()) <= {0.0, 1.0}
    success = fooled(model, batched, y)
    assert success.sum() >= 6 and (flips(batched, x)[~success] == 0).all()


def test_sparsefool_over_its_hamming_budget_is_a_failure(net_and_frames) -> None:
    model, x, y = net_and_frames
    with gradient_mode(model, "stbp"):
        free = SparseFool(model)(x, y)
        capped = SparseFool(model, max_hamming_distance=3)(x, y)
    keep = flips(free, x) <= 3
    assert keep.any() and (~keep).any()  # both sides of the budget occur here
    assert torch.equal(capped[keep], free[keep]) and torch.equal(capped[~keep], x[~keep])


def test_spike_grad_flips_whole_events_and_fails_back_to_clean(net_and_frames) -> None:
    model, x, y = net_and_frames
    with gradient_mode(model, "stbp"):
        torch.manual_seed(0)
        adv = SpikeGrad(model, n_iter=20)(x, y)
        torch.manual_seed(0)
        once = SpikeGrad(model, n_iter=1)(x, y)
    assert set(adv.unique().tolist()) <= {0.0, 1.0}
    success = fooled(model, adv, y)
    assert success.sum() >= 6 and (flips(adv, x)[~success] == 0).all()
    assert (once[~fooled(model, once, y)] == x[~fooled(model, once, y)]).all()


class Counting(torch.nn.Module):
    """Class 1 once more than 4 events are on, through round(): a zero gradient everywhere."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.round(x).flatten(1).sum(1, keepdim=True)
        return torch.cat([4.5 - s, s - 4.5], 1)


def test_spike_grad_gradient_trigger_flips_at_random_where_gradients_vanish() -> None:
    model, x = Counting(), torch.zeros(4, 2, 2, 4, 2)  # 32 bits, all off: class 0
    torch.manual_seed(0)
    adv = SpikeGrad(model, n_iter=1, trigger_rate=0.5)(x, torch.zeros(4, dtype=torch.long))
    share = (adv != x).flatten(1).float().mean(1)
    assert ((share > 0.25) & (share < 0.75)).all()  # about half the bits, drawn at random
    assert (model(adv).argmax(1) == 1).all()
    assert (SpikeGrad(model, n_iter=3, trigger_rate=0.0)(x, torch.zeros(4).long()) == x).all()


def test_sparsefool_leaves_a_raster_whose_gradient_vanished_unchanged() -> None:
    model, x = Counting(), torch.zeros(2, 2, 2, 4, 2)  # zero gradient: no boundary to find
    adv = SparseFool(model, max_iter=2)(x, torch.zeros(2, dtype=torch.long))
    assert torch.equal(adv, x)


def one_sample_linear_solver(x0, normal, point) -> torch.Tensor:
    """The reference's ``linear_solver`` (jubueche/SPAA) on one sample ``[1, n]`` with this
    module's sums, as it ran before the batched solver: one coordinate per step, the check
    whether the plane is crossed after each."""
    x, coord = x0.clone(), normal.clone()
    sign_true = ((x - point) * normal).sum(1).sign()
    beta = 0.001 * sign_true
    while coord.ne(0).any():
        f = ((x - point) * normal).sum(1) + beta
        j = coord.abs().argmax(1)
        c = coord[0, j]
        x[0, j] = (x[0, j] + (f.abs() / c.abs()).clamp(min=1e-4) * c.sign()).clamp(0.0, 1.0)
        coord[0, j] = 0.0
        if ((x - point) * normal).sum(1).sign() != sign_true:
            break
    return x.round()


def test_sparsefool_linear_solver_equals_the_one_sample_loop() -> None:
    """Batched and checked every SOLVER_CHECK steps, each sample's raster is the one-sample
    loop's, bit for bit: crossing early or late, never crossing (walking every coordinate,
    more than SOLVER_CHECK of them), tied and zero normals."""
    torch.manual_seed(0)
    x0 = torch.bernoulli(torch.full((8, 64), 0.3))
    normal = torch.randn(8, 64) * torch.bernoulli(torch.full((8, 64), 0.8))
    normal[1] = 0.0  # no coordinate to move
    normal[2, :10] = normal[2, 0]  # ties: the first largest goes first
    point = x0 + torch.randn(8, 64)
    point[3] = x0[3] - 5.0 * normal[3]  # on the plane's far side: never crossed
    solved = _linear_solver(x0, normal, point)
    alone = [
        one_sample_linear_solver(*(t[i : i + 1] for t in (x0, normal, point))) for i in range(8)
    ]
    assert torch.equal(solved, torch.cat(alone))
    assert ((solved != x0).sum(1) > SOLVER_CHECK).any()  # past one check's steps


def test_event_patch_changes_one_square_window_over_every_bin(net_and_frames) -> None:
    model, x, y = net_and_frames
    with gradient_mode(model, "stbp"):
        torch.manual_seed(0)
        adv = EventPatch(model, area=0.1)(x, y)  # side int(sqrt(0.1 * 64)) = 2
    changed = (adv != x).any(1).any(1)  # [b, H, W]: pixels changed in any bin or polarity
    success = fooled(model, adv, y)
    assert success.any() and (flips(adv, x)[~success] == 0).all()
    for pixels in changed[success]:
        rows, cols = pixels.nonzero().unbind(1)
        assert rows.max() - rows.min() < 2 and cols.max() - cols.min() < 2


@pytest.mark.parametrize("method", ["event_patch", "event_patch_universal"])
def test_a_patch_area_under_one_pixel_is_refused_not_grown_past_its_budget(
    net_and_frames, method: str
) -> None:
    """area 0.01 of 8x8 frames is 0.64 of a pixel: the patch was grown to one pixel (1/64 of
    the frame, over the area its row reports) without a word. Refused before any work, and by
    the attacks themselves (frames of any size from Python)."""
    line = (
        f"method.{method}.area=0.01 is 0.64 of a pixel of the 8x8 frames, under one; accepted: "
        f"1/64 (0.0156) <= method.{method}.area <= 1 (a patch of at least one pixel), or larger "
        "frames (dataset.params.size)"
    )
    with pytest.raises(ConfigError) as refused:
        validate(
            compose("dataset=digits_events", f"method=[{method}]", f"method.{method}.area=0.01")
        )
    assert str(refused.value) == line
    validate(
        compose("dataset=digits_events", f"method=[{method}]", f"method.{method}.area=0.015625")
    )
    model, x, y = net_and_frames
    crafts = {
        "event_patch": lambda: EventPatch(model, area=0.01)(x, y),
        "event_patch_universal": lambda: UniversalEventPatch(model, area=0.01).fit(x, y),
    }
    with pytest.raises(ConfigError) as refused, gradient_mode(model, "stbp"):
        crafts[method]()
    assert str(refused.value) == line


def test_targeted_event_patch_reaches_its_class_or_keeps_the_clean_input(net_and_frames):
    model, x, y = net_and_frames
    with gradient_mode(model, "stbp"):
        adv = EventPatch(model, area=0.2, target=3, placement="receptive_field")(x, y)
    with torch.no_grad():
        pred = model(adv).argmax(1)
    changed = flips(adv, x) > 0
    assert changed.any() and (pred[changed] == 3).all() and (adv[~changed] == x[~changed]).all()


@pytest.mark.parametrize(
    "method", ["sparsefool", "spike_grad", "event_patch", "gsattack_frames", "gsattack"]
)
@pytest.mark.parametrize(
    "mode",
    [  # stbp in the default suite, the other modes with the slow tests
        m if m == "stbp" else pytest.param(m, marks=pytest.mark.slow)
        for m in sorted(GRADIENT_MODES)
        if m != "ann"
    ],
)
def test_every_spiking_gradient_mode_drives_the_event_attacks(net_and_frames, method, mode):
    model, x, y = net_and_frames
    params = {
        "event_patch": {"area": 0.2, "steps": 10},
        "spike_grad": {"n_iter": 10},
        "gsattack_frames": {"steps": 5},
        "gsattack": {"steps": 5, "recordings": held_out_recordings(8).batch(range(8))},
    }
    torch.manual_seed(0)
    adv, queries = craft(method, model, x, y, 0.0, params.get(method, {}), Recipe(mode))
    assert set(adv.unique().tolist()) <= {0.0, 1.0} and queries > len(y)
    assert fooled(model, adv, y).sum() >= 1


def test_gsattack_frames_draws_binary_frames_and_fails_back_to_clean(net_and_frames) -> None:
    model, x, y = net_and_frames
    with gradient_mode(model, "stbp"):
        torch.manual_seed(0)
        adv = GSAttackFrames(model, steps=20)(x, y)
        torch.manual_seed(0)
        targeted = GSAttackFrames(model, steps=5, target=3)(x, y)
    assert set(adv.unique().tolist()) <= {0.0, 1.0}
    success = fooled(model, adv, y)
    assert success.sum() >= 6 and (flips(adv, x)[~success] == 0).all()
    with torch.no_grad():
        pred = model(targeted).argmax(1)
    hit = flips(targeted, x) > 0
    assert (pred[hit] == 3).all() and (targeted[~hit] == x[~hit]).all()


def test_gsattack_hard_bit_passes_the_gradient_to_the_drawn_entry_only() -> None:
    one_hot = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    bit = _hard_bit(one_hot)
    (grad,) = torch.autograd.grad((bit * torch.tensor([2.0, 3.0])).sum(), one_hot)
    assert bit.tolist() == [0.0, 1.0] and grad.tolist() == [[2.0, 0.0], [0.0, 3.0]]
