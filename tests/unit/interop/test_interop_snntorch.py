"""snnTorch networks adapted (snnattack.interop): the per-step nn.Sequential wrapped into a
multi-step body; snnTorch's own spikes, logits and ATan gradient; every gradient mode's input
gradient equal to the native digits model built from the same weights; two networks keeping
separate states through an attack; unknown neurons and settings refused. snnTorch 1.0.0."""

from __future__ import annotations

import pytest
import torch
import torchattacks
from interop_oracle import (
    MODES,
    Heaviside,
    T,
    assert_same_model,
    images,
    input_gradient,
    relative,
    spikes_of,
    weighted_backward,
)
from torch import nn

import snnattack
from snnattack.errors import UserError
from snnattack.interop import adapt
from snnattack.interop.common import looks_like_neuron
from snnattack.models.zoo import build
from snnattack.snn.neurons import LIF, lif_settings

snn = pytest.importorskip("snntorch")
from snntorch import surrogate, utils  # noqa: E402

# name: Leaky settings; each maps to (lam, theta, reset, reset_by, detach_reset)
LEAKY = {
    "subtract_delayed": dict(beta=0.7, threshold=0.8, reset_mechanism="subtract"),
    "zero_delayed": dict(beta=0.6, threshold=1.0, reset_mechanism="zero"),
    "subtract_if": dict(beta=1.0, threshold=0.9, reset_mechanism="subtract"),
    "zero_now": dict(beta=0.5, threshold=0.7, reset_mechanism="zero", reset_delay=False),
}
ATAN = surrogate.atan(alpha=2.0)  # the neurons' spike_grad unless a test gives another


def leaky(name: str, spike_grad=ATAN) -> nn.Module:
    settings = {"init_hidden": True, **LEAKY[name]}
    return snn.Leaky(spike_grad=spike_grad, **settings)


def step_net(name: str, seed: int = 0, spike_grad=ATAN) -> nn.Sequential:
    """digits_net's layers for one snnTorch time step, with weights that make every layer
    spike."""
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        leaky(name, spike_grad),
        nn.AvgPool2d(2),
        nn.Sequential(nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32)),
        leaky(name, spike_grad),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 10),
    ).double()
    with torch.no_grad():
        for bn in (net[1], net[4][1]):
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.1, 0.3)
            bn.weight.uniform_(1.0, 2.5)
            bn.bias.uniform_(0.0, 1.0)
    return net.eval()


def library_run(net: nn.Sequential, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """snnTorch's own loop over T: the mean logits and each Leaky's spikes [T, B, ...]."""
    neurons = [m for m in net.modules() if isinstance(m, snn.Leaky)]
    for m in neurons:
        m.mem = torch.zeros(0, dtype=x.dtype)  # this network's own neurons only
    outputs, spikes = [], {id(m): [] for m in neurons}
    hooks = [m.register_forward_hook(lambda m, i, o: spikes[id(m)].append(o)) for m in neurons]
    for _ in range(T):
        h = x
        for layer in _layers(net):
            h = layer(h)
            h = h[0] if isinstance(h, tuple) else h  # init_hidden=False: (spk, mem)
            h = h.to(x.dtype)  # snnTorch's spikes are float32 whatever the membrane's dtype
        outputs.append(h)
    for hook in hooks:
        hook.remove()
    steps = [[s[0] if isinstance(s, tuple) else s for s in spikes[id(m)]] for m in neurons]
    return torch.stack(outputs).mean(0), [torch.stack(s).to(x.dtype) for s in steps]


def _layers(net: nn.Sequential) -> list[nn.Module]:
    return [m for m in net.modules() if not isinstance(m, nn.Sequential)]


def native(name: str, net: nn.Sequential) -> nn.Module:
    """The digits_net of this project computing the same spikes from the same weights, its
    neurons set from snnTorch's equations by hand."""
    s = LEAKY[name]
    delayed = s.get("reset_delay", True)
    soft = s["reset_mechanism"] == "subtract"
    beta, theta = (float(torch.tensor(s[k], dtype=torch.float32)) for k in ("beta", "threshold"))
    # ^ snnTorch keeps beta and threshold as float32 buffers: the same values here
    model = build(
        "digits_net",
        num_classes=10,
        in_channels=1,
        T=T,
        lam=beta,
        theta=theta,
        reset="soft" if soft else "hard",
    ).double()
    state = {}
    targets = ["body.0.module", "body.1.module", "body.4.module", "body.5.module", "body.9"]
    sources = [net[0], net[1], net[4][0], net[4][1], net[8]]
    for target, module in zip(targets, sources, strict=True):
        state.update({f"{target}.{k}": v for k, v in module.state_dict().items()})
    model.load_state_dict(state)
    for lif in model.modules():
        if isinstance(lif, LIF):
            lif.detach_reset = delayed
            lif.reset_by = theta / beta if soft and beta != 1 else None
    return model.eval()


@pytest.mark.parametrize("name", sorted(LEAKY))
def test_adapted_net_gives_the_library_spikes_and_logits(name: str) -> None:
    net = step_net(name)
    adapted = adapt(net, T=T).eval()
    x = images()
    with torch.no_grad():
        logits, theirs = library_run(net, x)
        ours = spikes_of(adapted, (LIF,), x)
        assert len(ours) == len(theirs) == 2
        for a, b in zip(ours, theirs, strict=True):
            assert 0.05 < b.mean() < 0.95  # the layers spike, and not always
            assert torch.equal(a, b)
        torch.testing.assert_close(adapted(x), logits, rtol=1e-12, atol=1e-12)


# a Leaky's spike_grad: what stbp with the default parameters differentiates by
OWN_SURROGATES = {
    "atan": (lambda: surrogate.atan(alpha=1.5), "atan(alpha=1.5)"),
    "sigmoid": (lambda: surrogate.sigmoid(slope=5), "sigmoid(alpha=5.0)"),
    "fast_sigmoid": (lambda: surrogate.fast_sigmoid(slope=10), "fast_sigmoid(alpha=10.0)"),
}


@pytest.mark.parametrize("own", sorted(OWN_SURROGATES))
@pytest.mark.parametrize("name", sorted(LEAKY))
def test_default_stbp_gives_snntorch_own_gradient(name: str, own: str) -> None:
    make, described = OWN_SURROGATES[own]
    net = step_net(name, spike_grad=make())
    x = images().requires_grad_(True)
    out, _ = library_run(net, x)
    weighted_backward(out)
    adapted = adapt(net, T=T).eval()
    assert {n["surrogate"] for n in lif_settings(adapted)} == {described}
    ours = input_gradient(adapted, "stbp", {})
    assert x.grad.abs().sum() > 0
    assert relative(ours, x.grad) <= 1e-6


def test_a_leakys_default_surrogate_is_atan_and_another_warns(caplog) -> None:
    default = lif_settings(adapt(step_net("zero_delayed", spike_grad=None), T=T))
    assert {n["surrogate"] for n in default} == {"atan(alpha=2.0)"}  # a Leaky's own default
    with caplog.at_level("WARNING", logger="snnattack.interop.surrogates"):
        adapted = adapt(step_net("zero_delayed", spike_grad=surrogate.triangular()), T=T)
    assert {n["surrogate"] for n in lif_settings(adapted)} == {"triangle(width=1.0)"}
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "spike_grad=triangular.<locals>.inner (the neurons 2, 5)" in warning


def test_a_leaky_without_surrogate_is_warned_of_by_its_setting(caplog) -> None:
    """``Leaky(surrogate_disable=True)`` has no surrogate (snnTorch swaps its ``spike_grad``
    for a bare threshold): the warning names that setting; before, it named the threshold's
    internal ``SpikingNeuron._surrogate_bypass``, and the docs said ``spike_grad``'s
    surrogate was taken, which snnTorch has discarded."""
    net = step_net("zero_delayed", spike_grad=surrogate.fast_sigmoid(slope=10))
    for index in (2, 5):
        net[index] = snn.Leaky(**LEAKY["zero_delayed"], init_hidden=True, surrogate_disable=True)
    with caplog.at_level("WARNING", logger="snnattack.interop.surrogates"):
        adapted = adapt(net.double(), T=T)
    assert {n["surrogate"] for n in lif_settings(adapted)} == {"triangle(width=1.0)"}
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "surrogate_disable=True (the neurons 2, 5) has no counterpart" in warning
    # where to name one, in a job's words and in Python's (it said attack.params alone)
    assert "unless the mode's surrogate names one (attack.params.surrogate=" in warning
    assert "grad_params={'surrogate': ...} in Python" in warning


@pytest.mark.parametrize("mode,params", MODES, ids=[f"{m}-{p}" for m, p in MODES])
@pytest.mark.parametrize("name", sorted(LEAKY))
def test_every_gradient_mode_equals_the_native_model(name: str, mode: str, params: dict) -> None:
    net = step_net(name)
    assert_same_model(adapt(net, T=T).eval(), native(name, net), mode, params)


def test_an_adapted_eval_net_is_in_eval_mode_and_torchattacks_leaves_its_statistics() -> None:
    """The adapted form (its step-wise layers) said ``training=True`` for an eval network;
    torchattacks restores that mode after its attack, which put the copy's BatchNorms in
    training, and the next forward wrote into the user's running statistics."""
    net = step_net("subtract_delayed")
    adapted = adapt(net, T=T)
    assert not any(m.training for m in adapted.modules())
    statistics = [b.clone() for b in net.buffers()]
    x, y = images(), torch.arange(6) % 10
    torchattacks.PGD(adapted, eps=8 / 255, alpha=2 / 255, steps=2)(x, y)
    adapted(x)
    assert all(torch.equal(b, s) for b, s in zip(net.buffers(), statistics, strict=True))


def test_two_networks_keep_separate_states_through_a_transfer_attack() -> None:
    target_net, source_net = step_net("subtract_delayed", 0), step_net("zero_delayed", 1)
    users = [m for m in (*target_net.modules(), *source_net.modules()) if hasattr(m, "mem")]
    mems = [m.mem.clone() for m in users]
    target, source = adapt(target_net, T=T).eval(), adapt(source_net, T=T).eval()
    x, y = images(), torch.arange(6) % 10
    with torch.no_grad():
        alone = target(x)
    adversarial = torchattacks.PGD(source, eps=16 / 255, alpha=4 / 255, steps=3)(x, y)
    with torch.no_grad():
        after_source = target(x)  # the source ran in between: nothing of it in the target
        on_adversarial = target(adversarial)
        source(x[:2])
        assert torch.equal(target(adversarial), on_adversarial)
    assert (adversarial - x).abs().max() > 0
    assert torch.equal(after_source, alone)
    assert all(torch.equal(m.mem, a) for m, a in zip(users, mems, strict=True))  # untouched


@pytest.mark.parametrize(
    "unknown,cls",
    [
        (Heaviside, "Heaviside"),
        (lambda: snn.Synaptic(alpha=0.9, beta=0.8, init_hidden=True), "Synaptic"),
        (lambda: snn.Leaky(beta=0.9, reset_mechanism="none", init_hidden=True), "Leaky"),
        (lambda: snn.Leaky(beta=torch.rand(16, 8, 8), init_hidden=True), "Leaky"),
        (lambda: snn.Leaky(beta=0.9, graded_spikes_factor=2.0, init_hidden=True), "Leaky"),
        (lambda: nn.GRU(8, 8), "GRU"),
        (lambda: snn.Leaky(beta=0.9, reset_delay=False, init_hidden=True), "Leaky"),
    ],
)
def test_an_unknown_neuron_or_setting_is_refused_before_any_work(unknown, cls: str) -> None:
    net = step_net("subtract_delayed")
    net[2] = unknown()
    with pytest.raises(UserError) as err:
        adapt(net, T=T)
    message = str(err.value)
    assert "\n" not in message and "2 (" in message and cls in message
    assert "snntorch.Leaky" in message
    assert Heaviside.calls == 0


@pytest.mark.parametrize(
    "settings,named,unnamed",
    [
        (dict(beta=-0.5), "beta=-0.5, which snnTorch clamps to 0", "threshold"),
        (dict(beta=0.0), "beta=0, which snnTorch clamps to 0", "threshold"),
        (dict(beta=0.9, threshold=-1.0), "threshold=-1 (the LIF needs threshold > 0)", "beta"),
    ],
)
def test_a_leaky_without_leak_or_threshold_is_refused_naming_that_setting(
    settings: dict, named: str, unnamed: str
) -> None:
    """A Leaky whose β (as given, before snnTorch's clamp) or θ the LIF cannot take is refused
    naming that setting only; before, the line said "beta=0.0 or threshold=1.0" for a
    ``beta=-0.5``: another β than the one given, beside a threshold that was fine."""
    net = step_net("subtract_delayed")
    net[2] = snn.Leaky(**settings, init_hidden=True)
    with pytest.raises(UserError) as err:
        adapt(net, T=T)
    message = str(err.value)
    assert "\n" not in message and named in message and f"{unnamed}=" not in message


def test_a_learned_graded_spikes_factor_is_refused_where_it_would_train() -> None:
    """``Leaky(learn_graded_spikes_factor=True)`` at its factor of 1 runs as snnTorch in eval
    mode; training through the adapted network, which never moved the factor (its spikes are
    the LIF's 1), is refused in one line, and so is a factor the user's training moved."""
    net = step_net("subtract_delayed")
    net[2] = snn.Leaky(beta=0.9, init_hidden=True, learn_graded_spikes_factor=True).double()
    adapted, x = adapt(net, T=T).eval(), images()
    with torch.no_grad():
        torch.testing.assert_close(adapted(x), library_run(net, x)[0], rtol=1e-12, atol=1e-12)
    with pytest.raises(UserError, match="learn_graded_spikes_factor=True") as err:
        adapted.train()(x)
    assert "\n" not in str(err.value) and "2 (snntorch._neurons.leaky.Leaky)" in str(err.value)
    with torch.no_grad():
        net[2].graded_spikes_factor.fill_(2.0)
    with pytest.raises(UserError, match="graded_spikes_factor=2") as err:
        adapted.eval()(x)
    assert "\n" not in str(err.value)


def test_a_sequential_snntorch_cannot_run_itself_is_refused() -> None:
    net = step_net("subtract_delayed")
    net[2] = snn.Leaky(beta=0.9)  # init_hidden=False: the next layer would get (spk, mem)
    with pytest.raises(TypeError):
        net(images())  # snnTorch itself cannot run it
    with pytest.raises(UserError) as err:
        adapt(net, T=T)
    message = str(err.value)
    assert "\n" not in message and "2 (" in message and "init_hidden=False" in message


def test_one_leaky_at_two_places_of_the_sequence_is_refused_naming_both() -> None:
    """snnTorch carries the one Leaky's membrane from each place into the next; the second
    place was dropped (``named_children`` lists a module once), and the logits differed from
    snnTorch's without a word."""
    net = step_net("subtract_delayed")
    net[5] = net[2]  # the first block's neuron, at the second block's place too
    with pytest.raises(UserError) as err:
        adapt(net, T=T)
    message = str(err.value)
    assert message.startswith("interop: 2 (") and "is also at 5 of the sequence" in message
    assert "accepted: a Leaky of its own for each layer" in message and "\n" not in message


def test_a_layer_at_two_places_of_the_sequence_runs_at_both_as_snntorch() -> None:
    """A torch layer held twice (its weights shared, a neuron of its own after each) runs at
    both places, as snnTorch's loop runs it: the second place was dropped."""
    torch.manual_seed(0)
    shared = nn.Linear(16, 16)
    net = nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 16),
        leaky("zero_delayed"),
        shared,
        leaky("zero_delayed"),
        shared,
        leaky("zero_delayed"),
        nn.Linear(16, 10),
    ).eval()  # fmt: skip (float32: snnTorch's spikes are, whatever the membrane's dtype)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0)
    x = images().float()
    utils.reset(net)
    theirs = torch.stack([net(x) for _ in range(T)]).mean(0)
    ours = adapt(net, T=T).eval()(x)
    assert relative(ours, theirs) < 1e-6


class Shift(nn.Module):
    """A user's normalisation module (not torch.nn's), as torchvision's ``Normalize``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - 0.5) / 0.25


def test_a_normalisation_first_in_the_sequence_is_refused_naming_adapts_normalize() -> None:
    """A module of the user's first in the one-step sequence is refused with the call that
    runs it (it said only "is not a per-step torch layer"), and that call attacks the
    sequence as the user's loop over the steps runs it."""
    net = nn.Sequential(Shift(), *step_net("subtract_delayed")).eval()
    x, y = images(), torch.arange(6) % 10
    with pytest.raises(UserError) as err:
        snnattack.attack(net, x, y, eps=8, T=T)
    assert str(err.value).startswith("interop: 0 (") and "\n" not in str(err.value)
    assert "adapt(net[1:], T=..., normalize=net[0])" in str(err.value)
    adapted = adapt(net[1:], T=T, normalize=net[0])
    with torch.no_grad():  # snnTorch's own loop over the steps
        torch.testing.assert_close(adapted(x), library_run(net, x)[0], rtol=1e-12, atol=1e-12)


def test_a_compiled_sequence_is_adapted_as_the_sequence() -> None:
    """``torch.compile`` of the one-step ``nn.Sequential`` is the sequence, a multi-step body;
    before, the wrapper (no ``nn.Sequential``) was taken for an own loop, which called the
    sequence once: one time step of T, and its logits and examples were another network's."""
    net, x = step_net("subtract_delayed"), images()
    compiled = torch.compile(net, backend="eager")
    adapted = adapt(compiled, T=T)
    assert isinstance(adapted.body, type(adapt(net, T=T).body))
    torch.testing.assert_close(adapted(x), adapt(net, T=T)(x), rtol=0, atol=0)
    y = torch.arange(6) % 10
    crafted = [snnattack.attack(m, x, y, "pgd", eps=16, T=T, steps=2) for m in (compiled, net)]
    torch.testing.assert_close(*crafted, rtol=0, atol=0)


def test_a_sequence_said_to_loop_itself_is_refused_naming_its_one_step() -> None:
    """The one-step sequence adapted with ``own_loop=True`` runs its neurons one step per
    forward: refused naming the T of that loop, as a loop of any other steps than T is; before,
    a one-step call was taken for a rate-domain pass and the network ran one step of T."""
    adapted = adapt(step_net("subtract_delayed"), T=T, own_loop=True)
    message = (
        r"^T=4 but the network's own loop runs its neurons over 1 steps; accepted: T=1, the "
        r"steps of its loop, or adapt\(net, T=4, own_loop=False\) for a network of one step a"
    )
    with pytest.raises(UserError, match=message):
        adapted(images())


class _OneStep(nn.Module):
    """A class of the user's that runs its per-step sequence once a call (no loop over T)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def test_a_class_of_one_step_a_call_is_refused_naming_what_adapts_it() -> None:
    """A class of the user's around the one-step sequence (snnTorch: taken for an own loop)
    runs one step a call: refused at T > 1 naming the sequence or a loop over the steps;
    before, the line offered ``own_loop=False``, which snnTorch takes for an ``nn.Sequential``
    only, so following it was refused in turn ("not an nn.Sequential of its time step's
    layers")."""
    net = _OneStep(step_net("subtract_delayed"))
    with pytest.raises(UserError, match="is not an nn.Sequential"):  # the advice refused
        adapt(net, T=T, own_loop=False)
    message = (
        r"^T=4 but the network's own loop runs its neurons over 1 steps; "
        r"accepted: T=1, the steps of its loop, a forward that loops over the T=4 steps "
        r"itself, or its per-step layers as one nn.Sequential passed in its place$"
    )
    x = images()
    with pytest.raises(UserError, match=message):
        snnattack.attack(net, x, torch.arange(len(x)) % 10, T=T, steps=1)


@pytest.mark.parametrize("nested", [False, True])
def test_a_sequence_with_hooks_is_refused_naming_it(nested: bool) -> None:
    """A hook on the sequence (a defence's, on the network itself or on a nested sequence)
    is refused: the body made of its layers never calls the sequence; before, the hook was
    dropped without a word, and the attack crafted on another network than the user's."""
    net = step_net("subtract_delayed")
    (net[4] if nested else net).register_forward_hook(lambda _m, _i, out: -out)
    where = "4" if nested else "the network itself"
    refused = rf"^interop: {where} \(\S+\.Sequential\) has forward hooks"
    with pytest.raises(UserError, match=refused):
        adapt(net, T=T)


def test_leaky_settings_map_to_the_lif() -> None:
    body = adapt(step_net("subtract_delayed"), T=T).body
    lif = body[2]
    assert (lif.lam, lif.reset, lif.detach_reset) == (pytest.approx(0.7), "soft", True)
    assert lif.reset_by == pytest.approx(0.8 / 0.7)
    lif = adapt(step_net("zero_now"), T=T).body[2]
    assert (lif.reset, lif.detach_reset, lif.reset_by) == ("hard", False, None)


def learning_net(name: str, learn: tuple[str, ...]) -> nn.Sequential:
    """step_net with Leaky neurons that learn ``learn`` (beta, threshold), in training mode
    but its BNs (a training-mode BN normalises each step in snnTorch, all T at once in the
    adapted body: docs/interop.md)."""
    net = step_net(name)
    for index in (2, 5):
        flags = {f"learn_{n}": True for n in learn}
        settings = {"init_hidden": True, **LEAKY[name], **flags}
        net[index] = snn.Leaky(spike_grad=ATAN, **settings).double()
    net.train()
    for bn in (net[1], net[4][1]):
        bn.eval()
    return net


@pytest.mark.parametrize("learn", [("beta",), ("threshold",), ("beta", "threshold")])
@pytest.mark.parametrize("name", sorted(LEAKY))
def test_a_learned_beta_and_threshold_train_as_snntorch_trains_them(
    name: str, learn: tuple[str, ...]
) -> None:
    """A Leaky's learn_beta / learn_threshold parameters are parameters of the adapted
    network in training mode, with snnTorch's own gradients (its clamp of beta included);
    a step over the adapted network's parameters trains the user's values."""
    x, y = images(), torch.arange(6) % 10
    net, theirs = learning_net(name, learn), learning_net(name, learn)
    nn.functional.cross_entropy(library_run(theirs, x)[0], y).backward()
    adapted = adapt(net, T=T)
    assert not looks_like_neuron(adapted.body[2].learned)  # its threshold is no neuron's
    nn.functional.cross_entropy(adapted(x), y).backward()
    ours = dict(adapted.named_parameters())
    for index, body_index in ((2, 2), (5, 6)):
        for n in learn:
            grad = ours[f"body.{body_index}.learned.{n}"].grad
            assert relative(grad, getattr(theirs[index], n).grad) <= 1e-6, (index, n)
    torch.optim.SGD(adapted.parameters(), lr=1.0).step()
    for n in learn:
        assert not torch.equal(getattr(net[2], n), getattr(theirs[2], n))
    adapted.eval()
    with torch.no_grad():  # the fused path runs the trained values
        assert relative(adapted(x), library_run(net.eval(), x)[0]) <= 1e-6
