"""Sharmin et al.'s (ECCV 2020) settings: signed Poisson input, threshold scaling of the
hybrid SNN, and the ECCV experiment files read back per kind."""

from __future__ import annotations

import pytest
import torch
from harness import EXPERIMENTS, compose
from omegaconf import DictConfig

from snnattack.models import build
from snnattack.snn.encoding import SignedPoissonEncoder, build_encoder
from snnattack.snn.neurons import LIF
from snnattack.training import STRATEGIES
from snnattack.training.parse import model_settings, source_config


def test_signed_poisson_spikes_are_signed_units_whose_mean_is_the_normalised_image() -> None:
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 21).view(1, 21)
    spikes = build_encoder("poisson_signed", 4000)(x)
    assert set(spikes.unique().tolist()) <= {-1.0, 0.0, 1.0}
    assert (spikes * torch.sign(x) >= 0).all()  # a spike has its pixel's sign
    torch.testing.assert_close(spikes.mean(0), x, atol=0.03, rtol=0)


def test_signed_poisson_gradient_is_straight_through_and_its_rate_is_kept_for_rga() -> None:
    encoder = SignedPoissonEncoder(8)
    x = (torch.rand(3, 5) * 2 - 1).requires_grad_(True)
    encoder(x).sum().backward()
    torch.testing.assert_close(x.grad, torch.full_like(x, 8.0))  # 1 per step, T steps
    expected = encoder.expected(x)
    assert expected.shape == (1, 3, 5) and torch.equal(expected[0], encoder.last_rate)


def test_signed_poisson_model_normalises_with_mean_and_std_one_half() -> None:
    model = build("digits_net", 10, in_channels=1, T=2, encoding="poisson_signed")
    x = torch.tensor([0.0, 0.25, 1.0]).view(3, 1, 1, 1).expand(3, 1, 8, 8)
    torch.testing.assert_close(model.normalize(x)[:, 0, 0, 0], torch.tensor([-1.0, -0.5, 1.0]))


def kind_cfg(kind: str) -> DictConfig:
    """The digits config of ``kind`` with signed Poisson input and thresholds scaled by 0.7."""
    return compose(
        f"train.kind={kind}", "encoding=poisson_signed", "train.hybrid.threshold_scale=0.7"
    )


def test_the_ann_of_a_signed_poisson_snn_sees_the_spikes_expected_value() -> None:
    ann = STRATEGIES["ann"].build(model_settings(kind_cfg("ann")))
    assert ann.T == 1 and type(ann.encoder).__name__ == "DirectEncoder"
    x = torch.full((1, 1, 8, 8), 0.75)
    torch.testing.assert_close(ann.normalize(x), torch.full_like(x, 0.5))


@pytest.mark.parametrize(("kind", "theta"), [("conversion", 1.0), ("hybrid", 0.7)])
def test_hybrid_snn_runs_with_its_thresholds_scaled(kind: str, theta: float) -> None:
    model = STRATEGIES[kind].build(model_settings(kind_cfg(kind)))
    thetas = [m.theta for m in model.modules() if isinstance(m, LIF)]
    assert thetas and thetas == pytest.approx([theta] * len(thetas))


# --- the ECCV experiment files, composed and read back per kind -----------------------------

ECCV_CODE = {  # ssharmin/spikingNN-adversarial-attack, model_loader.py, load()
    "conversion": {"T": 2000, "lambda": 1.0},
    "hybrid": {"T": 175, "lambda": 0.99},
}


def eccv(name: str, *overrides: str) -> DictConfig:
    """``experiments/NAME`` composed as a job's config."""
    return compose(*overrides, experiment=name)


@pytest.mark.parametrize(
    ("name", "model"),
    [("eccv_kinds_cifar10_vgg5", "vgg5"), ("eccv_kinds_cifar10_vgg11", "vgg11_eccv")],
)
@pytest.mark.parametrize("kind", ["conversion", "hybrid"])
def test_eccv_kinds_files_run_each_kind_as_the_eccv_code(name: str, model: str, kind: str) -> None:
    cfg = eccv(name, f"train.kind={kind}")
    assert (cfg.T, cfg["lambda"]) == tuple(ECCV_CODE[kind].values())
    assert cfg.model.name == model and cfg.reset == "soft" and cfg.encoding == "poisson_signed"
    assert cfg.train.hybrid.threshold_scale == 0.7 and cfg.eps == [8]
    pgd = cfg.method.pgd
    assert (pgd.alpha, pgd.steps, pgd.random_start) == (2, 7, True)
    built = STRATEGIES[kind].build(model_settings(cfg))
    thetas = {m.theta for m in built.modules() if isinstance(m, LIF)}
    assert thetas == {0.7 if kind == "hybrid" else 1.0}


@pytest.mark.parametrize("source", ["conversion", "hybrid"])
def test_eccv_black_box_source_runs_at_its_own_kinds_settings(source: str) -> None:
    cfg = eccv("eccv_kinds_cifar10_vgg5", "train.kind=ann", f"source_train={source}")
    assert cfg.T == 1
    src = source_config(cfg)
    assert (src.train.kind, src.T, src["lambda"]) == (source, *ECCV_CODE[source].values())


STEPS = ("full", "half", "quarter", "eighth")
KINDS_FILE = {  # each T x quantisation file and the kinds file whose settings it takes
    "eccv_T_quantisation_cifar10_vgg11": "eccv_kinds_cifar10_vgg11",
    "digits_eccv_T_quantisation": "digits_eccv_kinds",
}


@pytest.mark.parametrize("name", sorted(KINDS_FILE))
@pytest.mark.parametrize("kind", ["conversion", "hybrid"])
def test_t_quantisation_study_runs_each_arm_down_from_its_kinds_t(name: str, kind: str) -> None:
    base = eccv(KINDS_FILE[name], f"train.kind={kind}")
    grid = [eccv(name, f"train.kind={kind}", f"kinds.step={step}").T for step in STEPS]
    assert grid[0] == base.T and grid == sorted(set(grid), reverse=True)
    assert abs(grid[-1] * 8 - base.T) <= 8  # down to about an eighth
    cfg = eccv(name, f"train.kind={kind}")
    assert (cfg["lambda"], cfg.encoding, cfg.train.hybrid) == (
        base["lambda"],
        base.encoding,
        base.train.hybrid,
    )


def test_digits_eccv_files_keep_the_eccv_settings_but_a_cpu_sized_t() -> None:
    header = (EXPERIMENTS / "digits_eccv_kinds.yaml").read_text().split("defaults:")[0]
    steps = {}
    for kind in ("conversion", "hybrid"):
        digits = eccv("digits_eccv_kinds", f"train.kind={kind}")
        cifar = eccv("eccv_kinds_cifar10_vgg5", f"train.kind={kind}")
        assert (digits["lambda"], digits.reset, digits.encoding) == (
            cifar["lambda"],
            cifar.reset,
            cifar.encoding,
        )
        assert digits.train.hybrid.threshold_scale == cifar.train.hybrid.threshold_scale
        assert digits.T < cifar.T and f"T = {digits.T}" in header  # the header says which T
        steps[kind] = digits.T
    assert steps["conversion"] > steps["hybrid"]  # the converted SNN still runs the most steps


def test_leak_files_sweep_the_hybrid_snn_at_its_kinds_t() -> None:
    for name, kinds in (
        ("eccv_leak_cifar10_vgg11", "eccv_kinds_cifar10_vgg11"),
        ("digits_eccv_leak", "digits_eccv_kinds"),
    ):
        cfg, base = eccv(name, "lambda=0.9"), eccv(kinds, "train.kind=hybrid")
        assert (cfg.train.kind, cfg["lambda"]) == ("hybrid", 0.9)
        assert (cfg.T, cfg.train.hybrid, cfg.encoding) == (base.T, base.train.hybrid, base.encoding)
