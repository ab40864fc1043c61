"""The worst-case ensemble (method=[ensemble], its default components) on a trained digits
model rebuilt in spikingjelly and in snnTorch from the same weights and adapted: the same
robust accuracy and the same first successes of each component as on the native model. (The
adversarial examples themselves may part where the two round differently: spikingjelly's
layers run each step's copy of the image, the native StepWise runs it once.)"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from fixtures_digits import trained
from harness import compose
from torch import nn

from snnattack.attacks.ensemble import worst_case
from snnattack.attacks.parse import components
from snnattack.interop import adapt
from snnattack.snn.neurons import LIF
from snnattack.snn.surrogates import Triangle

EPS = 16 / 255
IMAGES = 48


def spikingjelly_body(native: nn.Module) -> nn.Module:
    """digits_net's body in spikingjelly: IF nodes resetting to 0 (the native LIF's default),
    with the native's surrogate, the triangle of half-width 1 (their PiecewiseQuadratic)."""
    pytest.importorskip("spikingjelly")
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    def node() -> nn.Module:
        triangle = surrogate.PiecewiseQuadratic(alpha=1.0)
        return neuron.IFNode(v_threshold=1.0, v_reset=0.0, surrogate_function=triangle)

    body = native.body
    net = nn.Sequential(
        layer.Conv2d(1, 16, 3, padding=1, bias=False),
        layer.BatchNorm2d(16),
        node(),
        layer.AvgPool2d(2),
        layer.Conv2d(16, 32, 3, padding=1, bias=False),
        layer.BatchNorm2d(32),
        node(),
        layer.AvgPool2d(2),
        layer.Flatten(),
        layer.Linear(32 * 2 * 2, 10),
    )
    for i in (0, 1, 4, 5):
        net[i].load_state_dict(body[i].module.state_dict())
    net[9].load_state_dict(body[9].state_dict())
    functional.set_step_mode(net, "m")
    return net


def snntorch_body(native: nn.Module) -> nn.Module:
    """digits_net's time step in snnTorch: IF neurons (beta 1) resetting to zero on the step
    of the spike, with its gradient (the native LIF's default)."""
    snn = pytest.importorskip("snntorch")

    def leaky() -> nn.Module:
        return snn.Leaky(beta=1.0, reset_mechanism="zero", reset_delay=False, init_hidden=True)

    body = native.body
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        leaky(),
        nn.AvgPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32),
        leaky(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 10),
    )
    for i in (0, 1, 4, 5):
        net[i].load_state_dict(body[i].module.state_dict())
    net[9].load_state_dict(body[9].state_dict())
    return net


@pytest.mark.slow
@pytest.mark.parametrize("rebuild", [spikingjelly_body, snntorch_body])
def test_the_ensemble_gives_the_same_robust_accuracy_as_on_the_native_model(
    rebuild, digits_store: Path
) -> None:
    native, x, y = trained(digits_store)
    native = native.double().eval()
    x, y = x[:IMAGES].double(), y[:IMAGES]
    assert all(m.reset == "hard" and m.lam == 1.0 for m in native.modules() if isinstance(m, LIF))
    adapted = adapt(rebuild(native).double(), T=native.T, normalize=native.normalize).eval()
    for lif in adapted.modules():  # snnTorch has no triangle: the native's set by hand
        if isinstance(lif, LIF) and rebuild is snntorch_body:
            lif.surrogate = Triangle()
    assert {repr(m.surrogate) for m in adapted.modules() if isinstance(m, LIF)} == {
        "triangle(width=1.0)"
    }
    parts = components(compose("method=[ensemble]"), "ensemble")
    square = dataclasses.replace(parts[-1], params={**parts[-1].params, "n_queries": 200})
    parts = [*parts[:-1], square]
    results = []  # (clean-correct, robust, each component's first successes)
    for model in (native, adapted):

        def judge(batch: torch.Tensor, model: nn.Module = model) -> torch.Tensor:
            with torch.no_grad():
                return model(batch).argmax(1)

        correct = judge(x) == y
        torch.manual_seed(0)
        worst = worst_case(parts, model, judge, x, y, correct, EPS)
        results.append((correct, judge(worst.adv) == y, worst.firsts))
    (correct, robust, firsts), (correct_a, robust_a, firsts_a) = results
    assert correct.float().mean() > 0.8 and robust.sum() < correct.sum()
    assert torch.equal(correct, correct_a) and torch.equal(robust, robust_a)
    assert torch.equal(firsts, firsts_a)
