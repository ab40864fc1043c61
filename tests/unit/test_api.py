"""The Python API (``snnattack.evaluate``, ``attack``, ``gradient_mode``) on a digits SNN."""

from __future__ import annotations

import copy
import logging
import os
import random
import signal
import subprocess
import sys
import warnings

import numpy
import pytest
import torch
import torch.nn.functional as F
from fixtures_digits import trained
from foreign_nets import spikingjelly_plif
from harness import (
    QUIET,
    ROOT,
    compose,
    gpu_numerics,
    recording_numerics,
    users_gpu_numerics,
)
from torch.utils.data import DataLoader, TensorDataset

import snnattack
from snnattack import inputs
from snnattack import job as job_module
from snnattack.attacks import crafting
from snnattack.config import validation
from snnattack.config.parse import data_settings
from snnattack.data import datamodule
from snnattack.errors import UserError
from snnattack.evaluation import core
from snnattack.evaluation.evaluator import AttackEvaluator
from snnattack.evaluation.reuse import about_weights
from snnattack.interop import adapt
from snnattack.interop.prepared import PREPARED
from snnattack.models.zoo import build
from snnattack.preparation import config as preparation_config
from snnattack.process import malloc
from snnattack.process.numerics import SEED_VARIABLES
from snnattack.records.results import AttackRow, JobRecord
from snnattack.runtime.console import LIGHTNING_LOGGERS
from snnattack.snn.neurons import LIF

# a two-part worst case that runs in a second: STBP PGD, then RGA FGSM on what PGD left
SMALL_ENSEMBLE = (
    "method.ensemble.components=[{attack: stbp, method: pgd, params: {steps: 3}},"
    "{attack: rga, method: fgsm}]"
)


@pytest.fixture(scope="module")
def digits(request: pytest.FixtureRequest):
    """The session's 4-epoch digits SNN and its first 200 test images."""
    return trained(request.getfixturevalue("digits_store"))


def test_import_snnattack_does_not_import_torch_and_serves_its_documented_calls() -> None:
    """``import snnattack`` alone, then the calls the docs name by their dotted path
    (``snnattack.interop.adapt``, ``snnattack.benchmark.evaluate``): each module loads on
    first use."""
    code = (
        "import sys, snnattack; print('torch' in sys.modules); "
        "print(callable(snnattack.interop.adapt), callable(snnattack.benchmark.evaluate))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]


@pytest.mark.slow
def test_the_first_call_leaves_pythons_random_generator_as_it_was() -> None:
    """The first ``snnattack.attack`` of a process loads the API, whose import of rich drew
    24 bits of Python's ``random`` (rich.style's ids), after the user had seeded it: the
    user's next draws differed from a run without the call (a second call's did not)."""
    code = (
        "import random, torch, snnattack; from snnattack.models import build; "
        "net = build('digits_net', num_classes=10, in_channels=1, T=2); "
        "x, y = torch.rand(2, 1, 8, 8), torch.arange(2); draws = []\n"
        "for _ in range(2):\n"
        "    random.seed(0); snnattack.attack(net, x, y, eps=8, steps=1); "
        "draws.append(random.random())\n"
        "random.seed(0); print(draws == [random.random()] * 2)"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split()[-1] == "True"


def test_evaluate_gives_a_row_per_eps_and_method_the_ensemble_and_the_masking_checks(
    digits,
) -> None:
    model, x, y = digits
    record = snnattack.evaluate(
        model,
        (x[:64], y[:64]),
        eps=[8, 32],
        methods=["fgsm", "ensemble"],
        overrides=[SMALL_ENSEMBLE, "checks.masking.probe_size=16"],
    )
    assert isinstance(record, JobRecord) and record.n == 64
    assert record.models["target"]["class"] == "snnattack.models.base.SpikingNet"
    assert {n["lambda"] for n in record.models["target"]["neurons"]} == {1.0}
    assert all(isinstance(r, AttackRow) for r in record.results)
    assert [(r.method, r.eps_255, r.box) for r in record.results] == [
        ("fgsm", 8, "white"),
        ("fgsm", 32, "white"),
        ("ensemble", 8, "white"),
        ("ensemble", 32, "white"),
    ]
    assert record.clean_acc > 80
    fgsm8, fgsm32, ens8, ens32 = record.results
    assert fgsm8.asr <= fgsm32.asr and ens8.asr <= ens32.asr
    assert ens32.adv_acc <= fgsm32.adv_acc  # the worst case includes a stronger attack
    assert [c["name"] for c in ens8.components] == ["pgd/stbp", "fgsm/rga"]
    names = [c["name"] for c in record.masking["checks"]]
    assert "zero_gradients" in names and "unbounded_eps" in names
    assert set(record.masking["checks"][0]["share"]) == {"stbp", "rga"}


def test_an_ensemble_of_one_component_and_a_curve_of_one_count_are_recorded(digits) -> None:
    """One component, one curve count: torchmetrics gives a one-element count 0-d."""
    model, x, y = digits
    record = snnattack.evaluate(
        model,
        (x[:32], y[:32]),
        eps=[32],
        methods=["pgd", "ensemble"],
        overrides=[
            "method.ensemble.components=[{attack: stbp, method: fgsm}]",
            "method.pgd.steps=3",
            "attack.steps_curve=[2]",
        ],
        progress=False,
    )
    pgd, ensemble = record.results
    assert [c["name"] for c in ensemble.components] == ["fgsm/stbp"]
    assert ensemble.components[0]["first_successes"] == round(
        ensemble.asr * ensemble.n_correct / 100
    )
    assert [point["steps"] for point in pgd.asr_curve] == [2]


def test_attack_gives_images_of_any_memory_layout_the_examples_of_their_values(digits) -> None:
    """PGD's random start followed the strides of the images: a transposed view gave other
    examples than its contiguous copy, at the same seed."""
    model, x, y = digits
    view = x[:8].transpose(2, 3)
    for images in (view, view.contiguous(memory_format=torch.channels_last)):
        got = snnattack.attack(model, images, y[:8], "pgd", eps=16, steps=2)
        assert torch.equal(
            got, snnattack.attack(model, images.contiguous(), y[:8], "pgd", eps=16, steps=2)
        )


@pytest.mark.parametrize(("encoding", "levels"), [("poisson", None), ("direct", 4)])
def test_the_record_says_the_encoding_the_model_passed_runs(
    digits, encoding: str, levels: int | None
) -> None:
    """A model built with Poisson spikes or a quantiser encodes so, whatever the config's
    defaults: its record's config said ``encoding: direct`` and ``encoding_levels: null``."""
    _, x, y = digits
    net = build("digits_net", 10, in_channels=1, T=2, encoding=encoding, levels=levels)
    record = snnattack.evaluate(net, (x[:8], y[:8]), methods="fgsm", masking=False, progress=False)
    assert (record.config["encoding"], record.config["encoding_levels"]) == (encoding, levels)
    assert record.result_spec["encoding"] == encoding


def test_images_of_another_dataset_than_the_configs_are_noted_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The record names the config's dataset (digits by default): a CIFAR-shaped network's
    record was titled 'digits / ...' without a word; now a note says so, once a process (a
    loop of calls), and none where the images are the named dataset's."""

    inputs._say_other_images.cache_clear()
    torch.manual_seed(0)
    net = build("digits_net", 10, in_channels=3, T=2)
    x, y = torch.rand(8, 3, 8, 8), torch.randint(0, 10, (8,))
    quiet = dict(methods="fgsm", masking=False, progress=False)
    with caplog.at_level(logging.WARNING, logger="snnattack.inputs"):
        for _ in range(2):
            snnattack.evaluate(net, (x, y), **quiet)
    notes = [r.getMessage() for r in caplog.records if r.name == "snnattack.inputs"]
    assert notes == [
        "note: data's images are [3, 8, 8], not those of dataset=digits ([1, 8, 8]), which the "
        "record, its title and the report name; name theirs with overrides=['dataset=...'] "
        "where they are one of digits, cifar10, cifar100"
    ]
    caplog.clear()
    inputs._say_other_images.cache_clear()
    digits = build("digits_net", 10, in_channels=1, T=2)
    with caplog.at_level(logging.WARNING, logger="snnattack.inputs"):
        snnattack.evaluate(digits, (torch.rand(8, 1, 8, 8), y), **quiet)
    assert not [r for r in caplog.records if r.name == "snnattack.inputs"]


def test_evaluate_gives_the_record_a_job_gives_through_the_one_core(
    digits, run_job, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, _, _ = digits
    calls, record_attacks = [], core.record_attacks

    def spy(*args, **kwargs):
        calls.append(kwargs["config"]["method"])
        return record_attacks(*args, **kwargs)

    monkeypatch.setattr(job_module, "record_attacks", spy)  # job.py's import of the core
    monkeypatch.setattr(core, "record_attacks", spy)  # the API's tail calls it through the module
    overrides = ["train.epochs=4", "eps=[16]", "method=[fgsm,pgd]", "boxes=[white]"]
    job = run_job(*QUIET, "trainer=cpu", *overrides)  # on the CPU, as the API keeps the model
    cfg = compose("train.epochs=4")
    dm = datamodule(data_settings(cfg, 0))
    dm.setup("test")
    record = snnattack.evaluate(
        model,
        DataLoader(dm.test_set, batch_size=cfg.eval_batch_size),
        eps=[16],
        methods=["fgsm", "pgd"],
        progress=False,
    ).to_json()
    assert len(calls) == 2  # the job's and the API's record both come from the core
    assert record["clean_acc"] == job["clean_acc"] and record["n"] == job["n"] == 450
    assert record["results"] == job["results"]  # the kinds of each row too
    assert [r["asr"] for r in record["results"]] > [0, 0]
    masking, same = record["masking"], job["masking"]
    assert masking.pop("seconds").keys() == same.pop("seconds").keys()
    assert masking == same and masking["probe_size"] == 64


def test_the_record_keeps_the_notes_that_validation_computed_once(
    digits, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, x, y = digits
    calls, notes = [], validation.notes

    def counted(resolved, written=None, spiking=None):
        calls.append(resolved["attack"]["steps_curve"])
        return notes(resolved, written, spiking)

    monkeypatch.setattr(validation, "notes", counted)  # what validate calls
    record = snnattack.evaluate(
        model,
        (x[:16], y[:16]),
        methods="fgsm",
        masking=False,
        progress=False,
        overrides=["attack.steps_curve=[1,2]"],
    )
    assert record.notes == [
        "attack.steps_curve=[1, 2] gives no curve for method=fgsm: it has no iterations of "
        "its own; its asr_curve is null"
    ]
    assert calls == [[1, 2]]


def test_evaluate_tunes_on_the_validation_data_given(digits) -> None:
    model, x, y = digits
    record = snnattack.evaluate(
        model,
        (x[:32], y[:32]),
        eps=[16],
        methods=["fgsm"],
        grad_mode="stbp",
        tune=True,
        val_data=(x[100:132], y[100:132]),
        masking=False,
        # points far apart: 0.05 leaves FGSM no gradient on this model (0 % on the CPU, against
        # 29 % at 1.0); 0.5 and 1.0 were one validation sample apart, and tied on a GPU
        overrides=["attack.tune.grids.stbp.width=[0.05,1.0]", "attack.tune.val_size=32"],
    )
    (row,) = record.results
    assert row.tuned["val_n"] == 32 and row.tuned["params"]["width"] == 1.0
    assert record.masking == {}


def _white_and_black(
    model: torch.nn.Module, source: torch.nn.Module, data: tuple, overrides: tuple[str, ...] = ()
) -> JobRecord:
    """FGSM at 16/255 on ``model``, white box and transferred from ``source``."""
    return snnattack.evaluate(
        model,
        data,
        eps=[16],
        methods=["fgsm"],
        boxes=["white", "black"],
        source=source,
        masking=False,
        overrides=overrides,
    )


def test_evaluate_black_box_transfers_from_the_source(digits) -> None:
    model, x, y = digits
    from snnattack.models import build

    source = build("digits_net", num_classes=10, in_channels=1, T=4).eval()
    record = _white_and_black(model, source, (x[:32], y[:32]))
    assert [r.box for r in record.results] == ["white", "black"]
    assert record.source_clean_acc is not None
    # each model passed in is described as the record's models are, with the LIFs it runs
    # and how the images enter its steps
    lifs = [(m.lam, m.theta) for m in source.modules() if isinstance(m, LIF)]
    for described in record.models.values():
        assert list(described) == [
            "kind",
            "class",
            "architecture",
            "T",
            "encoding",
            "levels",
            "neurons",
            "parameters",
            "weights",
            "spiking",
        ]
        assert described["spiking"] is True
        assert (described["encoding"], described["levels"]) == ("direct", None)
    assert record.models["source"]["weights"] == about_weights(source)["weights"]
    neurons = record.models["source"]["neurons"]
    assert [(n["lambda"], n["theta"]) for n in neurons] == lifs


def test_a_passed_network_spikes_in_its_record_as_its_own_layers_say(digits) -> None:
    """An ANN passed under the default ``train.kind=stbp`` (which only labels it) is recorded
    as the ANN the attacks differentiate: not spiking, titled ``ANN``, its rows without the
    config's λ and T; a spiking source beside it keeps its own."""
    from snnattack.models import build

    _, x, y = digits
    ann = build("digits_net", num_classes=10, in_channels=1, T=1, activation="relu").eval()
    source = build("digits_net", num_classes=10, in_channels=1, T=4).eval()
    record = _white_and_black(ann, source, (x[:16], y[:16]))
    target, crafter = record.models["target"], record.models["source"]
    assert (target["kind"], target["spiking"], crafter["spiking"]) == ("stbp", False, True)
    assert "  ANN  " in record.title()
    rows = {r.box: (r.grad_mode, r.source_lambda, r.source_T) for r in record.results}
    assert rows["white"] == ("ann-autograd", None, None)
    assert rows["black"][1:] == (1.0, 4)
    # the label that misnames it is noted; the source, a spiking network of stbp, is not
    labelled = [n for n in record.notes if " labels " in n]
    assert labelled == [
        "train.kind=stbp labels the target passed, which has no spiking neurons (an ANN): its "
        "rows are crafted on the network as it is, and the results' target_kind says stbp "
        "(train.kind=ann names it)"
    ]
    named = _white_and_black(ann, source, (x[:16], y[:16]), ("train.kind=ann", "source_train=stbp"))
    assert not [n for n in named.notes if " labels " in n]
    assert [r.target_kind for r in named.results] == ["ann", "ann"]
    # a spiking source under the ANN's kind: its own key names it, the target keeps its label
    mislabelled = _white_and_black(ann, source, (x[:16], y[:16]), ("train.kind=ann",))
    assert [n for n in mislabelled.notes if " labels " in n] == [
        "train.kind=ann labels the black-box source passed, which has spiking neurons: its rows "
        "are crafted on the network as it is, and the results' source_kind says ann "
        "(source_train=the kind that trained it (e.g. stbp) names it)"
    ]


def test_evaluate_transfers_between_a_spikingnet_and_a_foreign_network_of_other_steps(
    digits,
) -> None:
    """``T`` is the foreign network's: the SpikingNet beside it runs at its own T, as the
    black-box source or as the target (a transfer between models of different T)."""
    pytest.importorskip("spikingjelly")
    from foreign_nets import spikingjelly_plif

    model, x, y = digits
    foreign, steps = spikingjelly_plif().eval(), model.T + 2
    settings = {"eps": [16], "methods": ["fgsm"], "boxes": ["white", "black"], "T": steps}
    adapted = adapt(foreign, T=steps)  # as the user adapts it: their class in the record
    cases = [(model, foreign, steps), (foreign, model, steps), (model, adapted, None)]
    for target, source, T in [*cases, (adapted, model, None)]:
        record = snnattack.evaluate(
            target, (x[:16], y[:16]), source=source, masking=False, **settings | {"T": T}
        )
        assert [r.box for r in record.results] == ["white", "black"]
        assert record.config["T"] == getattr(target, "T", T)
        # each row names the T of the model it crafts on (the source's was the target's)
        assert [r.source_T for r in record.results] == [
            getattr(m, "T", T) for m in (target, source)
        ]
        assert type(foreign).__qualname__ in [r.source_model for r in record.results]
    assert model.T == steps - 2
    longer = copy.deepcopy(model)
    longer.T = steps  # two SpikingNets: T must be each one's own, the message names source's
    with pytest.raises(UserError, match=rf"source=SpikingNet is a .* \(source\.T = {steps} to"):
        snnattack.evaluate(longer, (x[:16], y[:16]), source=model, **settings)


def test_attack_returns_examples_within_eps_in_the_unit_box_that_fool_the_model(digits) -> None:
    model, x, y = digits
    x, y = x[:32], y[:32]
    adv = snnattack.attack(model, x, y, "pgd", eps=32, grad_mode="rga", steps=5)
    assert adv.shape == x.shape and adv.device == x.device
    assert (adv - x).abs().max() <= 32 / 255 + 1e-6
    assert adv.min() >= 0 and adv.max() <= 1
    with torch.no_grad():
        clean, fooled = model(x).argmax(1) == y, model(adv).argmax(1) != y
    assert (clean & fooled).sum() > 0
    assert not model.training  # the user's model is left as it was


def test_attack_and_evaluate_in_an_inference_mode_block_give_the_examples_of_outside(
    digits,
) -> None:
    """A validation or test step of Lightning runs under ``torch.inference_mode()``; its
    batches are inference tensors."""
    model, x, y = digits
    x, y = x[:8], y[:8]
    adv = snnattack.attack(model, x, y, "pgd", eps=16, steps=2)
    record = snnattack.evaluate(model, (x, y), methods=["fgsm"], masking=False, progress=False)
    with torch.inference_mode():
        inside = snnattack.attack(model, x.clone(), y.clone(), "pgd", eps=16, steps=2)
        again = snnattack.evaluate(
            model, (x.clone(), y.clone()), methods=["fgsm"], masking=False, progress=False
        )
        assert torch.is_inference_mode_enabled()  # the block's mode again after the calls
    assert torch.equal(inside, adv)
    assert [r.adv_acc for r in again.results] == [r.adv_acc for r in record.results]


def test_evaluate_and_attack_set_the_processs_allocator_as_a_job_does(digits) -> None:
    model, x, y = digits
    x, y = x[:8], y[:8]
    before = malloc.policy()
    glibc = malloc.set_malloc(before)  # unchanged; False where the platform's allocator rules
    try:
        snnattack.attack(model, x, y, "fgsm", eps=8, overrides=["malloc=system"])
        assert malloc.policy() == "system"
        snnattack.attack(model, x, y, "fgsm", eps=8)  # the config's default: reuse
        assert malloc.policy() == ("reuse" if glibc else "system")
        snnattack.evaluate(model, (x, y), masking=False, overrides=["malloc=system"])
        assert malloc.policy() == "system"
    finally:
        malloc.set_malloc(before)


@pytest.mark.parametrize("overrides", [(), ("tf32=true", "deterministic=false")])
def test_evaluate_and_attack_hold_the_configs_gpu_numerics_for_the_call_only(
    digits, monkeypatch: pytest.MonkeyPatch, overrides: tuple[str, ...]
) -> None:
    """The attack crafts under the config's ``tf32`` and ``deterministic`` (so that its
    examples are a job's on a GPU too), the checks' forwards of the first call run under them
    too, and the user's own flags hold again after the call."""
    model, x, y = digits
    x, y = x[:8], y[:8]
    allowed, on = bool(overrides), not overrides
    expected = (allowed, allowed, on, not on)
    crafted, checked = [], []
    monkeypatch.setattr(core, "attack_batch", recording_numerics(crafted, core.attack_batch))
    for check in ("check_attack", "check_evaluation"):
        monkeypatch.setattr(inputs, check, recording_numerics(checked, getattr(inputs, check)))
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)  # the user's: unset
    users = (not allowed, not allowed, not on, on)  # the opposite of the config's, everywhere
    with users_gpu_numerics(users):
        snnattack.attack(model, x, y, "fgsm", eps=8, overrides=overrides)
        assert crafted == [expected]
        assert gpu_numerics() == users
        assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ  # set for deterministic kernels
        record = snnattack.evaluate(model, (x, y), masking=False, overrides=overrides)
        assert (record.tf32, record.deterministic) == (allowed, on)  # what held, recorded
        assert checked == [expected, expected]  # attack's check, then evaluate's
        assert gpu_numerics() == users
        assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ


def test_evaluate_and_attack_leave_the_users_random_generators_as_they_were(
    digits, monkeypatch: pytest.MonkeyPatch
) -> None:
    """They seed as a job does; they left torch's generator (Python's and NumPy's too, and
    Lightning's seed variables) at their seed, so that a training loop attacking each batch
    drew the same dropout mask at every step, and every epoch after the first the same
    shuffle."""
    model, x, y = digits
    x, y = x[:8], y[:8]
    for name in SEED_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def draws() -> tuple[list[float], float, float]:
        return torch.rand(3).tolist(), random.random(), float(numpy.random.rand())

    def seeded(prior: int) -> None:
        torch.manual_seed(prior)
        random.seed(prior)
        numpy.random.seed(prior)

    crafted = []
    for prior in (1, 2):
        seeded(prior)
        expected = draws()
        seeded(prior)
        crafted.append(snnattack.attack(model, x, y, "pgd", eps=8, steps=2))
        snnattack.evaluate(model, (x, y), methods="pgd", masking=False, progress=False)
        # a loader's iteration draws its base seed from torch's generator: the data read too
        for data in (TensorDataset(x, y), DataLoader(TensorDataset(x, y), batch_size=4)):
            snnattack.evaluate(model, data, methods="fgsm", masking=False, progress=False)
        assert draws() == expected
        assert not [name for name in SEED_VARIABLES if name in os.environ]
    assert torch.equal(*crafted)  # the call's own draws are its seed's, not the user's state


def test_evaluate_leaves_the_processs_warning_filters_and_lightnings_loggers_as_they_were(
    digits, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It hid Lightning's banners and three warnings for the rest of the session, one of them
    DDP's advice to synchronise what a user's own LightningModule logs."""
    model, x, y = digits
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    for logger in loggers:  # as in a fresh session (a job of this process quieted them)
        monkeypatch.setattr(logger, "filters", [])
    with warnings.catch_warnings():
        warnings.resetwarnings()
        snnattack.evaluate(model, (x[:8], y[:8]), methods="fgsm", masking=False, progress=False)
        assert warnings.filters == []
    assert all(logger.filters == [] for logger in loggers)


def test_a_ctrl_c_in_evaluate_is_a_keyboard_interrupt_and_the_next_call_runs(
    digits, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lightning turned it into ``sys.exit(1)`` after its shutdown: a script's ``except
    KeyboardInterrupt`` around the call was skipped, and the script exited with code 1."""
    model, x, y = digits
    x, y = x[:8], y[:8]
    handler = signal.getsignal(signal.SIGINT)

    def pressed(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(AttackEvaluator, "test_step", pressed)
        with pytest.raises(KeyboardInterrupt):
            snnattack.evaluate(model, (x, y), methods="fgsm", masking=False, progress=False)
    assert signal.getsignal(signal.SIGINT) is handler
    record = snnattack.evaluate(model, (x, y), methods="fgsm", masking=False, progress=False)
    assert record.results


def counted_composes(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """The argument lists Hydra composes from now on, none kept from an earlier test (nor a
    preparation)."""
    composed, compose = [], preparation_config.compose_config
    monkeypatch.setattr(
        preparation_config,
        "compose_config",
        lambda *a, **k: composed.append(a) or compose(*a, **k),
    )
    preparation_config._composed.cache_clear()
    PREPARED.clear()
    return composed


def test_attack_composes_and_checks_a_config_once_per_distinct_settings(
    digits, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, x, y = digits
    composed = counted_composes(monkeypatch)
    first = snnattack.attack(model, x[:8], y[:8], "pgd", eps=16, steps=2)
    again = snnattack.attack(model, x[:8], y[:8], "pgd", eps=16, steps=2)
    assert len(composed) == 1 and torch.equal(first, again)  # the same settings: kept
    snnattack.attack(model, x[:8], y[:8], "pgd", eps=16, steps=3)
    snnattack.attack(model, x[:8], y[:8], "pgd", eps=8, steps=2)
    assert len(composed) == 3  # other settings: composed again


def test_evaluate_composes_the_config_of_a_model_of_the_configs_encoding_once(
    digits, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first call reads the config's encoding before the model's own is pinned: where the
    two agree (a direct model, the default), that composition is the one validated."""
    model, x, y = digits
    composed = counted_composes(monkeypatch)
    record = snnattack.evaluate(
        model, (x[:8], y[:8]), eps=[16], methods=["fgsm"], masking=False, progress=False
    )
    assert len(composed) == 1 and record.config["encoding"] == "direct"


def test_attack_with_the_ensemble_fools_at_least_each_component(digits) -> None:
    model, x, y = digits
    x, y = x[:32], y[:32]
    adv = snnattack.attack(model, x, y, "ensemble", eps=16, overrides=[SMALL_ENSEMBLE])
    single = snnattack.attack(model, x, y, "pgd", eps=16, steps=3)
    with torch.no_grad():
        assert (model(adv).argmax(1) == y).sum() <= (model(single).argmax(1) == y).sum()


TUNED_ENSEMBLE = (
    "method.ensemble.components=[{attack: stbp, method: fgsm},{attack: hart, method: fgsm, "
    "tune: true}]"
)


def test_attack_says_that_an_ensembles_tuned_components_run_untuned(digits, caplog) -> None:
    """``attack`` has no validation data, on which :func:`snnattack.evaluate` tunes an
    ensemble's ``tune: true`` components (and refuses them without): it runs them at their
    configured parameters, and says so once in a note naming them; an ensemble with no tuned
    component has no note."""
    model, x, y = digits
    with caplog.at_level(logging.WARNING, logger="snnattack"):
        snnattack.attack(model, x[:8], y[:8], "ensemble", eps=16, overrides=[SMALL_ENSEMBLE])
    assert "tune" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="snnattack"):
        snnattack.attack(model, x[:8], y[:8], "ensemble", eps=16, overrides=[TUNED_ENSEMBLE])
        snnattack.attack(model, x[:8], y[:8], "ensemble", eps=16, overrides=[TUNED_ENSEMBLE])
    notes = [r.getMessage() for r in caplog.records if "tune" in r.getMessage()]
    assert len(notes) == 1, notes
    assert notes[0].startswith("note: method='ensemble' tunes fgsm/hart on validation data")
    assert "snnattack.evaluate(..., val_data=...)" in notes[0]


def noisy(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` with Gaussian noise on its input at every forward: a random forward."""
    out = copy.deepcopy(model)
    out.register_forward_pre_hook(lambda _, args: (args[0] + 0.05 * torch.randn_like(args[0]),))
    return out


def test_attack_crafts_through_the_core_on_its_own_prepared_copy(
    digits, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``snnattack.attack`` hands the core the model and the attack settings (``attack.fold_bn``
    among them) once; the core's copy is attacked and the user's model left as it was."""
    model, x, y = digits
    calls, attack_batch = [], core.attack_batch

    def spy(spec, attack, net, *rest):
        calls.append((spec.method, attack.fold_bn, net is model))
        return attack_batch(spec, attack, net, *rest)

    monkeypatch.setattr(core, "attack_batch", spy)
    weights = copy.deepcopy(model.state_dict())
    adv = snnattack.attack(
        model, x[:16], y[:16], "pgd", eps=16, steps=2, overrides=["attack.fold_bn=true"]
    )
    assert calls == [("pgd", True, True)] and adv.shape == x[:16].shape
    assert not model.training
    torch.testing.assert_close(model.state_dict(), weights, rtol=0, atol=0)


def test_a_random_forward_is_attacked_with_attack_random_eot_samples_draws(
    digits, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The core probes its copy of the target: a random forward's gradients average
    ``attack.random_eot_samples`` draws (the record and its rows say so, and the masking check
    of a random forward without EOT stays quiet), a deterministic one's ``attack.eot_samples``;
    ``snnattack.attack`` the same."""
    model, x, y = digits
    x, y, eot = x[:32], y[:32], ["attack.random_eot_samples=3"]
    random = snnattack.evaluate(noisy(model), (x, y), eps=[16], methods=["fgsm"], overrides=eot)
    plain = snnattack.evaluate(
        model, (x, y), eps=[16], methods=["fgsm"], masking=False, overrides=eot
    )
    assert random.eot_samples == 3 and [r.eot_samples for r in random.results] == [3]
    assert plain.eot_samples == 1 and [r.eot_samples for r in plain.results] == [1]
    (check,) = [c for c in random.masking["checks"] if c["name"] == "random_forward_without_eot"]
    assert check["random_forward"] and not check["flagged"]
    used, craft = [], core.craft
    monkeypatch.setattr(core, "craft", lambda *a: used.append(a[-1].eot_samples) or craft(*a))
    snnattack.attack(noisy(model), x, y, "fgsm", eps=16, overrides=eot)
    snnattack.attack(model, x, y, "fgsm", eps=16, overrides=eot)
    assert used == [3, 1]


@pytest.fixture
def used(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The EOT draws of every attack the test builds, in order."""
    drawn, build_attack = [], crafting.build_attack

    def recorded(*args, eot_samples: int = 1, **params):
        drawn.append(eot_samples)
        return build_attack(*args, eot_samples=eot_samples, **params)

    monkeypatch.setattr(crafting, "build_attack", recorded)
    return drawn


def test_black_box_rows_crafted_on_a_random_source_average_attack_random_eot_samples_draws(
    digits, used: list[int]
) -> None:
    """The black box crafts on the source: a random source's gradients average the draws
    although the target's forward is deterministic, and the record says so."""
    model, x, y = digits
    source = noisy(model)  # another network: its first weights moved by 1 %
    with torch.no_grad():
        next(source.parameters()).mul_(1.01)
    record = snnattack.evaluate(
        model,
        (x[:32], y[:32]),
        eps=[16],
        methods=["fgsm"],
        boxes=["black"],
        source=source,
        masking=False,
        overrides=["attack.random_eot_samples=3"],
    )
    assert record.eot_samples == 3 and [r.eot_samples for r in record.results] == [3]
    assert used and set(used) == {3}


def test_black_box_rows_on_a_fixed_source_craft_on_one_draw_beside_a_random_target(
    digits, used: list[int]
) -> None:
    """Each row by the model it crafts on: black-box rows craft on a deterministic source with
    one draw per gradient although the target's forward is random (N draws of a fixed forward
    are the same, at N times the cost), also beside white-box rows, which craft on the random
    target with the raised draws (the record's recipe states them); the masking check of a
    random forward without EOT reads the white-box rows alone."""
    model, x, y = digits
    source = copy.deepcopy(model)  # another network: its first weights moved by 1 %
    with torch.no_grad():
        next(source.parameters()).mul_(1.01)

    def drawn(boxes: list[str], *eot: str) -> tuple[int, list[int], bool]:
        used.clear()
        record = snnattack.evaluate(
            noisy(model), (x[:32], y[:32]), eps=[16], methods=["fgsm"], boxes=boxes,
            source=source, overrides=list(eot),
        )  # fmt: skip
        assert set(used) == {record.eot_samples, *(r.eot_samples for r in record.results)}
        (check,) = [c for c in record.masking["checks"] if c["name"].startswith("random_forward")]
        assert check["random_forward"]
        return record.eot_samples, [r.eot_samples for r in record.results], check["flagged"]

    assert drawn(["black"], "attack.random_eot_samples=3") == (1, [1], False)
    assert drawn(["white", "black"], "attack.random_eot_samples=3") == (3, [3, 1], False)
    # no gradient of the random target is taken: its one draw per gradient masks nothing
    assert drawn(["black"]) == (1, [1], False)
    assert drawn(["white", "black"]) == (1, [1, 1], True)


def test_an_ann_sources_ensemble_components_average_no_poisson_draws(
    poisson, digits_store, used: list[int]
) -> None:
    """The ensemble's ``poisson_eot_samples`` raises its gradient components' draws for a
    random encoding: an ANN source does not read the encoding, so its black-box rows craft on
    one draw (N draws of its fixed forward are one at N times the cost), and the record says
    so; the white-box rows, crafted on the Poisson target, average the raised draws."""
    model, x, y = poisson
    source, _, _ = trained(digits_store, "train.kind=ann")
    record = snnattack.evaluate(
        model, (x[:16], y[:16]), eps=[16], methods=["ensemble"], boxes=["white", "black"],
        source=source, masking=False,
        overrides=[SMALL_ENSEMBLE, "method.ensemble.poisson_eot_samples=3"],
    )  # fmt: skip
    drawn = {r.box: [c["eot_samples"] for c in r.components] for r in record.results}
    assert drawn == {"white": [3, 3], "black": [1, 1]}
    # an ensemble row's draws are its components': the most one of them averaged
    assert {r.box: r.eot_samples for r in record.results} == {"white": 3, "black": 1}
    assert sorted(set(used)) == [1, 3]


def test_rows_crafted_on_an_ann_record_no_time_extension(digits, digits_store) -> None:
    """An ANN has no time steps to extend: the black-box rows crafted on an ANN source record
    the one pass they crafted on (``time_extension`` 1, as their gradient mode is the ANN's
    own), the white-box rows on the spiking target the extension they ran."""
    model, x, y = digits
    source, _, _ = trained(digits_store, "train.kind=ann")
    record = snnattack.evaluate(
        model, (x[:16], y[:16]), eps=[16], methods=["fgsm"], boxes=["white", "black"],
        source=source, masking=False, overrides=["attack.time_extension=2"],
    )  # fmt: skip
    rows = {r.box: (r.grad_mode, r.time_extension) for r in record.results}
    assert rows == {"white": ("stbp", 2), "black": ("ann-autograd", 1)}


def test_gradient_mode_changes_the_input_gradient_not_the_output(digits) -> None:
    model, x, y = digits
    x = x[:8].clone().requires_grad_()

    def grad(mode: str, **params: float) -> tuple[torch.Tensor, torch.Tensor]:
        with snnattack.gradient_mode(model, mode, **params) as net:
            out = net(x)
            (g,) = torch.autograd.grad(F.cross_entropy(out, y[:8]), [x])
        return out.detach(), g

    out_stbp, g_stbp = grad("stbp")
    out_rga, g_rga = grad("rga", beta=2.0, gamma=0.2)
    assert torch.equal(out_stbp, out_rga)
    assert g_stbp.abs().sum() > 0 and g_rga.abs().sum() > 0
    assert not torch.allclose(g_stbp, g_rga)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, x, y: snnattack.evaluate(m, (x, y), methods=["pgdx"]), "methods=['pgdx']"),
        (  # the job's config would take it once: one row
            lambda m, x, y: snnattack.evaluate(m, (x, y), methods=["fgsm", "fgsm"]),
            "methods=['fgsm', 'fgsm'] repeats a name",
        ),
        (lambda m, x, y: snnattack.evaluate(m, (x, y), grad_mode="rgx"), "grad_mode='rgx'"),
        (lambda m, x, y: snnattack.evaluate(m, (x, y), boxes=["grey"]), "boxes=['grey']"),
        (lambda m, x, y: snnattack.evaluate(m, (x, y), grad_mode=["rga"]), "grad_mode=['rga']"),
        (lambda m, x, y: snnattack.attack(m, x, y, ["pgd", "fgsm"]), "method=['pgd', 'fgsm']"),
        (lambda m, x, y: snnattack.evaluate(m, (x, y), eps=[-8]), "eps"),
        (lambda m, x, y: snnattack.evaluate(m, (x, y), eps="8,16"), "eps='8,16' is not a number"),
        (lambda m, x, y: snnattack.evaluate(m, [1, 2, 3]), "data=list"),
        (lambda m, x, y: snnattack.evaluate(m, (x, y), boxes=["black"]), "source=None"),
        (lambda m, x, y: snnattack.evaluate(m, (x, y), source=m), "boxes=['white']"),
        (lambda m, x, y: snnattack.evaluate(m, (x, y), tune=True), "val_data=None"),
        (lambda m, x, y: snnattack.evaluate("net", (x, y)), "model=str"),
        (lambda m, x, y: snnattack.attack(m, x, y, "pgd", steps=0), "steps"),
        (lambda m, x, y: snnattack.attack(m, x, y, "pgd", stepz=3), "stepz"),
        (lambda m, x, y: snnattack.evaluate(spikingjelly_plif(), (x, y)), "T=None"),
        (lambda m, x, y: snnattack.evaluate(torch.nn.Linear(2, 2), (x, y)), "no known neuron"),
        (lambda m, x, y: snnattack.evaluate(m, (x, y), overrides=["lamda=0.5"]), "'lamda'"),
    ],
)
def test_a_bad_argument_is_refused_in_one_line_naming_it(digits, call, message) -> None:
    model, x, y = digits
    with pytest.raises(UserError) as err:
        call(model, x[:8], y[:8])
    assert message in str(err.value) and "accepted" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "held", [torch.tensor(16.0), numpy.array(16.0)], ids=["0-d tensor", "0-d NumPy array"]
)
def test_a_radius_held_in_a_0d_tensor_attacks_as_its_number(digits, held) -> None:
    """A 0-d NumPy array too (it was refused, ``eps=array(16.) is not a number``, where
    ``evaluate`` took it)."""
    model, x, y = digits
    torch.manual_seed(0)
    given = snnattack.attack(model, x[:8], y[:8], "pgd", eps=held, steps=2)
    torch.manual_seed(0)
    assert torch.equal(given, snnattack.attack(model, x[:8], y[:8], "pgd", eps=16, steps=2))


@pytest.mark.parametrize(
    "radii",
    [range(8, 17, 8), numpy.array([8, 16]), torch.tensor([8.0, 16.0])],
    ids=["range", "NumPy array", "tensor"],
)
def test_evaluate_takes_the_radii_of_a_range_or_an_array(digits, radii) -> None:
    """``eps=range(8, 17, 8)`` (it reached Hydra as the text ``range(8, 17, 8)``: "Sweep
    parameters ... requires --multirun") and a one-axis array or tensor (refused as "not a
    number or a list of numbers") give the rows of ``eps=[8, 16]``."""
    model, x, y = digits

    def rows(eps) -> list[tuple[float, float]]:
        record = snnattack.evaluate(
            model, (x[:8], y[:8]), eps=eps, methods="fgsm", masking=False, progress=False
        )
        return [(r.eps_255, r.adv_acc) for r in record.results]

    assert rows(radii) == rows([8, 16])


@pytest.mark.parametrize(
    ("mode", "params", "message"),
    [("rgx", {}, "rgx"), ("rga", {"beta": -1.0}, "beta"), ("hart", {"gama": 1.0}, "gama")],
)
def test_gradient_mode_refuses_a_bad_mode_or_parameter_before_the_block(
    digits, mode, params, message
) -> None:
    model, _, _ = digits
    ran = []
    with pytest.raises(UserError, match=message):
        with snnattack.gradient_mode(model, mode, **params):
            ran.append(True)
    assert ran == []


@pytest.mark.cuda
def test_evaluate_and_attack_run_on_the_models_device(digits) -> None:
    model, x, y = digits
    gpu = model.to("cuda")
    try:
        record = snnattack.evaluate(gpu, (x[:32], y[:32]), eps=[16], methods=["fgsm"])
        adv = snnattack.attack(gpu, x[:32], y[:32], "pgd", eps=16, steps=2)
        assert next(gpu.parameters()).is_cuda  # the user's model stays where it was
    finally:
        model.to("cpu")
    assert record.device.startswith("cuda") and adv.is_cuda
    assert record.n == 32 and record.masking["checks"]


@pytest.mark.slow
def test_the_readme_example_gives_a_robust_accuracy_per_eps_and_the_masking_checks(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("spikingjelly")
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Attacking your own model from Python")[1]
    code = section.split("```python\n")[1].split("```")[0]
    exec(compile(code, "README.md", "exec"), {})  # minutes: training, the full ensemble
    line = capsys.readouterr().out.strip().splitlines()[-1]  # "[(8.0, acc), (16.0, acc)] [...]"
    rows, _, flagged = line.partition("] ")
    assert rows.startswith("[(8.0, ") and "), (16.0, " in rows
    assert flagged.startswith("[") and flagged.endswith("]")


def test_an_evaluation_seeds_its_batches_without_torch_manual_seed_and_its_stack_record(
    digits, monkeypatch
) -> None:
    """``torch.manual_seed`` before CUDA starts records the caller's stack (~0.2 ms a call):
    seeded per batch and row, it cost ~9 % of a digits job's attacks. Lightning's
    ``seed_everything`` calls it once a job."""
    model, x, y = digits
    calls = []
    seed = torch.manual_seed
    monkeypatch.setattr(torch, "manual_seed", lambda s: calls.append(s) or seed(s))
    record = snnattack.evaluate(
        model,
        (x[:16], y[:16]),
        eps=[8],
        methods=["fgsm"],
        masking=False,
        overrides=["eval_batch_size=4"],
    )
    assert record.results[0].n == 16  # 4 batches
    assert len(calls) == 1
