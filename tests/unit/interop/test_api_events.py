"""Event frames through the Python API: a user's spikingjelly network (the tutorial's
multi-step shape, 2 input channels) attacked by ``sda`` and PGD on event frames
``[B, T, 2, H, W]`` with ``overrides=['dataset=digits_events']``, its frames fed time first
as the user's own loop feeds them; bad event inputs refused in one line naming the argument
(``snnattack.interop.inputs.Samples``, docs/interop.md, "Event data")."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import snnattack
from snnattack.errors import UserError
from snnattack.interop.inputs import Samples, check_batch
from snnattack.models.registry import build

EVENTS = ["dataset=digits_events"]


def tutorial_net(seed: int = 0) -> nn.Module:
    """spikingjelly's conv tutorial network, multi-step, on 2-polarity 8x8 frames."""
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    torch.manual_seed(seed)
    net = nn.Sequential(
        layer.Conv2d(2, 8, 3, padding=1, bias=False),
        layer.BatchNorm2d(8),
        neuron.LIFNode(surrogate_function=surrogate.ATan()),
        layer.MaxPool2d(2),
        layer.Flatten(),
        layer.Linear(8 * 4 * 4, 10, bias=False),
        neuron.LIFNode(surrogate_function=surrogate.ATan()),
    )
    functional.set_step_mode(net, "m")
    with torch.no_grad():  # untrained but spiking: its outputs differ between samples
        for layer_ in (net[0], net[5]):
            layer_.weight.mul_(4.0)
    return net


def own_logits(net: nn.Module, frames: torch.Tensor) -> torch.Tensor:
    """The user's own forward: frames ``[B, T, C, H, W]`` time first, mean rate over T."""
    from spikingjelly.activation_based import functional

    with torch.no_grad():
        out = net(frames.transpose(0, 1)).mean(0)
    functional.reset_net(net)
    return out


def frames(n: int = 6, T: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random binary event frames ``[n, T, 2, 8, 8]`` and labels."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, T, 2, 8, 8, generator=g) < 0.3).float()
    return x, torch.randint(0, 10, (n,), generator=g)


def test_sda_on_a_spikingjelly_network_flips_bits_of_its_event_frames() -> None:
    net = tutorial_net().eval()  # BatchNorm on its running statistics, as attacks run
    x, _ = frames()
    y = own_logits(net, x).argmax(1)  # its own predictions: every sample clean-correct
    adv = snnattack.attack(net, x, y, method="sda", T=4, overrides=EVENTS, n_iter=20)
    assert adv.shape == x.shape
    assert set(adv.unique().tolist()) <= {0.0, 1.0}
    changed = (adv != x).flatten(1).any(1)
    fooled = own_logits(net, adv).argmax(1) != y
    assert changed.any()
    assert torch.equal(changed, fooled)  # a success is an example that fools the user's own net


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (  # event frames for an image model's dataset
            lambda: frames(),
            {"method": "pgd"},
            "x has shape [6, 4, 2, 8, 8], event frames [B, T, C, H, W], but the job's "
            "dataset=digits holds images",
        ),
        (  # images given to an event attack
            lambda: (frames()[0][:, 0], frames()[1]),
            {"method": "sda", "overrides": EVENTS},
            "x has shape [6, 2, 8, 8] (images, not event frames) but the job attacks event "
            "frames (dataset=digits_events)",
        ),
        (  # counts where the threat model flips bits
            lambda: (frames()[0] * 2, frames()[1]),
            {"method": "sda", "overrides": EVENTS},
            "x holds values in [0, 2] that are not binary values {0, 1}",
        ),
        (  # fewer bins than the model's T
            lambda: (frames(T=3)[0], frames()[1]),
            {"method": "sda", "overrides": EVENTS},
            "x has 3 frames per sample (shape [6, 3, 2, 8, 8]) but T=4",
        ),
        (
            lambda: (-frames()[0], frames()[1]),
            {"method": "pgd", "overrides": EVENTS},
            "x holds values in [-1, 0] that are not binary values {0, 1}",
        ),
        (
            lambda: (frames()[0].long(), frames()[1]),
            {"method": "sda", "overrides": EVENTS},
            "x has dtype torch.int64; accepted: event frames [B, T=4, C, H, W]",
        ),
    ],
)
def test_bad_event_input_is_refused_in_one_line(data, kwargs, message: str) -> None:
    x, y = data()
    with pytest.raises(UserError, match=None) as err:
        snnattack.attack(tutorial_net(), x, y, T=4, **kwargs)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_frames_of_each_encoding_are_checked_against_its_values() -> None:
    x, y = frames()
    counts = Samples("counts", 4, "digits_events")  # no method attacks counts yet: the check
    assert torch.equal(check_batch(x * 3, y, samples=counts)[0], x * 3)
    with pytest.raises(UserError, match=r"x holds values in \[0, 1.5\] that are not integer"):
        check_batch(x * 1.5, y, samples=counts)
    scaled = [*EVENTS, "dataset.params.event_encoding=scaled"]
    with pytest.raises(UserError, match=r"x holds values in \[0, 3\] that are not scaled"):
        snnattack.attack(tutorial_net(), x * 3, y, method="fgsm", T=4, overrides=scaled)
    adv = snnattack.attack(tutorial_net(), x / 2, y, method="fgsm", eps=8, T=4, overrides=scaled)
    assert (adv - x / 2).abs().max().item() == pytest.approx(8 / 255)


def test_a_native_image_model_on_event_frames_is_refused_naming_model() -> None:
    image_net = build("digits_net", 10, in_channels=2, T=4)
    x, y = frames()
    with pytest.raises(UserError, match=r"model=SpikingNet reads images .* event frames"):
        snnattack.attack(image_net, x, y, method="sda", overrides=EVENTS)
    event_net = build("digits_net", 10, in_channels=2, T=4, encoding="frames")
    with pytest.raises(UserError, match=r"model=SpikingNet reads event frames .* images"):
        snnattack.attack(event_net, x[:, 0], y, method="pgd")
    adv = snnattack.attack(event_net, x, y, method="sda", overrides=EVENTS)
    assert set(adv.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.slow
def test_evaluate_a_spikingjelly_net_trained_on_the_event_digits_with_its_own_loop() -> None:
    """The user trains the tutorial network a few epochs with spikingjelly's own loop, then
    ``snnattack.evaluate`` gives its clean accuracy (as the user's own forward computes it)
    and SDA's row with ASR and the L0 budget fields, next to PGD's."""
    from spikingjelly.activation_based import functional

    from snnattack.data.digits_events import DigitsEventsDataModule

    dm = DigitsEventsDataModule(frames=4)
    dm.setup()
    net = tutorial_net()
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    loader = torch.utils.data.DataLoader(dm.train_set, batch_size=64, shuffle=True)
    for _ in range(3):
        for x, y in loader:
            out = net(x.transpose(0, 1)).mean(0)
            loss = nn.functional.mse_loss(out, nn.functional.one_hot(y, 10).float())
            opt.zero_grad()
            loss.backward()
            opt.step()
            functional.reset_net(net)
    net.eval()
    x, y = dm.test_set.tensors
    x, y = x[:96], y[:96]
    own = (own_logits(net, x).argmax(1) == y).float().mean().item() * 100
    record = snnattack.evaluate(
        net, (x, y), methods=["sda", "pgd"], eps=[16], T=4, overrides=EVENTS, progress=False
    )
    assert record.clean_acc == pytest.approx(own)
    assert own > 30  # trained: worth attacking
    sda, pgd = record.results
    assert (sda.method, sda.eps, pgd.method) == ("sda", 0.0, "pgd")
    assert sda.asr == 100.0 and sda.n_correct == round(own * 96 / 100)
    assert 0 < sda.l0_median <= sda.l0_mean * 3
    assert sda.l0_mean == pytest.approx(sda.inserted_mean + sda.deleted_mean)
    assert sda.l0_under == {"200": 100.0, "800": 100.0}
    assert pgd.l0_mean is None and 0 < pgd.asr <= 100
