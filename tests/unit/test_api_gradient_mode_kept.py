"""A ``snnattack.gradient_mode`` block on another library's network yields the adapter an
earlier block made while neither the network, the adapter nor the arguments changed (as a
repeated ``snnattack.attack`` keeps its preparation), and never a stale one: its gradient is
a fresh adapter's, two blocks on one network nest, and a NaN weight is refused by the next
block as by the first."""

from __future__ import annotations

import copy
import gc
import weakref
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from foreign_nets import snntorch_leaky, spikingjelly_plif
from torch import nn

import snnattack
from snnattack.errors import UserError
from snnattack.interop import external
from snnattack.interop.prepared import PREPARED

pytest.importorskip("spikingjelly")
pytest.importorskip("snntorch")

T = 4
NETS: dict[str, Callable[[], nn.Module]] = {
    "spikingjelly": lambda: spikingjelly_plif().eval(),
    "snntorch": lambda: snntorch_leaky().eval(),
}


@pytest.fixture
def adaptations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per adaptation of another library's network made from now on."""
    PREPARED.clear()
    made: list[int] = []
    adapt = external.adapt
    monkeypatch.setattr(external, "adapt", lambda *a, **k: made.append(1) or adapt(*a, **k))
    return made


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    return x, torch.arange(8) % 10


def input_gradient(m: nn.Module) -> torch.Tensor:
    """The gradient of the batch's cross-entropy through ``m`` in its image."""
    x, y = batch()
    x.requires_grad_(True)
    F.cross_entropy(m(x), y).backward()
    return x.grad


def block_gradient(net: nn.Module, mode: str) -> tuple[nn.Module, torch.Tensor]:
    """The module a ``mode`` block on ``net`` yields, and its input gradient in the block."""
    with snnattack.gradient_mode(net, mode, T=T) as m:
        return m, input_gradient(m)


def spikingjelly_reset(net: nn.Module) -> None:
    from spikingjelly.activation_based import functional

    functional.reset_net(net)


def snntorch_reset(net: nn.Module) -> None:
    from snntorch import utils

    utils.reset(net)


def spikingjelly_forward(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """spikingjelly's tutorial forward of a multi-step network: the image repeated over T."""
    return net(x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0)


def snntorch_forward(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """snnTorch's tutorial forward of a network of one time step: its loop over T."""
    return torch.stack([net(x) for _ in range(T)]).mean(0)


LIBRARIES = {  # each library's forward over T, and its reset of the neurons' state
    "spikingjelly": (spikingjelly_forward, spikingjelly_reset),
    "snntorch": (snntorch_forward, snntorch_reset),
}


def step(net: nn.Module, library: str) -> None:
    """One SGD step of the library's own training on ``net``: its weights and learned decays
    (a PLIF's ``w``, snnTorch's ``beta`` and ``threshold``) take new values in place."""
    forward, reset = LIBRARIES[library]
    x, y = batch()
    optimiser = torch.optim.SGD(net.parameters(), lr=0.5)
    net.train()
    reset(net)
    F.cross_entropy(forward(net, x), y).backward()
    optimiser.step()
    reset(net)
    net.eval()


@pytest.mark.parametrize("mode", ["stbp", "rga"])
@pytest.mark.parametrize("name", NETS)
def test_a_repeated_block_yields_the_kept_adapter_with_a_fresh_ones_gradient(
    adaptations, name: str, mode: str
) -> None:
    net = NETS[name]()
    first, before = block_gradient(net, mode)
    for _ in range(2):  # training steps between the blocks, each moving the learned decays
        step(net, name)
        made = len(adaptations)
        kept, after = block_gradient(net, mode)
        assert kept is first and len(adaptations) == made  # none made
        assert not torch.equal(after, before)
        _, fresh = block_gradient(copy.deepcopy(net), mode)  # an identical network, adapted now
        assert torch.equal(after, fresh)
        before = after


CHANGES: dict[str, Callable[[nn.Module, nn.Module], object]] = {
    "network_mode": lambda net, m: net.train(),
    "network_dtype": lambda net, m: net.double(),
    "adapter_T": lambda net, m: setattr(m, "T", 2 * T),
    "adapter_mode": lambda net, m: m.train(),
    "adapter_frozen": lambda net, m: m.requires_grad_(False),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_changed_network_or_adapter_is_adapted_afresh(adaptations, change: str) -> None:
    net = NETS["spikingjelly"]()
    with snnattack.gradient_mode(net, "stbp", T=T) as m:
        pass
    CHANGES[change](net, m)
    with snnattack.gradient_mode(net, "stbp", T=T) as again:
        assert again is not m and adaptations == [1, 1]
        assert again.T == T and again.training == net.training
        assert all(p.requires_grad for p in again.parameters())
    assert next(again.parameters()).dtype == next(net.parameters()).dtype


def test_other_arguments_adapt_afresh_and_the_first_adapter_is_kept(adaptations) -> None:
    net = NETS["spikingjelly"]()
    with snnattack.gradient_mode(net, "stbp", T=T) as m:
        pass
    with snnattack.gradient_mode(net, "stbp", T=2 * T) as longer:
        assert longer.T == 2 * T
    with snnattack.gradient_mode(net, "rga", T=T) as again:  # the mode is the block's own
        assert again is m
    assert adaptations == [1, 1]


def test_two_blocks_on_one_network_nest_and_the_kept_adapter_serves_again(adaptations) -> None:
    net = NETS["spikingjelly"]()
    with snnattack.gradient_mode(net, "stbp", T=T) as outer:
        with snnattack.gradient_mode(net, "rga", T=T) as inner:
            assert inner is not outer
            inner_gradient = input_gradient(inner)
        outer_gradient = input_gradient(outer)
    assert not torch.equal(inner_gradient, outer_gradient)  # each block's own mode
    with snnattack.gradient_mode(net, "stbp", T=T) as again:
        assert again is outer
    assert adaptations == [1, 1]


def test_a_weight_made_nan_after_a_block_is_refused_by_the_next(adaptations) -> None:
    net = NETS["spikingjelly"]()
    block_gradient(net, "stbp")
    net[0].weight.data[0, 0, 0, 0] = float("nan")  # no version moves: the values are read
    with pytest.raises(UserError, match="non-finite"):
        block_gradient(net, "stbp")


def test_a_kept_adapter_keeps_no_network_alive(adaptations) -> None:
    net = NETS["spikingjelly"]()
    block_gradient(net, "stbp")
    gone = weakref.ref(net)
    del net
    gc.collect()
    assert gone() is None


class Tutorial(nn.Module):
    """spikingjelly's tutorial class: its own loop over T (the image repeated), which the
    samples of the block's first forward decide."""

    def __init__(self) -> None:
        from spikingjelly.activation_based import functional, layer, neuron, surrogate

        super().__init__()
        torch.manual_seed(0)
        self.layer = nn.Sequential(
            layer.Flatten(),
            layer.Linear(64, 10, bias=False),
            neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan()),
        )
        functional.set_step_mode(self, "m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0)


def test_a_class_whose_samples_decide_its_form_is_adapted_once_over_blocks(adaptations) -> None:
    """The tutorial flow, a block per batch with the library's reset between: the first
    forward of each block runs the adapter the first made, with a fresh one's gradient; a
    ``train()`` called before the forward is applied to it, and the next block, without one,
    is in the network's mode again."""
    net = Tutorial().eval()
    made = []
    for _ in range(2):
        m, gradient = block_gradient(net, "stbp")
        spikingjelly_reset(net)
        made.append(m.net)
    assert made[1] is made[0] and adaptations == [1]
    _, fresh = block_gradient(copy.deepcopy(net), "stbp")
    assert torch.equal(gradient, fresh)
    with snnattack.gradient_mode(net, "stbp", T=T) as m:
        m.train()
        m(batch()[0])
        assert m.net.training
    with snnattack.gradient_mode(net, "stbp", T=T) as m:
        m(batch()[0])
        assert not m.net.training
    assert len(adaptations) == 3
