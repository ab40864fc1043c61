"""``checkpoint=`` with a model's own state dict: ``torch.save(net.state_dict())`` of the
network a ``model=external`` factory builds (a native ``SpikingNet``, a spikingjelly network
with a ``ParametricLIFNode``, an snnTorch one) loads by its names into that network before it
is adapted, and gives the numbers of the network it was saved from. A file that does not fit
is refused in one line, and a pickle that would run code never runs."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch
from harness import RunsCode, compose
from torch import nn

from snnattack.errors import CheckpointError, ConfigError
from snnattack.interop.external import as_spiking_net
from snnattack.training.parse import model_settings
from snnattack.training.trained import built_models, load_from_file

FACTORIES = {  # the factory, and the library it needs
    "native": ("external_nets.digits_net", "torch"),
    "spikingjelly PLIF": ("foreign_nets.spikingjelly_plif", "spikingjelly"),
    "snnTorch": ("foreign_nets.snntorch_leaky", "snntorch"),
}


def factory(target: str) -> nn.Module:
    """The network the factory ``target`` builds, as the job's factory call builds it."""
    module, _, name = target.rpartition(".")
    return getattr(importlib.import_module(module), name)()


def trained(net: nn.Module) -> nn.Module:
    """``net`` with other weights, as training would leave them: every parameter (a PLIF's
    decay ``w`` and snnTorch's learned ``beta`` and ``threshold`` too) scaled, and BN
    statistics and shifts that make every layer spike."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(torch.empty(p.shape).uniform_(0.6, 1.4, generator=generator))
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2, generator=generator)
                m.running_var.uniform_(0.1, 0.3, generator=generator)
                m.weight.uniform_(1.0, 2.5, generator=generator)
                m.bias.uniform_(0.4, 1.4, generator=generator)
    return net.eval()


def external(target: str) -> object:
    return compose("model=external", f"model.factory._target_={target}", "T=4")


@pytest.mark.parametrize(("target", "library"), FACTORIES.values(), ids=FACTORIES.keys())
def test_the_factorys_own_state_dict_loads_by_its_names_and_gives_its_logits(
    tmp_path: Path, target: str, library: str
) -> None:
    pytest.importorskip(library)
    net = trained(factory(target))
    torch.save(net.state_dict(), tmp_path / "weights.pt")
    model, record = load_from_file(model_settings(external(target)), str(tmp_path / "weights.pt"))
    assert record["format"] == "state_dict"
    x = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = as_spiking_net(net, 4).eval()(x)
        got = model(x)
        untrained = as_spiking_net(factory(target), 4).eval()(x)
    assert expected.std(0).sum() > 0  # the logits depend on the input
    torch.testing.assert_close(got, expected)
    assert (got - untrained).abs().max() > 0.05  # the file's weights, not the factory's


def test_a_file_that_does_not_fit_the_factorys_network_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    pytest.importorskip("snntorch")
    pytest.importorskip("spikingjelly")
    torch.save(factory(FACTORIES["snnTorch"][0]).state_dict(), tmp_path / "leaky.pt")
    with pytest.raises(CheckpointError) as refused:
        load_from_file(
            model_settings(external(FACTORIES["spikingjelly PLIF"][0])), str(tmp_path / "leaky.pt")
        )
    assert str(refused.value) == (
        f"checkpoint={tmp_path / 'leaky.pt'} does not fit the configured model: missing key '2.w'; "
        "accepted: a file of the configured architecture, classes and input channels"
    )


def test_a_pickle_that_would_run_code_is_refused_unrun_for_an_external_model(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "ran"
    torch.save({"0.weight": RunsCode(marker)}, tmp_path / "planted.pt")
    with pytest.raises(CheckpointError, match=r"needs posix\.system.*refused without loading"):
        load_from_file(
            model_settings(external(FACTORIES["native"][0])), str(tmp_path / "planted.pt")
        )
    assert not marker.exists()


@pytest.mark.parametrize(
    ("target", "overrides", "told"),
    [
        (
            "foreign_nets.spikingjelly_plif",
            ["encoding=poisson"],
            "encoding='poisson' with model=external: the network runs as "
            "foreign_nets.spikingjelly_plif builds it, whose input encoding is encoding=direct",
        ),
        (
            "foreign_nets.snntorch_leaky",
            ["encoding_levels=2"],
            "encoding_levels=2 with model=external: the network runs as "
            "foreign_nets.snntorch_leaky builds it, whose input encoding is encoding_levels=null",
        ),
        (
            "external_nets.digits_net",
            ["encoding=poisson"],
            "encoding='poisson' with model=external: the network runs as "
            "external_nets.digits_net builds it, whose input encoding is encoding=direct",
        ),
    ],
    ids=["spikingjelly_poisson", "snntorch_levels", "native_poisson"],
)
def test_an_encoding_the_factorys_network_does_not_run_is_refused(
    target: str, overrides: list[str], told: str
) -> None:
    """A job of ``model=external`` with ``encoding=poisson`` or ``encoding_levels=2`` ran the
    network on the images as they are, bit for bit the direct job's rows, and recorded the
    encoding set (config, results.csv, report), as the API refuses it."""
    pytest.importorskip(dict(FACTORIES.values())[target])
    cfg = compose("model=external", f"model.factory._target_={target}", "T=4", *overrides)
    with pytest.raises(ConfigError) as err:
        built_models(model_settings(cfg))
    assert str(err.value).startswith(told) and "\n" not in str(err.value)
