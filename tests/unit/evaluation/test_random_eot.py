"""The EOT draws of a target (or black-box source) whose forward is random
(``attack.random_eot_samples``): the evaluation core probes its own copy of the model and
raises every gradient's draws where two seeded passes differ, the recipe's and each ensemble
component's that takes EOT; a deterministic model, or the key left null, runs
``attack.eot_samples`` as it is."""

from __future__ import annotations

import pytest
import torch
from harness import QUIET, compose
from torch import nn

from snnattack.attacks import crafting
from snnattack.attacks.crafting import craft
from snnattack.attacks.parse import attack_specs
from snnattack.config.parse import attack_settings
from snnattack.config.validation import validate
from snnattack.evaluation import attacked
from snnattack.evaluation.attacked import with_random_eot

ENSEMBLE = "method.ensemble.components=[{attack: stbp, method: apgd}, {method: square}]"
SMALL = (
    "method.ensemble.components=[{attack: stbp, method: pgd, params: {steps: 2}},"
    "{attack: rga, method: fgsm}]"
)


class Noisy(nn.Module):
    """A linear classifier of 8x8 images with Gaussian noise on its input at every forward."""

    def __init__(self, noise: float) -> None:
        super().__init__()
        self.noise, self.linear = noise, nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear((x + self.noise * torch.randn_like(x)).flatten(1))


def settings(*overrides: str):
    cfg = compose("method=[pgd,ensemble]", ENSEMBLE, "boxes=[white]", *overrides)
    return attack_settings(cfg), attack_specs(cfg)


def draws(attack, specs) -> tuple[int, list[int]]:
    """The recipe's draws and each ensemble component's, the same in every ensemble row."""
    (parts,) = {
        tuple(c.eot_samples for c in s.params["components"])
        for s in specs
        if s.method == "ensemble"
    }
    return attack.recipe.eot_samples, list(parts)


X = torch.rand(8, 1, 8, 8)


def test_a_random_forward_raises_every_gradients_draws_but_a_gradient_free_components() -> None:
    attack, specs = with_random_eot(
        *settings("attack.random_eot_samples=4"), {"white": Noisy(0.1)}, X
    )
    assert draws(attack, specs) == (4, [4, 1])  # Square takes no EOT


def test_a_method_that_averages_no_draws_crafts_on_one_under_a_random_forward() -> None:
    """A protocol's ``attack.random_eot_samples`` fits every method: Square (gradient-free)
    beside PGD is accepted and crafts on one draw, PGD on the raised draws."""
    cfg = compose(
        "method=[pgd,square]",
        "eps=[8]",
        "attack.random_eot_samples=4",
        "method.square.n_queries=2",
        "boxes=[white]",
    )
    validate(cfg)
    attack, specs = with_random_eot(
        attack_settings(cfg), attack_specs(cfg), {"white": Noisy(0.1)}, X
    )
    assert attack.recipe.eot_samples == 4
    built = []
    real = crafting.build_attack

    def recorded(algorithm, model, eps, eot_samples=1, **params):
        built.append((algorithm, eot_samples))
        return real(algorithm, model, eps, eot_samples=eot_samples, **params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(crafting, "build_attack", recorded)
        for spec in specs:
            craft(spec.algorithm, Noisy(0.1), X, torch.arange(8), 0.03, spec.params, attack.recipe)
    assert set(built) == {("pgd", 4), ("square", 1)}


def test_only_the_rows_crafted_on_a_random_forward_take_its_draws() -> None:
    """Each box's rows by the model they craft on: beside a random target, the black-box rows
    on a fixed source keep the draws asked (the recipe's, held by the row; the ensemble's
    components as they are), and the recipe states the most any row takes."""
    given = settings("attack.random_eot_samples=4", "boxes=[white,black]")
    attack, specs = with_random_eot(*given, {"white": Noisy(0.1), "black": Noisy(0.0)}, X)
    assert attack.recipe.eot_samples == 4
    rows = {(s.method, s.box): s for s in specs if s.eps == specs[0].eps}
    assert [rows["pgd", box].eot_samples for box in ("white", "black")] == [None, 1]
    parts = {
        box: [c.eot_samples for c in rows["ensemble", box].params["components"]]
        for box in ("white", "black")
    }
    assert parts == {"white": [4, 1], "black": [1, 1]}
    attack, specs = with_random_eot(*given, {"white": Noisy(0.0), "black": Noisy(0.1)}, X)
    rows = {(s.method, s.box): s for s in specs if s.eps == specs[0].eps}
    assert [rows["pgd", box].eot_samples for box in ("white", "black")] == [1, None]


def test_attack_eot_samples_stays_where_it_asks_more() -> None:
    given = settings("attack.random_eot_samples=4", "attack.eot_samples=6")
    attack, specs = with_random_eot(*given, {"white": Noisy(0.1)}, X)
    assert draws(attack, specs) == (6, [6, 1])


def test_a_deterministic_model_runs_attack_eot_samples() -> None:
    given = settings("attack.random_eot_samples=4")
    attack, specs = with_random_eot(*given, {"white": Noisy(0.0)}, X)
    assert (attack, specs) == (given[0], given[1]) and draws(attack, specs) == (1, [1, 1])


def test_the_model_is_not_probed_without_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attacked, "is_random", lambda *a: pytest.fail("probed"))
    attack, specs = with_random_eot(*settings(), {"white": Noisy(0.1)}, X)
    assert attack.random_eot_samples is None and draws(attack, specs) == (1, [1, 1])


def test_a_jobs_ann_rows_average_no_poisson_draws(run_job) -> None:
    """A job's ANN (``train.kind=ann``) reads its images as they are under
    ``encoding=poisson``: its white-box ensemble components craft on one draw, not the
    ensemble's ``poisson_eot_samples`` of one fixed forward, and the record says so; so do the
    black-box rows of a Poisson SNN's ANN source, while its own white-box rows average them."""
    quick = [
        *QUIET,
        "train.epochs=1",
        "eps=[32]",
        "method=[ensemble]",
        "checks.masking.enabled=false",
    ]
    quick.append("trainer.limit_test_batches=1")
    quick += [SMALL, "method.ensemble.poisson_eot_samples=3", "encoding=poisson"]

    def draws(*overrides: str) -> dict[str, list[int]]:
        metrics = run_job(*quick, *overrides, out=overrides[-1].split("=")[0])
        return {r["box"]: [c["eot_samples"] for c in r["components"]] for r in metrics["results"]}

    assert draws("train.kind=ann", "boxes=[white]") == {"white": [1, 1]}
    assert draws("boxes=[white,black]", "source_train=ann") == {"white": [3, 3], "black": [1, 1]}
