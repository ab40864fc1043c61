"""The record and the console give an adapted model's own neurons (each LIF's λ, θ and reset),
not the config's ``lambda`` and ``reset``, which such a model does not use."""

from __future__ import annotations

import pytest
import torch
from harness import ROOT

import snnattack
from snnattack.records.results import neuron_text

# the examples' networks, as their users build them: spikingjelly's LIFNode(tau=2) and
# snnTorch's Leaky(beta=0.5), both λ = 0.5, unlike the config's lambda=1.0
EXPECTED = {
    "spikingjelly_digits": (0.5, 1.0, "hard"),
    "snntorch_digits": (0.5, 1.0, "soft"),
}


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_the_record_gives_the_adapted_models_own_neurons(
    script: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip(script.split("_")[0])
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    example = __import__(script)
    torch.manual_seed(0)
    x, y = torch.rand(8, 1, 8, 8), torch.arange(8) % 10
    record = snnattack.evaluate(
        example.make_net().eval(),
        (x, y),
        eps=[8],
        methods=["fgsm"],
        T=example.T,
        masking=False,
        progress=False,
    )
    neurons = record.models["target"]["neurons"]
    assert [(n["lambda"], n["theta"], n["reset"]) for n in neurons] == [EXPECTED[script]] * 2
    assert record.config["lambda"] == 1.0  # the config's, unused by this model
    lam, theta, reset = EXPECTED[script]
    assert f"λ={lam:g} θ={theta:g} reset={reset}" in record.title()
    assert "λ=1.0" not in record.title()


def test_neurons_that_differ_by_layer_are_named_by_layer() -> None:
    neurons = [
        {"layer": "body.2", "lambda": 0.5, "theta": 1.0, "reset": "hard"},
        {"layer": "body.6", "lambda": 0.9, "theta": 0.5, "reset": "soft", "reset_by": 0.25},
    ]
    assert neuron_text(neurons) == (
        "body.2: λ=0.5 θ=1 reset=hard; body.6: λ=0.9 θ=0.5 reset=soft reset_by=0.25"
    )
    assert neuron_text(neurons[:1]) == "λ=0.5 θ=1 reset=hard (the model's 1 LIF)"
    own = [{**n, "surrogate": "atan(alpha=2.0)"} for n in neurons[:1]] * 2
    assert neuron_text(own) == (
        "λ=0.5 θ=1 reset=hard surrogate=atan(alpha=2.0) (the model's 2 LIFs)"
    )
