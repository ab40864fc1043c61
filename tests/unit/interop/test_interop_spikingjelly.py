"""spikingjelly networks adapted (snnattack.interop): the library's own spikes, logits and
surrogate gradient; every gradient mode's input gradient equal to the native digits model
built from the same weights; eval mode, step modes and state untouched; unknown neurons
refused. Run with spikingjelly 2.0.0 (the extra) and 0.0.0.0.14 (docs/interop.md)."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from functools import partial

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
from snnattack.gradients import gradient_mode
from snnattack.interop import adapt
from snnattack.models.zoo import build
from snnattack.snn.neurons import LIF, lif_settings

pytest.importorskip("spikingjelly")
from spikingjelly.activation_based import functional, layer, neuron, surrogate  # noqa: E402

# name: node class, its settings; each maps to (lam, theta, reset, detach_reset, input scale)
NODES = {
    "lif_decay_input_hard": ("LIFNode", dict(tau=2.0, decay_input=True, v_reset=0.0)),
    "lif_soft_detached": (
        "LIFNode",
        dict(tau=4.0, decay_input=False, v_reset=None, detach_reset=True),
    ),
    "if_soft": ("IFNode", dict(v_reset=None, v_threshold=0.9)),
    "if_hard_below_zero": ("IFNode", dict(v_threshold=0.8, v_reset=-0.2)),
    "plif_hard_below_zero": (
        "ParametricLIFNode",
        dict(init_tau=2.5, decay_input=True, v_threshold=0.7, v_reset=-0.3, detach_reset=True),
    ),
}


def node(name: str) -> nn.Module:
    cls, settings = NODES[name]
    return getattr(neuron, cls)(**settings)


def sj_net(name: str, step_mode: str = "m") -> nn.Sequential:
    """digits_net's layers in spikingjelly, with weights that make every layer spike."""
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Conv2d(1, 16, 3, padding=1, bias=False),
        layer.BatchNorm2d(16),
        node(name),
        layer.AvgPool2d(2),
        layer.Conv2d(16, 32, 3, padding=1, bias=False),
        layer.BatchNorm2d(32),
        node(name),
        layer.AvgPool2d(2),
        layer.Flatten(),
        layer.Linear(32 * 2 * 2, 10),
    ).double()
    with torch.no_grad():
        for bn in (net[1], net[5]):
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.1, 0.3)
            bn.weight.uniform_(1.0, 2.5)
            bn.bias.uniform_(0.4, 1.4)
    functional.set_step_mode(net, step_mode)
    return net.eval()


def native(name: str, net: nn.Sequential) -> nn.Module:
    """The digits_net of this project computing the same spikes from the same weights, its
    neurons set from the node's equations by hand: the input scale k = 1/tau is folded into
    the BN before the LIF (k * BN(x) is a BN of k * weight and k * bias)."""
    cls, settings = NODES[name]
    k = {"IFNode": 0.0, "LIFNode": 1 / settings.get("tau", 2.0)}.get(cls)
    if cls == "ParametricLIFNode":
        k = float(net[2].w.detach().sigmoid())
    v_reset = settings.get("v_reset", 0.0)
    model = build(
        "digits_net",
        num_classes=10,
        in_channels=1,
        T=T,
        lam=1.0 - k,
        theta=settings.get("v_threshold", 1.0) - (v_reset or 0.0),
        reset="soft" if v_reset is None else "hard",
    ).double()
    scale = k if k and settings.get("decay_input", True) else 1.0
    state = {}
    for key, value in net.state_dict().items():
        index, field = key.split(".", 1)
        if field == "w":  # the parametric node's 1/tau, in lam above
            continue
        if index in ("1", "5") and field in ("weight", "bias"):
            value = value * scale
        target = f"body.{index}.{field}" if index == "9" else f"body.{index}.module.{field}"
        state[target] = value
    model.load_state_dict(state)
    for lif in model.modules():
        if isinstance(lif, LIF):
            lif.detach_reset = settings.get("detach_reset", False)
    return model.eval()


def library_logits(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    functional.reset_net(net)
    out = net(x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0)
    functional.reset_net(net)
    return out


@pytest.mark.parametrize("name", sorted(NODES))
def test_adapted_net_gives_the_library_spikes_and_logits(name: str) -> None:
    net = sj_net(name)
    adapted = adapt(net, T=T).eval()
    x = images()
    functional.reset_net(net)
    theirs = spikes_of(net, (neuron.BaseNode,), x.unsqueeze(0).repeat(T, 1, 1, 1, 1))
    ours = spikes_of(adapted, (LIF,), x)
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs, strict=True):
        assert 0.05 < b.mean() < 0.95  # the layers spike, and not always
        assert torch.equal(a, b)
    with torch.no_grad():
        torch.testing.assert_close(adapted(x), library_logits(net, x), rtol=1e-12, atol=1e-12)


# a node's surrogate_function: what stbp with the default parameters differentiates by
OWN_SURROGATES = {
    "sigmoid": (lambda: surrogate.Sigmoid(alpha=3.0), "sigmoid(alpha=3.0)"),
    "atan": (lambda: surrogate.ATan(alpha=1.5), "atan(alpha=1.5)"),
    "piecewise_quadratic": (lambda: surrogate.PiecewiseQuadratic(alpha=2.0), "triangle(width=0.5)"),
    "rect": (lambda: surrogate.Rect(alpha=0.8), "rectangle(width=0.625)"),
}


@pytest.mark.parametrize("own", sorted(OWN_SURROGATES))
@pytest.mark.parametrize("name", sorted(NODES))
def test_default_stbp_differentiates_by_the_nodes_own_surrogate(name: str, own: str) -> None:
    make, described = OWN_SURROGATES[own]
    net = sj_net(name)
    for m in net.modules():  # its own surrogate gradient: the nodes in training mode
        if isinstance(m, neuron.BaseNode):
            m.train()
            m.surrogate_function = make()
    x = images().requires_grad_(True)
    out = library_logits(net, x)
    weighted_backward(out)
    adapted = adapt(net, T=T).eval()
    assert {n["surrogate"] for n in lif_settings(adapted)} == {described}
    ours = input_gradient(adapted, "stbp", {})
    assert x.grad.abs().sum() > 0
    assert relative(ours, x.grad) <= 1e-6
    named = input_gradient(adapted, "stbp", {"surrogate": "fast_sigmoid"})
    assert relative(named, x.grad) > 1e-2  # a named surrogate replaces the node's own


def test_a_surrogate_without_counterpart_is_the_triangle_with_a_warning(caplog) -> None:
    net = sj_net("if_soft")
    for m in net.modules():
        if isinstance(m, neuron.BaseNode):
            m.surrogate_function = surrogate.Erf()
    with caplog.at_level("WARNING", logger="snnattack.interop.surrogates"):
        adapted = adapt(net, T=T)
    assert {n["surrogate"] for n in lif_settings(adapted)} == {"triangle(width=1.0)"}
    (warning,) = [r.getMessage() for r in caplog.records]  # one for the network's 2 nodes
    assert "surrogate_function=Erf (the neurons 2, 6)" in warning
    assert "attack.params.surrogate" in warning


def test_a_width_its_nodes_do_not_read_is_not_tuned_and_alpha_is(caplog) -> None:
    import snnattack

    net, x = sj_net("if_soft"), images()  # the nodes' own surrogate: spikingjelly's Sigmoid
    y = torch.arange(len(x)) % 10
    size = f"attack.tune.val_size={len(x)}"
    held_out = torch.rand(x.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(2))
    settings = dict(
        methods="fgsm", tune=True, val_data=(held_out, y), T=T, masking=False, progress=False
    )
    with caplog.at_level("WARNING", logger="snnattack.attacks.tuning"):
        (row,) = snnattack.evaluate(net, (x, y), **settings, overrides=[size]).results
    assert row.tuned is None  # the default grid tunes width, which a sigmoid does not read
    assert "attack.tune.grids.stbp.width changes no gradient" in caplog.text
    alphas = [size, "attack.tune.grids.stbp.alpha=[2,40]"]
    with torch.no_grad():  # validation images the net classifies right: the points differ
        right = adapt(net, T=T)(held_out).argmax(1)
    caplog.clear()
    settings["val_data"] = (held_out, right)
    (row,) = snnattack.evaluate(net, (x, y), **settings, overrides=alphas).results
    assert "alpha changes no gradient" not in caplog.text  # the sigmoid reads it: tuned
    assert row.tuned["params"]["alpha"] in (2, 40) and row.tuned["params"]["width"] is None


def test_a_surrogate_that_does_not_spike_is_refused() -> None:
    net = sj_net("if_soft")
    net[2].surrogate_function = surrogate.ATan(spiking=False)
    with pytest.raises(UserError, match=r"^interop: 2 \(.*IFNode\) has a surrogate_function with"):
        adapt(net, T=T)


@pytest.mark.parametrize("mode,params", MODES, ids=[f"{m}-{p}" for m, p in MODES])
@pytest.mark.parametrize("name", sorted(NODES))
def test_every_gradient_mode_equals_the_native_model(name: str, mode: str, params: dict) -> None:
    net = sj_net(name)
    assert_same_model(adapt(net, T=T).eval(), native(name, net), mode, params)


def flags(net: nn.Module) -> list[tuple]:
    """Each module's training flag, step mode, backend (0.0.0.0.14) and state."""
    out = []
    for m in net.modules():
        state = [repr(v) for v in getattr(m, "_memories", {}).values()]
        out.append((m.training, getattr(m, "step_mode", None), getattr(m, "backend", None), state))
    return out


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_an_eval_mode_net_gets_nonzero_gradients_and_is_left_as_it_was(step_mode: str) -> None:
    net = sj_net("lif_decay_input_hard", step_mode)
    before = flags(net)
    adapted = adapt(net, T=T)
    assert adapted.body[0].weight.data_ptr() == net[0].weight.data_ptr()  # shared memory
    for mode, params in MODES:
        assert input_gradient(adapted.eval(), mode, params).abs().sum() > 0, mode
    x, y = images(), torch.arange(6) % 10
    adversarial = torchattacks.PGD(adapted, eps=8 / 255, alpha=2 / 255, steps=2)(x, y)
    assert (adversarial - x).abs().max() > 0
    for p in adapted.parameters():  # as the evaluation freezes them
        p.requires_grad_(False)
    assert flags(net) == before
    assert all(p.requires_grad for p in net.parameters())
    with torch.no_grad():
        net[9].bias.add_(1.0)  # the user's in-place update (an optimiser's step)
    assert torch.equal(adapted.body[9].bias, net[9].bias)
    net.train()
    assert all(m.training for m in adapt(net, T=T).body.modules())  # the copy's own flags


@pytest.mark.parametrize("own_loop", [False, True])
def test_an_adapted_eval_net_is_in_eval_mode_and_torchattacks_leaves_its_statistics(
    own_loop: bool,
) -> None:
    """The wrapper said ``training=True`` for an eval network: torchattacks restores a
    model's mode after its attack, so it put the copy's BatchNorms in training, and the next
    forward wrote into the user's running statistics (the memory they share)."""
    net = sj_net("lif_decay_input_hard").eval()
    x, y = images(), torch.arange(6) % 10
    body = net if not own_loop else OwnLoop(net).eval()
    adapted = adapt(body, T=T, own_loop=own_loop)
    assert not any(m.training for m in adapted.modules())
    statistics = [b.clone() for b in net.buffers()]
    torchattacks.PGD(adapted, eps=8 / 255, alpha=2 / 255, steps=2)(x, y)
    adapted(x)
    assert not any(m.training for m in adapted.modules())
    assert all(torch.equal(b, s) for b, s in zip(net.buffers(), statistics, strict=True))
    net.train()
    assert all(m.training for m in adapt(net, T=T).modules())


def dropout_net() -> nn.Sequential:
    """A multi-step network with spikingjelly's dropout (the zoo's VGG classifier's form)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Flatten(),
        layer.Linear(64, 32),
        neuron.IFNode(),
        layer.Dropout(0.5),
        layer.Linear(32, 10),
    ).double()
    with torch.no_grad():
        net[1].weight.mul_(4.0)  # the neurons spike
    functional.set_step_mode(net, "m")
    return net.train()


@pytest.mark.parametrize("own_loop", [False, True])
def test_a_dropout_in_training_mode_draws_its_mask_at_each_forward_as_the_library(
    own_loop: bool,
) -> None:
    """spikingjelly's dropout keeps its mask until ``reset()``, which the user's loop calls
    between simulations: the copy drew one at its first forward, with the mask the user's
    network held when adapted, so every later forward dropped the same units and a batch of
    another size failed on it (a training loop's last batch)."""
    net = dropout_net()
    x = images()
    net(x.unsqueeze(0).repeat(T, 1, 1, 1, 1))  # the user's last simulation: its mask left
    adapted = adapt(OwnLoop(net) if own_loop else net, T=T, own_loop=own_loop)
    assert adapted.training
    for batch, seed in ((x, 2), (x, 3), (x[:4], 4)):
        torch.manual_seed(seed)
        ours = adapted(batch)
        torch.manual_seed(seed)
        torch.testing.assert_close(ours, library_logits(net, batch), rtol=1e-12, atol=1e-12)


class OwnLoop(nn.Module):
    """spikingjelly's tutorial form: the images repeated over T, the mean over T decoded."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x.unsqueeze(0).repeat(T, *([1] * x.dim())))
        functional.reset_net(self.net)
        return out.mean(0)


@pytest.mark.parametrize(
    "unknown,cls",
    [(Heaviside, "Heaviside"), (lambda: neuron.QIFNode(step_mode="m"), "QIFNode")],
)
def test_an_unknown_neuron_is_refused_before_any_work(unknown, cls: str) -> None:
    net = sj_net("if_soft")
    net[6] = unknown()
    with pytest.raises(UserError) as err:
        adapt(net, T=T)
    message = str(err.value)
    assert "\n" not in message and "6 (" in message and cls in message
    assert "spikingjelly.activation_based.neuron.LIFNode" in message
    assert Heaviside.calls == 0


def test_a_neuron_with_hooks_is_refused_as_its_lif_would_not_call_them() -> None:
    """A defence written as a forward hook on a node (here: flipping its spikes) would not
    run in the adapted network: the examples were crafted on another network."""
    net = sj_net("if_soft")
    net[2].register_forward_hook(lambda _m, _i, out: 1 - out)
    with pytest.raises(
        UserError, match=r"^interop: 2 \(spikingjelly\..*IFNode\) has forward hooks, which the LIF"
    ):
        adapt(net, T=T)


# a hook of each kind that counts its calls (and changes nothing), registered on a module
HOOKS = {
    "forward": lambda m, calls: m.register_forward_hook(lambda *_: calls.append(1)),
    "backward": lambda m, calls: m.register_full_backward_hook(lambda *_: calls.append(1)),
    "backward_pre": lambda m, calls: m.register_full_backward_pre_hook(lambda *_: calls.append(1)),
}


@pytest.mark.parametrize("kind", HOOKS)
@pytest.mark.parametrize("index", [3, 4], ids=["pool", "conv"])
def test_a_pool_or_conv_with_hooks_is_kept_and_its_hooks_run(index: int, kind: str) -> None:
    """The adapter runs its own pooling and convolution in place of a hook-free
    ``layer.AvgPool2d`` and ``layer.Conv2d`` only: a backward hook runs in the attack's
    backward pass (it was replaced, and the hook never ran, or refused for a pool)."""
    import snnattack

    net, calls = sj_net("if_soft"), []
    HOOKS[kind](net[index], calls)
    x, y = images(), torch.arange(6) % 10
    got = snnattack.attack(net, x, y, "pgd", eps=16, T=T, steps=2)
    assert calls and torch.equal(
        got, snnattack.attack(sj_net("if_soft"), x, y, "pgd", eps=16, T=T, steps=2)
    )


def test_a_pruned_layer_is_attacked_as_its_masked_weights() -> None:
    """``torch.nn.utils.prune`` computes the layer's weight before each forward (a tensor of
    a graph, which a deep copy refused): the same examples as the layer's pruned weights."""
    import snnattack

    pruned, plain = sj_net("if_soft"), sj_net("if_soft")
    torch.nn.utils.prune.l1_unstructured(pruned[4], "weight", amount=0.5)
    with torch.no_grad():
        plain[4].weight.copy_(pruned[4].weight)
    x, y = images(), torch.arange(6) % 10
    got = snnattack.attack(pruned, x, y, "pgd", eps=16, T=T, steps=2)
    assert torch.equal(got, snnattack.attack(plain, x, y, "pgd", eps=16, T=T, steps=2))
    assert not torch.equal(
        got, snnattack.attack(sj_net("if_soft"), x, y, "pgd", eps=16, T=T, steps=2)
    )


def reduced_precision() -> nn.Module:
    node = neuron.IFNode(step_mode="m")
    node._neuron_precision = ("fp16", "fp16", "fp16")  # as 2.0's precision.convert sets it
    return node


def memoryless(tau: float) -> nn.Module:
    """A LIF node of ``tau`` set after it is built (its constructor asserts tau > 1)."""
    node = neuron.LIFNode(tau=2.0, step_mode="m")
    node.tau = tau
    return node


@pytest.mark.parametrize(
    "node,why",
    [
        (lambda: neuron.IFNode(v_threshold=0.0, v_reset=0.0), "v_threshold <= v_reset"),
        (reduced_precision, "reduced precision"),
        (lambda: memoryless(1.0), r"has tau=1, whose decay 1/tau >= 1 .*; accepted: tau > 1"),
        (lambda: memoryless(0.5), r"has tau=0.5, whose decay"),  # it raised lam's ValueError
    ],
)
def test_a_setting_the_lif_cannot_reproduce_is_refused(node, why: str) -> None:
    net = sj_net("if_soft")
    net[2] = node()
    with pytest.raises(UserError, match=why):
        adapt(net, T=T)


def test_lif_decay_input_maps_to_lam_and_the_input_scale() -> None:
    net = sj_net("lif_decay_input_hard")
    scale, lif = adapt(net, T=T).body[2]
    assert scale.scale == 0.5 and (lif.lam, lif.theta, lif.reset) == (0.5, 1.0, "hard")
    plif = adapt(sj_net("plif_hard_below_zero"), T=T).body[2]
    assert math.isclose(plif[1].lam, 1 - 1 / 2.5, rel_tol=1e-6) and plif[1].theta == 1.0


def training_plif(step_mode: str) -> nn.Sequential:
    """The PLIF net in training mode, its BNs in eval mode (a training-mode BN of a network
    built in step mode 's' normalises each step, the copy all T at once: docs/interop.md)."""
    net = sj_net("plif_hard_below_zero", step_mode).train()
    for bn in (net[1], net[5]):
        bn.eval()
    return net


def library_training_logits(net: nn.Module, x: torch.Tensor, step_mode: str) -> torch.Tensor:
    functional.reset_net(net)
    steps = x.unsqueeze(0).repeat(T, 1, 1, 1, 1)
    out = net(steps) if step_mode == "m" else functional.multi_step_forward(steps, net)
    functional.reset_net(net)
    return out.mean(0)


@pytest.mark.parametrize("step_mode", ["s", "m"])
def test_a_plif_trains_its_w_as_spikingjelly_trains_it(step_mode: str) -> None:
    """In training mode a ParametricLIFNode's w is a parameter of the adapted network: its
    gradient is spikingjelly's own, and an optimiser's step over the adapted network's
    parameters trains the user's w, which the next forward runs."""
    x, y = images(), torch.arange(6) % 10
    net, theirs = training_plif(step_mode), training_plif(step_mode)
    nn.functional.cross_entropy(library_training_logits(theirs, x, step_mode), y).backward()
    adapted = adapt(net, T=T)
    nn.functional.cross_entropy(adapted(x), y).backward()
    ours = dict(adapted.named_parameters())
    assert [n for n in ours if n.endswith(".w")] == ["body.2.0.learned.w", "body.6.0.learned.w"]
    for (name, p), ours_p in zip(theirs.named_parameters(), ours.values(), strict=True):
        assert relative(ours_p.grad, p.grad) < 1e-9, name
    assert net[2].w.grad is None  # the copy's own parameter, over the user's memory
    torch.optim.SGD(adapted.parameters(), lr=50.0).step()
    assert torch.equal(net[2].w, ours["body.2.0.learned.w"]) and net[2].w != theirs[2].w
    lif = adapted.body[2][1]
    adapted.eval()
    with torch.no_grad():  # the numbers the fused path runs follow the trained w
        expected = library_training_logits(net.eval(), x, step_mode)
        assert torch.allclose(adapted(x), expected, atol=1e-12)
    assert lif.lam == pytest.approx(1 - float(net[2].w.detach().sigmoid()), rel=1e-12)


@pytest.mark.parametrize(
    "mode, trains",
    [
        ("stbp", True),
        ("pdsg", True),
        ("assg", True),
        ("hart", False),
        ("bptr", False),
        ("rga", False),
    ],
)
def test_a_plifs_w_trains_under_the_modes_that_run_its_dynamics_only(
    mode: str, trains: bool
) -> None:
    """stbp and the modes that only set the neuron's surrogate run its own dynamics, which
    differentiate w; a mode with a forward of its own reads the leak and the input scale as
    numbers: w gets no gradient there (not one through the input scale alone)."""
    x, y = images(), torch.arange(6) % 10
    adapted = adapt(training_plif("m"), T=T)
    with gradient_mode(adapted, mode):
        nn.functional.cross_entropy(adapted(x), y).backward()
    grad = adapted.body[2][1].learned.w.grad
    assert (grad is not None and grad.abs() > 0) if trains else grad is None


def test_an_optimiser_built_once_trains_through_a_gradient_mode_context_per_batch() -> None:
    """A training loop with one ``snnattack.gradient_mode`` context per batch and one
    optimiser built over the first context's parameters: each later context (prepared afresh
    after the optimiser's step changed the weights) holds the same parameter objects, so
    every step trains, as one adapted network held over the whole loop does; an attack of
    the network between the steps leaves them as they were."""
    x, y = images(), torch.arange(6) % 10

    def trained(per_batch: bool) -> list[torch.Tensor]:
        net = training_plif("m")
        held = adapt(net, T=T)
        optimiser = None
        for _ in range(3):
            with snnattack.gradient_mode(net if per_batch else held, "stbp", T=T) as m:
                optimiser = optimiser or torch.optim.SGD(m.parameters(), lr=0.5)
                optimiser.zero_grad()
                nn.functional.cross_entropy(m(x), y).backward()
            assert all(p.grad is not None for p in optimiser.param_groups[0]["params"])
            optimiser.step()
            if per_batch:
                snnattack.attack(net.eval(), x, y, method="fgsm", eps=8, T=T)
                net.train()
                for bn in (net[1], net[5]):
                    bn.eval()
        return [p.detach().clone() for p in net.parameters()]

    for ours, reference in zip(trained(True), trained(False), strict=True):
        assert torch.equal(ours, reference)


def test_a_frozen_or_eval_mode_plif_runs_its_w_as_a_number() -> None:
    """Where w does not train (eval mode, w frozen), the LIF runs its fused path with the
    numbers; a w trained out of what a LIF runs is refused naming the neuron."""
    net = training_plif("m")
    adapted = adapt(net, T=T)
    learned = adapted.body[2][1].learned
    assert learned.live()
    adapted.eval()
    assert not learned.live()
    adapted.train()
    net[2].w.requires_grad_(False)
    assert learned.live()  # the copy's own flag
    learned.w.requires_grad_(False)
    assert not learned.live()
    with torch.no_grad():
        learned.w.fill_(100.0)  # sigmoid(w) = 1 in float64: lam = 0
    refused = r"interop: 2 \(.*ParametricLIFNode\) has learned the leak lam=0 "
    with pytest.raises(UserError, match=refused):
        adapted(images())


def test_a_multistep_avg_pool_runs_the_c_kernels_pooling_with_the_same_bits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from snnattack.cpu import native as kernels
    from snnattack.snn.backend import set_backend
    from snnattack.snn.temporal import FoldedAvgPool2d

    pooled = 2 if kernels.built() is not None else 0  # without a C compiler: the module's
    net = sj_net("lif_decay_input_hard")
    adapted = adapt(net, T=T).eval()
    pools = [m for m in adapted.modules() if isinstance(m, FoldedAvgPool2d)]
    assert len(pools) == 2 and not any(isinstance(m, layer.AvgPool2d) for m in adapted.modules())
    calls = []
    pool = kernels.avg_pool
    monkeypatch.setattr(kernels, "avg_pool", lambda *a: calls.append(a) or pool(*a))
    x = images().double()
    runs = []
    for backend in ("c", "torch"):
        set_backend(adapted, backend)
        assert {p.backend for p in pools} == {backend}
        v = x.clone().requires_grad_(True)
        out = adapted(v)
        runs.append((out, *torch.autograd.grad(out.sum(), v)))
        assert len(calls) == pooled  # both pools in the kernel with c; none with torch
    assert all(torch.equal(a, b) for a, b in zip(*runs, strict=True))
    assert torch.equal(runs[0][0], library_logits(net, x))
    with pytest.raises(ValueError, match=r"expected x with shape \[T, N, C, H, W\]"):
        pools[0](torch.zeros(2, 16, 8, 8, dtype=torch.float64))  # as spikingjelly's refuses


@pytest.mark.parametrize("container", ["MultiStepContainer", "SeqToANNContainer"])
def test_a_neuron_inside_a_container_is_refused(container: str) -> None:
    """A container calls its layers on single steps (``MultiStepContainer``) or on the folded
    ``[T * B]`` samples (``SeqToANNContainer``): the LIF that would run in a node's place
    takes ``[T, B, ...]`` and would read the batch as time, giving other logits than the
    library's without a word. It is refused, naming the container."""
    net = nn.Sequential(
        layer.Conv2d(1, 8, 3, padding=1, step_mode="m"),
        getattr(layer, container)(nn.Identity(), neuron.IFNode(v_threshold=0.3)),
        layer.Flatten(step_mode="m"),
        layer.Linear(8 * 64, 10, step_mode="m"),
    ).double()
    with pytest.raises(UserError, match=rf"1\.1 .* is a neuron inside spikingjelly's {container}"):
        adapt(net, T=T)


def torch_layers_net(torch_layers: bool) -> nn.Sequential:
    """A net of step mode 's' (the default), its layers torch's or spikingjelly's, float64."""
    lib = nn if torch_layers else layer
    torch.manual_seed(0)
    net = nn.Sequential(
        lib.Conv2d(1, 8, 3, padding=1),
        lib.BatchNorm2d(8),
        neuron.IFNode(),
        lib.MaxPool2d(2),
        lib.Flatten(),
        nn.Linear(8 * 4 * 4, 6),
        lib.BatchNorm1d(6),
        neuron.LIFNode(),
        nn.Linear(6, 10),
    ).double()
    with torch.no_grad():
        for bn in (net[1], net[6]):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.2, 2.0)
            bn.weight.uniform_(1.0, 3.0)
    return net.eval()


def test_the_torch_layers_of_a_step_mode_s_network_run_per_step() -> None:
    """A network of step mode 's' takes one step [B, ...] per call (the user's loop calls it T
    times), so its torch layers (nn.Conv2d, nn.BatchNorm1d, nn.Flatten, ...) took one step:
    the copy runs them on the T * B samples. Before, they took [T, B, ...]: nn.Conv2d raised,
    and an nn.BatchNorm1d of 6 features on a batch of 6 normalised the batch axis as its
    channels without a word. Now the logits are the user's loop's and every mode's input
    gradient that of the same net with spikingjelly's layers."""
    net, twin = torch_layers_net(True), torch_layers_net(False)
    x = images().double()  # 6 images: as many as the BatchNorm1d's features
    functional.reset_net(net)
    with torch.no_grad():
        expected = torch.stack([net(x) for _ in range(T)]).mean(0)
    functional.reset_net(net)
    adapted = adapt(net, T=T).eval()
    with torch.no_grad():
        assert torch.allclose(adapted(x), expected, atol=1e-12)
    for mode, params in MODES:
        ours, theirs = (
            input_gradient(adapted, mode, params),
            input_gradient(adapt(twin, T=T).eval(), mode, params),
        )
        assert ours.abs().sum() > 0 and relative(ours, theirs) < 1e-9, mode


def test_a_seq_to_ann_container_folds_its_layers_which_keep_their_step_mode() -> None:
    """spikingjelly 2.0's ``SeqToANNContainer`` sets no step mode of its own (the adapter
    stopped at an AttributeError reading it), and its layers must stay in step mode ``'s'``:
    it calls them on the folded samples. Its copy folds them as ``StepWise`` does, with the
    library's logits, and the user's layers keep their step modes."""
    from snnattack.snn.temporal import FoldedSequential

    net = sj_net("lif_decay_input_hard")
    functional.set_step_mode(net[0:2], "s")
    net[0] = layer.SeqToANNContainer(net[0], net[1])
    net[1] = nn.Identity()
    adapted = adapt(net, T=T).eval()
    folded = adapted.body[0]
    assert type(folded) is FoldedSequential and [m.step_mode for m in folded] == ["s", "s"]
    assert [m.step_mode for m in net[0]] == ["s", "s"]
    x = images().double()
    assert torch.equal(adapted(x), library_logits(net, x))
    assert input_gradient(adapted, "hart", {}).abs().sum() > 0


def assert_library_model(net: nn.Module, library: nn.Module | None = None) -> None:
    """The adapted body ``net`` gives the logits of ``library`` (default: ``net``) run by
    spikingjelly, and its input gradient by the nodes' own surrogate (the nodes in training
    mode, where spikingjelly applies it)."""
    library = net if library is None else library
    for m in [*net.modules(), *library.modules()]:
        if isinstance(m, neuron.BaseNode):
            m.train()
    x = images().requires_grad_(True)
    theirs = library_logits(library, x)
    weighted_backward(theirs)
    adapted = adapt(net, T=T, own_loop=False).eval()
    with torch.no_grad():
        torch.testing.assert_close(adapted(images()), theirs, rtol=1e-12, atol=1e-12)
    assert x.grad.abs().sum() > 0
    assert relative(input_gradient(adapted, "stbp", {}), x.grad) <= 1e-6


def with_empty_containers(net: nn.Sequential) -> nn.Sequential:
    """``net`` with an empty ``SeqToANNContainer`` first and one after its first pooling."""
    return nn.Sequential(layer.SeqToANNContainer(), *net[:4], layer.SeqToANNContainer(), *net[4:])


def test_an_empty_seq_to_ann_container_passes_its_input_through() -> None:
    """spikingjelly runs an empty ``SeqToANNContainer`` as the identity (an empty
    ``nn.Sequential`` on the folded samples); its copy did not run (a bare ValueError
    unpacking its layers). It gives the library's logits and input gradient."""
    assert_library_model(with_empty_containers(sj_net("if_soft")))


@pytest.mark.parametrize("mode,params", MODES, ids=[f"{m}-{p}" for m, p in MODES])
def test_empty_containers_change_no_gradient_mode(mode: str, params: dict) -> None:
    """Every gradient mode gives the network with empty containers the logits and input
    gradient of the one without them."""
    net = sj_net("lif_decay_input_hard")
    adapted = adapt(with_empty_containers(net), T=T).eval()
    assert_same_model(adapted, adapt(net, T=T).eval(), mode, params)


# how a body of the user's calls its SeqToANNContainer: spikingjelly's model zoo and tutorial
# pass one tensor; 2.0's forward also takes it in a tuple of one, and any version as x_seq=
CALLS = {
    "tensor": lambda block, x: block(x),
    "keyword": lambda block, x: block(x_seq=x),
    "tuple_of_one": lambda block, x: block((x,)),
}
# calls that spikingjelly's own container fails on, and how the refusal describes them
SHAPE = r"a tensor of shape \[4, 6, 1, 8, 8\]"
REFUSED = {
    "two_tensors": (lambda block, x: block(x, x), "2 arguments"),
    "tuple_of_two": (lambda block, x: block((x, x)), rf"a tuple of \({SHAPE}, {SHAPE}\)"),
    "list": (lambda block, x: block([x]), rf"a list of \({SHAPE}\)"),
    "no_time_and_batch": (lambda block, x: block(x[0, 0, 0, 0]), r"a tensor of shape \[8\]"),
}


class ContainerCall(nn.Module):
    """A body of the user's: ``sj_net``'s first convolution and BN in a ``SeqToANNContainer``
    (``block``), which its forward calls by ``call`` (one of :data:`CALLS` or :data:`REFUSED`)."""

    def __init__(self, call: Callable[[nn.Module, torch.Tensor], object]) -> None:
        super().__init__()
        net = sj_net("lif_decay_input_hard")
        functional.set_step_mode(net[0:2], "s")
        self.block = layer.SeqToANNContainer(net[0], net[1])
        self.rest = net[2:]
        self.call = call

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.rest(self.call(self.block, x_seq))


@pytest.mark.parametrize("form", sorted(CALLS))
def test_a_seq_to_ann_container_takes_every_form_its_callers_use(form: str) -> None:
    """Its copy took a tensor only: ``x_seq=`` or a tuple of one stopped at a bare TypeError
    or AttributeError. Each gives the logits and input gradient of spikingjelly's network
    called with the tensor (the form every tested version takes; 2.0 gives the same to the
    others)."""
    assert_library_model(ContainerCall(CALLS[form]), ContainerCall(CALLS["tensor"]))


@pytest.mark.parametrize("form", sorted(REFUSED))
def test_any_other_input_of_a_seq_to_ann_container_is_refused_naming_it(form: str) -> None:
    """Inputs spikingjelly's container fails on with a bare error of its own (several
    tensors, a list, a tensor without ``[T, B]``) are one UserError naming the container."""
    call, given = REFUSED[form]
    with pytest.raises((TypeError, AttributeError, ValueError, IndexError)):
        library_logits(ContainerCall(call), images())
    adapted = adapt(ContainerCall(call), T=T, own_loop=False)
    accepted = r"accepted: one tensor \[T, B, \.\.\.\], or a tuple of one"
    with pytest.raises(
        UserError, match=rf"^interop: block \(spikingjelly\.\S+\) was given {given}; {accepted}$"
    ):
        adapted(images())


class WithAux(nn.Module):
    """A layer of the user's returning its output and an auxiliary value (a regulariser's)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.inner(x)
        return out, out.abs().mean()


@pytest.mark.parametrize("index", [0, 1])
def test_a_layer_of_a_seq_to_ann_container_returning_a_tuple_is_refused_naming_it(
    index: int,
) -> None:
    """A layer returning ``(out, aux)`` in a ``SeqToANNContainer`` (first or last), which
    spikingjelly's own container fails on with a bare error of torch's, stopped its copy at a
    bare AttributeError unfolding the tuple: one UserError naming the layer, from
    ``snnattack.attack`` and from the adapted network's forward alike."""
    net = sj_net("if_soft")
    functional.set_step_mode(net[0:2], "s")
    layers = list(net[0:2])
    layers[index] = WithAux(layers[index])
    body = nn.Sequential(layer.SeqToANNContainer(*layers), *net[2:])
    with pytest.raises((RuntimeError, AttributeError, TypeError)):
        library_logits(body, images())
    refused = (
        rf"^interop: 0\.{index} \(\S+\.WithAux\) in 0 \(spikingjelly\.activation_based\.layer"
        r"\.SeqToANNContainer\) returned a tuple of \(a tensor of shape \[\d+, 16, 8, 8\], a "
        r"tensor of shape \[\]\); accepted: layers that return one tensor, which the container "
        r"unfolds to \[T, B, \.\.\.\] \(a module's further outputs kept elsewhere, e\.g\. as "
        r"its attribute\)$"
    )
    with pytest.raises(UserError, match=refused):
        snnattack.attack(body, images(), torch.arange(6), "fgsm", T=T)
    with pytest.raises(UserError, match=refused):
        adapt(body, T=T).eval()(images())


def zoo_residual() -> list[nn.Module]:
    """spikingjelly's ``spiking_resnet.BasicBlock`` adds its shortcut in place (``out +=
    identity``) onto its BatchNorm's output, which rate-domain RGA's pass returns as a
    broadcast zero: autograd refused the write, so ``rga`` failed on it; that call now runs
    again with the BatchNorm's zeros in memory of their own."""
    from spikingjelly.activation_based.model.spiking_resnet import BasicBlock

    block = BasicBlock(4, 4, spiking_neuron=neuron.IFNode)
    conv = layer.Conv2d(1, 4, 3, padding=1)
    return [conv, neuron.IFNode(), block, layer.Flatten(), layer.Linear(4 * 8 * 8, 10)]


def max_pooling() -> list[nn.Module]:
    """A max pooling picks by value, and rate-domain RGA's one pass computes no value of the
    layers before it (zeros: their input gradient only): it routed each window's gradient to
    its first element (a cosine of 0.07 with the layer-wise gradient on snnTorch's tutorial
    form). ``rga`` differentiates such a model layer by layer."""
    return [
        layer.Conv2d(1, 4, 3, padding=1),
        layer.MaxPool2d(2),
        neuron.IFNode(),
        layer.Conv2d(4, 4, 3, padding=1),
        neuron.IFNode(),
        layer.Flatten(),
        layer.Linear(4 * 4 * 4, 10),
    ]


def sew_residual(cnf: str) -> list[nn.Module]:
    """Two SEW-ResNet ``AND`` or ``IAND`` blocks in a row multiply spikes into a product of
    spikes: the second passes the first a gradient that differs by step, which ``rga``'s one
    time-averaged pass cannot hold (0.63 and 0.18 relative from the layer-wise gradient, on a
    model without max pooling). ``rga`` differentiates such a model layer by layer."""
    from spikingjelly.activation_based.model.sew_resnet import BasicBlock

    blocks = [BasicBlock(4, 4, cnf=cnf, spiking_neuron=neuron.IFNode) for _ in range(2)]
    for norm in (n for b in blocks for n in (b.bn1, b.bn2)):  # every neuron fires at times
        nn.init.uniform_(norm.bias, 0.2, 1.0)
        nn.init.uniform_(norm.weight, 0.5, 2.0)
    conv = layer.Conv2d(1, 4, 3, padding=1)
    return [conv, neuron.IFNode(), *blocks, layer.Flatten(), layer.Linear(4 * 8 * 8, 10)]


@pytest.mark.parametrize(
    "layers",
    [zoo_residual, max_pooling, partial(sew_residual, "AND"), partial(sew_residual, "IAND")],
)
def test_rga_gives_rga_layerwise_gradient_on_the_zoos_layers(layers: Callable) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(*layers()).double()
    functional.set_step_mode(net, "m")
    adapted = adapt(net.eval(), T=T).eval()
    rate_domain = input_gradient(adapted, "rga", {})
    assert rate_domain.abs().sum() > 0
    assert relative(rate_domain, input_gradient(adapted, "rga_layerwise", {})) <= 1e-10


def test_a_training_mode_batchnorm_is_named_as_the_users_network_names_it() -> None:
    """It named the adapter's copy, ``body.1 (FoldedBatchNorm2d)``, which the user never
    wrote: their network's path and class."""
    from spikingjelly.activation_based import functional, layer, neuron

    net = nn.Sequential(
        layer.Conv2d(1, 4, 3, padding=1),
        layer.BatchNorm2d(4),
        neuron.LIFNode(),
        layer.Flatten(),
        layer.Linear(256, 10),
    )
    functional.set_step_mode(net, "m")
    with pytest.raises(UserError) as err, snnattack.gradient_mode(net, "rga", T=4) as m:
        m(torch.rand(2, 1, 8, 8))
    assert "needs the model in eval mode, but its 1 (BatchNorm2d) is in training mode" in str(
        err.value
    )


@pytest.mark.parametrize("decay_input", [True, False])  # a LIF after an input scale, or alone
def test_rgas_curve_refusal_names_the_users_neuron_layer_and_class(decay_input: bool) -> None:
    """It named the adapter's path, ``body.2.1`` (the LIF after a LIFNode's input scale),
    which the user never wrote: their network's path and class."""
    net = nn.Sequential(
        layer.Flatten(),
        layer.Linear(64, 32),
        neuron.LIFNode(tau=2.0, decay_input=decay_input, v_threshold=10.0),
        layer.Linear(32, 10),
        neuron.IFNode(),
    )
    functional.set_step_mode(net, "m")
    x, y = torch.rand(4, 1, 8, 8), torch.randint(0, 10, (4,))
    with pytest.raises(UserError) as err:  # the default gamma: a rate of 1 at the onset
        snnattack.attack(net, x, y, "fgsm", eps=8, grad_mode="rga", T=2)
    assert str(err.value).startswith(  # named as the argument that changes it
        "RGA on the spiking layer 2 (LIFNode): grad_params['gamma']=0.2 gives a rate of 1 "
    )


def test_an_ensemble_component_that_does_not_fit_the_network_is_refused_before_any_attack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default ensemble on a network whose threshold RGA's default ``gamma`` does not fit:
    its ``rga`` component was refused at its craft, after the rows and the components before
    it had run (minutes, on a real test set); now before any attack, naming its keys."""
    from snnattack.evaluation import core

    net = nn.Sequential(
        layer.Flatten(),
        layer.Linear(64, 32),
        neuron.LIFNode(tau=2.0, v_threshold=10.0),
        layer.Linear(32, 10),
        neuron.IFNode(),
    )
    functional.set_step_mode(net, "m")
    x, y = torch.rand(4, 1, 8, 8), torch.randint(0, 10, (4,))
    crafted = []
    monkeypatch.setattr(core, "craft", lambda *a, **k: crafted.append(1))
    with pytest.raises(UserError) as err:
        snnattack.evaluate(net, (x, y), eps=[8], methods=["fgsm", "ensemble"], T=2, progress=False)
    assert str(err.value).startswith(
        "RGA on the spiking layer 2 (LIFNode): "
        "method.ensemble.components.apgd/rga.attack_params.gamma=0.2 gives a rate of 1 "
    )
    assert crafted == []


def test_the_records_neurons_are_named_by_the_users_layers() -> None:
    """The record and its title named a LIFNode by the adapter's path, ``body.2.1`` (its LIF
    after the input scale), an IFNode ``body.4``: paths the user never wrote."""
    net = nn.Sequential(
        layer.Flatten(),
        layer.Linear(64, 32),
        neuron.LIFNode(tau=2.0),
        layer.Linear(32, 10),
        neuron.IFNode(),
    ).eval()
    functional.set_step_mode(net, "m")
    x, y = torch.rand(4, 1, 8, 8), torch.randint(0, 10, (4,))
    record = snnattack.evaluate(net, (x, y), T=2, methods="fgsm", progress=False, masking=False)
    assert [n["layer"] for n in record.models["target"]["neurons"]] == ["2", "4"]
    assert " 2: λ=0.5 θ=1 reset=hard " in record.title()


def test_an_attention_over_the_time_steps_is_refused_by_the_rate_domain_pass() -> None:
    """spikingjelly's ``TemporalWiseAttention`` weighs each step by all of them: ``ann``'s
    pass of one time-averaged step cannot run it (it failed with a bare shape error), so it
    refuses it in one line naming the layer; the modes that run every step attack it, and
    ``rga`` (the attention's max pooling) runs layer-wise."""
    from spikingjelly.activation_based import functional, layer, neuron

    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Conv2d(1, 4, 3, padding=1),
        neuron.IFNode(),
        layer.TemporalWiseAttention(T=4, reduction=1, dimension=4),
        layer.Flatten(),
        layer.Linear(256, 10),
    ).eval()
    functional.set_step_mode(net, "m")
    x, y = torch.rand(3, 1, 8, 8), torch.tensor([0, 1, 2])
    with pytest.raises(UserError) as err:
        snnattack.attack(net, x, y, "fgsm", eps=8, grad_mode="ann", T=4)
    (line,) = str(err.value).splitlines()
    assert line.startswith("gradient mode 'ann' runs the network on one time-averaged step")
    assert "its 2 (TemporalWiseAttention) mixes the time steps; accepted:" in line
    assert "rga_layerwise" in line and "stbp" in line
    modes = ("stbp", "rga", "rga_layerwise")
    adv = {m: snnattack.attack(net, x, y, "fgsm", eps=8, grad_mode=m, T=4) for m in modes}
    assert all(not torch.equal(a, x) for a in adv.values())
    assert torch.equal(adv["rga"], adv["rga_layerwise"])


@pytest.mark.parametrize("node_class", ["ParametricLIFNode", "LIFNode", "IFNode"])
def test_the_zoo_cifar10dvs_net_on_frames_gives_the_library_logits_and_gradient(
    node_class: str,
) -> None:
    """spikingjelly's CIFAR10-DVS network (``parametric_lif_net.CIFAR10DVSNet``: four
    conv-BN-node-max-pool blocks, dropout, a voting layer over 100 neurons), as its users pass
    it, reads frames ``[B, T, 2, 128, 128]`` time first: the library's logits and the input
    gradient of its nodes' own surrogate (in training mode, dropout off), at every node."""
    from spikingjelly.activation_based.model.parametric_lif_net import CIFAR10DVSNet

    from snnattack.interop.external import with_encoding

    torch.manual_seed(0)
    net = CIFAR10DVSNet(channels=4, spiking_neuron=getattr(neuron, node_class)).double().eval()
    with torch.no_grad():  # every layer spikes
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_var.uniform_(0.1, 0.3)
                m.weight.uniform_(1.0, 2.5)
                m.bias.uniform_(0.2, 1.0)
            elif isinstance(m, nn.Linear):
                m.bias.uniform_(0.5, 1.5)
    functional.set_step_mode(net, "m")
    frames = (torch.rand(3, T, 2, 128, 128, dtype=torch.float64) < 0.3).double()
    adapted = with_encoding(adapt(net, T=T), "frames").eval()

    def library(x: torch.Tensor) -> torch.Tensor:
        functional.reset_net(net)
        return net(x.transpose(0, 1)).mean(0)

    with torch.no_grad():
        logits = library(frames)
        assert logits.abs().sum() > 0
        torch.testing.assert_close(adapted(frames), logits, rtol=1e-12, atol=1e-12)
    for m in net.modules():  # its own surrogate gradient: the nodes in training mode
        if isinstance(m, neuron.BaseNode):
            m.train()
    x = frames.clone().requires_grad_(True)
    weighted_backward(library(x))
    ours = frames.clone().requires_grad_(True)
    with gradient_mode(adapted, "stbp"):
        weighted_backward(adapted(ours))
    assert x.grad.abs().sum() > 0
    assert relative(ours.grad, x.grad) <= 1e-12


# spikingjelly's non-spiking read-out nodes and every decode their forward knows
READOUTS = [
    (cls, decode)
    for cls in ("NonSpikingIFNode", "NonSpikingLIFNode")
    for decode in (None, "last_mem", "max-mem", "max-abs-mem", "mean-mem")
]


def readout_net(cls: str, decode: str | None, step_mode: str = "m") -> nn.Sequential:
    """A body ending in the read-out node ``cls`` (``tau=3`` for the LIF), as the library's
    examples put it (DSQN's ``NonSpikingLIFNode(decode=...)``), in ``step_mode``."""
    torch.manual_seed(0)
    settings = {"tau": 3.0} if cls == "NonSpikingLIFNode" else {}
    net = nn.Sequential(
        layer.Flatten(),
        layer.Linear(64, 32),
        neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan()),
        layer.Linear(32, 10),
        getattr(neuron, cls)(decode=decode, **settings),
    ).double()
    with torch.no_grad():  # every input spikes some of the LIFs, not all
        net[1].weight.uniform_(-0.3, 0.4)
    functional.set_step_mode(net, step_mode)
    return net


def readout_logits(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The library's read-out of ``net`` (step mode 'm') on the images repeated over T: the
    node's decoded membrane, or its sequence (a list) averaged over T by its users."""
    functional.reset_net(net)
    out = net(x.unsqueeze(0).repeat(T, 1, 1, 1, 1))
    functional.reset_net(net)
    return torch.stack(out, 0).mean(0) if isinstance(out, list) else out


@pytest.mark.parametrize("step_mode", ["m", "s"])
@pytest.mark.parametrize("cls,decode", READOUTS)
def test_a_non_spiking_readout_gives_the_library_logits_and_gradient(
    cls: str, decode: str | None, step_mode: str
) -> None:
    """Each decode of a read-out node last in a body (built in either step mode) gives the
    library's logits and stbp input gradient (its nodes' surrogate, in training mode), the
    decoded ``[B, K]`` returned as it is; every gradient mode runs through the node; an
    fgsm attack runs on it."""
    library = readout_net(cls, decode).train()
    x = images().requires_grad_(True)
    theirs = readout_logits(library, x)
    assert theirs.shape == (6, 10)
    weighted_backward(theirs)
    adapted = adapt(readout_net(cls, decode, step_mode), T=T).eval()
    with torch.no_grad():
        assert relative(adapted(images()), theirs) <= 1e-10
    assert relative(input_gradient(adapted, "stbp", {}), x.grad) <= 1e-10
    for mode in ("rga", "rga_layerwise", "bptr", "hart", "ann"):
        grad = input_gradient(adapted, mode, {})
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0, mode
    y = theirs.argmax(1).detach()
    adv = snnattack.attack(library, images(), y, method="fgsm", eps=8, T=T)
    assert adv.shape == (6, 1, 8, 8) and (adv - images()).abs().max() <= 8 / 255 + 1e-9


def rate_domain_gain(cls: str, decode: str | None, mean: torch.Tensor) -> torch.Tensor:
    """The derivative, at each mean input ``a``, of the read-out a constant input ``a`` gives
    over T steps (the rate-domain definition, in closed form): its membrane is ``c_t a``, with
    ``c_t = t`` for IF and ``1 - (1 - 1/tau)^t`` for LIF (``tau = 3``, as
    :func:`readout_net` builds it)."""
    t = torch.arange(1, T + 1, dtype=torch.float64)
    c = t if cls == "NonSpikingIFNode" else 1 - (1 - 1 / 3.0) ** t
    if decode == "last_mem":
        return torch.full_like(mean, c[-1].item())
    if decode in (None, "mean-mem"):  # the sequence as its mean over T
        return torch.full_like(mean, c.mean().item())
    if decode == "max-mem":  # the step where c_t a peaks
        return torch.where(mean > 0, c.max(), c.min())
    return torch.full_like(mean, c[c.abs().argmax()].item())  # max-abs-mem


@pytest.mark.parametrize("cls,decode", READOUTS)
def test_a_readout_in_the_rate_domain_is_its_output_of_the_mean_input(
    cls: str, decode: str | None
) -> None:
    """Under ``rga`` and ``ann`` (one pass on time-averaged tensors) a read-out is its output
    as a function of its mean input over T (``snnattack.interop.readout``): on a body that
    feeds it a linear map of the images, the input gradient is that function's closed form
    (and stbp's: the input is constant over T); after a spiking layer, each linear decode's
    is ``rga_layerwise``'s. Before, the one averaged step gave each decode ``a / tau``: T
    times too small for IF's ``'last_mem'``."""
    linear = readout_net(cls, decode)
    body = nn.Sequential(linear[0], nn.Linear(64, 10).double(), linear[4])
    adapted = adapt(body, T=T).eval()
    flat = images().flatten(1)
    mean = flat @ body[1].weight.T + body[1].bias
    weights = torch.linspace(-1, 1, mean.numel(), dtype=torch.float64).view_as(mean)
    closed = ((weights * rate_domain_gain(cls, decode, mean)) @ body[1].weight).view(6, 1, 8, 8)
    assert relative(input_gradient(adapted, "stbp", {}), closed) <= 1e-12
    for mode in ("rga", "ann"):
        assert relative(input_gradient(adapted, mode, {}), closed) <= 1e-12, mode
    if decode in (None, "last_mem", "mean-mem"):  # linear: the sum of the steps' gradients
        spiking = adapt(readout_net(cls, decode), T=T).eval()
        layerwise = input_gradient(spiking, "rga_layerwise", {})
        assert relative(input_gradient(spiking, "rga", {}), layerwise) <= 1e-10


def noisy_readout_net(decode: str | None, **settings: object) -> nn.Sequential:
    """:func:`readout_net` ending in 2.0's ``NoisyNonSpikingIFNode`` (NoisySNN's decoder) of
    ``T`` steps, its noise off (``is_training=False``) unless ``settings`` say."""
    net = readout_net("NonSpikingIFNode", None)
    node = neuron.NoisyNonSpikingIFNode(10, **{"is_training": False, "T": T, **settings})
    node.decode = decode
    net[4] = node.double()
    return net


@pytest.mark.parametrize("decode", [None, "last-me", "max-mem", "max-abs-mem", "mean-mem"])
def test_a_noisy_readout_with_its_noise_off_gives_the_library_logits_and_gradient(
    decode: str | None,
) -> None:
    """``NoisyNonSpikingIFNode`` with ``is_training=False`` (its forward then the IF read-out
    over its own T, deterministic; ``'last-me'`` its spelling of the last step) gives the
    library's logits and stbp input gradient in float64, and in the rate domain the IF
    read-out's (``rga`` as ``rga_layerwise`` for a linear decode). Before, it was refused as
    an unknown neuron."""
    library = noisy_readout_net(decode).train()
    x = images().requires_grad_(True)
    theirs = readout_logits(library, x)
    weighted_backward(theirs)
    adapted = adapt(noisy_readout_net(decode), T=T).eval()
    with torch.no_grad():
        assert relative(adapted(images()), theirs) <= 1e-12
    assert relative(input_gradient(adapted, "stbp", {}), x.grad) <= 1e-12
    same = {"last-me": "last_mem"}.get(decode, decode)  # the plain node's spelling
    plain = adapt(readout_net("NonSpikingIFNode", same), T=T).eval()
    for mode in ("rga", "rga_layerwise", "bptr", "hart", "ann"):
        grad = input_gradient(adapted, mode, {})
        assert relative(grad, input_gradient(plain, mode, {})) <= 1e-12, mode
    if decode in (None, "last-me", "mean-mem"):
        layerwise = input_gradient(adapted, "rga_layerwise", {})
        assert relative(input_gradient(adapted, "rga", {}), layerwise) <= 1e-10


def test_a_noisy_readout_with_its_noise_on_or_another_t_is_refused() -> None:
    """Its noise follows its own ``is_training`` flag, not ``eval()``: on, each forward adds
    the next draw of a noise sequence, so it is refused before any work; a decode its forward
    does not know (the noisy_san example's ``'last-mem'``, or ``'last_mem'``, which the plain
    node knows) is refused naming the accepted ones; a network run over another T than the
    node's own (its forward loops over it) is refused at the first forward."""
    with pytest.raises(UserError, match=r"^interop: 4 \(.*NoisyNonSpikingIFNode\) adds noise"):
        adapt(noisy_readout_net("mean-mem", is_training=True), T=T)
    for decode in ("last-mem", "last_mem"):
        with pytest.raises(UserError, match=rf"has decode='{decode}', .*accepted: None, 'last-me'"):
            adapt(noisy_readout_net(decode), T=T)
    adapted = adapt(noisy_readout_net("mean-mem", T=T + 1), T=T).eval()
    with pytest.raises(UserError, match=rf"^interop: 4 \(.*\) integrates its own T={T + 1} "):
        adapted(images())


def test_a_decode_spikingjelly_does_not_know_is_refused() -> None:
    """spikingjelly returns the whole sequence for a decode it does not know (its own example's
    ``'last-mem'``), which its user meant as a read-out: refused, naming the accepted ones."""
    net = readout_net("NonSpikingIFNode", "last-mem")
    with pytest.raises(UserError, match=r"^interop: 4 \(.*NonSpikingIFNode\) has decode='last-m"):
        adapt(net, T=T)


def test_an_operation_after_a_decoded_readout_is_refused_at_the_first_forward() -> None:
    """A decoded read-out ``[B, K]`` that is not the body's output (here a ``Tanh`` after it)
    may have had any axis removed or kept, which the adapter cannot tell: refused in one line;
    the sequence (decode None) followed by a layer runs as the library does."""
    net = nn.Sequential(*readout_net("NonSpikingLIFNode", "max-mem"), nn.Tanh())
    with pytest.raises(UserError, match=r"^interop: 4 \(.*NonSpikingLIFNode, decode='max-mem'\)"):
        adapt(net, T=T)(images())
    stacked = nn.Sequential(*readout_net("NonSpikingLIFNode", None), Stack())
    with torch.no_grad():
        ours = adapt(stacked, T=T).eval()(images())
        torch.testing.assert_close(ours, library_logits(stacked, images()), rtol=0, atol=1e-12)


class Stack(nn.Module):
    """A user's layer stacking a read-out's sequence (a list) into ``[T, B, K]``."""

    def forward(self, seq: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(seq, 0)


class ReadoutBody(nn.Module):
    """A user's class of a multi-step body ending in a read-out node."""

    def __init__(self, decode: str | None) -> None:
        super().__init__()
        self.net = readout_net("NonSpikingLIFNode", decode)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.net(x_seq)


@pytest.mark.parametrize("decode", [None, "max-mem"])
def test_a_class_ending_in_a_readout_is_taken_for_a_body_without_a_word(decode, caplog) -> None:
    """The probe of a user's class takes one whose body returns a decoded read-out (``[1, B,
    K]`` in the adapted copy) for a body, as one returning the sequence, with no warning."""
    net = ReadoutBody(decode)
    with caplog.at_level("WARNING", logger="snnattack.interop.probe"):
        adapted = adapt(net, T=T, example=images()).eval()
    assert not caplog.records
    with torch.no_grad():
        assert relative(adapted(images()), readout_logits(net.net, images())) <= 1e-10


class ReadoutLoop(nn.Module):
    """spikingjelly's DSQN form: the images repeated over T in the class's forward, its body
    ending in a read-out node whose output (averaged over T where a sequence) it returns."""

    def __init__(self, decode: str | None) -> None:
        super().__init__()
        self.network = readout_net("NonSpikingLIFNode", decode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.network(x.unsqueeze(0).expand(T, *x.shape))
        return torch.stack(out, 0).mean(0) if isinstance(out, list) else out


@pytest.mark.parametrize("decode", [None, "last_mem", "max-abs-mem"])
def test_a_readout_in_an_own_loop_gives_the_library_logits(decode: str | None) -> None:
    """In a class with its own loop the read-out returns what the library's does (a decoded
    ``[B, K]``, or the list of T steps), which the class's code takes as it is."""
    net = ReadoutLoop(decode).eval()
    adapted = adapt(net, T=T, example=images()).eval()
    with torch.no_grad():
        assert relative(adapted(images()), net(images())) <= 1e-10
    pickle.dumps(adapted)  # the read-out's reference to its last output is not kept
    assert input_gradient(adapted, "stbp", {}).abs().sum() > 0


@pytest.mark.slow  # inductor compiles C++ for each shape: about a minute with a cold cache
def test_a_compiled_attack_on_a_parametric_lif_net_gives_the_eager_examples() -> None:
    """``compile=true`` on spikingjelly's parametric LIF network crafts the eager examples.
    Before, inductor failed (``InductorError: cannot determine truth value of Relational``):
    the adapter's checks break the graph, its convolutions then ran as one frame on the 8x8
    and the 4x4 samples, which torch compiled with symbolic sizes; the adapted copy now
    compiles every shape as it is (:func:`snnattack.evaluation.attacked.compiled_dynamic`)."""
    torch._dynamo.reset()  # no graph of another test's frames
    net, x, y = sj_net("plif_hard_below_zero"), images()[:2], torch.tensor([0, 1])
    crafted = [
        snnattack.attack(net, x, y, "pgd", eps=16, T=T, steps=2, overrides=[f"compile={c}"])
        for c in ("true", "false")
    ]
    assert (crafted[1] != x).any()
    torch.testing.assert_close(*crafted, rtol=0, atol=1e-12)
