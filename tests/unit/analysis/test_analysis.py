"""Spike shuffle and rate-current curves, on hand-made currents and a trained digits model."""

import json
import logging
import math
from pathlib import Path

import pytest
import torch
from harness import compose
from torch import nn

from snnattack.analysis import resolve_device, run_analyses
from snnattack.analysis.rate_current import actual_curve, static_curve
from snnattack.analysis.shuffle import shuffle_test, spike_shuffle
from snnattack.config.parse import analysis_settings, data_settings
from snnattack.data import datamodule
from snnattack.job import run
from snnattack.records.store import ModelStore
from snnattack.snn.neurons import LIF
from snnattack.training.parse import model_settings
from snnattack.training.trained import trained_model

SHUFFLE_TOLERANCE = 3.0  # percentage points a rate-coded digits model may move when shuffled


@pytest.fixture(scope="module")
def trained(digits_store: Path):
    """A digits SNN (T=4, λ=0.9) trained for 8 epochs, its config and datamodule."""
    cfg = compose(
        "train.epochs=8",
        "lambda=0.9",
        f"store.dir={digits_store}",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "analysis=[shuffle,rate_current]",
    )
    model, _ = trained_model(model_settings(cfg), 0, ModelStore(digits_store), [])
    dm = datamodule(data_settings(cfg, 0))
    dm.setup()
    return model, cfg, dm


@pytest.mark.parametrize("mode", ["layer", "neuron"])
def test_shuffle_keeps_each_neurons_spike_count_and_changes_the_order(mode: str) -> None:
    net = nn.Sequential(LIF(lam=0.9))
    current = torch.rand(16, 8, 50) * 1.5
    true = net(current)
    with spike_shuffle(net, seed=3, mode=mode):
        shuffled = net(current)
    with spike_shuffle(net, seed=3, mode=mode):
        again = net(current)
    assert torch.equal(shuffled.sum(0), true.sum(0))
    assert not torch.equal(shuffled, true)
    changed = (shuffled != true).any(0).float().mean()
    assert changed > 0.5  # most neurons with mixed spikes/silences get a new order
    assert torch.equal(shuffled, again)  # seeded
    assert torch.equal(net(current), true)  # the switch is undone on exit


def time_order(shuffled: torch.Tensor, true: torch.Tensor) -> list[int] | None:
    """The one permutation p of time steps with ``shuffled == true[p]``, if there is one."""
    flat_s, flat_t = shuffled.flatten(1), true.flatten(1)
    order = []
    for row in flat_s:
        same = [t for t in range(len(flat_t)) if t not in order and torch.equal(row, flat_t[t])]
        if not same:
            return None
        order.append(same[0])
    return order


@pytest.mark.parametrize("mode", ["layer", "neuron"])
def test_layer_mode_permutes_time_alike_for_every_neuron_of_a_layer(mode: str) -> None:
    net = nn.Sequential(LIF(lam=0.9), nn.Linear(50, 40), LIF(lam=0.9))
    current = torch.rand(16, 8, 50) * 1.5
    with torch.no_grad():
        first = net[0](current)
        seen: list[torch.Tensor] = []
        hooks = [m.register_forward_hook(lambda _m, i, o: seen.append(o)) for m in net[::2]]
        with spike_shuffle(net, seed=3, mode=mode):
            net(current)
        for h in hooks:
            h.remove()
    shuffled_first, shuffled_second = seen
    # the second layer is fed the shuffled first layer: compare with its own unshuffled output
    with torch.no_grad():
        second = net[2](net[1](shuffled_first))
    for shuffled, true in ((shuffled_first, first), (shuffled_second, second)):
        assert torch.equal(shuffled.sum(0), true.sum(0))  # each neuron's count
        per_step = (shuffled.flatten(1).sum(1).sort().values, true.flatten(1).sum(1).sort().values)
        order = time_order(shuffled, true)
        if mode == "layer":
            assert torch.equal(*per_step)  # the layer's spike count at each step, reordered
            assert order is not None and order != list(range(16))
        else:
            assert order is None  # no single time order explains every neuron's train


def test_shuffle_moves_a_rate_coded_digits_models_accuracy_little(trained) -> None:
    model, _, dm = trained
    result = shuffle_test(model, dm.test_dataloader(), seed=0)
    assert result["n"] == 450
    assert result["clean_acc"] > 85
    assert abs(result["shuffled_acc"] - result["clean_acc"]) < SHUFFLE_TOLERANCE


def test_static_curve_equals_the_closed_form() -> None:
    theta = 1.0
    for lam in (1.0, 0.9, 0.5):
        curve = static_curve(lam, theta, i_max=3.0, points=61)
        for i, r in zip(curve["current"], curve["rate"], strict=True):
            if lam == 1.0:
                expected = min(i / theta, 1.0)
            elif i <= (1 - lam) * theta + 1e-9:
                expected = 0.0
            else:
                expected = 1.0 / math.ceil(math.log((i + theta * (lam - 1)) / i, lam) - 1e-9)
            assert r == pytest.approx(expected), (lam, i)


def _manual_points(model, loader) -> torch.Tensor:
    """(mean current, rate) of the second LIF of digits_net, by hand, for every val sample."""
    body = model.body
    points = []
    with torch.no_grad():
        for x, _ in loader:
            current = body[:6](model.encoder(model.normalize(x)))
            spikes = body[6].simulate(current)
            points.append(torch.stack([current.mean(0).flatten(), spikes.mean(0).flatten()], 1))
    return torch.cat(points)


def test_actual_curve_points_equal_a_manual_forward_pass(trained) -> None:
    model, _, dm = trained
    manual = _manual_points(model, dm.val_dataloader())
    every = actual_curve(model, dm.val_dataloader(), layer=1, n_points=10**9)
    got = torch.tensor([every["current"], every["rate"]]).T
    assert torch.allclose(got, manual, atol=1e-6)
    assert {r * 4 for r in every["rate"]} <= set(range(5))  # T=4: rates are k/4

    sample = actual_curve(model, dm.val_dataloader(), layer=1, n_points=500, seed=1)
    points = torch.tensor([sample["current"], sample["rate"]]).T
    assert len(points) == 500
    distance = torch.cdist(points, manual).min(1).values
    assert distance.max() < 1e-6  # every sampled point is one of the manual points
    assert sample == actual_curve(model, dm.val_dataloader(), layer=1, n_points=500, seed=1)


def test_actual_curve_samples_every_point_alike_whatever_its_batch(trained) -> None:
    """A last batch of 4 samples beside one of 64 (a split's remainder) holds 4/68 of the
    points, and so of a sample (once, every batch kept its own n_points: a third here)."""
    model, _, _ = trained
    small = torch.zeros(4, 1, 8, 8)  # its points: the blank image's currents, recognisable
    blank = set(actual_curve(model, [(small, None)], layer=1, n_points=10**9)["current"])
    per_sample = len(actual_curve(model, [(small[:1], None)], layer=1, n_points=10**9)["rate"])
    big = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0)) + 0.1
    n = 8 * per_sample
    batches = [(big, None), (small, None)]
    shares = [
        sum(c in blank for c in actual_curve(model, batches, 1, n, seed=s)["current"]) / n
        for s in range(5)
    ]
    assert 0.02 < sum(shares) / len(shares) < 0.12  # 4 / 68 = 0.059


def test_job_analyses_record_shuffle_and_rate_current_results(trained) -> None:
    model, cfg, dm = trained
    out = run_analyses(analysis_settings(cfg), model, dm)
    assert set(out) == {"shuffle", "rate_current"}
    assert out["shuffle"]["n"] == 450
    assert len(out["rate_current"]["actual"]["current"]) == 8000
    assert out["rate_current"]["actual"]["lam"] == 0.9
    assert out["rate_current"]["static"]["rate"][-1] == 1.0


def test_the_static_curve_is_the_layers_neurons_not_the_configs(trained) -> None:
    """A hybrid model fires at θ times ``train.hybrid.threshold_scale`` (a foreign network at
    its own λ): the static curve was drawn for the config's θ beside the layer's points."""
    model, cfg, dm = trained
    for lif in (m for m in model.modules() if isinstance(m, LIF)):
        lif.theta = 0.5  # as a hybrid model of threshold_scale 0.5 is built
    try:
        out = run_analyses(analysis_settings(cfg), model, dm)["rate_current"]
    finally:
        for lif in (m for m in model.modules() if isinstance(m, LIF)):
            lif.theta = cfg.theta
    opts = cfg.analysis.rate_current
    assert out["actual"]["theta"] == 0.5 and cfg.theta == 1.0
    assert out["static"] == static_curve(0.9, 0.5, opts.static_max, opts.static_points)


def test_job_cost_analysis_records_what_report_md_lists(trained) -> None:
    """``analyses.cost`` holds the fields docs/report.md names: how it measured, and per step
    (the forward and every gradient mode) its median time, peak memory and ratios."""
    model, _, dm = trained
    settings = analysis_settings(compose("analysis=[cost]", "analysis.cost.repeats=1"))
    notes: list[str] = []
    out = run_analyses(settings, model, dm, notes)["cost"]
    assert set(out) == {"batch_size", "repeats", "device", "threads", "modes"}
    assert (out["batch_size"], out["repeats"]) == (32, 1) and notes == []  # 32 of 450 images
    assert out["device"] == str(resolve_device("auto"))  # the GPU where there is one
    forward, stbp = out["modes"]["forward"], out["modes"]["stbp"]
    assert set(stbp) == {
        "seconds", "peak_mb", "dense_seconds", "dense_vs_forward", "time_vs_forward",
        "time_vs_stbp", "memory_vs_forward", "memory_vs_stbp",
    }  # fmt: skip
    assert forward["time_vs_forward"] == 1.0 and stbp["time_vs_stbp"] == 1.0


def test_a_cost_batch_larger_than_the_test_split_is_noted_in_console_and_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``analysis.cost.batch_size=1000`` on a test split of 450 images measured a batch of
    450 in silence (``analyses.cost.batch_size: 450``, ``notes: []``); here the split holds 18
    (``test_fraction=0.01``) and the batch is ``eval_batch_size``'s 32."""
    cfg = compose(
        "trainer=cpu", "train.epochs=1", "trainer.limit_train_batches=2", "eps=[16]",
        "method=[fgsm]", "boxes=[white]", "checks.masking.enabled=false",
        "dataset.params.test_fraction=0.01", "analysis=[cost]", "analysis.cost.repeats=1",
        f"store.dir={tmp_path}/store",
    )  # fmt: skip
    (tmp_path / "out").mkdir()
    with caplog.at_level(logging.WARNING, logger="snnattack"):
        record = run(cfg, tmp_path / "out")
    note = (
        "the cost analysis measures a batch of the 18 test images, fewer than "
        "analysis.cost.batch_size=32"
    )
    assert record.analyses["cost"]["batch_size"] == 18
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["notes"] == [note]
    assert f"note: {note}" in [r.getMessage() for r in caplog.records]


class _Noisy(nn.Module):
    """A stochastic encoder (as Poisson's: the global generator's noise) before one LIF."""

    def __init__(self) -> None:
        super().__init__()
        self.lif = LIF(lam=0.9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif(x.unsqueeze(0).repeat(4, 1, 1) + torch.rand(4, *x.shape))


def test_actual_curve_points_do_not_depend_on_what_drew_random_numbers_before() -> None:
    """Under a stochastic encoder the points moved with the global generator's state, so
    analysis=[rate_current] gave other points beside analysis=[shuffle,rate_current]."""
    net, batches = _Noisy(), [(torch.rand(3, 5), None)]
    first = actual_curve(net, batches, layer=0, n_points=100, seed=2)
    torch.rand(7)  # another analysis, or attack, before it
    assert actual_curve(net, batches, layer=0, n_points=100, seed=2) == first
