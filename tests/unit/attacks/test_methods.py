"""Attack methods on a trained digits SNN under each gradient mode, the time-extended attack,
expectation over transformation with Poisson inputs, and the shared Poisson draws of a check."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import lightning as L
import pytest
import torch
from harness import CONF, compose, sweep_metrics

from snnattack.attacks.crafting import craft
from snnattack.attacks.methods import GRADIENT_FREE, METHODS, build_attack
from snnattack.attacks.methods.sapgd import SAPGD, dlr_loss, halvings
from snnattack.config.validation import validate
from snnattack.errors import ConfigError
from snnattack.evaluation.evaluator import AttackCounts, AttackEvaluator
from snnattack.gradients import GRADIENT_MODES, gradient_mode
from snnattack.settings import AttackSpec, Recipe
from snnattack.snn.neurons import LIF

EPS = 32 / 255
FAST = {
    "fgsm": {},
    "rfgsm": {},
    "pgd": {},
    "bim": {},
    "mifgsm": {},
    "apgd": {"steps": 5},
    "sapgd": {"steps": 5},
    "square": {"n_queries": 50},
}  # small settings: the contract, not the strength


COMBINATIONS = [
    (m, mode) for m in sorted(FAST) if m not in GRADIENT_FREE for mode in sorted(GRADIENT_MODES)
] + [(m, "none") for m in sorted(GRADIENT_FREE)]


@pytest.mark.parametrize("method,mode", COMBINATIONS)
def test_every_method_runs_under_every_gradient_mode_inside_the_ball(direct, method, mode):
    model, x, y = direct
    x, y = x[:16], y[:16]
    torch.manual_seed(0)
    adv, queries = craft(method, model, x, y, EPS, FAST[method], Recipe(mode))
    delta = adv - x
    assert delta.abs().max() <= EPS + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1
    assert queries >= len(x)
    if method not in GRADIENT_FREE:  # Square returns only the examples that fooled the model
        assert delta.abs().max() > 0


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("method", sorted(FAST))
def test_every_method_runs_on_a_model_of_another_dtype_in_its_dtype(direct, method, dtype):
    """A model moved with ``.half()`` or ``.double()`` (the API takes it with images of its
    dtype): on a float16 model APGD, SAPGD and Square, which draw in float32, raised a dtype
    mismatch; they craft in float32, and the examples are rounded into the ball."""
    model, x, y = direct
    noise = torch.rand(x[:4].shape, generator=torch.Generator().manual_seed(0))
    x = 0.9 * x[:4] + 0.1 * noise  # classified as the images (APGD attacks those), any pixel
    model, x, y = copy.deepcopy(model).to(dtype), x.to(dtype), y[:4]
    adv, _ = craft(method, model, x, y, EPS, FAST[method], Recipe("stbp"))
    assert adv.dtype == dtype and adv.min() >= 0 and adv.max() <= 1
    # within ε once rounded to float16 (to the nearest, half a unit past ε: 8.03 of 8 / 255)
    assert (adv.double() - x.double()).abs().max() <= EPS + 1e-6


def test_autoattack_runs_and_keeps_to_the_ball(direct):
    model, x, y = direct
    x, y = x[:4], y[:4]
    adv, _ = craft("autoattack", model, x, y, 48 / 255, {"n_classes": 10}, Recipe("stbp"))
    assert (adv - x).abs().max() <= 48 / 255 + 1e-6 and adv.min() >= 0 and adv.max() <= 1


def _asr(model, x, y, method, params):
    torch.manual_seed(0)
    adv, _ = craft(method, model, x, y, EPS, params, Recipe("stbp"))
    with torch.no_grad():
        clean, fooled = model(x).argmax(1) == y, model(adv).argmax(1) != y
    return 100.0 * (clean & fooled).sum().item() / clean.sum().item()


def test_apgd_is_at_least_as_strong_as_pgd(direct):
    model, x, y = direct
    pgd = _asr(model, x, y, "pgd", {"steps": 7})
    apgd = _asr(model, x, y, "apgd", {"steps": 10})
    assert 0 < pgd < 100
    assert apgd >= pgd - 1.0


def test_sapgd_asr_does_not_fall_from_10_to_100_steps(direct):
    model, x, y = direct
    x, y = x[:48], y[:48]
    short = _asr(model, x, y, "sapgd", {"steps": 10})
    long = _asr(model, x, y, "sapgd", {"steps": 100})
    assert 0 < short < 100
    assert long >= short


def test_sapgd_is_seeded_and_leaves_the_global_random_state_alone(direct):
    model, x, y = direct
    x, y = x[:8], y[:8]
    runs = []
    for _ in range(2):
        torch.manual_seed(5)
        adv, queries = craft("sapgd", model, x, y, EPS, {"steps": 3, "seed": 1}, Recipe("stbp"))
        runs.append((adv, torch.rand(1), queries))
    torch.testing.assert_close(runs[0][0], runs[1][0])
    torch.manual_seed(5)
    assert runs[0][1] == torch.rand(1)  # the attack drew nothing from the global stream
    assert runs[0][2] == 4 * len(x)  # the start and one gradient per step


def test_sapgd_halves_its_step_on_the_schedule_it_is_given(direct):
    """The reference's schedule (0.22, 0.03, 0.06 of the steps, in whole steps of at least
    one); ``halving_shrink=0`` keeps the period fixed, as the key says, where it ran as a
    shrink of one step (any share under one step: 0 and 0.01 crafted the same examples)."""
    assert halvings(100, 0.22, 0.03, 0.06) == {22, 41, 57, 70, 80, 87, 93, 99}
    assert halvings(100, 0.22, 0.0, 0.06) == {22, 44, 66, 88}
    assert halvings(100, 0.22, 0.01, 0.06) == halvings(100, 0.22, 0.001, 0.06)  # whole steps
    assert halvings(10, 0.22, 0.03, 0.06) == {2, 3, 4, 5, 6, 7, 8, 9, 10}
    model, x, y = direct
    x, y = x[:8], y[:8]
    adv = {
        shrink: craft(
            "sapgd", model, x, y, EPS, {"steps": 30, "halving_shrink": shrink}, Recipe("stbp")
        )[0]
        for shrink in (0.0, 0.04)
    }
    assert not torch.equal(adv[0.0], adv[0.04])


def test_sapgd_returns_the_example_its_iterates_select(direct):
    """Each sample's example, read off the iterates the model saw (a forward hook): of the
    first restart that fooled it, the last iterate that did, else the first restart's first
    iterate of highest loss; bit for bit (the selection runs as masks over the batch)."""
    model, x, y = direct
    x, y = x[:32], y[:32]
    restarts, steps, seen = 2, 4, []
    handle = model.register_forward_hook(lambda _, args, out: seen.append((args[0], out)))
    with gradient_mode(model, "stbp"):
        adv = SAPGD(model, EPS, steps=steps, n_restarts=restarts, loss="dlr")(x, y)
    handle.remove()
    assert len(seen) == restarts * (steps + 1)  # the start and one gradient per step
    iterates = torch.stack([i.detach() for i, _ in seen]).view(restarts, steps + 1, *x.shape)
    logits = torch.stack([o.detach() for _, o in seen])
    fooled = (logits.argmax(2) != y).view(restarts, steps + 1, len(y))
    loss = torch.stack([dlr_loss(o, y) for o in logits]).view(restarts, steps + 1, len(y))
    for i in range(len(y)):
        tries = fooled[:, :, i].any(1).nonzero()
        if len(tries):
            r = int(tries[0])
            expected = iterates[r, int(fooled[r, :, i].nonzero()[-1]), i]
        else:
            expected = iterates[0, int(loss[0, :, i].argmax()), i]
        assert torch.equal(adv[i], expected)
    assert 0 < fooled.any(1).any(0).sum() < len(y)  # both branches compared
    assert (fooled[1].any(0) & ~fooled[0].any(0)).any()  # a sample the second restart fooled


def _evaluate(model, x, y, specs, mode="stbp", **kwargs) -> AttackEvaluator:
    evaluator = AttackEvaluator(model, None, specs, Recipe(mode, **kwargs))
    loader = torch.utils.data.DataLoader(list(zip(x, y, strict=True)), batch_size=len(x))
    L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, inference_mode=False
    ).test(evaluator, loader, verbose=False)
    return evaluator


@pytest.mark.parametrize(
    ("method", "mode"),
    [("pgd", "stbp"), ("apgd", "stbp"), ("sapgd", "stbp"), ("apgd", "ann"), ("pgd", "rga")],
)
def test_steps_curve_records_the_running_best_at_each_count_in_one_run(direct, method, mode):
    """The curve judges the true (spiking) output of every iterate, also for the modes whose
    gradient comes from a rate-domain proxy pass (ann, rga): it never falls."""
    model, x, y = direct
    x, y = x[:48], y[:48]
    specs = [AttackSpec(method, 16 / 255, "white", {"steps": 10}), AttackSpec("fgsm", EPS, "white")]
    (row, fgsm) = _evaluate(model, x, y, specs, mode, steps_curve=(1, 3, 10, 50)).results
    assert fgsm.asr_curve is None  # a method without iterations has no curve
    steps = [p["steps"] for p in row.asr_curve]
    asr = [p["asr"] for p in row.asr_curve]
    assert steps == [1, 3, 10]  # 50 is beyond the attack's 10 steps
    assert asr == sorted(asr) and asr[-1] >= row.asr and asr[-1] > 0
    # the first 3 iterates of the 10-step run are those of a 3-step run with the same seed
    (short,) = _evaluate(
        model, x, y, [AttackSpec(method, 16 / 255, "white", {"steps": 3})], mode
    ).results
    assert asr[1] >= short.asr


def test_gradient_free_rows_record_no_gradient_mode_and_their_queries(direct):
    model, x, y = direct
    specs = [
        AttackSpec("square", EPS, "white", {"n_queries": 20}),
        AttackSpec("fgsm", EPS, "white", {}),
    ]
    evaluator = AttackEvaluator(model, None, specs, Recipe("rga"))
    loader = torch.utils.data.DataLoader(list(zip(x[:40], y[:40], strict=True)), batch_size=20)
    L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, inference_mode=False
    ).test(evaluator, loader, verbose=False)
    square, fgsm = evaluator.results
    assert square.grad_mode == "none" and fgsm.grad_mode == "rga"
    assert 1 < square.queries <= 21  # one query for the start, at most one per iteration
    assert fgsm.queries == 1  # one gradient, one call
    assert fgsm.linf == pytest.approx(EPS, abs=1e-6)
    assert 0 < square.linf <= EPS + 1e-6 and square.l2 > 0


def test_time_extended_attack_simulates_k_times_t_while_crafting_and_t_when_judging(direct):
    model, x, y = direct
    steps: list[int] = []
    hooks = [
        m.register_forward_pre_hook(lambda mod, args: steps.append(args[0].shape[0]))
        for m in model.modules()
        if isinstance(m, LIF)
    ]
    try:
        craft("pgd", model, x[:8], y[:8], EPS, {"steps": 2}, Recipe("stbp", time_extension=3))
        crafting = set(steps)
        steps.clear()
        with torch.no_grad():
            model(x[:8])
    finally:
        for h in hooks:
            h.remove()
    assert crafting == {3 * model.T} and set(steps) == {model.T} and model.T == 4


def _sign_disagreement(model, x, y, eot: int) -> float:
    """Share of pixels whose FGSM step differs between two calls (other Poisson draws)."""
    steps = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        adv, _ = craft("fgsm", model, x, y, EPS, {}, Recipe("stbp", eot_samples=eot))
        steps.append(torch.sign(adv - x))
    return (steps[0] != steps[1]).float().mean().item()


def test_eot_averaging_steadies_the_gradient_of_poisson_inputs(poisson):
    model, x, y = poisson
    x, y = x[:64], y[:64]
    single, averaged = _sign_disagreement(model, x, y, 1), _sign_disagreement(model, x, y, 16)
    assert single > 0.05  # one Poisson draw gives a noisy gradient
    assert averaged < 0.6 * single


def test_poisson_clean_and_adversarial_checks_see_the_same_draws(poisson):
    model, x, y = poisson
    x, y = x[:64], y[:64]
    with torch.no_grad():  # the same input under two other draws: some predictions change
        torch.manual_seed(1)
        first = model(x).argmax(1)
        torch.manual_seed(2)
        assert (model(x).argmax(1) != first).any()
    # eps = 0: the "adversarial" input is the clean one; with the same draws nothing flips
    evaluator = AttackEvaluator(model, None, [AttackSpec("fgsm", 0.0, "white", {})], Recipe("stbp"))
    loader = torch.utils.data.DataLoader(list(zip(x, y, strict=True)), batch_size=16)
    L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, inference_mode=False
    ).test(evaluator, loader, verbose=False)
    (row,) = evaluator.results
    assert row.asr == 0.0
    assert row.adv_acc == pytest.approx(evaluator.clean_result["clean_acc"])


def test_attack_counts_average_norms_and_queries_per_sample() -> None:
    counts = AttackCounts()
    delta = torch.tensor([[0.1, -0.2], [0.0, 0.3]])
    counts.update(torch.tensor([True, True]), torch.tensor([False, True]), delta, queries=10)
    c = counts.compute()
    assert c["linf"] == pytest.approx((0.2 + 0.3) / 2)
    assert c["l2"] == pytest.approx((0.05**0.5 + 0.3) / 2)
    assert c["queries"] == 5.0


def test_attack_counts_mean_norms_do_not_depend_on_how_the_samples_are_split() -> None:
    """A DDP job splits the samples among its ranks and batches otherwise than one process:
    its mean norms must be the same to the last bit (float sums of the norms were not: their
    rounding followed the split)."""
    g = torch.Generator().manual_seed(4)
    delta = torch.rand(64, 300, generator=g) * torch.rand(64, 1, generator=g)
    norms = delta.double().norm(dim=1)
    assert float(norms[:37].sum() + norms[37:].sum()) != float(norms.sum())  # floats differ
    means = []
    for splits in ([64], [37, 27], [5, 20, 30, 9]):
        counts = AttackCounts()
        for part in delta.split(splits):
            ones = torch.ones(len(part), dtype=torch.bool)
            counts.update(ones, ~ones, part)
        c = counts.compute()
        means.append((c["l2"], c["linf"]))
    assert means[0] == means[1] == means[2]
    assert means[0][0] == pytest.approx(float(norms.mean()), abs=1e-9)


def test_every_method_has_a_config_file() -> None:
    files = {p.stem for p in (CONF / "method").glob("*.yaml")}
    assert set(METHODS) <= files


def test_paper_presets_use_the_reference_pgd_step_exactly() -> None:
    from snnattack.attacks.parse import attack_specs

    paper, quick = compose("experiment=cifar10_vgg11"), compose()
    (pgd,) = [s for s in attack_specs(paper) if s.method == "pgd" and s.box == "white"]
    assert pgd.params["alpha"] == pytest.approx(0.01) and pgd.params["steps"] == 7
    assert all(s.params["alpha"] is None for s in attack_specs(quick) if s.method == "pgd")


@pytest.mark.slow
def test_run_py_sweeps_new_methods_with_time_extension_and_poisson_eot(
    tmp_path: Path, cli: Callable
) -> None:
    common = [
        "train.epochs=1",
        "eps=[32]",
        "boxes=[white]",
        "trainer.limit_test_batches=2",
        "trainer.enable_progress_bar=false",
        f"store.dir={tmp_path}/models",
    ]
    runs = {
        "te": ["-m", "attack=rga,stbp", "method=[fgsm,apgd,square]", "attack.time_extension=2"],
        "eot": ["encoding=poisson", "method=[fgsm,pgd]", "attack.eot_samples=4"],
        # Poisson inputs: a random forward, found by the core's probe of the first test batch
        "random": ["encoding=poisson", "method=[fgsm,pgd]", "attack.random_eot_samples=3"],
    }
    for name, args in runs.items():
        where = "hydra.sweep.dir" if "-m" in args else "hydra.run.dir"
        proc = cli(*args, *common, f"{where}={tmp_path}/{name}")
        assert proc.returncode == 0, proc.stderr[-2000:]
    te = sweep_metrics(tmp_path / "te")
    assert [[(r["method"], r["grad_mode"]) for r in m["results"]] for m in te] == [
        [("fgsm", "rga"), ("apgd", "rga"), ("square", "none")],
        [("fgsm", "stbp"), ("apgd", "stbp"), ("square", "none")],
    ]
    assert all(
        r["time_extension"] == 2 and r["linf"] <= 32 / 255 + 1e-6 for m in te for r in m["results"]
    )
    eot = json.loads((tmp_path / "eot" / "metrics.json").read_text())
    assert [(r["method"], r["eot_samples"]) for r in eot["results"]] == [("fgsm", 4), ("pgd", 4)]
    assert eot["config"]["encoding"] == "poisson" and eot["eot_samples"] == 4
    random = json.loads((tmp_path / "random" / "metrics.json").read_text())
    assert [r["eot_samples"] for r in random["results"]] == [3, 3] and random["eot_samples"] == 3


def test_a_method_file_without_a_name_is_refused_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was refused as settings of a method not in method=[] (noisy was in it)."""
    from snnattack.attacks import checks

    (tmp_path / "method").mkdir()
    (tmp_path / "method" / "noisy.yaml").write_text("# @package method.noisy\nseed: 0\n")
    monkeypatch.setattr(checks, "CONF_DIR", tmp_path)
    with pytest.raises(ConfigError, match=r"^conf/method/noisy.yaml sets no name .*<one of fgsm, "):
        checks.CHECKS["method_params"]({"method": {"noisy": {"seed": 0}}})


def test_a_method_file_without_its_package_line_is_said_so() -> None:
    """Its keys land at method.*: it was refused as method.name, not a dict of some 60 keys."""
    from omegaconf import OmegaConf

    from snnattack.config.keys import check_keys

    tree = OmegaConf.to_container(compose(), resolve=False)
    tree["method"] = {"name": "pgd", "steps": 3}  # conf/method/mine.yaml without its first line
    with pytest.raises(ConfigError) as err:
        check_keys(tree)
    assert str(err.value) == (
        "method.name='pgd' is not a dict: below method stands each chosen option's node "
        "(method.<its name>.<key>), and name is none; accepted: method.<its name>.name=..., and "
        "in a method file of yours the first line '# @package method.<its name>', which puts "
        "its keys there"
    )


def test_rfgsm_averages_its_gradients_over_eot_draws_as_torchattacks_steps() -> None:
    """R+FGSM took no EoT: a random model's R+FGSM row ran on one draw (the benchmark's
    stochastic entries all flagged), and attack.eot_samples was refused beside it."""
    from snnattack.attacks.methods.rfgsm import EOTRFGSM, rfgsm

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10)).eval()
    x, y = torch.rand(8, 1, 8, 8), torch.randint(0, 10, (8,))
    examples = []
    for draws in (1, 3):  # a model that is not random: every draw the same gradient
        torch.manual_seed(1)
        attack = rfgsm(model, EPS, steps=2, eot_samples=draws)
        assert isinstance(attack, EOTRFGSM) is (draws > 1)
        examples.append(attack(x, y))
    assert torch.equal(*examples)
    validate(compose("method=[rfgsm]", "attack.eot_samples=4"))


@pytest.mark.parametrize(
    ("method", "params", "line"),
    [
        ("pgdd", {}, "method='pgdd' is unknown (did you mean pgd?); accepted: "),
        ("apgd", {"loss": "dlrr"}, "method.apgd.loss='dlrr' is unknown (did you mean dlr?); "),
        ("sapgd", {"loss": "l2"}, "method.sapgd.loss='l2' is unknown; accepted: ce, dlr"),
    ],
)
def test_an_attack_built_by_name_refuses_an_unknown_name_in_one_line(method, params, line) -> None:
    """``build_attack``, the one maker of attacks by name, refuses a method or loss it does not
    have as the config does (the names listed, not a Python list; a misspelt one suggested)."""
    with pytest.raises(ConfigError) as err:
        build_attack(method, torch.nn.Linear(4, 2), 0.1, **params)
    assert str(err.value).startswith(line), str(err.value)
    assert "[" not in str(err.value)
