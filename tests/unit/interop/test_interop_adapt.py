"""snnattack.interop.adapt without a foreign library: the project's models pass through, a
network of unknown neurons is refused in one line naming the module, a bad T is refused, a
user's decode replaces the mean over T."""

from __future__ import annotations

import sys

import pytest
import torch
from interop_oracle import Heaviside
from torch import nn

from snnattack.errors import UserError
from snnattack.interop import adapt, supported
from snnattack.interop.common import AdaptedNet
from snnattack.interop.external import as_spiking_net
from snnattack.models.zoo import build
from snnattack.snn.neurons import LIF
from snnattack.snn.temporal import StepWise


def test_a_model_of_this_project_is_returned_as_it_is() -> None:
    """At its own steps: another ``T`` was ignored without a word (the network ran at 2)."""
    model = build("digits_net", num_classes=10, in_channels=1, T=2)
    assert adapt(model, T=2) is model
    with pytest.raises(UserError, match=r"^interop: T=4 but the network is a SpikingNet of T=2"):
        adapt(model, T=4)


def test_a_model_of_this_project_beside_another_librarys_network_runs_at_its_own_steps() -> None:
    """``T`` given for a transfer is the foreign network's (snnattack.evaluate's black box): a
    SpikingNet beside it passes at its own T; beside a SpikingNet, or alone, it is refused."""
    model = build("digits_net", num_classes=10, in_channels=1, T=2)
    foreign = nn.Sequential(nn.Linear(4, 3), LIF(theta=0.5))
    assert as_spiking_net(model, 4, beside=foreign) is model
    for beside in (None, model):
        with pytest.raises(UserError, match="T=4 but model=.* is a SpikingNet of T=2"):
            as_spiking_net(model, 4, beside=beside)


def test_a_network_of_unknown_neurons_is_refused_naming_the_module() -> None:
    net = nn.Sequential(nn.Linear(4, 3), Heaviside(), nn.Linear(3, 2))
    with pytest.raises(UserError) as err:
        adapt(net, T=2)
    message = str(err.value)
    assert "\n" not in message and "1 (" in message and "Heaviside" in message
    assert all(name in message for name in supported())


def test_a_network_without_neurons_is_refused() -> None:
    """An ANN passed to the API: one line saying what is accepted, the ANN way among it."""
    with pytest.raises(UserError) as err:
        adapt(nn.Sequential(nn.Linear(4, 2)), T=2)
    assert str(err.value).startswith(
        "interop: Sequential has no known neuron; accepted: a network of spikingjelly, snnTorch"
    )
    assert str(err.value).endswith(  # it named train.kind=ann, which model=external refuses
        "(snnattack.load); a network of yours without spiking neurons (an ANN) is not taken: the "
        "ANNs this project attacks are its own models trained by a job with train.kind=ann"
    )


def test_a_user_decode_replaces_the_mean_over_time() -> None:
    body = nn.Sequential(StepWise(nn.Linear(4, 3)), LIF(theta=0.5))
    torch.manual_seed(0)
    x = torch.rand(5, 4)
    last = AdaptedNet(body, 3, None, lambda out: out[-1])
    mean = AdaptedNet(body, 3, None, None)
    spikes = body(x.unsqueeze(0).expand(3, 5, 4))
    assert torch.equal(last(x), spikes[-1]) and torch.equal(mean(x), spikes.mean(0))


@pytest.mark.parametrize(
    ("T", "problem"),
    [
        (0, "is out of range"),
        (2.5, "is not an integer"),
        (True, "is not an integer"),
        ("4", "is not an integer"),
        (None, "sets no value"),
        (float("nan"), "is not an integer"),
        (float("inf"), "is not an integer"),
    ],
)
def test_a_bad_number_of_steps_is_refused(T: object, problem: str) -> None:
    """In the project's one line (it said "T must be an integer >= 1, got 0")."""
    with pytest.raises(UserError) as err:
        adapt(nn.Sequential(nn.Linear(4, 2)), T=T)
    assert str(err.value) == (
        f"interop: T={T!r} {problem}; accepted: T=<time steps>, an integer >= 1"
    )


# (argument, value, the start of the one line): each refused before the network is looked at
ARGUMENTS = [
    ("net", "my_net", "interop: net=str is not a network; accepted: an nn.Module"),
    ("decode", "mean", "interop: decode='mean' is not callable; accepted: None or a function"),
    ("normalize", (0.3, 0.37), "interop: normalize=(0.3, 0.37) is not callable"),
    ("own_loop", "yes", "interop: own_loop='yes'; accepted: None, True or False"),
    ("example", [[0.5]], "interop: example=list is not a tensor; accepted: None or samples"),
]


@pytest.mark.parametrize(("argument", "value", "start"), ARGUMENTS, ids=[a[0] for a in ARGUMENTS])
def test_an_argument_of_another_kind_is_refused_in_one_line(
    argument: str, value: object, start: str
) -> None:
    given = {"net": nn.Sequential(StepWise(nn.Linear(4, 3)), LIF()), "T": 2, argument: value}
    with pytest.raises(UserError) as err:
        adapt(given.pop("net"), **given)
    assert str(err.value).startswith(start) and "\n" not in str(err.value)


def test_a_network_on_the_meta_device_is_refused_in_one_line() -> None:
    with torch.device("meta"):
        net = nn.Sequential(nn.Linear(4, 3), Heaviside())
    with pytest.raises(UserError) as err:
        adapt(net, T=2)
    assert str(err.value) == (
        "interop: the network Sequential has its weights on the meta device (not loaded); "
        "accepted: a model with real weights (model.to_empty(device=...), then load_state_dict)"
    )


def test_the_adapters_need_no_foreign_library_until_one_is_adapted(monkeypatch) -> None:
    for name in ("spikingjelly", "snntorch", "norse"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed: import fails
    with pytest.raises(UserError, match="Heaviside"):
        adapt(nn.Sequential(nn.Linear(4, 3), Heaviside()), T=2)


def test_a_network_with_a_nan_weight_is_refused_naming_the_tensor() -> None:
    model = build("digits_net", num_classes=10, in_channels=1, T=2)
    name, weight = next(iter(model.named_parameters()))
    with torch.no_grad():
        weight.view(-1)[0] = float("nan")
    with pytest.raises(UserError) as err:
        adapt(model, T=2)
    assert "\n" not in str(err.value) and name in str(err.value)
