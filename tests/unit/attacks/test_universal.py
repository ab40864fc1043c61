"""Universal attacks (attacks/universal.py), the universal AE-Patch (``event_patch_universal``)
and SpikeFool's universal perturbation (``sparsefool_universal``): fitted once on validation
data, never on a test batch, and applied as it is to every test batch."""

from __future__ import annotations

import pytest
import torch
from fixtures_event_nets import binary_digits_net

import snnattack
from snnattack.attacks.methods.event_patch import windows
from snnattack.attacks.methods.event_patch_universal import UniversalEventPatch, placed
from snnattack.attacks.methods.sparsefool_universal import UniversalSparseFool
from snnattack.attacks.universal import fit_specs, needs_fitting
from snnattack.config.validation import validate
from snnattack.errors import ConfigError, UserError
from snnattack.evaluation.masking import largest_l0
from snnattack.gradients import gradient_mode
from snnattack.settings import AttackSettings, AttackSpec, Recipe

EVENTS = "dataset=digits_events"
SMALL = {  # each universal method at a size that fits in a second
    UniversalEventPatch: [
        "method.event_patch_universal.area=0.2",
        "method.event_patch_universal.epochs=1",
    ],
    UniversalSparseFool: [
        "method.sparsefool_universal.max_hamming_distance=10",
        "method.sparsefool_universal.rounds=1",
    ],
}


@pytest.fixture(scope="module")
def split() -> tuple[torch.nn.Module, tuple, tuple]:
    """The event net, 24 validation digits and 16 test digits after them."""
    model, x, y = binary_digits_net(40)
    return model, (x[:24], y[:24]), (x[24:], y[24:])


def fitted_patch(model, x, y, **params) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    with gradient_mode(model, "stbp"):
        return UniversalEventPatch(model, area=0.2, epochs=2, **params).fit(x, y)


@pytest.mark.parametrize(
    ("universal", "method"),
    [(UniversalEventPatch, "event_patch_universal"), (UniversalSparseFool, "sparsefool_universal")],
)
def test_it_is_fitted_on_validation_only_and_the_same_for_every_test_batch(
    split, monkeypatch, universal, method
) -> None:
    model, (xv, yv), (xt, yt) = split
    fitted_on, applied = [], []
    fit, apply = universal.fit, universal.apply

    def spy_fit(self, x, y):
        fitted_on.append(x.clone())
        return fit(self, x, y)

    def spy_apply(self, x, y, state):
        applied.append((x.clone(), {k: v.clone() for k, v in state.items()}))
        return apply(self, x, y, state)

    monkeypatch.setattr(universal, "fit", spy_fit)
    monkeypatch.setattr(universal, "apply", spy_apply)
    record = snnattack.evaluate(
        model,
        (xt, yt),
        methods=[method],
        val_data=(xv, yv),
        masking=False,
        progress=False,
        overrides=[EVENTS, "eval_batch_size=8", *SMALL[universal]],
    )
    assert len(fitted_on) == 1 and torch.equal(fitted_on[0], xv)
    assert [len(x) for x, _ in applied] == [8, 8]  # two test batches, the test digits only
    assert torch.equal(torch.cat([x for x, _ in applied]), xt)
    first = applied[0][1]
    assert all(all(torch.equal(v, first[k]) for k, v in state.items()) for _, state in applied)
    (row,) = record.results
    assert row.n == 16 and row.eps == 0.0 and row.l0_mean is not None


def test_targeted_success_is_reaching_the_target_with_the_patch_as_fitted(split) -> None:
    model, (xv, yv), (xt, yt) = split
    state = fitted_patch(model, xv, yv, target=3, placement="receptive_field")
    top, left = state["corner"][:1], state["corner"][1:]
    attack = UniversalEventPatch(
        model, area=0.2, target=3, placement="receptive_field", fitted=state
    )
    adv = attack(xt, yt)
    with torch.no_grad():
        patched = model(placed(state["patch"], xt, top, left)).argmax(1)
        clean = model(xt).argmax(1)
    reached = (patched == 3) & (yt != 3) & (clean == yt)
    changed = (adv != xt).flatten(1).any(1)
    assert reached.any() and torch.equal(changed, reached)
    window = windows(xt, top.expand(16), left.expand(16), 3).bool()
    assert (adv[~window] == xt[~window]).all()  # nothing outside the fitted window changes
    r, c = int(top), int(left)
    inside = adv[changed][..., r : r + 3, c : c + 3]
    assert torch.equal(inside, state["patch"].expand_as(inside))


def test_placed_writes_the_patch_at_each_samples_corner_and_back_propagates_to_it() -> None:
    """One corner per sample, read at once: each sample's window holds the patch, the rest
    its frames; the patch's gradient sums every sample's window (weights 1..b here)."""
    torch.manual_seed(0)
    x, patch = torch.rand(3, 4, 2, 6, 5), torch.rand(4, 2, 2, 2).requires_grad_(True)
    top, left = torch.tensor([0, 4, 2]), torch.tensor([3, 0, 1])
    adv = placed(patch, x, top, left)
    expected = x.clone()
    for i, (r, c) in enumerate(zip(top.tolist(), left.tolist(), strict=True)):
        expected[i, ..., r : r + 2, c : c + 2] = patch.detach()
    assert torch.equal(adv, expected)
    weights = torch.arange(1.0, 4.0).view(3, 1, 1, 1, 1)
    (grad,) = torch.autograd.grad((adv * weights).sum(), patch)
    assert torch.equal(grad, torch.full_like(patch, 6.0))


def test_fitting_is_binary_seeded_and_random_placement_fits_no_window(split) -> None:
    model, (xv, yv), _ = split
    first, again = fitted_patch(model, xv, yv), fitted_patch(model, xv, yv)
    assert torch.equal(first["patch"], again["patch"]) and first["patch"].shape == (4, 2, 3, 3)
    assert set(first["patch"].unique().tolist()) <= {0.0, 1.0}
    assert first["corner"].tolist() == [-1, -1]


def test_a_universal_method_without_validation_data_is_refused(split) -> None:
    model, _, (xt, yt) = split
    with pytest.raises(UserError, match=r"^val_data=None but methods=\['event_patch_universal'\]"):
        snnattack.evaluate(
            model, (xt, yt), methods=["event_patch_universal"], progress=False, overrides=[EVENTS]
        )
    with pytest.raises(UserError, match="^method=event_patch_universal is a universal attack"):
        snnattack.attack(model, xt, yt, method="event_patch_universal", overrides=[EVENTS])
    spec = AttackSpec("event_patch_universal", 0.0, "white", {"area": 0.2})
    with pytest.raises(UserError, match="accepted: val_data=<validation images"):
        fit_specs(AttackSettings(recipe=Recipe("stbp")), [spec], model, None, None)
    assert needs_fitting("event_patch_universal") and not needs_fitting("event_patch")
    threes = yt == 3
    with pytest.raises(
        UserError, match=r"^none of the \d+ validation images is clean-correct and not of class 3"
    ):
        UniversalEventPatch(model, target=3).fit(xt[threes], yt[threes])
    with pytest.raises(UserError, match="validation images is clean-correct, so a universal"):
        UniversalSparseFool(model).fit(xt, (yt + 1) % 10)


def test_the_universal_patch_keys_are_checked(compose) -> None:
    with pytest.raises(ConfigError, match="method.event_patch_universal.epochs=0"):
        validate(
            compose(EVENTS, "method=event_patch_universal", "method.event_patch_universal.epochs=0")
        )
    with pytest.raises(ConfigError, match="eviction='lru' is unknown; accepted: heatmap, random"):
        validate(
            compose(
                EVENTS, "method=sparsefool_universal", "method.sparsefool_universal.eviction=lru"
            )
        )
    with pytest.raises(ConfigError, match="threshold=1.5"):
        validate(
            compose(
                EVENTS, "method=event_patch_universal", "method.event_patch_universal.threshold=1.5"
            )
        )


def test_random_flips_per_sample_are_not_the_masking_baseline_of_a_universal_patch() -> None:
    row = {"method": "event_patch_universal", "box": "white", "l0_hist": {"4": 2, "9": 1}}
    assert largest_l0(row) is None and largest_l0({**row, "method": "event_patch"}) == 9


def test_the_universal_flips_are_the_same_bits_in_every_sample_and_within_budget(split) -> None:
    model, (xv, yv), (xt, yt) = split
    with gradient_mode(model, "stbp"):
        torch.manual_seed(0)
        state = UniversalSparseFool(model, max_hamming_distance=10, rounds=1).fit(xv, yv)
        adv = UniversalSparseFool(model, max_hamming_distance=10, fitted=state)(xt, yt)
    flips = state["flips"]
    assert int(flips.sum()) == 10 and set(flips.unique().tolist()) == {0.0, 1.0}
    changed = (adv != xt).flatten(1).any(1)
    with torch.no_grad():
        fooled = model(torch.where(flips.bool(), 1 - xt, xt)).argmax(1) != yt
    assert changed.any() and torch.equal(changed, fooled)
    assert ((adv[changed] != xt[changed]) == flips.bool()).all()  # exactly the set, each sample


def test_heatmap_eviction_keeps_the_hottest_bits_and_the_later_one_on_ties(split) -> None:
    model = split[0]
    attack = UniversalSparseFool(model, max_hamming_distance=2)
    flips = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0])
    heat = torch.tensor([3.0, 1.0, 9.0, 1.0, 0.0])
    assert attack._evict(flips, heat).tolist() == [1.0, 0.0, 0.0, 1.0, 0.0]
    torch.manual_seed(0)
    randomly = UniversalSparseFool(model, max_hamming_distance=2, eviction="random")
    kept = randomly._evict(flips, heat)
    assert int(kept.sum()) == 2 and (kept <= flips).all()
