"""spikingjelly networks with their own time loop, adapted as their users call them
(snnattack.interop.loops): the tutorial CSNN (``x.unsqueeze(0).repeat(T, ...)``, ``.mean(0)``)
in step mode 'm', and a single-step class looping over the steps; the library's own logits and
surrogate gradient; every gradient mode equal to the multi-step body's; the rate-domain modes
refused in one line where the neurons are called one step at a time. The model zoo's
Dropout networks evaluated by snnattack.evaluate. spikingjelly 2.0.0."""

from __future__ import annotations

import pytest
import torch
from interop_oracle import (
    MODES,
    T,
    images,
    input_gradient,
    relative,
    weighted_backward,
)
from torch import nn

import snnattack
from snnattack.errors import UserError
from snnattack.gradients import GRADIENT_MODES
from snnattack.inputs import first_sample
from snnattack.interop import adapt
from snnattack.interop.loops import OwnLoopNet
from snnattack.models.base import Normalize

pytest.importorskip("spikingjelly")
from spikingjelly.activation_based import functional, layer, neuron, surrogate  # noqa: E402

PER_STEP = [(m, p) for m, p in MODES if GRADIENT_MODES[m].per_step]


def conv_fc(channels: int = 8) -> nn.Sequential:
    """The tutorial CSNN's layers (``conv_fashion_mnist.py``), digits-sized, with weights that
    make every layer spike."""
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Conv2d(1, channels, kernel_size=3, padding=1, bias=False),
        layer.BatchNorm2d(channels),
        neuron.IFNode(surrogate_function=surrogate.ATan()),
        layer.MaxPool2d(2, 2),
        layer.Conv2d(channels, channels, kernel_size=3, padding=1, bias=False),
        layer.BatchNorm2d(channels),
        neuron.IFNode(surrogate_function=surrogate.ATan()),
        layer.MaxPool2d(2, 2),
        layer.Flatten(),
        layer.Linear(channels * 2 * 2, 10, bias=False),
        neuron.IFNode(surrogate_function=surrogate.ATan()),
    ).double()
    with torch.no_grad():
        for bn in (net[1], net[5]):
            bn.running_var.uniform_(0.1, 0.3)
            bn.weight.uniform_(1.0, 2.5)
            bn.bias.uniform_(0.4, 1.4)
        net[9].weight.mul_(4.0)
    return net.eval()


class CSNN(nn.Module):
    """spikingjelly's tutorial CSNN: multi-step layers, the time loop in ``forward``."""

    def __init__(self, T: int) -> None:
        super().__init__()
        self.T = T
        self.conv_fc = conv_fc()
        functional.set_step_mode(self, step_mode="m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_seq = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)  # [N, C, H, W] -> [T, N, C, H, W]
        x_seq = self.conv_fc(x_seq)
        fr = x_seq.mean(0)
        return fr


class SingleStepCSNN(nn.Module):
    """The same layers in step mode 's', the loop over the steps in ``forward``."""

    def __init__(self, T: int) -> None:
        super().__init__()
        self.T = T
        self.conv_fc = conv_fc()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = 0.0
        for _ in range(self.T):
            out = out + self.conv_fc(x)
        functional.reset_net(self)  # as spikingjelly's examples do after a simulation
        return out / self.T


class SingleStepCSNNWithSpare(SingleStepCSNN):
    """A single-step class holding a neuron that its ``forward`` never calls (a readout
    variant left in the class)."""

    def __init__(self, T: int) -> None:
        super().__init__(T)
        self.spare = neuron.LIFNode(tau=2.0)


def test_a_surrogate_without_counterpart_is_warned_of_once_whatever_the_forms_tried(
    caplog,
) -> None:
    net = CSNN(T)  # a user's class: the adaptation runs it as each form, converting its nodes
    for m in net.modules():
        if isinstance(m, neuron.BaseNode):
            m.surrogate_function = surrogate.Erf()
    with caplog.at_level("WARNING", logger="snnattack.interop.surrogates"):
        adapt(net, T=T, example=images())
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "surrogate_function=Erf (the neurons conv_fc.2, conv_fc.6, conv_fc.10)" in warning


def library_logits(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    functional.reset_net(net)
    out = net(x)
    functional.reset_net(net)
    return out


@pytest.mark.parametrize("cls", [CSNN, SingleStepCSNN, SingleStepCSNNWithSpare])
def test_the_tutorial_class_gives_the_library_logits_and_gradient(cls: type) -> None:
    net = cls(T)
    adapted = adapt(net, T=T, example=images()).eval()
    assert isinstance(adapted, OwnLoopNet)
    x = images()
    with torch.no_grad():
        logits = library_logits(net, x)
        assert 0.05 < logits.mean() < 0.95
        torch.testing.assert_close(adapted(x), logits, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(adapted(x), logits, rtol=1e-12, atol=1e-12)  # no state
    for m in net.modules():  # its own surrogate gradient: the nodes in training mode
        if isinstance(m, neuron.BaseNode):
            m.train()
    x = images().requires_grad_(True)
    weighted_backward(library_logits(net, x))
    ours = input_gradient(adapted, "stbp", {})  # its nodes' own ATan
    assert x.grad.abs().sum() > 0
    assert relative(ours, x.grad) <= 1e-12


def test_the_tutorial_class_as_spikingjelly_ships_it_is_its_users_not_a_zoo_body() -> None:
    """``spikingjelly.activation_based.examples.conv_fashion_mnist.CSNN`` imported as it
    ships: its module's name made it a library class, so a multi-step body, and its forward
    fed ``[T, B, ...]`` failed in a bare RuntimeError of torch's ``expand``. Its samples
    decide, as for the same class written by the user."""
    from spikingjelly.activation_based.examples.conv_fashion_mnist import CSNN as Shipped

    net = Shipped(T=T, channels=8)
    net.conv_fc = conv_fc()  # digits-sized layers that spike; its forward is the shipped one
    functional.set_step_mode(net, step_mode="m")
    adapted = adapt(net, T=T, example=images()).eval()
    assert isinstance(adapted, OwnLoopNet)
    with torch.no_grad():
        logits = library_logits(net, images())
        assert 0.05 < logits.mean() < 0.95
        torch.testing.assert_close(adapted(images()), logits, rtol=1e-12, atol=1e-12)
    x = images()
    crafted = snnattack.attack(net, x, library_logits(net, x).argmax(1), eps=8, T=T, steps=1)
    assert crafted.shape == x.shape and 0 < (crafted - x).abs().max() <= 8 / 255 + 1e-12


class StateReset(nn.Module):
    """torchattacks' view of a spikingjelly network: its state reset before each forward
    (torchattacks calls the model once per step; spikingjelly keeps the membranes between
    calls, and the next step would start from the last one's)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        functional.reset_net(self.net)
        return self.net(x)


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_attack_on_the_tutorial_class_gives_torchattacks_examples(method: str) -> None:
    """``snnattack.attack(net, x, y, eps=8, T=4)`` on the class as its user has it crafts the
    examples torchattacks crafts on it at ``eps=8/255`` (PGD without its random start, at
    ``alpha=2/255``): ε in 1/255 units of images in [0, 1], and ``stbp``'s default gradient
    the library's own, as docs/interop.md says."""
    torchattacks = pytest.importorskip("torchattacks")
    net = CSNN(T)
    x = images()
    y = library_logits(net, x).argmax(1)  # its own predictions: every example is attacked
    if method == "fgsm":
        ours = snnattack.attack(net, x, y, method="fgsm", eps=8, T=T)
        reference = torchattacks.FGSM(StateReset(net), eps=8 / 255)(x, y)
    else:
        ours = snnattack.attack(net, x, y, eps=8, T=T, steps=3, alpha=2, random_start=False)
        attack = torchattacks.PGD(StateReset(net), eps=8 / 255, alpha=2 / 255, steps=3)
        attack.random_start = False
        reference = attack(x, y)
    assert (reference != x).any()
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-12)


def test_gradient_mode_on_the_tutorial_class_adapts_at_its_first_forward() -> None:
    """The tutorial flow, ``with snnattack.gradient_mode(net, "stbp", T=4) as m: m(x)``: no
    samples before the block, so the class is adapted on the first forward's (its form
    decided by running it), and the input gradient is spikingjelly's own."""
    net = CSNN(T)
    for m in net.modules():  # its own surrogate gradient: the nodes in training mode
        if isinstance(m, neuron.BaseNode):
            m.train()
    x = images().requires_grad_(True)
    weighted_backward(library_logits(net, x))
    theirs, x.grad = x.grad, None
    with snnattack.gradient_mode(net, "stbp", T=T) as m:
        weighted_backward(m(x))
        again = m(x)
    assert isinstance(m.net, OwnLoopNet)
    assert theirs.abs().sum() > 0
    assert relative(x.grad, theirs) <= 1e-12
    torch.testing.assert_close(again, library_logits(net, x), rtol=1e-12, atol=1e-12)
    with pytest.raises(UserError, match="beta"):  # the parameters checked before the block
        with snnattack.gradient_mode(net, "rga", T=T, beta=-1.0):
            pytest.fail("the block ran")


def test_gradient_mode_on_the_tutorial_class_runs_in_the_flag_set_before_its_first_forward() -> (
    None
):
    """``m.eval()`` before the first forward is the flag that forward runs in (BN's running
    statistics), not the model's training flag, which the adaptation would copy."""
    net = CSNN(T).train()  # as a training loop leaves it
    x = images()
    with snnattack.gradient_mode(net, "stbp", T=T) as m:
        m.eval()
        out = m(x)
    assert not m.net.training and net.training  # the adapted copy's flag, not the model's
    torch.testing.assert_close(out, library_logits(net.eval(), x), rtol=1e-12, atol=1e-12)


def test_gradient_mode_on_the_tutorial_class_refuses_its_parameters_before_its_first_forward() -> (
    None
):
    """Before its first forward the yielded module has no network, so an optimiser over its
    parameters would train nothing (its buffers and state dict are none): refused in one line;
    made after that forward, it trains the model."""
    net = CSNN(T)
    x, y = images(), torch.arange(6) % 10
    weight = net.conv_fc[0].weight.clone()
    with snnattack.gradient_mode(net, "stbp", T=T) as m:
        with pytest.raises(UserError, match=r"^gradient_mode\(CSNN\) .* no parameters before it"):
            torch.optim.SGD(m.parameters(), lr=0.1)
        # its buffers and state dict were none, and loading the model's failed in torch's words
        for call, what in (
            (lambda: list(m.buffers()), "buffers"),
            (m.state_dict, "tensors"),
            (lambda: m.load_state_dict(net.state_dict()), "tensors"),
        ):
            with pytest.raises(UserError, match=rf"^gradient_mode\(CSNN\) .* no {what} before it"):
                call()
        loss = nn.functional.cross_entropy(m(x), y)
        optimiser = torch.optim.SGD(m.parameters(), lr=0.1)
        loss.backward()
        optimiser.step()
    assert not torch.equal(net.conv_fc[0].weight, weight)


def test_gradient_mode_on_the_tutorial_class_takes_a_loops_calls_before_its_first_forward() -> None:
    """An attack loop's ``m.zero_grad()`` and ``m.requires_grad_(False)`` before the first
    forward are not the optimiser the parameters' refusal is for: the first clears nothing,
    the second holds for the network made at that forward, whose input gradient is the
    model's in the block's mode."""
    net = CSNN(T).eval()
    x, y = images(), torch.arange(6) % 10
    with snnattack.gradient_mode(net, "stbp", T=T) as m:
        m.zero_grad()
        m.requires_grad_(False)
        xa = x.clone().requires_grad_(True)
        nn.functional.cross_entropy(m(xa), y).backward()
    assert not any(p.requires_grad for p in m.net.parameters())
    with snnattack.gradient_mode(net, "stbp", T=T) as fresh:
        xb = x.clone().requires_grad_(True)
        nn.functional.cross_entropy(fresh(xb), y).backward()
    torch.testing.assert_close(xa.grad, xb.grad, rtol=0, atol=0)


def test_gradient_mode_on_the_tutorial_class_converts_the_network_of_its_first_forward() -> None:
    """A ``.float()`` (``.to()``, ``.double()``...) of the yielded module before its first
    forward converts the network made at that forward, as it converts an adapted one, while
    the model keeps its dtype: before, it converted nothing, so the form was decided on
    samples of another dtype than the model's (neither ran) and the forward failed."""
    net = CSNN(T).eval()  # float64
    x = images().float()
    with snnattack.gradient_mode(net, "stbp", T=T) as m:
        m.float()
        xa = x.clone().requires_grad_(True)
        weighted_backward(m(xa))
    assert isinstance(m.net, OwnLoopNet)
    assert all(p.dtype == torch.float32 for p in m.net.parameters())
    assert all(p.dtype == torch.float64 for p in net.parameters())
    adapted = adapt(net, T=T, own_loop=True).float()
    with snnattack.gradient_mode(adapted, "stbp") as ours:
        xb = x.clone().requires_grad_(True)
        weighted_backward(ours(xb))
    assert xb.grad.abs().sum() > 0
    torch.testing.assert_close(xa.grad, xb.grad, rtol=0, atol=0)


IN_BLOCK = r"^snnattack\.interop\.loops\.OwnLoopNet is attacked inside its gradient_mode 'stbp'"


@pytest.mark.parametrize("first", ["nothing", "attack", "forward"])
def test_the_api_takes_the_module_gradient_mode_yields_before_its_first_forward(first: str) -> None:
    """``snnattack.attack`` and ``evaluate`` on the module that ``gradient_mode`` yields for the
    tutorial class run the network it adapts, made of their samples where no forward made it
    yet: inside the block refused as every model is (not as a network without neurons),
    after it the examples and the record of a module that a forward ``m(x)`` prepared."""
    net = CSNN(T).eval()
    x, y = images(), torch.arange(6) % 10

    def crafted(m: nn.Module) -> torch.Tensor:
        return snnattack.attack(m, x, y, "pgd", eps=8, steps=2)

    with snnattack.gradient_mode(net, "stbp", T=T) as m:
        if first == "forward":
            m(x)
        if first == "attack":
            with pytest.raises(UserError, match=IN_BLOCK):
                crafted(m)
            with pytest.raises(UserError, match=IN_BLOCK):
                snnattack.evaluate(m, (x, y), methods="fgsm", progress=False)
    adv = crafted(m)
    with snnattack.gradient_mode(net, "stbp", T=T) as prepared:
        prepared(x)
    assert 0 < (adv - x).abs().max() <= 8 / 255 + 1e-12
    torch.testing.assert_close(adv, crafted(prepared), rtol=0, atol=0)
    with snnattack.gradient_mode(net, "stbp", T=T) as fresh:
        pass
    (row,) = snnattack.evaluate(fresh, (x, y), methods="fgsm", masking=False).results
    (theirs,) = snnattack.evaluate(prepared, (x, y), methods="fgsm", masking=False).results
    assert (row.adv_acc, row.n_correct) == (theirs.adv_acc, theirs.n_correct)


@pytest.mark.parametrize("mode,params", MODES, ids=[f"{m}-{p}" for m, p in MODES])
def test_every_gradient_mode_equals_the_multistep_body(mode: str, params: dict) -> None:
    net = CSNN(T)
    body = adapt(net.conv_fc, T=T, decode=lambda out: out.mean(0)).eval()
    ours, theirs = (
        input_gradient(adapt(net, T=T, example=images()).eval(), mode, params),
        input_gradient(body, mode, params),
    )
    assert theirs.abs().sum() > 0
    assert relative(ours, theirs) <= 1e-12


@pytest.mark.parametrize("mode,params", PER_STEP, ids=[f"{m}-{p}" for m, p in PER_STEP])
def test_a_loop_over_single_steps_equals_the_body_in_the_per_step_modes(
    mode: str, params: dict
) -> None:
    net = SingleStepCSNN(T)
    body = adapt(net.conv_fc, T=T).eval()
    ours, theirs = (
        input_gradient(adapt(net, T=T, example=images()).eval(), mode, params),
        input_gradient(body, mode, params),
    )
    assert theirs.abs().sum() > 0
    assert relative(ours, theirs) <= 1e-12


def test_the_whole_loop_modes_are_refused_for_single_steps_naming_what_applies() -> None:
    adapted = adapt(SingleStepCSNN(T), T=T, example=images()).eval()
    for mode in ("rga", "rga_layerwise", "hart", "ann"):
        with pytest.raises(UserError) as err:
            input_gradient(adapted, mode, {})
        message = str(err.value)
        assert "\n" not in message and f"'{mode}'" in message
        assert "accepted: stbp, bptr, pdsg, assg" in message and "multi-step body" in message


def test_an_ensemble_component_of_a_whole_loop_mode_is_refused_naming_it() -> None:
    """``methods='ensemble'`` under ``grad_mode='stbp'`` on a loop of single steps was refused
    as ``gradient mode 'rga' needs ...``, a mode the user never asked for: the line names the
    components that use it and the key that chooses them."""
    x, y = images(), torch.tensor([0, 1, 2, 3, 4, 5])
    held_out = (1 - x, y)
    with pytest.raises(UserError) as err:
        snnattack.evaluate(
            SingleStepCSNN(T), (x, y), methods="ensemble", val_data=held_out, T=T, progress=False
        )
    message = str(err.value)
    assert message.startswith(
        "method=ensemble's components apgd/rga, apgd/hart: gradient mode 'rga' needs each "
        "neuron's whole T steps in one call"
    ), message
    assert "accepted: stbp, bptr, pdsg, assg" in message and "multi-step body" in message
    assert message.endswith("or components of those modes (method.ensemble.components=[...])")
    with pytest.raises(UserError) as err:  # the job's own mode: its line as before
        snnattack.attack(SingleStepCSNN(T), x, y, "fgsm", grad_mode="rga", T=T)
    assert str(err.value).startswith("gradient mode 'rga' needs each neuron's whole T steps")


@pytest.mark.parametrize("methods", ["ensemble", "square"])
def test_a_whole_loop_job_mode_that_nothing_runs_refuses_nothing(methods: str) -> None:
    """``grad_mode='rga'`` where no row reads it (an ensemble of STBP components, Square) was
    refused on a loop of single steps as the job's mode, stopping a job that runs: without the
    masking checks it runs, its rows those of ``grad_mode='stbp'``. The masking checks probe the
    target with the job's mode: there it is refused, naming them and the key that turns them
    off."""
    x, y = images(), torch.tensor([0, 1, 2, 3, 4, 5])
    cheap = {  # an ensemble of STBP alone, Square of few queries: a second
        "ensemble": "method.ensemble.components=[{attack: stbp, method: pgd}]",
        "square": "method.square.n_queries=20",
    }
    overrides = [cheap[methods]]
    rows = {}
    for mode in ("rga", "stbp"):
        record = snnattack.evaluate(
            SingleStepCSNN(T),
            (x, y),
            eps=64,
            methods=methods,
            grad_mode=mode,
            T=T,
            masking=False,
            progress=False,
            overrides=overrides,
        )
        rows[mode] = [(r.method, r.asr, r.grad_mode) for r in record.results]
    assert rows["rga"] == rows["stbp"] and len(rows["rga"]) == 1
    with pytest.raises(UserError) as err:
        snnattack.evaluate(
            SingleStepCSNN(T),
            (x, y),
            eps=64,
            methods=methods,
            grad_mode="rga",
            T=T,
            progress=False,
            overrides=overrides,
        )
    message = str(err.value)
    assert message.startswith(
        f"attack=rga is read by no method of method=[{methods}], but the gradient-masking "
        "checks (checks.masking) probe the target with it: gradient mode 'rga' needs each "
        "neuron's whole T steps in one call"
    ), message
    assert message.endswith(", or checks.masking.enabled=false (snnattack.evaluate: masking=False)")
    assert "\n" not in message


def test_a_per_step_target_of_black_box_rows_alone_is_refused_for_no_mode_it_does_not_run() -> None:
    """With ``boxes=['black']`` the rows craft on the source, and the target runs only forward:
    a target of a loop of single steps beside ``grad_mode='rga'`` was refused for RGA, which
    only the source runs. Without the masking checks it runs; with them (they probe the target
    with the job's mode) it is refused, naming them and that no row crafts on the target."""
    x, y = images(), torch.tensor([0, 1, 2, 3, 4, 5])
    arguments = {"eps": 64, "methods": "fgsm", "grad_mode": "rga", "boxes": ["black"], "T": T}
    record = snnattack.evaluate(
        SingleStepCSNN(T), (x, y), source=CSNN(T), masking=False, progress=False, **arguments
    )
    assert [(r.box, r.grad_mode) for r in record.results] == [("black", "rga")]
    with pytest.raises(UserError) as err:
        snnattack.evaluate(SingleStepCSNN(T), (x, y), source=CSNN(T), progress=False, **arguments)
    assert str(err.value).startswith(
        "attack=rga is read by no row on it (boxes=[black]), but the gradient-masking checks "
        "(checks.masking) probe the target with it: gradient mode 'rga' needs each neuron's "
        "whole T steps in one call"
    ), str(err.value)


class CSNNWithSpikes(CSNN):
    """The tutorial CSNN returning ``(rates, spikes)``, of which the adapter takes the first."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spikes = self.conv_fc(x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1))
        return spikes.mean(0), spikes


@pytest.mark.parametrize("cls", [CSNN, SingleStepCSNN, CSNNWithSpikes])
def test_a_wrong_T_is_refused_naming_the_steps_of_the_loop(cls: type) -> None:
    with pytest.raises(UserError, match="accepted: T=4"):
        adapt(cls(T), T=2, example=images())(images())
    with pytest.raises(UserError) as err:  # the API's check says the same, not another cause
        snnattack.attack(cls(T), images(), torch.tensor([0] * 6), T=8, steps=1)
    assert str(err.value) == (
        "T=8 but the network's own loop runs its neurons over 4 steps; accepted: T=4, the "
        "steps of its loop"
    )


def test_a_multi_step_body_said_to_loop_itself_is_refused_naming_own_loop_false() -> None:
    """A body mapping ``[T, B, ...]`` adapted with ``own_loop=True`` takes the samples for its
    time steps: the refusal says so and names ``own_loop=False`` (it asked for T=6, the batch
    size, as if the network looped over 6 steps)."""
    body = nn.Sequential(layer.Flatten(), layer.Linear(64, 10), neuron.LIFNode()).double()
    functional.set_step_mode(body, step_mode="m")
    with pytest.raises(UserError) as err:
        adapt(body, T=T, own_loop=True)(images())
    assert str(err.value) == (
        "T=4 but the network's own loop runs its neurons over 6 steps, as many as the samples "
        "(6), which a network that maps [T, B, ...] takes for its time steps; accepted: "
        "adapt(net, T=4, own_loop=False) for such a network, or T=6, the steps of its loop"
    )


def test_a_multi_step_body_said_to_loop_itself_on_as_many_samples_as_steps_is_refused() -> None:
    """With T samples its neurons ran the T steps asked for, and the adapted network gave one
    row of logits for 4 samples: ``snnattack.attack`` failed in the loss ("Expected input
    batch_size (1) to match target batch_size (4)"), with no word of ``own_loop``."""
    body = nn.Sequential(layer.Flatten(), layer.Linear(64, 10), neuron.LIFNode()).double()
    functional.set_step_mode(body, step_mode="m")
    x = images()[:T]
    line = (
        "the network said to loop itself (own_loop=True) gives 1 rows of output for 4 samples "
        "(shape [1, 10]): it takes the samples' axis for its time steps, as a network that "
        "maps [T, B, ...] does; accepted: adapt(net, T=4, own_loop=False) for such a network"
    )
    adapted = adapt(body, T=T, own_loop=True)
    with pytest.raises(UserError) as err:
        adapted(x)
    assert str(err.value) == line
    with pytest.raises(UserError) as err:
        snnattack.attack(adapted, x, torch.tensor([0] * T), steps=1)
    assert str(err.value) == line


def test_the_users_network_is_left_as_it_was() -> None:
    net = SingleStepCSNN(T)
    adapted = adapt(net, T=T, example=images()).eval()
    input_gradient(adapted, "stbp", {})
    assert all(m.step_mode == "s" for m in net.modules() if isinstance(m, neuron.BaseNode))
    assert all(type(m) is not neuron.IFNode for m in adapted.modules())
    assert all(m.v == 0.0 for m in net.modules() if isinstance(m, neuron.BaseNode))


def test_an_optimiser_over_the_yielded_modules_parameters_trains_the_users_network() -> None:
    """As docs/interop.md says: the block's backward fills the adapter's ``.grad``, not the
    user's, and a step over the adapter's parameters moves the user's weights."""
    net = conv_fc()
    before = [p.detach().clone() for p in net.parameters()]
    x, y = images(), torch.arange(len(images())) % 10
    with snnattack.gradient_mode(net, "stbp", T=T) as m:
        optimiser = torch.optim.SGD(m.parameters(), lr=1.0)
        nn.functional.cross_entropy(m(x), y).backward()
        optimiser.step()
    assert all(p.grad is None for p in net.parameters())
    assert any(not torch.equal(b, p) for b, p in zip(before, net.parameters(), strict=True))


@pytest.mark.parametrize("dropout", [layer.Dropout, layer.Dropout2d, nn.Dropout])
def test_dropout_is_kept_as_it_passes_through_in_eval_mode(dropout: type) -> None:
    net = conv_fc()
    net.insert(4, dropout(0.5))
    functional.set_step_mode(net, "m")
    net.eval()
    x = images()
    with torch.no_grad():
        theirs = library_logits(net, x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0)
        torch.testing.assert_close(adapt(net, T=T).eval()(x), theirs, rtol=1e-12, atol=1e-12)


def test_a_stateful_module_is_refused_as_one_not_as_a_neuron() -> None:
    net = conv_fc()
    net.insert(4, layer.SynapseFilter(tau=2.0))
    with pytest.raises(UserError) as err:
        adapt(net, T=T)
    message = str(err.value)
    assert "4 (" in message and "SynapseFilter" in message and "a stateful module" in message
    assert "not a neuron" not in message


def evaluate_one_row(model: nn.Module, shape: tuple[int, ...]) -> float:
    """``snnattack.evaluate`` of one row on two images, as a user calls it."""
    torch.manual_seed(0)
    x, y = torch.rand(2, *shape), torch.tensor([0, 1])
    overrides = ["method.pgd.steps=1"]
    record = snnattack.evaluate(
        model, (x, y), eps=8, methods="pgd", T=2, masking=False, overrides=overrides
    )
    (row,) = record.results
    return row.adv_acc


def small_vgg11_bn() -> nn.Module:
    """The zoo's ``spiking_vgg11_bn`` for 32x32 images: pooled to one position and with a
    narrower classifier (its Dropouts kept), built on the meta device first (its own
    classifier would take 100M weights) and then initialised by each layer."""
    from spikingjelly.activation_based.model import spiking_vgg

    with torch.device("meta"):
        vgg = spiking_vgg.spiking_vgg11_bn(spiking_neuron=neuron.IFNode, num_classes=10)
        vgg.avgpool = layer.AdaptiveAvgPool2d((1, 1))
        for index, (n_in, n_out) in {0: (512, 32), 3: (32, 32), 6: (32, 10)}.items():
            vgg.classifier[index] = layer.Linear(n_in, n_out)
    vgg.to_empty(device="cpu")
    torch.manual_seed(0)
    for m in vgg.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return vgg.eval()


@pytest.mark.slow
def test_the_zoo_spiking_vgg11_bn_with_dropout_is_evaluated() -> None:
    vgg = small_vgg11_bn()
    assert any(isinstance(m, layer.Dropout) for m in vgg.modules())
    assert 0.0 <= evaluate_one_row(vgg, (3, 32, 32)) <= 100.0


def test_a_zoo_parametric_lif_net_with_dropout_is_evaluated() -> None:
    from spikingjelly.activation_based.model import parametric_lif_net

    net = parametric_lif_net.MNISTNet(channels=4, spiking_neuron=neuron.ParametricLIFNode)
    assert any(isinstance(m, layer.Dropout) for m in net.modules())
    assert 0.0 <= evaluate_one_row(net.eval(), (1, 28, 28)) <= 100.0


def zoo_ms_resnet(in_channels: int = 1) -> nn.Module:
    """spikingjelly 2.0's ``ms_resnet18`` zoo class (``MSResNet``), digits-sized: its
    ``forward`` repeats the images over its own ``T`` and returns ``[B, K]``, averaged over
    T (the class also takes a sequence ``[T, B, ...]``). Its BatchNorms set so that every
    layer spikes (the zoo zero-initialises the last of each block)."""
    ms_resnet = pytest.importorskip("spikingjelly.activation_based.model.ms_resnet")
    torch.manual_seed(0)
    net = ms_resnet.ms_resnet18(
        T=T, in_channels=in_channels, num_classes=10, layers=(1, 1, 1), base_channels=4,
        stem_kernel_size=3, stem_stride=1,
    ).double()  # fmt: skip
    with torch.no_grad():
        for bn in net.modules():
            if isinstance(bn, nn.BatchNorm2d):
                bn.running_var.uniform_(0.1, 0.3)
                bn.weight.uniform_(1.0, 2.5)
                bn.bias.uniform_(0.2, 1.0)
    return net.eval()


def test_a_zoo_class_that_repeats_the_image_itself_gives_the_library_logits_and_gradient() -> None:
    """The zoo's ``MSResNet`` makes its own time steps: it was taken for a multi-step body,
    whose mean over T then averaged its ``[B, K]`` over the batch, and every evaluation was
    refused as returning ``[K]``. It is an own loop, without samples to decide it."""
    net = zoo_ms_resnet()
    adapted = adapt(net, T=T).eval()
    assert isinstance(adapted, OwnLoopNet)
    x = images()
    with torch.no_grad():
        torch.testing.assert_close(adapted(x), library_logits(net, x), rtol=1e-12, atol=1e-12)
    for m in net.modules():  # its own surrogate gradient: the nodes in training mode
        if isinstance(m, neuron.BaseNode):
            m.train()
    x = images().requires_grad_(True)
    weighted_backward(library_logits(net, x))
    ours = input_gradient(adapted, "stbp", {})  # its nodes' own Rect
    assert x.grad.abs().sum() > 0
    assert relative(ours, x.grad) <= 1e-12
    with pytest.raises(UserError, match="accepted: T=4, the steps of its loop"):
        snnattack.attack(net.eval(), images(), torch.arange(6), T=2, steps=1)


def test_a_zoo_own_loop_reads_event_frames_time_first_as_its_users_feed_it() -> None:
    """Event frames ``[B, T, 2, H, W]`` reach a zoo class as the sequence ``[T, B, ...]`` its
    ``forward`` reads: called on them as they were, it took their batch for its time steps
    (``MSResNet`` returned ``[T, K]``, refused as the logits of a batch of ``T``)."""
    net = zoo_ms_resnet(in_channels=2)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(6, T, 2, 8, 8, generator=g) < 0.3).double()
    theirs = library_logits(net, x.transpose(0, 1))
    with torch.no_grad():
        torch.testing.assert_close(adapt(net, T=T)(x), theirs, rtol=1e-12, atol=1e-12)
    predicted = theirs.argmax(1)
    y = torch.where(torch.arange(6) < 3, predicted, (predicted + 1) % 10)  # half right
    record = snnattack.evaluate(
        net, (x, y), methods="fgsm", T=T, masking=False, overrides=["dataset=digits_events"]
    )
    assert record.clean_acc == 50.0


@pytest.mark.parametrize("mode,params", MODES, ids=[f"{m}-{p}" for m, p in MODES])
def test_every_gradient_mode_on_a_zoo_own_loop_equals_its_multistep_body(
    mode: str, params: dict
) -> None:
    net = zoo_ms_resnet()
    body = nn.Sequential(  # MSResNet.forward's layers on [T, B, ...], its flatten(2) a Flatten
        net.stem, net.layer1, net.layer2, net.layer3, net.head_lif, net.avgpool,
        layer.Flatten(step_mode="m"), net.head,
    )  # fmt: skip
    ours = input_gradient(adapt(net, T=T).eval(), mode, params)
    theirs = input_gradient(adapt(body, T=T).eval(), mode, params)
    assert theirs.abs().sum() > 0
    assert relative(ours, theirs) <= 1e-12


def test_a_time_extension_is_refused_as_the_loop_is_the_networks() -> None:
    adapted = adapt(CSNN(T), T=T, example=images())
    with pytest.raises(UserError, match="attack.time_extension=1"):
        adapted.T = 2 * T


class Blocks(nn.Module):
    """A multi-step body in the documented form (``[T, B, ...]`` in, ``[T, B, K]`` out) whose
    forward iterates over its blocks by index: ``range(`` in its text, no loop over time. On
    images (``flat=False``) or on flat vectors of 64 values."""

    def __init__(self, flat: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        if flat:
            first = [layer.Linear(64, 32), neuron.IFNode()]
            last = [layer.Linear(32, 10)]
        else:
            first = [layer.Conv2d(1, 4, 3, padding=1), neuron.IFNode()]
            last = [layer.Flatten(), layer.Linear(4 * 64, 10)]
        self.blocks = nn.ModuleList([nn.Sequential(*first), nn.Sequential(*last)])
        functional.set_step_mode(self, "m")
        self.double()

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        for i in range(len(self.blocks)):
            x_seq = self.blocks[i](x_seq)
        return x_seq


@pytest.mark.parametrize("flat", [False, True], ids=["images", "vectors"])
def test_a_body_looping_over_its_blocks_is_a_body_whatever_the_batch(
    flat: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Its forward maps ``[T, B, ...]``; on images it fails as an own loop, while on vectors
    it runs as one too (its linear layers take any leading axes), but its neurons then take
    the batch for time: a body, said in one line. Batch 8 and T=4, as users call it."""
    net = Blocks(flat).eval()
    x = torch.rand(8, *((64,) if flat else (1, 8, 8)), dtype=torch.float64)
    with caplog.at_level("WARNING", logger="snnattack.interop.probe"):
        adapted = adapt(net, T=T, example=x).eval()
    assert not isinstance(adapted, OwnLoopNet)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == flat
    assert all("taken for a multi-step body, as its neurons ran over [3] steps" in s for s in said)
    with torch.no_grad():
        theirs = library_logits(net, x.unsqueeze(0).expand(T, *x.shape)).mean(0)
        torch.testing.assert_close(adapted(x), theirs, rtol=1e-12, atol=1e-12)
    record = snnattack.evaluate(
        net.float(), (x.float(), torch.arange(8) % 10), T=T, methods="fgsm", masking=False,
        progress=False,
    )  # fmt: skip
    assert record.n == 8


class SteppedBody(nn.Module):
    """A multi-step body (``[T, B, ...]`` in, ``[T, B, K]`` out) whose forward loops over the
    steps itself, calling its node of step mode 's' once per step: through
    ``functional.multi_step_forward``, or on ``x_seq[t]`` by hand."""

    def __init__(self, by_hand: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.by_hand = by_hand
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.sn = neuron.LIFNode(step_mode="s")
        self.fc = nn.Linear(8 * 64, 10)
        with torch.no_grad():
            self.conv.weight.mul_(3.0)
            self.conv.bias.fill_(0.5)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        h = functional.seq_to_ann_forward(x_seq, self.conv)
        if self.by_hand:
            h = torch.stack([self.sn(h[t]) for t in range(h.shape[0])])
        else:
            h = functional.multi_step_forward(h, self.sn)
        return functional.seq_to_ann_forward(h.flatten(2), self.fc)


@pytest.mark.parametrize("batch", [5, T], ids=["batch5", "batchT"])
@pytest.mark.parametrize("by_hand", [False, True], ids=["multi_step_forward", "x_seq_t"])
def test_a_body_calling_its_node_once_per_step_is_refused_naming_it(
    by_hand: bool, batch: int
) -> None:
    """Each call of the LIF in the node's place took the step ``[B, ...]`` for a sequence over
    the batch, its membrane restarted at every step: the logits differed from the library's by
    as much as they were large, without a word (with a batch of T too, where the shapes look
    right). Refused at the first forward, whichever way the form is given."""
    net = SteppedBody(by_hand).eval()
    x = torch.rand(batch, 1, 8, 8)
    said = f"calls its neuron sn {T} times in one forward of its multi-step body"
    for adapted in (adapt(net, T=T, example=x), adapt(net, T=T, own_loop=False)):
        with pytest.raises(UserError, match=said):
            adapted.eval()(x)
    with pytest.raises(UserError, match=said):
        snnattack.attack(net, x, torch.arange(batch), method="fgsm", eps=8, T=T)


def test_an_adapted_body_passed_again_is_prepared_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first forward's count of its neurons' calls leaves no flag on the adapted network,
    which a repeated call would take for a change of the model passed and prepare afresh."""
    import snnattack.api as api

    adapted = adapt(Blocks().float().eval(), T=T, own_loop=False).eval()
    built = []
    prepare = api._prepare_attack
    monkeypatch.setattr(api, "_prepare_attack", lambda *a, **k: built.append(1) or prepare(*a, **k))
    x = torch.rand(2, 1, 8, 8)
    for _ in range(2):
        snnattack.attack(adapted, x, torch.arange(2), method="fgsm", eps=8)
    assert len(built) == 1


class ReusedNode(nn.Module):
    """A multi-step body using its one node twice, in step mode 'm': spikingjelly carries the
    node's membrane from the first call into the second."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = layer.Conv2d(1, 1, 3, padding=1)
        self.sn = neuron.LIFNode()
        self.fc = layer.Linear(64, 10)
        with torch.no_grad():
            self.conv.weight.mul_(3.0)
            self.conv.bias.fill_(0.8)
        functional.set_step_mode(self, "m")

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        for _ in range(2):
            x_seq = self.sn(self.conv(x_seq))
        return self.fc(x_seq.flatten(2))


def test_a_body_using_one_node_twice_is_refused_naming_it() -> None:
    """Each of the two calls of the LIF started from a zero membrane, where the library's second
    call starts from the first's last one: the logits differed, without a word."""
    x = torch.rand(5, 1, 8, 8)
    with pytest.raises(UserError, match="calls its neuron sn 2 times .* one node used twice"):
        adapt(ReusedNode().eval(), T=T, example=x).eval()(x)


class ReusedNodeLoop(ReusedNode):
    """:class:`ReusedNode` as a class with its own loop: it repeats the images over T."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        functional.reset_net(self)
        return super().forward(x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0)


def test_an_own_loop_using_one_node_twice_is_refused_naming_it() -> None:
    """The own loop's forward counted no calls: the two calls each started from a zero
    membrane, and the logits and the attack were another network's without a word."""
    x = torch.rand(5, 1, 8, 8)
    net = ReusedNodeLoop().eval()
    assert isinstance(adapt(net, T=T, example=x), OwnLoopNet)
    with pytest.raises(UserError) as err:
        snnattack.attack(net, x, torch.arange(5), method="fgsm", eps=8, T=T)
    assert str(err.value).startswith(
        "interop: the network's own loop calls its multi-step neuron sn 2 times in one forward"
    )


def test_an_own_loop_class_whose_source_cannot_be_read_is_an_own_loop() -> None:
    """Defined through ``exec`` (as a script read from standard input is): no source text to
    read, its forward's repeat over T found by running it."""
    scope = {"nn": nn, "conv_fc": conv_fc, "functional": functional}
    exec(  # noqa: S102 - the point: a class without readable source
        "class Hidden(nn.Module):\n"
        "    def __init__(self, T):\n"
        "        super().__init__()\n"
        "        self.T, self.conv_fc = T, conv_fc()\n"
        "        functional.set_step_mode(self, step_mode='m')\n"
        "    def forward(self, x):\n"
        "        return self.conv_fc(x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)).mean(0)\n",
        scope,
    )
    net = scope["Hidden"](T)
    adapted = adapt(net, T=T, example=images()).eval()
    assert isinstance(adapted, OwnLoopNet)
    with torch.no_grad():
        torch.testing.assert_close(
            adapted(images()), library_logits(net, images()), rtol=1e-12, atol=1e-12
        )


def test_a_class_of_either_form_is_said_in_one_line(caplog: pytest.LogCaptureFixture) -> None:
    """The one-step loop runs as a body too (its layers then take [T, B, ...]); its neurons'
    steps on the samples decide, and the line says so and how to say otherwise."""
    with caplog.at_level("WARNING", logger="snnattack.interop.probe"):
        adapted = adapt(SingleStepCSNN(T), T=T, example=images())
    assert isinstance(adapted, OwnLoopNet)
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("interop: SingleStepCSNN runs on samples [3, 1, 8, 8] and on [T, B")
    assert "taken for a network with its own time loop" in line and "own_loop=" in line


def test_without_samples_a_users_class_is_refused_or_taken_as_said() -> None:
    with pytest.raises(UserError) as err:
        adapt(CSNN(T), T=T)
    assert str(err.value).startswith(
        "interop: whether CSNN makes its time steps itself is decided by running it once on "
        "samples, and none were given; accepted: adapt(net, T=4, example=<samples [B, ...]>)"
    )
    assert isinstance(adapt(CSNN(T), T=T, own_loop=True), OwnLoopNet)
    assert not isinstance(adapt(Blocks(), T=T, own_loop=False), OwnLoopNet)


class Broken(nn.Module):
    """A user's class whose forward fails on any input (a bug of its own)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_fc = conv_fc()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("a bug of the user's")


def test_a_class_that_runs_in_neither_form_is_a_body_said_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Taken for a body, whose own error the input checks then report naming the model."""
    with caplog.at_level("WARNING", logger="snnattack.interop.probe"):
        adapted = adapt(Broken(), T=T, example=images())
    assert not isinstance(adapted, OwnLoopNet)
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith(
        "interop: Broken fits neither form: on samples [3, 1, 8, 8] it raised RuntimeError: a "
        "bug of the user's, on [T, B, ...] it raised RuntimeError: a bug of the user's: taken "
        "for a multi-step body; to say otherwise: adapt(net, T=4, own_loop=...)"
    )
    with pytest.raises(UserError, match="^model=Broken: its forward on one image of x .* a bug"):
        snnattack.attack(Broken(), images(), torch.tensor([0] * 6), T=T, steps=1)


def test_a_class_in_data_parallel_is_attacked_as_the_class() -> None:
    """``nn.DataParallel`` around a class with its own loop was taken for a body (its forward
    is the class's on one device), and the body's error said."""
    net = CSNN(T)
    nn.DataParallel(net)  # on a machine with one GPU this moves net there: the batch goes too
    device = next(net.parameters()).device
    x, y = images().to(device), (torch.arange(6) % 10).to(device)
    wrapped = snnattack.attack(nn.DataParallel(net), x, y, "pgd", eps=16, T=T, steps=2)
    assert torch.equal(wrapped, snnattack.attack(net, x, y, "pgd", eps=16, T=T, steps=2))
    assert isinstance(adapt(nn.DataParallel(net), T=T, example=x), OwnLoopNet)
    grads = []
    for model in (nn.DataParallel(net), net):
        xi = x.clone().requires_grad_(True)
        with snnattack.gradient_mode(model, "stbp", T=T) as m:
            m(xi).sum().backward()
        grads.append(xi.grad)
    # the same gradient: exactly on the CPU; on a GPU within float64 rounding: outside a job's
    # deterministic numerics (which attack holds, above) cuDNN's backward may add in any order
    exact = device.type == "cpu"
    torch.testing.assert_close(*grads, rtol=0 if exact else 1e-9, atol=0 if exact else 1e-12)
    record = snnattack.evaluate(
        nn.DataParallel(net), (x, y), methods=["fgsm"], T=T, masking=False, progress=False
    )
    assert record.models["target"]["class"].endswith("CSNN")


def test_a_compiled_class_is_attacked_as_the_class() -> None:
    """``torch.compile`` of a class with its own loop is the class, as in ``nn.DataParallel``;
    before, the wrapper was taken for a body and its forward's error on ``[T, B, ...]`` said.
    The attacks run the class eager (a compiled graph fuses what ``rga`` reads)."""
    net, x, y = CSNN(T), images(), torch.arange(6) % 10
    compiled = torch.compile(net, backend="eager")
    assert isinstance(adapt(compiled, T=T, example=x), OwnLoopNet)
    for mode in ("stbp", "rga"):
        crafted = [
            snnattack.attack(m, x, y, "pgd", eps=16, grad_mode=mode, T=T, steps=2)
            for m in (compiled, net)
        ]
        torch.testing.assert_close(*crafted, rtol=0, atol=0)
    record = snnattack.evaluate(
        compiled, (x, y), methods=["fgsm"], T=T, masking=False, progress=False
    )
    assert record.models["target"]["class"].endswith("CSNN")


def test_the_class_after_a_normalisation_in_a_sequential_runs_its_own_loop() -> None:
    """``nn.Sequential(normalize, net)`` holding a class with its own loop is probed as the
    class is (its samples decide), the examples those of ``adapt(net, normalize=...)``; before,
    an ``nn.Sequential`` was a body, and the class's error on ``[T, B, ...]`` was said."""
    net, x, y = CSNN(T), images(), torch.arange(6) % 10
    normalize = Normalize([0.5], [0.25]).double()
    given = snnattack.attack(nn.Sequential(normalize, net), x, y, "pgd", eps=16, T=T, steps=2)
    adapted = adapt(net, T=T, normalize=normalize, own_loop=True)
    assert torch.equal(given, snnattack.attack(adapted, x, y, "pgd", eps=16, steps=2))


def test_a_class_given_uint8_images_is_told_apart_and_the_images_refused(caplog) -> None:
    """uint8 images: the form is decided on them in the network's dtype, and the input check's
    one line says what to pass; before, both forms raised on the integers and a warning said
    the class was taken for a multi-step body, before that line."""
    x, y = (images() * 255).to(torch.uint8), torch.arange(6) % 10
    assert isinstance(adapt(CSNN(T), T=T, example=x), OwnLoopNet)
    with pytest.raises(
        UserError, match=r"^x has dtype torch.uint8; accepted: .* x.float\(\) / 255"
    ):
        snnattack.attack(CSNN(T), x, y, "pgd", eps=16, T=T, steps=2)
    assert not [r for r in caplog.records if "taken for" in r.getMessage()]


@pytest.mark.cuda
def test_a_class_on_a_gpu_is_told_apart_on_samples_on_the_cpu() -> None:
    """The user's samples on the CPU, the network on a GPU (``attack`` moves the batch to the
    model): the form is decided on the samples moved where the network is; before, both forms
    raised a device error and the class was taken for a body."""
    net, x, y = CSNN(T).cuda(), images(), torch.arange(6) % 10
    assert isinstance(adapt(net, T=T, example=x), OwnLoopNet)
    adv = snnattack.attack(net, x, y, "pgd", eps=16, T=T, steps=2)
    assert adv.is_cuda
    assert torch.equal(adv, snnattack.attack(net, x.cuda(), y.cuda(), "pgd", eps=16, T=T, steps=2))


class MembraneReadOut(nn.Module):
    """Linear layers in step mode 'm' whose output is the membrane of a last node that never
    fires (``v_seq``), a real-valued read-out."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.sn1 = (
            layer.Linear(64, 32),
            neuron.LIFNode(surrogate_function=surrogate.ATan()),
        )
        self.fc2 = layer.Linear(32, 10)
        self.out = neuron.LIFNode(v_threshold=float("inf"), store_v_seq=True)
        functional.set_step_mode(self, step_mode="m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.out(self.fc2(self.sn1(self.fc1(x.flatten(1).unsqueeze(0).repeat(T, 1, 1)))))
        v = self.out.v_seq.mean(0)
        functional.reset_net(self)
        return v


def test_a_membrane_read_out_is_refused_saying_the_adapted_neurons_keep_no_state(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One line naming the attribute read; before, it quoted the adapter's internal class
    (\'ScaledNeuron\' object has no attribute 'v_seq'), after a logged line on the probe's two
    forms that pointed at ``own_loop=``, which a read-out does not mend."""
    x = torch.rand(3, 1, 8, 8)
    with caplog.at_level("WARNING", logger="snnattack.interop.probe"):
        with pytest.raises(UserError) as err:
            snnattack.attack(MembraneReadOut().eval(), x, torch.tensor([0] * 3), T=T, steps=1)
    assert str(err.value) == (
        "model=MembraneReadOut: its forward on one image of x reads 'v_seq' of a neuron, which "
        "the adapter ran as a LIF that keeps no state: a membrane read-out is not adapted; "
        "accepted: a network that returns a layer's output (e.g. the last layer's current) or "
        "the spikes, as logits [B, K]"
    )
    assert caplog.records == []


class Named(CSNN):
    """The tutorial CSNN returning its rates in a dict."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"rates": super().forward(x)}


def test_an_own_loop_of_another_output_is_an_own_loop_whose_output_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Its own loop ran (the body did not), so the line says what that loop returned."""
    with caplog.at_level("WARNING", logger="snnattack.interop.probe"):
        adapted = adapt(Named(T), T=T, example=images())
    assert isinstance(adapted, OwnLoopNet)
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith(
        "interop: Named fits neither form: on samples [3, 1, 8, 8] it returned a dict of 1, on "
        "[T, B, ...] it raised "
    )
    assert "taken for a network with its own time loop" in line and "tensor(" not in line
    with pytest.raises(UserError) as err:
        snnattack.attack(Named(T), images(), torch.tensor([0] * 6), T=T, steps=1)
    assert str(err.value).startswith(
        "model=Named returns dict for one image of x (shape [1, 1, 8, 8]); accepted: logits"
    )


class BatchFirst(CSNN):
    """The tutorial CSNN returning its spikes batch first, ``[B, T, K]``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_fc(x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)).transpose(0, 1)


def test_an_own_loop_returning_batch_first_is_refused_naming_the_transpose() -> None:
    """Read time first, its output is not an output per sample: the line says how to give
    it time first."""
    with pytest.raises(UserError) as err:
        snnattack.attack(BatchFirst(T), images(), torch.tensor([0] * 6), T=T, steps=1)
    assert str(err.value).startswith(  # it showed [4, 10], the mean over its batch axis
        f"the network, run with its own time loop, returns [1, {T}, 10], the samples first"
    )
    assert "accepted: a network returning [T, B, K] (out.transpose(0, 1)" in str(err.value)


class NumpyItems(torch.utils.data.Dataset):
    """A dataset as users write one: NumPy images and int labels, collated by the loader."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x.numpy(), y.tolist()

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple:
        return self.x[i], self.y[i]


def test_the_tutorial_class_is_probed_on_a_loaders_collated_batch_or_refuses_a_label_list() -> None:
    """Its time axis is decided by running it on the data's first sample: read from a loader
    as the loader collates it (NumPy items are tensors then), and a pair refused as the input
    checks refuse it (labels as a list), not as data without samples."""
    torch.manual_seed(0)
    x, y = torch.rand(4, 1, 8, 8, dtype=torch.float64), torch.tensor([0, 1, 2, 3])

    def adv_acc(data) -> float:
        record = snnattack.evaluate(
            CSNN(T), data, eps=8, methods="fgsm", T=T, masking=False, progress=False
        )
        return record.results[0].adv_acc

    loader = torch.utils.data.DataLoader(NumpyItems(x, y), batch_size=3)
    assert adv_acc(loader) == adv_acc((x, y))
    with pytest.raises(UserError, match=r"^data\[1\]=list is not a tensor; accepted: "):
        adv_acc((x, y.tolist()))
    unbatched = torch.utils.data.DataLoader(NumpyItems(x, y), batch_size=None)  # one per item
    with pytest.raises(UserError, match=r"^data \(its labels\)=int is not a tensor"):
        adv_acc(unbatched)  # refused by the input checks, not by the probe's forward
    two = torch.utils.data.DataLoader(NumpyItems(torch.rand(3, 2, 4, 4), y[:3]), batch_size=None)
    assert first_sample(two).shape == (1, 2, 4, 4)  # it probed one channel, [1, 4, 4]
    items = NumpyItems(torch.rand(3, 2, 4, 4), y[:3])
    sampler = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(items), 2, False)
    batched = torch.utils.data.DataLoader(items, batch_sampler=sampler)  # its batch_size: None
    assert first_sample(batched).shape == (1, 2, 4, 4)
