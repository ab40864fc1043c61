"""An attack's random start comes from the host's generator on every device: the same seed
gives the same PGD start on the CPU and on a GPU (here a ``meta`` tensor stands for one off
the CPU: what it draws is read from the CPU generator's state)."""

import pytest
import torch
from torch import nn
from torch.overrides import _get_current_function_mode

from snnattack.api import attack
from snnattack.attacks.draws import host_start
from snnattack.models import build


def state_after(draw) -> torch.Tensor:
    torch.manual_seed(0)
    draw()
    return torch.get_rng_state()


def test_until_the_first_forward_a_draw_off_the_cpu_is_the_cpus_draw() -> None:
    model = nn.Linear(3, 2)
    on_cpu = state_after(lambda: torch.empty(4, 3).uniform_(-1, 1))
    untouched = state_after(lambda: None)
    with host_start(model, torch.device("meta")):
        assert torch.equal(state_after(lambda: torch.empty(4, 3, device="meta").uniform_()), on_cpu)
        assert not torch.equal(
            state_after(lambda: torch.empty(9, device="meta").normal_()), untouched
        )
        assert torch.equal(state_after(lambda: torch.empty(4, 3).uniform_(-1, 1)), on_cpu)
        model(torch.zeros(1, 3))
        # from the first forward on, each device draws from its own generator
        assert torch.equal(
            state_after(lambda: torch.empty(4, 3, device="meta").uniform_()), untouched
        )
    assert _get_current_function_mode() is None


def test_without_a_forward_nothing_is_left_behind() -> None:
    off_cpu = torch.device("meta")
    with host_start(nn.Linear(3, 2), off_cpu):
        assert _get_current_function_mode() is not None
    assert _get_current_function_mode() is None
    with pytest.raises(ValueError), host_start(nn.Linear(3, 2), off_cpu):
        raise ValueError
    assert _get_current_function_mode() is None


def test_on_the_cpu_no_mode_is_entered() -> None:
    """A CPU attack's draws are the CPU's already: its torch calls pass through no mode."""
    with host_start(nn.Linear(3, 2), torch.device("cpu")):
        assert _get_current_function_mode() is None


@pytest.mark.cuda
def test_pgd_from_one_seed_starts_alike_on_the_cpu_and_a_gpu() -> None:
    """One PGD step from the random start on the digits network: the examples on both
    devices agree to rounding (with CUDA's own draws they differed by up to 2 eps)."""
    torch.manual_seed(0)
    net = build("digits_net", num_classes=10, in_channels=1, T=2)
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,))
    found = {}
    for device in ("cpu", "cuda"):
        model = net.to(device)
        found[device] = attack(model, x.to(device), y.to(device), "pgd", eps=8, steps=1, seed=3)
    torch.testing.assert_close(found["cuda"].cpu(), found["cpu"], rtol=0, atol=1e-6)


def test_an_attacks_random_start_is_drawn_under_the_host_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The crafting wires it in: PGD's start (``uniform_``) passes through the mode, and the
    mode has left before the model's first forward (the images' device taken for one off
    the CPU here, as a GPU's would be: on the CPU no mode is entered)."""
    from snnattack.attacks import crafting, draws

    seen, handled, devices = [], draws._HostDraws.__torch_function__, []

    def spy(self, func, types, args=(), kwargs=None):
        seen.append(func)
        return handled(self, func, types, args, kwargs)

    def off_cpu(model, device):
        devices.append(device)
        return draws.host_start(model, torch.device("meta"))

    monkeypatch.setattr(draws._HostDraws, "__torch_function__", spy)
    monkeypatch.setattr(crafting, "host_start", off_cpu)
    net = build("digits_net", num_classes=10, in_channels=1, T=2)
    net.register_forward_pre_hook(lambda *_: seen.append("forward"))
    attack(net, torch.rand(2, 1, 8, 8), torch.tensor([1, 2]), "pgd", eps=8, steps=2)
    assert devices == [torch.device("cpu")]  # the images' device decides
    start = seen.index(torch.Tensor.uniform_)  # after the checks' forward, before the attack's
    assert set(seen[seen.index("forward", start) :]) == {"forward"}  # and then no more
