"""The worst-case ensemble (method=[ensemble]): components from attack= and method= names, each
run on the samples earlier ones failed to fool, robust accuracy at or below every component."""

from __future__ import annotations

import re
from collections.abc import Callable

import lightning as L
import pytest
import torch
from harness import QUIET, compose

from snnattack.attacks import ensemble
from snnattack.attacks.crafting import aimed_classes, craft
from snnattack.attacks.ensemble import Component, worst_case
from snnattack.attacks.parse import attack_specs, components
from snnattack.config.validation import validate
from snnattack.errors import ConfigError
from snnattack.evaluation.evaluator import AttackEvaluator
from snnattack.settings import Recipe

EPS = 16 / 255
# attacks whose example of a sample depends on that sample only (no random start), so a
# component run alone and inside the ensemble see the same thing
DETERMINISTIC = (
    "method.ensemble.components=[{attack: stbp, method: fgsm},"
    "{attack: rga, method: bim, params: {steps: 3}},{attack: hart, method: mifgsm},"
    "{attack: bptr, method: bim, params: {steps: 3}}]"
)


def config(*overrides: str):
    return compose("method=[ensemble]", *overrides)


def test_default_components_name_existing_modes_and_methods() -> None:
    cfg = config()
    validate(cfg)
    parts = components(cfg, "ensemble")
    assert [p.name for p in parts] == [
        "apgd/stbp",
        "apgd/rga",
        "apgd/hart",
        "apgd/pdsg",
        "apgd/assg",
        "apgd_dlr/stbp",
        "sapgd/assg",
        "square",
    ]
    assert parts[5].params["loss"] == "dlr" and parts[7].params["n_queries"] == 5000
    assert parts[2].tune and not parts[0].tune
    own = {"surrogate": None, "width": None, "alpha": None}  # each neuron's own surrogate
    assert parts[0].grad_params == own
    assert all(p.eot_samples == 1 for p in parts)
    for random in ("poisson", "poisson_signed"):  # each draws anew at every forward
        poisson = components(config(f"encoding={random}"), "ensemble")
        assert [p.eot_samples for p in poisson] == [8] * 7 + [1]  # Square takes no EOT


def test_the_quick_ensemble_is_a_subset_of_the_default_without_tuning() -> None:
    cfg = compose("method=[ensemble_quick]")
    validate(cfg)
    spec = attack_specs(cfg)[0]
    assert spec.method == "ensemble_quick" and spec.algorithm == "ensemble"
    quick = spec.params["components"]
    assert [p.name for p in quick] == [
        "apgd/stbp",
        "apgd/rga",
        "apgd/assg",
        "apgd_dlr/stbp",
        "sapgd/assg",
        "square",
    ]
    full = {p.name: p for p in components(config(), "ensemble")}
    assert all(p.grad_params == full[p.name].grad_params for p in quick)
    assert not any(p.tune for p in quick) and quick[-1].params["n_queries"] == 500


@pytest.mark.parametrize(
    "component,message",
    [
        ("{attack: pdsg_typo, method: apgd}", "components[0].attack='pdsg_typo' is unknown"),
        ("{attack: stbp, method: cw}", "components[0].method='cw' is unknown"),
        ("{attack: stbp, method: ensemble}", "components[0].method='ensemble' is unknown"),
        ("{method: ensemble_quick}", "components[0].method='ensemble_quick' is unknown"),
        ("{method: apgd}", "components[0].attack is missing"),
        (  # a misspelt name or key: the one it is most like
            "{attack: stbpp, method: apgd}",
            "components[0].attack='stbpp' is unknown (did you mean stbp?); accepted: ",
        ),
        (
            "{attack: stbp, methd: apgd}",
            "components[0].methd is unknown (did you mean method?); accepted: attack, method, ",
        ),
        ("{attack: stbp}", "components[0].method is missing; accepted: one of apgd, apgd_dlr, "),
        ("{attack: stbp, method: pgd, params: {stepz: 2}}", "pgd/stbp.params.stepz=2 is unknown"),
    ],
)
def test_a_component_that_does_not_exist_is_refused_not_dropped(component, message) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate(config(f"method.ensemble.components=[{component}]"))


def test_ensemble_robust_accuracy_is_at_most_each_component_alone_per_sample(direct) -> None:
    model, x, y = direct
    x, y = x[:64], y[:64]
    parts = components(config(DETERMINISTIC), "ensemble")

    def judge(batch):
        with torch.no_grad():
            return model(batch).argmax(1)

    correct = judge(x) == y
    started = []
    adv, queries, firsts, seconds, aimed, goals = worst_case(
        parts, model, judge, x, y, correct, EPS, starting=lambda j, part: started.append(part)
    )
    assert started == parts[: len(started)] and len(seconds) == len(parts)
    assert (seconds[: len(started)] > 0).all() and (seconds[len(started) :] == 0).all()
    robust = judge(adv) == y
    assert not (robust & ~correct).any()
    for part in parts:
        recipe = Recipe(part.grad_mode, part.grad_params)
        alone, _ = craft(part.algorithm, model, x, y, EPS, part.params, recipe)
        alone_robust = correct & (judge(alone) == y)
        assert not (robust & ~alone_robust).any(), part.name  # per sample
        assert robust.sum() < correct.sum()
    assert int(firsts.sum()) == int((correct & ~robust).sum())
    assert queries > 0 and (adv - x).abs().max() <= EPS + 1e-6
    assert aimed is None and goals is None  # no component is targeted


def test_ensemble_row_records_robust_accuracy_and_first_successes(direct) -> None:
    model, x, y = direct
    cfg = config(DETERMINISTIC, f"eps=[{EPS * 255:g}]", "boxes=[white]")
    specs = attack_specs(cfg)
    evaluator = AttackEvaluator(model, None, specs, Recipe("stbp"))
    loader = torch.utils.data.DataLoader(list(zip(x[:64], y[:64], strict=True)), batch_size=20)
    L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, inference_mode=False
    ).test(evaluator, loader, verbose=False)
    (row,) = evaluator.results
    assert row.method == "ensemble" and row.grad_mode == "ensemble"
    assert [c["name"] for c in row.components] == [
        "fgsm/stbp",
        "bim/rga",
        "mifgsm/hart",
        "bim/bptr",
    ]
    fooled = sum(c["first_successes"] for c in row.components)
    assert fooled == round(row.asr * row.n_correct / 100)
    (timing,) = evaluator.timings.values()  # the row's and each component's seconds
    assert list(timing["components"]) == [c["name"] for c in row.components]
    assert all(s > 0 for s in timing["components"].values())  # each ran on some batch
    assert timing["total"] >= sum(timing["components"].values()) - 0.05  # rounding
    assert row.components[0]["first_successes"] > 0


def test_a_job_with_the_ensemble_gives_one_robust_accuracy_per_eps_and_box(
    run_job: Callable[..., dict],
) -> None:
    """``python run.py 'method=[ensemble]'``: one row per (ε, box), its adv_acc the robust
    accuracy, its components' first successes adding up to the samples it fooled."""
    cheap = (
        "method.ensemble.components=[{attack: stbp, method: fgsm},"
        "{method: square, params: {n_queries: 10}}]"
    )
    metrics = run_job(*QUIET, "train.epochs=1", "method=[ensemble]", cheap, "eps=[16,32]")
    rows = metrics["results"]
    assert sorted((r["eps_255"], r["box"]) for r in rows) == [
        (e, b) for e in (16, 32) for b in ("black", "white")
    ]
    for row in rows:
        assert row["method"] == row["grad_mode"] == "ensemble"
        assert 0 <= row["adv_acc"] <= metrics["clean_acc"]
        fooled = sum(c["first_successes"] for c in row["components"])
        assert fooled == round(row["asr"] * row["n_correct"] / 100)


def test_the_jobs_seed_seeds_the_methods_that_take_their_own() -> None:
    """APGD, APGD-DLR, SA-PGD, Square and AutoAttack reseed their random parts with their own
    ``seed`` at every batch: it is the job's ``seed`` (a fixed 0 once left every seed of a study
    with one draw of theirs), in a row of its own and in an ensemble; a number fixes it."""
    seeded = ["apgd", "apgd_dlr", "sapgd", "square", "autoattack"]
    cfg = compose(f"method=[{','.join(seeded)},ensemble]", "seed=3", "method.square.seed=5")
    rows = attack_specs(cfg)
    specs = [s for s in rows if s.box == "white" and s.eps == rows[0].eps]  # one per method
    assert {s.method: s.params["seed"] for s in specs if s.method in seeded} == {
        "apgd": 3, "apgd_dlr": 3, "sapgd": 3, "square": 5, "autoattack": 3
    }  # fmt: skip
    (ensemble,) = [s for s in specs if s.method == "ensemble"]
    parts = [p for p in ensemble.params["components"] if p.method in seeded]
    assert parts and {p.params["seed"] for p in parts} == {3}


class Drawing(torch.nn.Module):
    """``model`` with a random forward: each forward without a gradient (a prediction) draws
    a number, as a Poisson encoder draws its spikes, and keeps it."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model, self.draws = model, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled():
            self.draws.append(torch.rand(()).item())
        return self.model(x)


def test_the_ensemble_picks_its_examples_on_other_draws_than_the_one_that_scores_them(
    direct,
) -> None:
    """A random forward judged on the draw that scores it kept, per sample, the candidates
    that this draw happened to misclassify: Poisson models' robust accuracy read 55 % where
    fresh draws gave 70 %. The clean check and the score share their draw (paired)."""
    model, x, y = direct
    target = Drawing(model)
    specs = attack_specs(config(DETERMINISTIC, f"eps=[{EPS * 255:g}]", "boxes=[white]"))
    evaluator = AttackEvaluator(target, None, specs, Recipe("stbp"))
    loader = torch.utils.data.DataLoader(list(zip(x[:20], y[:20], strict=True)), batch_size=20)
    L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, inference_mode=False
    ).test(evaluator, loader, verbose=False)
    clean, *judged, scored = evaluator.target.draws
    assert scored == clean and len(judged) >= 1
    assert clean not in judged


def test_a_targeted_component_aims_at_the_samples_left_to_it_and_names_the_kept_goals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The inputs are the logits of 3 classes: an untargeted component moves samples 0 and 1
    to class 1 first; then one with ``target: 2`` gets 2, 3, 4 (0 and 1 fooled already) and
    aims at 2 and 3 (4 is of class 2), moving 2 to class 2 and 3 to class 0 (fooled, not
    reached: kept all the same, as the worst case keeps a component's first success). So
    ``aimed`` is 2 and 3, and ``goals`` names 2 for both kept targeted examples, -1 for the
    untargeted component's (the row's targeted rate: 1 of 2)."""
    y = torch.tensor([0, 0, 0, 1, 2])
    moves = {"first": {0: 1, 1: 1}, "aimed": {2: 2, 3: 0}}

    def crafted(algorithm, crafter, x, labels, eps, params, recipe):
        adv = x.clone()
        for k, index in enumerate(x[:, 3].long().tolist()):
            if index in moves[params["plan"]]:
                adv[k, :3] = torch.nn.functional.one_hot(
                    torch.tensor(moves[params["plan"]][index]), 3
                ).float()
        return adv, len(x), {}, aimed_classes(object(), labels, params)

    monkeypatch.setattr(ensemble, "craft_tracked", crafted)
    x = torch.cat([torch.nn.functional.one_hot(y, 3).float(), torch.arange(5.0)[:, None]], 1)
    parts = [
        Component(plan, "stbp", "stbp", {}, "fgsm", "fgsm", {"plan": plan, **params})
        for plan, params in (("first", {}), ("aimed", {"target": 2}))
    ]
    correct = torch.ones(5, dtype=torch.bool)
    worst = worst_case(parts, None, lambda b: b[:, :3].argmax(1), x, y, correct, 1.0)
    assert worst.firsts.tolist() == [2, 2] and worst.queries == 5 + 3
    assert worst.aimed.tolist() == [False, False, True, True, False]
    assert worst.goals.tolist() == [-1, -1, 2, 2, -1]


def test_a_kept_example_aimed_at_its_samples_own_class_has_no_goal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A component with ``target: 1`` aims at sample 0 (class 0) but not at sample 1 (class
    1, its own); where the judge calls both fooled, sample 0's kept goal is 1 and sample 1's
    -1: a goal of its own class would count a targeted success wherever the row's scoring
    put it back in its class (a random forward's other draw)."""

    def crafted(algorithm, crafter, x, labels, eps, params, recipe):
        return x.clone(), len(x), {}, aimed_classes(object(), labels, params)

    monkeypatch.setattr(ensemble, "craft_tracked", crafted)
    y = torch.tensor([0, 1])
    part = Component("aimed", "stbp", "stbp", {}, "fgsm", "fgsm", {"target": 1})
    correct = torch.ones(2, dtype=torch.bool)
    worst = worst_case([part], None, lambda b: 1 - y, torch.zeros(2, 3), y, correct, 1.0)
    assert worst.firsts.tolist() == [2]
    assert worst.aimed.tolist() == [True, False]
    assert worst.goals.tolist() == [1, -1]


class Noisy(torch.nn.Module):
    """``model`` whose predictions (forwards without a gradient) are drawn: its logits plus
    noise, as a Poisson encoder's spikes are; its gradient is the model's own."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(x)
        return logits if torch.is_grad_enabled() else logits + 4 * torch.randn_like(logits)


def test_an_ensemble_of_one_component_scores_as_its_own_row_under_a_random_forward(
    direct,
) -> None:
    """A sample that the judge's draw did not call fooled kept its clean input, though the
    component's example may fool the draw that scores the row: an ensemble of PGD alone read
    15 % ASR where PGD's row read 30 % (Poisson inputs, EOT 8). It keeps the example."""
    model, x, y = direct
    cfg = config(
        "method=[fgsm,ensemble]",
        "method.ensemble.components=[{attack: stbp, method: fgsm}]",
        f"eps=[{EPS * 255:g}]",
        "boxes=[white]",
    )
    evaluator = AttackEvaluator(Noisy(model), None, attack_specs(cfg), Recipe("stbp"))
    loader = torch.utils.data.DataLoader(list(zip(x[:64], y[:64], strict=True)), batch_size=32)
    L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, inference_mode=False
    ).test(evaluator, loader, verbose=False)
    fgsm, worst = evaluator.results
    assert (fgsm.method, worst.method) == ("fgsm", "ensemble")
    assert 0 < fgsm.asr < 100 and worst.asr == fgsm.asr


def test_a_sample_no_component_fools_keeps_the_last_ones_example(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sample 0 is fooled by the first component and keeps its example; sample 1 by none and
    keeps the second's (not its clean input); sample 2 is misclassified clean and unattacked."""

    def crafted(algorithm, crafter, x, labels, eps, params, recipe):
        return x + params["shift"], len(x), {}, None

    monkeypatch.setattr(ensemble, "craft_tracked", crafted)
    y = torch.tensor([0, 0, 0])
    parts = [
        Component(f"c{k}", "stbp", "stbp", {}, "fgsm", "fgsm", {"shift": shift})
        for k, shift in enumerate((1.0, 2.0))
    ]
    correct = torch.tensor([True, True, False])
    x = torch.zeros(3, 1)
    judge = lambda b: (b[:, 0] == 1).long() * torch.tensor([1, 0, 0])  # noqa: E731
    worst = worst_case(parts, None, judge, x, y, correct, 1.0)
    assert worst.firsts.tolist() == [1, 0]
    assert worst.adv[:, 0].tolist() == [1.0, 2.0, 0.0]


def test_an_ann_sources_components_are_recorded_as_what_they_ran(direct) -> None:
    """``source_train=ann``: the black-box components were recorded as hart and rga with
    their parameters, though an ANN source is differentiated as it is (``ann-autograd``)."""
    model, x, y = direct
    torch.manual_seed(0)
    ann = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    cfg = config(
        "method.ensemble.components=[{attack: hart, method: fgsm},{method: square,"
        " params: {n_queries: 5}}]",
        f"eps=[{EPS * 255:g}]",
        "boxes=[black]",
    )
    evaluator = AttackEvaluator(model, ann, attack_specs(cfg), Recipe("stbp"))
    loader = torch.utils.data.DataLoader(list(zip(x[:16], y[:16], strict=True)), batch_size=16)
    L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, inference_mode=False
    ).test(evaluator, loader, verbose=False)
    (row,) = evaluator.results
    assert [(c["name"], c["grad_mode"], c["grad_params"]) for c in row.components] == [
        ("fgsm/hart", "ann-autograd", {}),
        ("square", "none", {}),
    ]
