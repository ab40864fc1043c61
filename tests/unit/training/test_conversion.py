"""ANN, ANN -> SNN conversion, hybrid fine-tuning and input quantisation on the digits."""

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from fixtures_cifar import write_cifar10
from harness import EXPERIMENTS, FIXTURE_RUN, QUICK, QUIET, compose, replaced, resolved, run_job
from omegaconf import DictConfig, OmegaConf

from snnattack.config.parse import data_settings
from snnattack.config.validation import notes, validate
from snnattack.data import datamodule
from snnattack.errors import ConfigError
from snnattack.models import build
from snnattack.models.base import SpikingNet
from snnattack.models.vgg import vgg_body
from snnattack.records.store import ModelStore
from snnattack.snn.encoding import Quantize, build_encoder
from snnattack.snn.neurons import LIF
from snnattack.training.conversion import (
    activation_scales,
    calibration_notes,
    convert,
    shared_scales,
)
from snnattack.training.parse import model_settings, source_config, with_train
from snnattack.training.store_key import store_key
from snnattack.training.trained import trained_model

STEPS = (4, 16, 128)  # the residual network converges by T 128 (96 % at 64)
CSV = [*QUIET, "logger=csv"]


def composed(*overrides: str) -> DictConfig:
    return compose(*CSV, *overrides)


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return 100.0 * (model(x).argmax(1) == y).float().mean().item()


@pytest.fixture(scope="module", params=["digits_net", "digits_resnet"])
def digits(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A 5-epoch ANN, its conversion at several T, and a 2-epoch hybrid fine-tuning at T=2,
    for the plain and the residual digits network (reset: the kinds' defaults)."""
    store = ModelStore(tmp_path_factory.mktemp("models"))
    cfg = composed(
        "train.kind=ann", "train.epochs=5", f"model={request.param}", "train.hybrid.epochs=2"
    )
    data = datamodule(data_settings(cfg, 0))
    data.setup("test")
    x, y = (torch.cat(t) for t in zip(*data.test_dataloader(), strict=True))
    ann, ann_record = trained_model(model_settings(cfg), 0, store, [])
    converted = {}
    for T in (2, *STEPS):
        model, record = trained_model(
            model_settings(with_train(cfg, kind="conversion")), 0, store, []
        )
        model.T = T
        converted[T] = accuracy(model, x, y)
    hybrid_cfg = with_train(cfg, kind="hybrid")
    hybrid_cfg.T = 2
    hybrid, hybrid_record = trained_model(model_settings(hybrid_cfg), 0, store, [])
    return {
        "ann": accuracy(ann, x, y),
        "converted": converted,
        "conversion": record,
        "hybrid": accuracy(hybrid, x, y),
        "hybrid_record": hybrid_record,
        "ann_record": ann_record,
    }


def test_converted_snn_approaches_the_ann_at_large_T(digits: dict) -> None:
    assert digits["ann"] > 95.0
    assert abs(digits["converted"][STEPS[-1]] - digits["ann"]) <= 2.0
    assert digits["conversion"]["ann_key"] == digits["ann_record"]["key"]


def test_conversion_accuracy_rises_with_T_within_noise(digits: dict) -> None:
    acc = [digits["converted"][T] for T in STEPS]
    assert all(later >= earlier - 1.5 for earlier, later in zip(acc, acc[1:], strict=False))
    assert acc[-1] - acc[0] > 10.0


def test_hybrid_fine_tuning_beats_conversion_alone_at_low_T(digits: dict) -> None:
    assert digits["hybrid"] > digits["converted"][2] + 20.0
    assert digits["hybrid_record"]["kind"] == "hybrid" and digits["hybrid_record"]["epochs"] == 2


def test_store_keys_hold_the_kind_and_the_base_model() -> None:
    ann = store_key(model_settings(composed("train.kind=ann")), 0)
    assert ann == store_key(model_settings(composed("train.kind=ann", "T=8", "lambda=0.5")), 0)
    conv = store_key(model_settings(composed("train.kind=conversion")), 0)
    assert conv["base"] == ann and conv["train"]["kind"] == "conversion"
    assert conv == store_key(model_settings(composed("train.kind=conversion", "T=32")), 0)
    assert conv != store_key(model_settings(composed("train.kind=conversion", "train.epochs=3")), 0)
    hybrid = store_key(model_settings(composed("train.kind=hybrid")), 0)
    assert hybrid["base"] == conv and "hybrid" in hybrid["train"]
    assert "conversion" not in store_key(model_settings(composed()), 0)["train"]
    assert store_key(model_settings(composed("encoding_levels=4")), 0) != store_key(
        model_settings(composed()), 0
    )


def test_store_keys_leave_out_what_the_training_never_reads() -> None:
    """An ANN has no spiking neurons: its key is the same at any surrogate width, so a sweep
    over ``train.surrogate_width`` with a converted target or an ANN source trains its ANN once
    (it trained one per width, and a converted model started from each). Each kind's reset is
    in its neuron settings, so ``train.resets`` (every kind's default) keys nothing more:
    ``reset=soft`` and ``train.resets.stbp=soft`` are one model, and another kind's default
    changes none. The stored models' keys stay (the key holds the recipes' defaults)."""

    def key(*overrides: str) -> dict:
        return store_key(model_settings(composed(*overrides)), 0)

    ann = key("train.kind=ann")
    assert key("train.kind=ann", "train.surrogate_width=2") == ann
    assert key("train.kind=conversion", "train.surrogate_width=2")["base"] == ann
    assert key("train.kind=ann", "train.resets.ann=soft", "train.resets.hybrid=hard") == ann
    assert key("reset=soft") == key("train.resets.stbp=soft") != key()
    assert key("train.resets.conversion=hard", "train.resets.hybrid=hard") == key()
    assert key("train.kind=hybrid", "train.resets.stbp=soft") == key("train.kind=hybrid")
    # what each still reads: an STBP model's surrogate, a converted model's reset
    assert key("train.surrogate_width=2") != key()
    conv = key("train.kind=conversion")
    assert key("train.kind=conversion", "train.resets.conversion=hard") != conv
    # held at the recipes' defaults, the values the stored models were keyed with
    for recipe in ("train=digits", "train=paper"):
        train = OmegaConf.to_container(composed(recipe).train)
        assert ann["train"]["surrogate_width"] == train["surrogate_width"]
        assert key()["train"]["resets"] == train["resets"]


@pytest.mark.parametrize("levels", [2, 4, 16])
def test_quantisation_keeps_at_most_k_values_and_passes_gradients(levels: int) -> None:
    x = torch.rand(8, 1, 8, 8, dtype=torch.float64, requires_grad=True)
    q = Quantize(levels)(x)
    assert len(torch.unique(q.detach())) <= levels
    assert torch.allclose(q * (levels - 1), torch.round(q * (levels - 1)))
    model = build("digits_net", 10, in_channels=1, T=2, encoding="poisson", levels=levels)
    model.double().train()  # train-mode BN: an untrained net fires in train mode
    model(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "override,key",
    [
        ("train.kind=adversarial", "train.kind"),
        ("source_train=svm", "source_train"),
        ("encoding_levels=1", "encoding_levels"),
        ("encoding_levels=2.5", "encoding_levels"),
        ("train.kind=conversion model=digits_resnet theta=0.5", "theta"),
        ("source_train=hybrid model=digits_resnet theta=2", "theta"),
        # WRN-16-4's pre-activation blocks do not convert: refused before the ANN trains
        ("train.kind=conversion dataset=cifar10 model=wrn16_4", "model"),
        ("source_train=hybrid dataset=cifar10 model=vgg11 source_model=wrn16_4", "source_model"),
        # a source of no source_train of its own is trained as the target is: converted too
        ("train.kind=conversion dataset=cifar10 model=vgg11 source_model=wrn16_4", "source_model"),
        ("train.resets.conversion=subtract", "train.resets.conversion"),
        ("train.conversion.percentile=0", "train.conversion.percentile"),
        ("train.hybrid.epochs=0", "train.hybrid.epochs"),
        ("train.hybrid.threshold_scale=0", "train.hybrid.threshold_scale"),
    ],
)
def test_bad_kind_settings_name_the_key(override: str, key: str) -> None:
    with pytest.raises(ConfigError, match=f"^{key}="):
        validate(composed(*override.split()))


@pytest.mark.parametrize("target,source", [("hybrid", "conversion"), ("ann", "stbp")])
def test_cross_kind_transfer_is_recorded_with_source_and_target(
    target: str, source: str, run_job: Callable
) -> None:
    metrics = run_job(
        f"train.kind={target}",
        f"source_train={source}",
        "train.epochs=2",
        "train.hybrid.epochs=1",
        "eps=[32]",
        "method=[fgsm]",
        "trainer.limit_test_batches=2",
        *CSV,
    )
    assert metrics["models"]["target"]["kind"] == target
    assert metrics["models"]["source"]["kind"] == source
    rows = {r["box"]: r for r in metrics["results"]}
    assert (rows["white"]["target_kind"], rows["white"]["source_kind"]) == (target, target)
    assert (rows["black"]["target_kind"], rows["black"]["source_kind"]) == (target, source)
    ann_rows = [r for r in rows.values() if r["source_kind"] == "ann"]
    assert all(r["grad_mode"] == "ann-autograd" for r in ann_rows)
    assert all(r["grad_mode"] == "stbp" for r in rows.values() if r["source_kind"] != "ann")
    assert metrics["n"] == 64 and 0 <= rows["black"]["asr"] <= 100


def small_vgg(neuron: type[torch.nn.Module], T: int) -> SpikingNet:
    """A VGG body (conv-BN-neuron, pooling, hidden linear-neuron) small enough for a test."""
    body = vgg_body((8, "A", 16, "A"), (32,), 10, 3, 8, neuron)
    return SpikingNet(build_encoder("direct", T), body, None)


def test_vgg_converts_layer_by_layer() -> None:
    ann = small_vgg(torch.nn.ReLU, 1).eval()
    snn = small_vgg(lambda: LIF(reset="soft"), 64)
    scales = activation_scales(ann, [torch.rand(4, 3, 8, 8)], 99.9)
    assert len(scales) == 3 and all(s > 0 for s in scales)  # 2 conv + 1 hidden linear layer
    bn, hidden = ann.body[0].module[1].weight.clone(), ann.body[-3].weight.clone()
    convert(ann, snn, scales)
    assert torch.allclose(snn.body[0].module[1].weight, bn / scales[0])
    assert torch.allclose(snn.body[-3].weight, hidden * scales[1] / scales[2])
    x = torch.rand(4, 3, 8, 8)
    with torch.no_grad():
        error = (snn.eval()(x) - ann(x)).abs().mean() / ann(x).abs().mean()
    assert error < 0.15  # rates approximate the ANN's activations (to ~1/T, clipped at 99.9 %)


def test_resnet_converts_with_one_scale_across_each_identity_shortcut() -> None:
    torch.manual_seed(0)
    ann = build("digits_resnet", 10, in_channels=1, T=1, activation="relu").eval()
    # stem, then per block (mid, out): block 2's and 4's outputs share their input's scale
    assert shared_scales(ann) == [0, 1, 2, 3, 2, 5, 6, 7, 6]
    x = torch.rand(64, 1, 8, 8)
    scales = activation_scales(ann, [x], 99.9)
    assert scales[4] == scales[2] and scales[8] == scales[6] and scales[2] != scales[3]
    projection = ann.body[4].shortcut.module
    conv, bn = projection[0].weight.clone(), projection[1].weight.clone()
    errors = []
    for T in (16, 64, 256):
        snn = convert(ann, build("digits_resnet", 10, in_channels=1, T=T, reset="soft"), scales)
        shortcut = snn.body[4].shortcut.module  # stage 2's projection: input = block 2's output
        assert torch.allclose(shortcut[0].weight, conv * scales[4])
        assert torch.allclose(shortcut[1].weight, bn / scales[8])
        with torch.no_grad():
            errors.append(float((snn.eval()(x) - ann(x)).abs().mean() / ann(x).abs().mean()))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.02  # logits -> the ANN's
    with pytest.raises(ValueError, match="theta=1"):
        convert(ann, build("digits_resnet", 10, in_channels=1, theta=0.5), scales)


class OtherResidual(torch.nn.Module):
    """A residual block of another architecture: the conversion knows it by its shape only
    (``residual``, ``shortcut``, ``spike``), not by its class."""

    def __init__(self, neuron: type[torch.nn.Module]) -> None:
        super().__init__()
        self.residual = torch.nn.Sequential(torch.nn.Linear(6, 6), neuron(), torch.nn.Linear(6, 6))
        self.shortcut = torch.nn.Identity()
        self.spike = neuron()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spike(self.residual(x) + self.shortcut(x))


def test_any_block_with_residual_shortcut_and_spike_converts_as_a_residual_block() -> None:
    def net(neuron: type[torch.nn.Module], T: int) -> SpikingNet:
        body = torch.nn.Sequential(torch.nn.Linear(4, 6), neuron(), OtherResidual(neuron))
        return SpikingNet(build_encoder("direct", T), body, None)

    torch.manual_seed(0)
    ann = net(torch.nn.ReLU, 1).eval()
    assert shared_scales(ann) == [0, 1, 0]  # the block's output shares the stem's scale
    x = torch.rand(256, 4)
    scales = activation_scales(ann, [x], 99.9)
    snn = convert(ann, net(lambda: LIF(reset="soft"), 256), scales)
    with torch.no_grad():
        error = (snn.eval()(x) - ann(x)).abs().mean() / ann(x).abs().mean()
    assert error < 0.05


@pytest.mark.parametrize(
    "kind,reset", [("stbp", "hard"), ("ann", "hard"), ("conversion", "soft"), ("hybrid", "soft")]
)
def test_each_kind_has_its_default_reset_and_reset_overrides_it(kind: str, reset: str) -> None:
    assert composed(f"train.kind={kind}").reset == reset
    assert composed(f"train.kind={kind}", "reset=hard").reset == "hard"
    source = source_config(composed(f"source_train={kind}"))
    assert source.reset == reset and composed(f"source_train={kind}").reset == "hard"


def run_on_cifar_fixtures(tmp_path: Path, name: str, *overrides: str) -> dict:
    """``experiments/NAME`` as one job on a CIFAR-10 fixture, a few batches; its metrics."""
    write_cifar10(tmp_path / "data")
    return run_job(
        "-cd",
        str(EXPERIMENTS),
        "-cn",
        name,
        *replaced(
            [
                *FIXTURE_RUN,
                "train.conversion.batches=1",
                "dataset.params.val_size=10",
                "dataset.params.download=false",
                "method=[fgsm]",
                *CSV,
            ],
            *overrides,
        ),
        output_dir=tmp_path / "out",
        store=tmp_path / "models",
        env={"SNNATTACK_DATA": str(tmp_path / "data")},
    )


@pytest.mark.slow
def test_cifar_conversion_file_converts_vgg11_and_attacks_on_fixtures(tmp_path: Path) -> None:
    # one job of the file's sweep over T (a sweep run without -m names each swept key)
    metrics = run_on_cifar_fixtures(tmp_path, "table1_conversion_cifar10_vgg11", "T=16")
    assert metrics["config"]["T"] == 16 and metrics["config"]["reset"] == "soft"
    assert metrics["models"]["target"]["kind"] == "conversion"
    assert len(metrics["models"]["target"]["scales"]) == 10  # VGG-11: 8 conv + 2 hidden
    assert metrics["config"]["paper"]["table1"][0]["clean"] == 93.25
    assert 0 <= metrics["analyses"]["shuffle"]["shuffled_acc"] <= 100  # Table 1's other column


@pytest.mark.slow
def test_eccv_vgg5_file_attacks_a_hybrid_snn_from_its_ann_on_fixtures(tmp_path: Path) -> None:
    metrics = run_on_cifar_fixtures(
        tmp_path,
        "eccv_kinds_cifar10_vgg5",
        "train.kind=hybrid",
        "source_train=ann",
        "T=4",
        "train.hybrid.epochs=1",
        "method=[fgsm,pgd]",
        "method.pgd.steps=2",
    )
    config = metrics["config"]
    assert (config["model"]["name"], config["lambda"], config["reset"]) == ("vgg5", 0.99, "soft")
    assert config["method"]["pgd"]["alpha"] == 2 and config["eps"] == [8]
    target = metrics["models"]["target"]
    assert target["kind"] == "hybrid" and target["epochs"] == 1 and target["converted_key"]
    assert {(r["box"], r["target_kind"], r["source_kind"]) for r in metrics["results"]} == {
        ("white", "hybrid", "hybrid"),
        ("black", "hybrid", "ann"),
    }


@pytest.mark.parametrize(
    "model", [["model.name=passed"], ["model=external", "model.factory._target_=x.make"]]
)
def test_a_network_of_ones_own_is_not_asked_whether_it_converts(model: list[str]) -> None:
    """The convertibility check built the model by name: ``snnattack.evaluate(...,
    overrides=['train.kind=conversion'])`` (the kind labels the passed network's record) was
    refused as "name='passed' is unknown", and ``model=external`` with a converting kind so,
    without its key, before check_external's line naming train.kind."""
    assert validate(composed(*model, "train.kind=conversion")) == ()


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (  # the hybrid's threshold scale set, the kind left at stbp: an STBP model, unsaid
            ["train.hybrid.threshold_scale=0.7"],
            "train.hybrid.threshold_scale=0.7 is read by train.kind=hybrid only: the job's "
            "models (train.kind=stbp) are trained and stored as without it",
        ),
        (  # a conversion's percentile beside a plain ANN and its STBP black-box source
            ["train.kind=ann", "source_train=stbp", "train.conversion.percentile=99.5"],
            "train.conversion.percentile=99.5 is read by train.kind=conversion or hybrid only: "
            "the job's models (train.kind=ann, source_train=stbp) are trained and stored as "
            "without it",
        ),
        (  # a converted model is not fine-tuned: the hybrid's epochs train nothing
            ["train.kind=conversion", "train.hybrid.epochs=3"],
            "train.hybrid.epochs=3 is read by train.kind=hybrid only: the job's models "
            "(train.kind=conversion) are trained and stored as without it",
        ),
    ],
)
def test_a_kinds_setting_no_model_of_the_job_reads_is_noted(given: list[str], said: str) -> None:
    """``train.conversion.*`` and ``train.hybrid.*`` set where no model of the job is of a kind
    that reads them trained the model as without them, and their store key leaves them out
    (a sweep over them repeated one model's rows): a note says so."""
    assert notes(resolved(compose(*given))) == [said]


@pytest.mark.parametrize(
    "given",
    [
        ["train.kind=hybrid", "train.hybrid.threshold_scale=0.7", "train.conversion.batches=3"],
        ["train.kind=conversion", "train.conversion.percentile=99"],
        # the black-box source reads it
        ["train.kind=ann", "source_train=hybrid", "train.hybrid.epochs=3"],
        # the settings at conf/train/_kinds.yaml's values
        ["train.hybrid.epochs=5", "train.conversion.percentile=99.9"],
    ],
)
def test_a_kinds_setting_a_model_of_the_job_reads_has_no_note(given: list[str]) -> None:
    assert notes(resolved(compose(*given))) == []


HARD_RESET = "a hard reset drops the charge above θ at each spike"
LEAK = "a leak loses charge between spikes"


def said(*overrides: str, experiment: str | None = None) -> list[str]:
    """The notes a job of ``overrides`` gives before any work (its record's ``notes``)."""
    return list(validate(compose(*CSV, *overrides, experiment=experiment)))


@pytest.mark.parametrize(
    ("given", "line"),
    [
        (  # the target converted (the default boxes: the source is its kind, converted too)
            ["train.kind=conversion", "reset=hard"],
            "reset=hard with the target and the black-box source of train.kind=conversion: ",
        ),
        (["train.kind=conversion", "reset=hard", "boxes=[white]"], "reset=hard with the target "),
        (  # the source's reset is its kind's default, set in train.resets
            ["source_train=conversion", "train.resets.conversion=hard"],
            "train.resets.conversion=hard with the black-box source of source_train=conversion: ",
        ),
        (  # reset=hard set for an STBP target (its default) reaches the converted source
            ["reset=hard", "source_train=conversion"],
            "reset=hard with the black-box source ",
        ),
    ],
)
def test_a_hard_reset_of_a_converted_model_is_a_note_of_the_config(
    given: list[str], line: str
) -> None:
    """A hard reset with a converted model was a warning logged when the model was converted,
    never in the record, and a job that reused the stored model said nothing: a config note
    says it in every job that converts or attacks one, the source's as its own config
    resolves it (its kind's reset)."""
    (note,) = [n for n in said(*given) if HARD_RESET in n]
    assert note.startswith(line) and "loses accuracy" in note and "reset=soft" in note


@pytest.mark.parametrize(
    ("given", "line"),
    [
        (["train.kind=conversion", "lambda=0.5"], "lambda=0.5 with the target and the black"),
        (["train.kind=conversion", "lambda=0.9", "boxes=[white]"], "lambda=0.9 with the target "),
        (  # the source's own leak
            ["train.kind=ann", "source_train=conversion", "source_lambda=0.9"],
            "source_lambda=0.9 with the black-box source of source_train=conversion: ",
        ),
    ],
)
def test_a_leak_in_a_converted_model_is_a_note_of_the_config(given: list[str], line: str) -> None:
    """λ < 1 with conversion (38.9 % clean at λ=0.5, T=32 on the digits against 99.1 % at
    λ=1) was accepted without a word: conversion maps ReLUs to integrate-and-fire neurons,
    and a leak makes their rates fall short. Noted, not refused."""
    (note,) = [n for n in said(*given) if LEAK in n]
    assert note.startswith(line) and "integrate-and-fire" in note and "hybrid" in note


@pytest.mark.parametrize(
    ("given", "experiment"),
    [
        (["train.kind=conversion"], None),  # the defaults: λ=1, the kind's soft reset
        (["train.kind=conversion", "reset=soft", "lambda=1.0"], None),
        # a hybrid model is fine-tuned at its leak and reset, which recovers the accuracy
        (["train.kind=hybrid", "lambda=0.5", "reset=hard"], None),
        (["reset=hard", "lambda=0.5"], None),  # STBP models, an STBP source
        # the source is an ANN or STBP model: the target's leak is not a converted one's
        (["train.kind=conversion", "source_train=stbp", "source_lambda=0.5"], None),
        # an experiment's per-kind leak: the converted target at λ=1, the hybrid source at 0.99
        (["train.kind=conversion", "source_train=hybrid"], "digits_eccv_kinds"),
        (["train.kind=hybrid", "source_train=conversion"], "digits_eccv_kinds"),
    ],
)
def test_no_leak_or_reset_note_where_no_converted_model_has_them(
    given: list[str], experiment: str | None
) -> None:
    assert not [n for n in said(*given, experiment=experiment) if HARD_RESET in n or LEAK in n]


def test_conversion_batches_beyond_the_data_are_recorded_as_read_and_noted(
    tmp_path: Path,
) -> None:
    """``train.conversion.batches=1000`` on the digits' 19 training batches read the 19, and
    the record said nothing of it: the record's ``calibration_batches`` holds the batches
    read, and a note says the calibration read all the data held, where the model is
    converted and where a later job reuses it (a hybrid model's record carries its
    conversion's)."""
    store = ModelStore(tmp_path)
    cfg = composed("train.epochs=1", "train.conversion.batches=1000", "train.hybrid.epochs=1")
    data = datamodule(data_settings(cfg, 0))
    data.setup("fit")
    held = len(data.train_dataloader())
    line = (
        f"train.conversion.batches=1000 is more than the {held} batches the training data hold: "
        f"the target (train.kind=conversion) was converted with thresholds calibrated on all "
        f"{held} (the record's calibration_batches), as train.conversion.batches={held} "
        "calibrates them, though stored under a key of its own"
    )
    conversion = model_settings(with_train(cfg, kind="conversion"))
    for cached in (False, True):
        _, record = trained_model(conversion, 0, store, [])
        assert record["cached"] is cached and record["calibration_batches"] == held
        assert calibration_notes({"target": record, "source": None}) == [line]
    _, hybrid = trained_model(model_settings(with_train(cfg, kind="hybrid")), 0, store, [])
    assert hybrid["calibration_batches"] == held
    source = line.replace("target (train.kind=conversion)", "black-box source (train.kind=hybrid)")
    assert calibration_notes({"target": record, "source": hybrid}) == [line, source]
    # as many as the data hold, or fewer: read as asked, no note
    fewer = model_settings(with_train(composed("train.epochs=1"), kind="conversion"))
    _, record = trained_model(fewer, 0, store, [])
    assert record["calibration_batches"] == 10 and calibration_notes({"target": record}) == []


def test_every_job_of_a_conversion_capped_at_the_data_records_the_note(tmp_path: Path) -> None:
    """The job that converts the model and a later one that reuses it from the store both
    keep the note of batches beyond the data's in ``metrics.json`` (with a hard reset's,
    which was a warning logged by the first job only), and the record's
    ``calibration_batches`` says the batches read, where only the config's 1000 was."""
    for job, cached in (("first", False), ("again", True)):
        metrics = run_job(
            *QUICK,
            "train.kind=conversion",
            "train.conversion.batches=1000",
            "reset=hard",
            "boxes=[white]",
            "T=8",
            "trainer.limit_test_batches=1",
            output_dir=tmp_path / job,
            store=tmp_path / "models",
        )
        target = metrics["models"]["target"]
        assert target["cached"] is cached and target["calibration_batches"] < 1000
        notes = metrics["notes"]
        assert any(n.startswith("train.conversion.batches=1000 is more than the") for n in notes)
        assert any(n.startswith("reset=hard with the target") for n in notes)
