"""attack.tune: gradient-mode parameters chosen per row on validation images, never on test."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
from harness import QUICK, compose, resolved

from snnattack.attacks.grids import grid, grid_values
from snnattack.attacks.parse import attack_specs
from snnattack.attacks.tuning import _asr, prepared_specs, tune_specs, validation_batch
from snnattack.config.parse import attack_settings, data_settings
from snnattack.config.validation import validate
from snnattack.data import datamodule, first_samples
from snnattack.errors import ConfigError, UserError
from snnattack.preparation.config import job_settings
from snnattack.settings import Recipe
from snnattack.snn.neurons import LIF

GAMMAS = [0.1, 1.275, 2.45]  # the authors' range in steps of 1.175
ONE = (1, 1, 0)  # time extension, EOT samples, seed


def config(*overrides: str):
    return compose(
        "attack=hart",
        "attack.tune.enabled=true",
        "attack.tune.val_size=60",
        "attack.tune.grids.hart.gamma.step=1.175",
        "method=[pgd]",
        "method.pgd.steps=3",
        "eps=[24]",
        "boxes=[white]",
        *overrides,
    )


def validation(dm, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``size`` images of the validation split: the batch a job tunes on."""
    dm.setup("validate")
    return first_samples(dm.val_dataloader(), size)


@pytest.fixture(scope="module")
def model(direct):
    return direct[0]


def test_hart_grid_is_the_authors_0_10_to_2_45_in_steps_of_0_05() -> None:
    tune = resolved(compose())["attack"]["tune"]
    gammas = [p["gamma"] for p in grid(tune, "hart")]
    assert len(gammas) == 48 and gammas[0] == 0.1 and gammas[-1] == 2.45
    assert gammas[1] == 0.15
    assert len(grid(tune, "rga")) == 16  # the product of beta's and gamma's values


def test_tuning_reads_validation_only_and_keeps_the_best_grid_point(model) -> None:
    cfg = config()
    dm = datamodule(data_settings(cfg, 0))
    dm.setup()
    x_test, y_test = dm.test_set.tensors
    dm.test_set = torch.utils.data.TensorDataset(x_test, torch.full_like(y_test, 99))  # unusable
    x, y = validation(dm, 60)  # the batch a job hands to the tuning
    assert (y != 99).all()
    (spec,) = tune_specs(attack_settings(cfg), attack_specs(cfg), model, None, (x, y))
    torch.manual_seed(0)
    with torch.no_grad():
        correct = model(x).argmax(1) == y
    scores = [_asr(model, model, x, y, correct, spec, Recipe("hart", {"gamma": g})) for g in GAMMAS]
    assert spec.grad_params == {"gamma": GAMMAS[scores.index(max(scores))]}
    assert spec.tuned == {"params": spec.grad_params, "val_asr": max(scores), "val_n": 60}
    assert len(set(scores)) > 1  # the grid matters on this model


def test_the_validation_batch_is_the_first_val_size_validation_images_where_a_row_tunes() -> None:
    cfg = config()
    dm = datamodule(data_settings(cfg, 0))
    x, y = validation_batch(job_settings(cfg), dm)
    expected_x, expected_y = validation(datamodule(data_settings(cfg, 0)), 60)
    assert torch.equal(x, expected_x) and torch.equal(y, expected_y)
    with pytest.raises(UserError, match=r"^val_data=None but the attack tunes"):
        validation_batch(job_settings(cfg), None)
    assert validation_batch(job_settings(config("attack.tune.enabled=false")), None) is None


def test_without_tuning_specs_are_unchanged(model) -> None:
    cfg = config("attack.tune.enabled=false")
    specs = attack_specs(cfg)
    assert tune_specs(attack_settings(cfg), specs, model, None, None) == specs


def test_a_mode_without_parameters_is_left_untuned(model) -> None:
    cfg = config("attack=bptr")
    validate(cfg)
    dm = datamodule(data_settings(cfg, 0))
    batch = validation(dm, 60)
    (spec,) = tune_specs(attack_settings(cfg), attack_specs(cfg), model, None, batch)
    assert spec.grad_params is None and spec.tuned is None


def test_tuning_a_mode_without_parameters_runs_it_as_it_is_noted_in_console_and_record(
    cli, digits_store: Path, tmp_path: Path
) -> None:
    def job(out: str, *overrides: str):
        done = cli(
            *QUICK,
            "boxes=[white]",
            "attack=bptr",
            "attack.tune.val_size=8",
            f"store.dir={digits_store}",
            f"hydra.run.dir={tmp_path / out}",
            *overrides,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads((tmp_path / out / "metrics.json").read_text()), done.stdout + done.stderr

    tuned, log = job("tuned", "attack.tune.enabled=true")
    plain, _ = job("plain")
    note = (
        "attack.tune.enabled=true tunes nothing with attack.grad_mode=bptr: it has no "
        "parameter to tune; its rows run as they are"
    )
    assert tuned["notes"] == [note] and f"note: {note}" in log
    assert plain["notes"] == []
    (row,), (same,) = tuned["results"], plain["results"]
    assert row["tuned"] is None and (row["asr"], row["adv_acc"]) == (same["asr"], same["adv_acc"])


@pytest.mark.parametrize(
    "override,message",
    [
        ("attack.tune.grids.hart.gamma.step=0", "attack.tune.grids.hart.gamma={start: 0.1, "),
        ("~attack.tune.grids.hart.gamma", "attack.tune.grids.hart.gamma is missing"),
        (
            "+attack.tune.grids.hart.width=[1.0]",
            "attack.tune.grids.hart.width=1.0 is unknown; accepted: gamma",
        ),
        ("~attack.tune.grids.stbp attack=stbp", "attack.tune.grids.stbp is missing"),
        (
            "attack.tune.grids.stbp.width=null",
            "attack.tune.grids.stbp={width: null, alpha: null} tunes nothing",
        ),
        ("attack.tune.val_size=0", "attack.tune.val_size=0 is out of range"),
    ],
)
def test_a_bad_tuning_setting_is_one_config_error(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate(config(*override.split()))


def test_a_null_grid_parameter_is_not_tuned() -> None:
    tune = resolved(compose("attack.tune.grids.stbp.alpha=[2,4]"))["attack"]["tune"]
    assert len(grid(tune, "stbp")) == 8  # width's 4 values by alpha's 2
    tune["grids"]["stbp"]["width"] = None
    assert grid(tune, "stbp") == [{"alpha": 2}, {"alpha": 4}]


def test_grid_ranges_include_both_ends() -> None:
    assert grid_values("k", {"start": 1.0, "stop": 2.0, "step": 0.5}) == [1.0, 1.5, 2.0]


def test_a_grid_parameter_no_neuron_reads_is_dropped_with_a_note(caplog) -> None:
    """stbp's width grid on a network whose neurons' own surrogate is the arctan would tie
    every point and record a width that chose nothing; a grid of alpha, or a named triangle,
    is tuned."""
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    from spikingjelly.activation_based import surrogate
    from torch import nn

    from snnattack.attacks.tuning import read_grid
    from snnattack.interop import adapt

    node = neuron.IFNode(surrogate_function=surrogate.ATan(), step_mode="m")
    net = adapt(nn.Sequential(nn.Flatten(2), nn.Linear(4, 3), node), T=2)
    tune = resolved(compose())["attack"]["tune"]
    own = {"surrogate": None, "width": None, "alpha": None}
    with caplog.at_level("WARNING", logger="snnattack.attacks.tuning"):
        assert read_grid(tune, "stbp", net, own, "white") == [{}]
    (note,) = [r.getMessage() for r in caplog.records]
    assert note.startswith(
        "note: attack.tune.grids.stbp.width changes no gradient of the target, which the "
        "white-box rows are crafted on (its neurons read alpha, surrogate under attack=stbp"
    )
    caplog.clear()
    with caplog.at_level("WARNING", logger="snnattack.attacks.tuning"):
        assert read_grid(tune, "stbp", net, own, "black") == [{}]
    (note,) = [r.getMessage() for r in caplog.records]
    assert "no gradient of the source, which the black-box rows are crafted on" in note
    both = {**tune, "grids": {"stbp": {"width": [0.5, 1.0], "alpha": [1.0, 2.0]}}}
    assert read_grid(both, "stbp", net, own, "white") == [{"alpha": 1.0}, {"alpha": 2.0}]
    named = {**own, "surrogate": "triangle"}
    assert [p["width"] for p in read_grid(tune, "stbp", net, named, "black")] == [
        0.25,
        0.5,
        1.0,
        2.0,
    ]


def test_a_grid_whose_points_all_score_alike_leaves_the_row_untuned_and_says_so(
    model, caplog: pytest.LogCaptureFixture
) -> None:
    """On one validation image that nothing fools every point scored 0 %: the first point
    (the authors' narrowest gamma, often the weakest) was recorded as tuned. Then the row's
    ``tuned`` was null, as a row's of a job that tunes nothing: it says no point was chosen."""
    cfg = config("attack.params.gamma=1.0")
    dm = datamodule(data_settings(cfg, 0))
    x, y = validation(dm, 60)
    with torch.no_grad():
        missed = (model(x).argmax(1) != y).nonzero()[:1, 0]  # a misclassified image: 0 % ASR
    (spec,) = tune_specs(
        attack_settings(cfg), attack_specs(cfg), model, None, (x[missed], y[missed])
    )
    assert spec.grad_params is None  # the recipe's: gamma=1.0
    assert spec.tuned == {"params": None, "val_asr": 0.0, "val_n": 1}
    assert "every point of attack.tune.grids.hart for pgd/white/eps24 scored 0.00 %" in caplog.text
    notes: list[str] = []  # the job's record: the note was printed, never in its notes
    prepared_specs(
        attack_settings(cfg),
        attack_specs(cfg),
        model,
        None,
        (x[missed], y[missed]),
        (),
        False,
        notes,
    )
    (note,) = notes
    assert note.startswith("every point of attack.tune.grids.hart for pgd/white/eps24 scored")


def test_grid_points_without_an_rga_curve_for_the_neurons_are_left_out(
    model, caplog: pytest.LogCaptureFixture
) -> None:
    """beta=0.3 ends RGA's ramp below the onset of lambda=0.5: the mode refuses it, which
    stopped the job in the middle of its tuning."""
    leaky = copy.deepcopy(model)
    for m in leaky.modules():
        if isinstance(m, LIF):
            m.lam = 0.5
    cfg = compose(
        "attack=rga",
        "attack.tune.enabled=true",
        "attack.tune.val_size=20",
        "attack.tune.grids.rga.beta=[0.3,2.0]",
        "attack.tune.grids.rga.gamma=[0.2]",
        "method=[fgsm]",
        "eps=[24]",
        "boxes=[white]",
        "lambda=0.5",
    )
    x, y = validation(datamodule(data_settings(cfg, 0)), 20)
    (spec,) = tune_specs(attack_settings(cfg), attack_specs(cfg), leaky, None, (x, y))
    assert spec.grad_params == {"beta": 2.0, "gamma": 0.2}
    assert "attack.tune.grids.rga's point {'beta': 0.3, 'gamma': 0.2} does not fit" in caplog.text


def test_an_ensemble_component_records_how_it_was_tuned_or_that_nothing_was_chosen(
    model,
) -> None:
    """A component's ``tuned`` is a row's: the values and their validation score, or no
    values (None) with the score every point shared where no point scored above another
    (it was the request, true, then null: a component not asked to be tuned)."""
    cfg = compose(
        "attack.tune.val_size=60",
        "attack.tune.grids.hart.gamma.step=1.175",
        "method=[ensemble]",
        "method.ensemble.components=[{attack: hart, method: pgd, tune: true, params: {steps: 3}}]",
        "eps=[24]",
        "boxes=[white]",
    )
    x, y = validation(datamodule(data_settings(cfg, 0)), 60)
    with torch.no_grad():
        missed = (model(x).argmax(1) != y).nonzero()[:1, 0]  # nothing fools it: all alike
    for batch, val_n in (((x, y), 60), ((x[missed], y[missed]), None)):
        (spec,) = tune_specs(attack_settings(cfg), attack_specs(cfg), model, None, batch)
        (part,) = spec.params["components"]
        if val_n is None:
            assert part.tuned == {"params": None, "val_asr": 0.0, "val_n": 1}
            assert part.grad_params["gamma"] == 1.0  # hart's configured
        else:
            assert part.tuned["params"] == part.grad_params and part.tuned["val_n"] == val_n
            assert part.grad_params["gamma"] in GAMMAS and 0 <= part.tuned["val_asr"] <= 100


def test_an_ensemble_component_crafted_on_an_ann_source_is_left_untuned_without_a_note(
    model, caplog: pytest.LogCaptureFixture
) -> None:
    """An ANN crafts by autograd: no gradient-mode grid applies. A tuned component's grid was
    read on the black box's ReLU source and each parameter noted as read by none of 'its
    neurons', a note that reads as a claim about the user's own model."""
    from torch import nn

    cfg = compose(
        "attack.tune.val_size=20",
        "method=[ensemble]",
        "method.ensemble.components=[{attack: hart, method: pgd, tune: true, params: {steps: 1}}]",
        "eps=[24]",
        "boxes=[black]",
    )
    x, y = validation(datamodule(data_settings(cfg, 0)), 20)
    torch.manual_seed(0)
    ann = nn.Sequential(nn.Flatten(), nn.Linear(x[0].numel(), 16), nn.ReLU(), nn.Linear(16, 10))
    with caplog.at_level("WARNING", logger="snnattack.attacks.tuning"):
        (spec,) = tune_specs(attack_settings(cfg), attack_specs(cfg), model, ann.eval(), (x, y))
    (part,) = spec.params["components"]
    assert part.tuned is None and part.grad_params["gamma"] == 1.0  # hart's configured
    assert "changes no gradient" not in caplog.text and "every point" not in caplog.text
