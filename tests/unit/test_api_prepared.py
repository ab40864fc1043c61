"""Prepare once, attack many (snnattack.interop.prepared): a repeated ``snnattack.attack`` on
the same model and settings reuses the first call's preparation (adaptation, checks, composed
config), and any change of the model (its mode, a parameter replaced, a neuron's threshold, a
number the adaptation read) or of a setting prepares afresh, while new values of its weights
(an optimiser's step, ``load_state_dict``) are attacked by the kept preparation, which shares
or copies them; the cache keeps no model alive."""

from __future__ import annotations

import collections
import copy
import dataclasses
import functools
import gc
import importlib
import json
import weakref
from collections import defaultdict, deque, namedtuple
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from foreign_nets import snntorch_leaky, spikingjelly_plif
from harness import ROOT
from omegaconf import OmegaConf
from torch import nn

import snnattack
from snnattack.errors import UserError
from snnattack.evaluation import attacked
from snnattack.interop import prepared
from snnattack.interop.prepared import PREPARED
from snnattack.models.zoo import build
from snnattack.snn.learned import Learned
from snnattack.snn.neurons import LIF
from snnattack.snn.surrogates import Triangle

pytest.importorskip("spikingjelly")
from spikingjelly.activation_based import functional  # noqa: E402

T = 4
api = importlib.import_module("snnattack.api")  # the module: snnattack.attack is its function


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Sixteen digits-shaped images and their labels, the same in every test."""
    x = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    return x, torch.arange(16) % 10


def attack(net: nn.Module, **settings) -> torch.Tensor:
    """PGD of two steps at 16/255 on ``net`` (T=4), ``settings`` overriding."""
    x, y = batch()
    return snnattack.attack(net, x, y, "pgd", **{"eps": 16, "T": T, "steps": 2, **settings})


def evaluate(net: nn.Module):
    """FGSM at 16/255 on ``net`` (T=4) over :func:`batch`, no masking checks, quiet."""
    x, y = batch()
    return snnattack.evaluate(
        net, (x, y), eps=[16], methods=["fgsm"], T=T, masking=False, progress=False
    )


@pytest.fixture
def preparations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The preparations made from now on, one name each (attack's or evaluate's)."""
    PREPARED.clear()
    made: list[str] = []
    for name in ("_prepare_attack", "call_evaluation"):
        prepare = getattr(api, name)
        monkeypatch.setattr(
            api, name, lambda *a, _p=prepare, _n=name, **k: made.append(_n) or _p(*a, **k)
        )
    return made


def optimiser_step(net: nn.Module) -> None:
    """One SGD step of a cross-entropy on the batch, as a training loop makes it."""
    x, y = batch()
    optimiser = torch.optim.SGD(net.parameters(), lr=5.0)
    net.train()
    loss = F.cross_entropy(net(x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0), y)
    loss.backward()
    optimiser.step()
    functional.reset_net(net)  # as spikingjelly's training loops do after each batch
    net.eval()


def test_a_model_trained_between_two_calls_is_attacked_as_updated(preparations) -> None:
    net = spikingjelly_plif().eval()
    first = attack(net)
    optimiser_step(net)
    second = attack(net)
    fresh = attack(copy.deepcopy(net))  # an identical model, prepared from nothing
    assert preparations == ["_prepare_attack"] * 2  # the first's kept, its learned decay taken
    assert torch.equal(second, fresh)
    assert not torch.equal(second, first)


def snntorch_optimiser_step(net: nn.Module) -> None:
    """One SGD step of a cross-entropy on the batch of an snnTorch network of one time step
    (:func:`snntorch_leaky`), its loop over T as snnTorch's tutorials write it."""
    from snntorch import utils

    x, y = batch()
    optimiser = torch.optim.SGD(net.parameters(), lr=5.0)
    net.train()
    utils.reset(net)
    F.cross_entropy(torch.stack([net(x) for _ in range(T)]).mean(0), y).backward()
    optimiser.step()
    utils.reset(net)
    net.eval()


class OwnLoopPlif(nn.Module):
    """spikingjelly's tutorial form with a PLIF: a forward of the images with its own loop
    over the T steps, calling the neuron one step at a time (adapted as a
    :class:`~snnattack.snn.stepwise.StepLIF`)."""

    def __init__(self) -> None:
        from spikingjelly.activation_based import neuron

        super().__init__()
        torch.manual_seed(0)
        self.fc1, self.fc2 = nn.Linear(64, 32), nn.Linear(32, 10)
        self.sn1 = neuron.ParametricLIFNode(init_tau=2.0, v_threshold=0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(self.fc2(self.sn1(self.fc1(x.flatten(1)))) for _ in range(T)) / T


def own_loop_optimiser_step(net: nn.Module) -> None:
    """:func:`native_optimiser_step` of :class:`OwnLoopPlif` (it runs its own T too), reset
    after it as spikingjelly's tutorial does."""
    native_optimiser_step(net)
    functional.reset_net(net)


LEARNED_STEPS = {  # a network whose neurons learn their decay (and threshold), and its step
    "spikingjelly_plif": (spikingjelly_plif, optimiser_step),
    "own_loop_plif": (OwnLoopPlif, own_loop_optimiser_step),
    "snntorch_learned": (snntorch_leaky, snntorch_optimiser_step),
}
# each under a mode that differentiates its own dynamics, and one that reads them as numbers
# (an own loop's step-wise neurons: a mode for single steps, rga needs the whole T)
LEARNED_MODES = [
    (case, mode)
    for case in LEARNED_STEPS
    for mode in (("stbp", "pdsg") if case == "own_loop_plif" else ("stbp", "rga", "hart"))
]


@pytest.mark.parametrize(("case", "grad_mode"), LEARNED_MODES)
def test_learned_decays_moved_by_a_step_are_taken_by_the_kept_preparation(
    preparations, copies, case: str, grad_mode: str
) -> None:
    """A training loop of a network with learned decays (a PLIF's ``w``, snnTorch's
    ``learn_beta`` and ``learn_threshold``) that attacks each batch moves them at every
    step: the kept adaptation's LIFs read them again, and the kept attacked copy takes them,
    so the call after a step attacks the updated model (a fresh model's examples) without
    preparing afresh (17 ms per such call before, 6 ms now, on the example's network with a
    PLIF: docs/performance.md), under a gradient mode that reads them as numbers too, and for a
    neuron called one step at a time; the call after it neither copies nor reads them
    again."""
    make, step = LEARNED_STEPS[case]
    net = make().eval()
    first = attack(net, grad_mode=grad_mode)
    step(net)
    second = attack(net, grad_mode=grad_mode)
    reads: list[dict] = []
    check = Learned._check
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(Learned, "_check", lambda self, n: reads.append(n) or check(self, n))
        third = attack(net, grad_mode=grad_mode)
    assert preparations == ["_prepare_attack"] and len(copies) == 1 and reads == []
    assert not torch.equal(second, first) and torch.equal(third, second)
    assert torch.equal(second, attack(copy.deepcopy(net), grad_mode=grad_mode))


def test_a_learned_decay_made_nan_by_a_step_is_refused(preparations) -> None:
    """A learned parameter that a step made NaN (its version moved, as new values it takes)
    is refused by the next call, as by a first call."""
    net = spikingjelly_plif().eval()
    attack(net)
    with torch.no_grad():
        net[2].w.mul_(float("nan"))
    with pytest.raises(UserError, match="non-finite"):
        attack(net)


RGA_BETA = {  # RGA with beta=0.9: as the call's mode, or as an ensemble's component
    "grad_params": (
        {"method": "pgd", "steps": 2, "grad_mode": "rga", "grad_params": {"beta": 0.9}},
        "grad_params['beta']=0.9",
    ),
    "component": (
        {
            "method": "ensemble",
            "overrides": [
                "method.ensemble.components=[{attack: rga, method: fgsm, "
                "attack_params: {beta: 0.9}}]"
            ],
        },
        "method.ensemble.components.fgsm/rga.attack_params.beta=0.9",
    ),
}


@pytest.mark.parametrize("case", RGA_BETA)
def test_a_decay_a_step_moved_out_of_the_modes_range_is_refused_as_afresh(
    preparations, case: str
) -> None:
    """A learned decay that a step moved out of what RGA's ``beta`` fits is refused by the
    call after it in the call's words, naming the key that set it, as a fresh model's call is
    (the kept preparation's gradient mode said it in its own words, at its craft)."""
    settings, named = RGA_BETA[case]
    x, y = batch()

    def call(net: nn.Module) -> torch.Tensor:
        return snnattack.attack(net, x, y, eps=16, T=T, **settings)

    net = spikingjelly_plif().eval()
    call(net)
    with torch.no_grad():
        net[2].w.add_(3.0)  # a leak of 0.05: RGA's ramp needs beta > 0.95
    with pytest.raises(UserError) as kept:
        call(net)
    with pytest.raises(UserError) as fresh:
        call(copy.deepcopy(net))
    assert str(kept.value) == str(fresh.value)
    assert named in str(kept.value)


def test_an_adapted_network_trained_between_calls_keeps_its_preparation(preparations) -> None:
    """A network adapted by the user (``snnattack.interop.adapt``), trained through its own
    forward between two calls and run in eval mode after the step: its LIFs set the leak its
    PLIF learned at that forward, which the state does not compare (the parameter it follows
    is the network's own weight), so the call after attacks the trained network without
    preparing afresh."""
    adapted = snnattack.interop.adapt(spikingjelly_plif().eval(), T=T)
    first = attack(adapted)
    native_optimiser_step(adapted)  # a SpikingNet: it runs its own T
    with torch.no_grad():  # its accuracy after the step: the LIFs set the new leak
        adapted(batch()[0])
    second = attack(adapted)
    assert preparations == ["_prepare_attack"]
    assert not torch.equal(second, first)
    assert torch.equal(second, attack(copy.deepcopy(adapted)))


def spikingjelly_lif(seed: int = 0) -> nn.Module:
    """:func:`spikingjelly_plif` with a ``LIFNode`` in the PLIF's place: no neuron learns."""
    from spikingjelly.activation_based import neuron

    net = spikingjelly_plif(seed)
    net[2] = neuron.LIFNode(tau=2.0, v_threshold=0.5, step_mode="m")
    return net


def digits_net(seed: int | None = None) -> nn.Module:
    """The package's own digits network (a SpikingNet), of ``seed``'s weights if given."""
    if seed is not None:
        torch.manual_seed(seed)
    return build("digits_net", num_classes=10, in_channels=1, T=T)


def native_optimiser_step(net: nn.Module) -> None:
    """One SGD step of a cross-entropy on the batch of a SpikingNet (it runs its own T)."""
    x, y = batch()
    optimiser = torch.optim.SGD(net.parameters(), lr=5.0)
    net.train()
    F.cross_entropy(net(x), y).backward()
    optimiser.step()
    net.eval()


def scaled_in_place(net: nn.Module) -> None:
    """An in-place change of a weight's values (a version bump, as an optimiser's step)."""
    with torch.no_grad():
        next(net.parameters()).mul_(1.5)


NETS = {"spikingjelly": spikingjelly_lif, "native": digits_net}
WEIGHTS_CHANGED = {
    "optimiser_step": ("spikingjelly", optimiser_step),
    "load_state_dict": (
        "spikingjelly",
        lambda net: net.load_state_dict(spikingjelly_lif(1).state_dict()),
    ),
    "in_place": ("spikingjelly", scaled_in_place),
    "native_optimiser_step": ("native", native_optimiser_step),
    "native_load_state_dict": (
        "native",
        lambda net: net.load_state_dict(digits_net(1).state_dict()),
    ),
    "native_in_place": ("native", scaled_in_place),
}


@pytest.mark.parametrize("case", WEIGHTS_CHANGED, ids=list(WEIGHTS_CHANGED))
def test_new_weight_values_are_attacked_by_the_kept_preparation(
    preparations, copies, case: str
) -> None:
    """A training loop that attacks each batch changes the weights' values between two
    calls: the kept adaptation shares the model's memory and the kept attacked copy takes its
    weights at every call, so the call after a step attacks the updated model (a fresh model's
    examples) without preparing afresh (about 10 of 15 ms per such call on the example's
    network: docs/performance.md)."""
    net_of, change = WEIGHTS_CHANGED[case]
    net = NETS[net_of]().eval()
    first = attack(net)
    change(net)
    second = attack(net)
    assert preparations == ["_prepare_attack"] and len(copies) == 1
    assert not torch.equal(second, first)
    assert torch.equal(second, attack(copy.deepcopy(net)))  # a fresh model's examples


def test_a_preparation_made_afresh_reads_the_kept_config_without_copying_it(
    preparations, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call that prepares afresh (here a learned decay changed through ``.data``) read the
    kept config by a deep copy (about 4 ms of a 25 ms call on the digits network), and
    resolved its blocks again, though the preparation only reads it. The config
    ``job_config`` returns is still the caller's own."""
    net = spikingjelly_plif().eval()
    attack(net)
    plif_decay_through_data(net)
    copies: list[object] = []  # the configs the preparation's module copied
    module = importlib.import_module("snnattack.preparation.config")
    deepcopy = copy.deepcopy
    counted = SimpleNamespace(deepcopy=lambda c, *m: copies.append(c) or deepcopy(c, *m))
    monkeypatch.setattr(module, "copy", counted)
    resolved: list[object] = []  # nor read again: its blocks resolved into plain dicts
    to_container = OmegaConf.to_container
    monkeypatch.setattr(
        OmegaConf, "to_container", lambda c, **k: resolved.append(c) or to_container(c, **k)
    )
    attack(net)
    assert preparations == ["_prepare_attack"] * 2 and copies == [] and resolved == []
    own, _ = api.job_config(eps=16, methods="pgd", grad_mode="stbp", T=T)
    own.eps = 4  # the caller's copy, writable; the kept one unchanged
    again, _ = api.job_config(eps=16, methods="pgd", grad_mode="stbp", T=T)
    assert again.eps == 16


def test_an_evaluation_prepared_afresh_parses_the_kept_config_once(
    preparations, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An evaluation prepared afresh after an optimiser step (or for each model of a loop over
    checkpoints, with the same arguments) parsed the kept config's settings and resolved its
    tree again (about 25 ms of its interpolations' grammar); its record is still the model's
    as it is now, as a fresh process's."""
    net = spikingjelly_plif().eval()
    evaluate(net)
    optimiser_step(net)
    resolved: list[object] = []  # every config resolved into plain dicts from now on
    spelling = importlib.import_module("snnattack.config.spelling")
    resolve = spelling.resolve
    monkeypatch.setattr(spelling, "resolve", lambda c: resolved.append(c) or resolve(c))
    record = evaluate(net)
    assert preparations == ["call_evaluation"] * 2 and resolved == []
    fresh = evaluate(copy.deepcopy(net))
    assert record.results == fresh.results and record.clean_acc == fresh.clean_acc
    assert record.models == fresh.models
    assert record.config == fresh.config


def test_a_change_through_data_is_attacked_though_no_version_counter_sees_it(
    preparations,
) -> None:
    """``p.data`` edits (a hand-written SGD step, weight clipping) bump no version counter, so
    the preparation is kept; the attack still runs the current weights and buffers."""
    net = spikingjelly_plif().eval()
    first = attack(net)
    net[0].weight.data.mul_(-1.0)
    net[1].running_mean.data.add_(0.5)
    second = attack(net)
    fresh = attack(copy.deepcopy(net))
    assert preparations == ["_prepare_attack"] * 2  # the first call's preparation kept
    assert torch.equal(second, fresh) and not torch.equal(second, first)


def test_a_change_through_data_is_attacked_with_folded_bns(preparations) -> None:
    """With ``attack.fold_bn=true`` the kept copy holds tensors folded from the model's
    values, which no copy of the weights refreshes: the values are compared instead, and a
    change through ``.data`` folds a new copy (before, the old weights were attacked)."""
    folded = {"overrides": ["attack.fold_bn=true"]}
    net = spikingjelly_plif().eval()
    first = attack(net, **folded)
    net[0].weight.data.mul_(-1.0)
    net[1].running_mean.data.add_(0.5)
    second = attack(net, **folded)
    fresh = attack(copy.deepcopy(net), **folded)
    assert preparations == ["_prepare_attack"] * 2  # the first call's preparation kept
    assert torch.equal(second, fresh) and not torch.equal(second, first)


@pytest.mark.parametrize("case", ["unchanged", "after_a_step"])
def test_a_copy_with_folded_bns_is_kept_across_calls(preparations, copies, case: str) -> None:
    """The copy with folded BNs was made again at every call: the modules put in the BNs'
    places were in training mode until the attack's ``eval()``, so the next call read a
    changed flag. It is kept now, and after a step that moved a learned decay it is folded
    once more (its tensors are the weights' values then), and then kept too: its LIFs read
    the new decay as it is made, not at its first forward."""
    folded = {"overrides": ["attack.fold_bn=true"]}
    net = spikingjelly_plif().eval()
    first = attack(net, **folded)
    if case == "after_a_step":
        optimiser_step(net)
    second, third = attack(net, **folded), attack(net, **folded)
    assert len(copies) == (2 if case == "after_a_step" else 1)
    assert preparations == ["_prepare_attack"] and torch.equal(second, third)
    assert torch.equal(second, attack(copy.deepcopy(net), **folded))
    assert torch.equal(second, first) == (case == "unchanged")


def plif_decay_through_data(net: nn.Module) -> None:
    """The parametric LIF's ``w`` set through ``.data``: its decay ``sigmoid(w)``, a number
    of the adapted LIF, changes."""
    net[2].w.data.fill_(3.0)


def snntorch_through_data(net: nn.Module) -> None:
    """snnTorch's learned ``beta`` and ``threshold`` clamped through ``.data``, the usual
    idiom after an optimiser's step."""
    for leaky in (net[2], net[6]):
        leaky.beta.data.clamp_(0.0, 0.3)
        leaky.threshold.data.fill_(0.2)


READ_AS_NUMBERS: dict[str, tuple[Callable[[], nn.Module], Callable[[nn.Module], None]]] = {
    "spikingjelly_plif_w": (spikingjelly_plif, plif_decay_through_data),
    "snntorch_beta_threshold": (snntorch_leaky, snntorch_through_data),
}


@pytest.mark.parametrize("case", READ_AS_NUMBERS, ids=list(READ_AS_NUMBERS))
def test_a_neuron_parameter_read_as_a_number_changed_through_data_prepares_afresh(
    preparations, case: str
) -> None:
    """The adaptation reads a neuron's decay and threshold into numbers of its LIFs: a
    ``.data`` change bumps no version counter, so the values it read are compared."""
    make, change = READ_AS_NUMBERS[case]
    net = make().eval()
    first = attack(net)
    change(net)
    second = attack(net)
    assert preparations == ["_prepare_attack"] * 2
    assert torch.equal(second, attack(copy.deepcopy(net)))  # a fresh model's examples
    assert not torch.equal(second, first)
    attack(net)
    assert preparations == ["_prepare_attack"] * 3  # the new values' preparation kept


def snntorch_buffer_beta() -> nn.Module:
    """:func:`snntorch_leaky` with a ``beta`` of its first ``Leaky`` that does not learn: a
    tensor, which snnTorch holds as a buffer and the adaptation reads as a number."""
    import snntorch

    net = snntorch_leaky()
    net[2] = snntorch.Leaky(beta=torch.tensor(0.8), threshold=0.5, init_hidden=True)
    return net


NEURON_NUMBERS = {  # a state dict whose neurons' numbers differ: (factory, key, value, afresh)
    "spikingjelly_plif_w": (spikingjelly_plif, "2.w", 1.0, False),
    "snntorch_beta": (snntorch_leaky, "2.beta", 0.5, False),
    "snntorch_threshold": (snntorch_leaky, "6.threshold", 0.3, False),
    "snntorch_buffer_beta": (snntorch_buffer_beta, "2.beta", 0.5, True),
}


@pytest.mark.parametrize("case", NEURON_NUMBERS, ids=list(NEURON_NUMBERS))
def test_a_state_dict_of_other_neuron_numbers_is_attacked_as_loaded(
    preparations, case: str
) -> None:
    """The state compares no weight's values, so the numbers the adaptation read of a
    neuron's tensors are what tells ``load_state_dict`` of a checkpoint with another decay
    or threshold apart: a learned one's LIF reads it again (the kept preparation takes it),
    one that does not learn holds it as a number (the next call prepares afresh); either
    attacks the loaded model."""
    make, key, value, afresh = NEURON_NUMBERS[case]
    net = make().eval()
    first = attack(net)
    state = net.state_dict()
    state[key] = torch.full_like(state[key], value)
    net.load_state_dict(state)
    second = attack(net)
    assert preparations == ["_prepare_attack"] * (2 if afresh else 1)
    assert not torch.equal(second, first)
    assert torch.equal(second, attack(copy.deepcopy(net)))  # a fresh model's examples


@pytest.mark.parametrize("case", READ_AS_NUMBERS, ids=list(READ_AS_NUMBERS))
def test_a_repeated_call_reads_no_learned_neuron_parameter_again(
    preparations, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """The kept attacked copy takes its weights again at every call, but not a neuron's
    learned parameters (a PLIF's w, snnTorch's beta and threshold), which the preparation
    compares: their LIF numbers are not read again (one host sync per layer and call)."""
    net = READ_AS_NUMBERS[case][0]().eval()
    first = attack(net)
    reads = []
    monkeypatch.setattr(Learned, "_check", lambda self, numbers: reads.append(numbers))
    assert torch.equal(attack(net), first) and reads == []


def test_a_network_without_tensors_read_as_numbers_compares_none(preparations) -> None:
    """spikingjelly's ``LIFNode`` holds its decay and threshold as floats: its preparation
    compares no values (no host sync for them)."""
    net = spikingjelly_lif().eval()  # LIFNodes only
    attack(net)
    ((*_, numbers),) = PREPARED._kept[net].values()
    assert numbers.devices == {}


def test_a_weight_made_nan_through_data_is_refused_by_a_repeated_call(preparations) -> None:
    """A first call refuses a NaN weight (its examples would measure nothing); a NaN written
    through ``.data`` after it is refused by the next call too, not attacked as the clean
    batch."""
    native = digits_net().eval()
    for net in (spikingjelly_plif().eval(), native):
        attack(net)
        first = next(p for p in net.parameters() if p.dim() == 4)
        first.data.view(-1)[0] = float("nan")
        with pytest.raises(UserError, match="non-finite"):
            attack(net)
        with pytest.raises(UserError, match="non-finite"):
            attack(net)  # still refused: no preparation kept of the NaN model


def refusal(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> str:
    """The line with which :func:`attack`'s call on ``x`` and ``y`` is refused."""
    with pytest.raises(UserError) as refused:
        snnattack.attack(net, x, y, "pgd", eps=16, T=T, steps=2)
    return str(refused.value)


def test_a_repeated_call_refuses_as_a_first_call_does(preparations) -> None:
    """A repeated call reads its kept preparation's check with the batch's (one host sync):
    a NaN image is still refused as one, and a NaN weight written through ``.data`` comes
    before what is wrong with the batch, its values or its form, as at a first call (whose
    adaptation refuses it)."""
    net = spikingjelly_plif().eval()
    attack(net)
    x, y = batch()
    nan_image = x.clone()
    nan_image[0, 0, 0, 0] = float("nan")
    assert "holds NaN or infinite pixels" in refusal(net, nan_image, y)
    net[0].weight.data.view(-1)[0] = float("nan")
    for images, labels in ((nan_image, y), (x, y + 10), (x, y.float())):
        first = refusal(copy.deepcopy(net), images, labels)  # a model prepared from nothing
        assert refusal(net, images, labels) == first
        assert "non-finite" in first


def test_a_weight_made_nan_through_data_is_refused_by_a_repeated_evaluate(preparations) -> None:
    net = spikingjelly_plif().eval()
    evaluate(net)
    net[9].weight.data[0, 0] = float("inf")
    with pytest.raises(UserError, match="non-finite"):
        evaluate(net)


def test_a_repeated_evaluate_refuses_as_a_first_call_does(preparations) -> None:
    """A repeated evaluation reads its kept preparation's check with its first batch's values
    (one host sync): a NaN weight written through ``.data`` comes before what is wrong with the
    data, its values, labels or form, as at a first call (whose adaptation refuses it)."""
    net = spikingjelly_plif().eval()
    evaluate(net)
    x, y = batch()
    nan_image = x.clone()
    nan_image[0, 0, 0, 0] = float("nan")
    net[0].weight.data.view(-1)[0] = float("nan")
    for data in ((nan_image, y), (x, y + 10), (x, y.float()), (x[0], y)):

        def refusal(model: nn.Module, data: tuple = data) -> str:
            with pytest.raises(UserError) as refused:
                snnattack.evaluate(model, data, eps=[16], methods=["fgsm"], T=T, progress=False)
            return str(refused.value)

        first = refusal(copy.deepcopy(net))  # a model prepared from nothing
        assert refusal(net) == first
        assert "non-finite" in first


def test_a_second_identical_call_does_not_prepare_again(preparations) -> None:
    net = spikingjelly_plif().eval()
    native = digits_net().eval()
    for model in (net, native):
        assert torch.equal(attack(model), attack(model))
    assert preparations == ["_prepare_attack"] * 2


def test_an_infinite_buffer_out_of_the_state_dict_is_kept_as_the_first_call_accepts_it(
    preparations,
) -> None:
    """A non-persistent buffer of inf (a clamp's bound), which the first call's check of the
    weights passes, kept the preparation from being served again: each call prepared."""
    native = digits_net().eval()
    native.register_buffer("upper", torch.tensor(float("inf")), persistent=False)
    assert torch.equal(attack(native), attack(native))
    assert preparations == ["_prepare_attack"]


def test_a_tensor_made_in_an_inference_block_prepares_afresh_at_each_call(preparations) -> None:
    """It tracks no version (reading one raised torch's RuntimeError): taken as changed."""
    native = digits_net().eval()
    with torch.inference_mode():
        native.gain = torch.tensor(1.0)
    assert torch.equal(attack(native), attack(native))
    assert preparations == ["_prepare_attack"] * 2


def replace_weight(net: nn.Module) -> None:
    net[0].weight = nn.Parameter(net[0].weight.detach().clone())


class Negated(nn.Linear):
    """A linear layer whose output is negated: another forward on the same tensors."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -super().forward(x)


CHANGES: dict[str, Callable[[nn.Module], object]] = {
    "train": lambda net: net.train(),
    "parameter_replaced": replace_weight,
    "threshold": lambda net: setattr(net[6], "v_threshold", 0.4),
    "dtype": lambda net: net.double(),
    "class_swapped": lambda net: setattr(net[9], "__class__", Negated),
    # a layer's sizes, tuples of plain values (the same output shape, other values)
    "layer_sizes": lambda net: net[4].__dict__.update(padding=(2, 2), dilation=(2, 2)),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_a_changed_model_prepares_afresh(preparations, change: str) -> None:
    net = spikingjelly_plif().eval()
    attack(net)
    CHANGES[change](net)
    if change == "dtype":  # its samples follow it
        x, y = batch()
        snnattack.attack(net, x.double(), y, "pgd", eps=16, T=T, steps=2)
    else:
        attack(net)
    assert preparations == ["_prepare_attack"] * 2


@dataclasses.dataclass(slots=True)
class Slotted:
    """Settings in a dataclass of slots, which holds no ``__dict__``."""

    gain: float = 1.0


class Settings:
    """A user's settings class: neither a dataclass nor a namespace."""

    def __init__(self) -> None:
        self.gain = 1.0
        self.scale = torch.tensor(1.0)


Gains = namedtuple("Gains", "gain other")


class Squash:
    """A callable object with a setting of its own, as a user's surrogate or readout is."""

    def __init__(self) -> None:
        self.alpha = 1.0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.alpha * x)


class Scaled(nn.Module):
    """A user's own-loop network whose forward reads a tensor, a list, a number, a function,
    a dict of settings, settings holders and objects of its own classes that are neither
    parameter nor buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.body = spikingjelly_plif()
        self.scale = torch.tensor(1.0)
        self.weights = [1.0, 1.0]
        self.gain = np.float64(1.0)  # as np.linspace gives a sweep's values
        self.squash = torch.tanh
        self.scales = {"gain": 1.0, "unused": "text"}
        self.args = SimpleNamespace(gain=1.0, nested={"gain": 1.0})
        self.slotted = Slotted()
        self.settings = Settings()
        self.readout = Squash()
        self.masks = [torch.tensor(1.0)]  # tensors in a list and a dict: ``self.masks[0]``
        self.named = {"gain": torch.tensor(1.0)}
        self.gains = np.ones(10, dtype=np.float32)  # read through torch.from_numpy
        self.nested = [[1.0, 1.0]]  # a list of lists, a namedtuple, sets, a range
        self.pair = Gains(1.0, 2.0)
        self.skip = {7}
        self.frozen = frozenset({7})
        self.window = range(10)
        self.args.scale = torch.tensor(1.0)  # tensors in a holder and an object
        # containers of other values, of other classes, and keyed otherwise: all were stale
        self.layers = [{"gain": 1.0, "scale": torch.tensor(1.0)}, Slotted(), np.ones(2)]
        self.counts = collections.Counter(gain=1)
        self.queue = deque([1.0])
        self.defaults = defaultdict(lambda: 1.0, gain=1.0)
        self.keyed = {("in", 0): 1.0}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0)
        settings = self.scales["gain"] * self.args.gain * self.args.nested["gain"]
        settings *= self.slotted.gain * self.settings.gain
        settings = settings * self.masks[0] * self.named["gain"] * torch.from_numpy(self.gains)
        settings = settings * self.nested[0][0] * self.pair.gain * (self.window[-1] - 8)
        settings = (
            settings * (-5.0 if 3 in self.skip else 1.0) * (-5.0 if 3 in self.frozen else 1.0)
        )
        settings = settings * self.args.scale * self.settings.scale
        settings = settings * self.layers[0]["gain"] * self.layers[1].gain * self.layers[2][0]
        settings = settings * self.counts["gain"] * self.queue[0] * self.defaults["gain"]
        settings = settings * self.keyed[("in", 0)] * self.layers[0]["scale"]
        out = self.readout(out)
        return self.squash(out * self.scale * self.weights[0] * self.gain * settings)


def doubled(x: torch.Tensor) -> torch.Tensor:
    return 2.0 * torch.tanh(x)


ATTRIBUTE_CHANGES: dict[str, Callable[[Scaled], object]] = {
    "tensor_replaced": lambda net: setattr(net, "scale", torch.tensor(-5.0)),
    "tensor_in_place": lambda net: net.scale.fill_(-5.0),
    "tensor_through_data": lambda net: net.scale.data.fill_(-5.0),
    "tensor_in_list_in_place": lambda net: net.masks[0].fill_(-5.0),
    "tensor_in_list_through_data": lambda net: net.masks[0].data.fill_(-5.0),
    "tensor_in_list_replaced": lambda net: net.masks.__setitem__(0, torch.tensor(-5.0)),
    "tensor_in_dict_in_place": lambda net: net.named["gain"].fill_(-5.0),
    "tensor_in_dict_replaced": lambda net: net.named.__setitem__("gain", torch.tensor(-5.0)),
    "numpy_array_in_place": lambda net: net.gains.__setitem__(slice(None), -5.0),
    "list_in_place": lambda net: net.weights.__setitem__(0, -5.0),
    "numpy_number": lambda net: setattr(net, "gain", np.float64(-5.0)),
    "function_replaced": lambda net: setattr(net, "squash", doubled),
    "dict_in_place": lambda net: net.scales.__setitem__("gain", -5.0),
    "namespace_in_place": lambda net: setattr(net.args, "gain", -5.0),
    "nested_dict_in_place": lambda net: net.args.nested.__setitem__("gain", -5.0),
    "slotted_dataclass": lambda net: setattr(net.slotted, "gain", -5.0),
    "object_in_place": lambda net: setattr(net.settings, "gain", -5.0),
    "callable_object_in_place": lambda net: setattr(net.readout, "alpha", -5.0),
    "hook_added": lambda net: net.body.register_forward_hook(lambda m, i, out: -5.0 * out),
    # a deep copy (the attacked copy) copies these as they are, which before were not compared
    "nested_list_in_place": lambda net: net.nested[0].__setitem__(0, -5.0),
    "namedtuple_replaced": lambda net: setattr(net, "pair", net.pair._replace(gain=-5.0)),
    "set_in_place": lambda net: net.skip.add(3),
    "frozenset_replaced": lambda net: setattr(net, "frozen", frozenset({3})),
    "range_replaced": lambda net: setattr(net, "window", range(5)),
    "tensor_in_namespace_through_data": lambda net: net.args.scale.data.fill_(-5.0),
    "tensor_in_object_through_data": lambda net: net.settings.scale.data.fill_(-5.0),
    "dict_in_list_in_place": lambda net: net.layers[0].__setitem__("gain", -5.0),
    "dataclass_in_list_in_place": lambda net: setattr(net.layers[1], "gain", -5.0),
    "numpy_array_in_list_in_place": lambda net: net.layers[2].__setitem__(0, -5.0),
    "counter_in_place": lambda net: net.counts.__setitem__("gain", -5),
    "deque_in_place": lambda net: net.queue.__setitem__(0, -5.0),
    "defaultdict_in_place": lambda net: net.defaults.__setitem__("gain", -5.0),
    "tuple_keyed_dict_in_place": lambda net: net.keyed.__setitem__(("in", 0), -5.0),
    "tensor_in_dict_in_list_through_data": lambda net: net.layers[0]["scale"].data.fill_(-5),
}


@pytest.mark.parametrize("change", ATTRIBUTE_CHANGES, ids=list(ATTRIBUTE_CHANGES))
def test_a_changed_attribute_that_the_forward_reads_prepares_afresh(
    preparations, change: str
) -> None:
    net = Scaled().eval()
    first = attack(net)
    ATTRIBUTE_CHANGES[change](net)
    second = attack(net)
    assert preparations == ["_prepare_attack"] * 2
    assert torch.equal(second, attack(copy.deepcopy(net)))  # a fresh model's examples
    assert not torch.equal(second, first)


class Scaler:
    """A forward hook with a setting of its own, held by the user's code, not the model."""

    def __init__(self) -> None:
        self.scale = 1.0

    def __call__(self, module: nn.Module, inputs: tuple, out: torch.Tensor) -> torch.Tensor:
        return self.scale * out


def scaled_by(module: nn.Module, inputs: tuple, out: torch.Tensor, scale: float) -> torch.Tensor:
    return scale * out


@pytest.mark.parametrize("form", ["object", "bound_method", "partial"])
def test_a_hooks_own_setting_changed_prepares_afresh(preparations, form: str) -> None:
    """The hook stays registered (same handle), its object changes: before, the kept copy
    ran the copy of the hook as the first call made it. A bound method (``scaler.hook``)
    holds its object's settings as well (its ``__dict__`` is its function's: it was stale),
    and a ``functools.partial`` its arguments (``partial(hook, scale=...)``, its keywords
    changed in place: it was stale, the deep copy's partial holding the old ones)."""
    net = spikingjelly_plif().eval()
    hook = Scaler()
    partial = functools.partial(scaled_by, scale=1.0)
    net[9].register_forward_hook({"object": hook, "bound_method": hook.__call__}.get(form, partial))
    first = attack(net)
    hook.scale = -3.0
    partial.keywords["scale"] = -3.0
    second = attack(net)
    assert preparations == ["_prepare_attack"] * 2
    assert torch.equal(second, attack(copy.deepcopy(net)))  # a fresh model's examples
    assert not torch.equal(second, first)


class Recorder:
    """A forward hook that records (a monitor of the outputs), by a bound method."""

    def __init__(self) -> None:
        self.outputs: list[torch.Tensor] = []

    def hook(self, module: nn.Module, inputs: tuple, out: torch.Tensor) -> None:
        self.outputs.append(out.detach())


def test_a_recording_hook_on_a_spikingnet_is_prepared_once(preparations) -> None:
    """The first call's check runs a SpikingNet itself on one image (it adapts nothing),
    which calls the user's hook: its object's list grew after the state was read, so each
    call took the model for changed and prepared afresh (attack and evaluate alike). The
    examples are still a fresh model's, and the user's own change is still seen."""
    net = digits_net().eval()
    recorder = Recorder()
    net.body[0].register_forward_hook(recorder.hook)
    first = attack(net)
    for _ in range(2):  # two settings in turn: each one's check ran after the other's build
        again, _ = attack(net), attack(net, steps=1)
    evaluate(net), evaluate(net)
    assert preparations == ["_prepare_attack"] * 2 + ["call_evaluation"]
    assert torch.equal(again, first)
    assert torch.equal(again, attack(copy.deepcopy(net)))  # a fresh model's examples
    with torch.no_grad():
        net.body[0].module.weight.mul_(2.0)
    assert torch.equal(attack(net), attack(copy.deepcopy(net)))  # the new weights attacked


def counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    """The calls of ``module.name`` made from now on, one entry each."""
    calls: list[int] = []
    function = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: calls.append(1) or function(*a, **k))
    return calls


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The attacked copies made from now on (one entry each)."""
    return counting(monkeypatch, attacked, "attacked_models")


class Reader(Recorder):
    """A recording hook that reads what it recorded: it biases the classes by the count of
    its records (a fresh copy's hook starts from its object's list as copied)."""

    def hook(self, module: nn.Module, inputs: tuple, out: torch.Tensor) -> torch.Tensor:
        self.outputs.append(out.detach())
        return out + 0.5 * len(self.outputs) * torch.arange(out.shape[-1], dtype=out.dtype)


class Counter:
    """A hook object that counts its calls and biases the classes by the count."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, module: nn.Module, inputs: tuple, out: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return out + 0.5 * self.calls * torch.arange(out.shape[-1], dtype=out.dtype)


def fresh(net: nn.Module, hook: Recorder) -> nn.Module:
    """A deep copy of ``net`` whose first call attacks what a fresh copy of ``net`` is now:
    its ``hook`` object's list one record short, which that call's check of the model adds."""
    twin = type(hook)()
    twin.outputs = hook.outputs[:-1]
    return copy.deepcopy(net, {id(hook): twin})


@pytest.mark.parametrize("kind", [Recorder, Reader], ids=["records", "reads_its_records"])
def test_a_recording_hook_objects_copy_is_cut_back_not_made_again(
    preparations, copies, kind: type[Recorder]
) -> None:
    """The attack's forwards append to the attacked copy's hook object's list: the copy was
    made again at every call (docs/performance.md, "A repeated call"). Now its lists are cut
    back to their length at the copy, which is what a fresh copy holds: made once, and a
    hook that reads its records still gives a fresh model's examples."""
    net, hook = digits_net().eval(), kind()
    net.body[9].register_forward_hook(hook.hook)
    first = attack(net)
    again = [attack(net) for _ in range(2)]
    assert preparations == ["_prepare_attack"] and len(copies) == 1
    assert all(torch.equal(a, first) for a in again)
    assert torch.equal(first, attack(fresh(net, hook)))


def test_a_hook_whose_own_state_changes_the_forward_still_prepares_afresh(
    preparations, copies
) -> None:
    """A hook object's count, which the attack's forwards raise on the copy, makes the copy
    again at each call; the user's own forward, which appends to the user's hook object's
    list that its hook reads, prepares afresh: the examples are a fresh model's each time."""
    net = digits_net().eval()
    net.body[9].register_forward_hook(Counter())
    first, second = attack(net), attack(net)
    assert preparations == ["_prepare_attack"] and len(copies) == 2
    assert torch.equal(second, first)
    reader = Reader()
    net = digits_net().eval()
    net.body[9].register_forward_hook(reader.hook)
    first = attack(net)
    with torch.no_grad():
        net(batch()[0])  # the user's own forward: the hook's list grows, read by the next
    second = attack(net)
    assert preparations == ["_prepare_attack"] * 3 and len(copies) == 4
    assert torch.equal(second, attack(fresh(net, reader)))
    assert not torch.equal(second, first)


def counted(module: nn.Module, inputs: tuple, out: torch.Tensor) -> torch.Tensor:
    """A forward hook that counts its module's forwards in a plain attribute and biases the
    classes by the count (a schedule): each forward changes what the next one computes."""
    module.calls += 1
    return out + 0.5 * module.calls * torch.arange(out.shape[-1], dtype=out.dtype)


def test_an_attribute_the_attack_changed_on_the_kept_copy_is_not_carried_over(
    preparations,
) -> None:
    """The attack's forwards run the attacked copy's hooks, which set the copy's attribute:
    the next call on the unchanged model attacked a copy holding the count the last attack
    left (other examples than the first call's), where a fresh copy holds the model's. Now
    the copy's attributes are compared, and a copy changed so is made again."""
    torch.manual_seed(0)
    net = digits_net().eval()
    net.body[9].calls = 0
    net.body[9].register_forward_hook(counted)
    fresh = attack(copy.deepcopy(net))  # the model as it is, attacked from nothing
    PREPARED.clear()
    first, second = attack(net), attack(net)
    assert preparations == ["_prepare_attack"] * 2  # the deep copy's, the model's
    assert torch.equal(first, fresh) and torch.equal(second, first)


class Tutorial(nn.Module):
    """snnTorch's tutorial class (docs/interop.md): explicit membranes, the loop in forward."""

    def __init__(self) -> None:
        super().__init__()
        import snntorch
        from snntorch import surrogate

        torch.manual_seed(0)
        spike_grad = surrogate.fast_sigmoid(slope=25)
        self.fc1, self.lif1 = nn.Linear(64, 32), snntorch.Leaky(beta=0.95, spike_grad=spike_grad)
        self.fc2, self.lif2 = nn.Linear(32, 10), snntorch.Leaky(beta=0.95, spike_grad=spike_grad)
        with torch.no_grad():  # every layer spikes, and not always
            self.fc1.weight.mul_(6.0)
            self.fc2.weight.mul_(4.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        spikes, membranes = [], []
        for _ in range(T):
            spk1, mem1 = self.lif1(self.fc1(x.flatten(1)), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            spikes.append(spk2)
            membranes.append(mem2)
        return torch.stack(spikes), torch.stack(membranes)


def sequence_forward(net: nn.Module) -> None:
    """snnTorch's loop over a one-step network: hidden states reset, T steps."""
    from snntorch import utils

    utils.reset(net)
    for _ in range(T):
        net(batch()[0])


OWN_FORWARDS: dict[str, tuple[Callable[[], nn.Module], Callable[[nn.Module], object]]] = {
    "tutorial_class": (Tutorial, lambda net: net(batch()[0])),
    "init_hidden_sequence": (snntorch_leaky, sequence_forward),
}


@pytest.mark.parametrize("form", OWN_FORWARDS, ids=list(OWN_FORWARDS))
def test_a_users_own_snntorch_forward_between_calls_prepares_nothing_afresh(
    preparations, form: str
) -> None:
    """Each snnTorch forward replaces a ``Leaky``'s hidden ``mem`` buffer and its ``reset``
    tensor (and its own ``state_function``, a bound method, held them too), which no adapter
    reads: a loop that ran the model on each batch (its clean accuracy) between two calls
    prepared afresh at every call. The examples are still a fresh model's."""
    make, own_forward = OWN_FORWARDS[form]
    net = make().eval()
    first = attack(net)
    with torch.no_grad():
        own_forward(net)
    again = attack(net)
    assert preparations == ["_prepare_attack"]
    assert torch.equal(again, first)
    assert torch.equal(again, attack(copy.deepcopy(net)))  # a fresh model's examples


SURROGATE_CHANGES: dict[str, Callable[[nn.Module], object]] = {
    "replaced": lambda lif: setattr(lif, "surrogate", Triangle(width=0.2)),
    "in_place": lambda lif: setattr(lif.surrogate, "width", 0.2),
}


@pytest.mark.parametrize("change", SURROGATE_CHANGES, ids=list(SURROGATE_CHANGES))
def test_a_native_neurons_surrogate_changed_prepares_afresh(preparations, change: str) -> None:
    """A native LIF's surrogate is an object of its own class (``triangle(width=1.0)``), not
    a module: before, neither one replaced nor its width set in place was seen, and the kept
    attacked copy crafted with the old slope (and ``evaluate`` recorded it)."""
    net = digits_net().eval()
    first = attack(net)
    for lif in (m for m in net.modules() if isinstance(m, LIF)):
        SURROGATE_CHANGES[change](lif)
    second = attack(net)
    assert preparations == ["_prepare_attack"] * 2
    assert torch.equal(second, attack(copy.deepcopy(net)))  # a fresh model's examples
    assert not torch.equal(second, first)


class Unregistered(nn.Module):
    """A readout held in a plain list (a user's slip for ``nn.ModuleList``): a module that
    neither ``modules()`` nor ``parameters()`` reach, which the forward runs."""

    def __init__(self) -> None:
        super().__init__()
        self.body = spikingjelly_plif()
        torch.manual_seed(1)
        self.readout = [nn.Linear(10, 10)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout[0](self.body(x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0))


UNREGISTERED_CHANGES: dict[str, Callable[[Unregistered], object]] = {
    "through_data": lambda net: net.readout[0].weight.data.mul_(-3.0),
    "replaced": lambda net: net.readout.__setitem__(0, nn.Linear(10, 10)),
}


@pytest.mark.parametrize("change", UNREGISTERED_CHANGES, ids=list(UNREGISTERED_CHANGES))
def test_a_module_in_a_plain_list_is_prepared_afresh_at_each_call(
    preparations, change: str
) -> None:
    """Its changes are seen by no state and no weight copy: before, the kept attacked copy
    ran the list's module as the first call copied it."""
    net = Unregistered().eval()
    first = attack(net)
    UNREGISTERED_CHANGES[change](net)
    second = attack(net)
    assert preparations == ["_prepare_attack"] * 2
    assert torch.equal(second, attack(copy.deepcopy(net)))  # a fresh model's examples
    assert not torch.equal(second, first)


class SparseHeld(nn.Module):
    """A sparse tensor held as an attribute (not a buffer), which the forward reads."""

    def __init__(self) -> None:
        super().__init__()
        self.body = spikingjelly_plif()
        self.mix = torch.eye(10).flip(0).to_sparse()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0)
        return torch.sparse.mm(self.mix, out.t()).t()


def test_a_sparse_tensor_held_as_an_attribute_is_prepared_afresh_at_each_call(
    preparations,
) -> None:
    """A sparse tensor has no one memory pointer nor flat values to compare: it counts as
    changed at every call (the first call raised "Cannot access data pointer")."""
    net = SparseHeld().eval()
    first = attack(net)
    assert torch.equal(attack(net), first)
    assert preparations == ["_prepare_attack"] * 2


class Slots:
    """A user's settings class with ``__slots__``: no ``__dict__`` to compare."""

    __slots__ = ("gain",)

    def __init__(self) -> None:
        self.gain = 1.0


class Uncompared(nn.Module):
    """A forward reading settings that no comparison reads: a slotted object's, an OmegaConf
    config's, a list nested four levels."""

    def __init__(self) -> None:
        super().__init__()
        self.body = spikingjelly_plif()
        self.slots = Slots()
        self.cfg = OmegaConf.create({"gain": 1.0})
        self.deep = [[[[1.0]]]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0)
        return out * self.slots.gain * self.cfg.gain * self.deep[0][0][0][0]


UNCOMPARED_CHANGES: dict[str, Callable[[Uncompared], object]] = {
    "slotted_object": lambda net: setattr(net.slots, "gain", -5.0),
    "omegaconf": lambda net: setattr(net.cfg, "gain", -5.0),
    "four_levels": lambda net: net.deep[0][0][0].__setitem__(0, -5.0),
}


@pytest.mark.parametrize("change", UNCOMPARED_CHANGES, ids=list(UNCOMPARED_CHANGES))
def test_what_cannot_be_compared_is_prepared_afresh_at_each_call(preparations, change: str) -> None:
    """Before, it was passed over as no change: the kept attacked copy ran the old gain."""
    net = Uncompared().eval()
    first = attack(net)
    UNCOMPARED_CHANGES[change](net)
    second = attack(net)
    assert torch.equal(second, attack(copy.deepcopy(net)))  # a fresh model's examples
    assert not torch.equal(second, first)


class Listed(nn.Module):
    """The network's own modules also held in a plain list, for its forward's convenience
    (as an adapted snnTorch ``Leaky`` holds its network's others: ``group``)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = spikingjelly_plif()
        torch.manual_seed(1)
        self.readout = nn.Linear(10, 10)
        self.spare = nn.Linear(10, 10)
        self.layers = [self.body, self.readout]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        body, readout = self.layers
        return readout(body(x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0))


def test_a_plain_list_of_the_models_own_modules_is_prepared_once(preparations) -> None:
    """Modules the model registers are compared where they are registered: a list of them is
    no unregistered module (it was taken for one, and the model prepared afresh at every
    call); a change of one through the list is seen (the attacked copy's weights copied), and
    so is the list holding another of them."""
    net = Listed().eval()
    first = attack(net)
    assert torch.equal(attack(net), first)
    assert preparations == ["_prepare_attack"]
    net.layers[1].weight.data.mul_(-3.0)
    second = attack(net)
    assert torch.equal(second, attack(copy.deepcopy(net)))
    assert not torch.equal(second, first)
    net.layers[1] = net.spare  # registered too: another forward
    third = attack(net)
    assert torch.equal(third, attack(copy.deepcopy(net)))
    assert not torch.equal(third, second)


def test_a_changed_setting_prepares_afresh_and_the_first_is_kept(preparations) -> None:
    net = spikingjelly_plif().eval()
    attack(net)
    attack(net, steps=3)
    attack(net, eps=8)
    attack(net, grad_mode="rga")
    attack(net)
    assert preparations == ["_prepare_attack"] * 4


def test_a_preparation_made_afresh_drops_those_of_the_model_as_it_was(preparations) -> None:
    """After a change, no preparation of the old model stays (nor the adapted network that
    holds its old tensors): only the new one. (The core's copy is kept under the adapted
    network, and goes with it.)"""
    net = spikingjelly_plif().eval()
    attack(net)
    attack(net, eps=8)
    kept = PREPARED._kept[net]  # the model's entries, one per argument list
    assert len(kept) == 2
    replace_weight(net)
    attack(net)
    assert len(kept) == 1


def test_an_evaluation_made_afresh_after_a_step_drops_the_old_weights_copies(
    preparations,
) -> None:
    """A repeated ``evaluate`` keeps a copy of the weights' values (its record names their
    hash): after a step, the first call made afresh drops those kept under other settings,
    copies of the old values that would not be served again, as before the state left the
    versions out; a preparation that keeps no such copy (an attack's) stays."""
    net = spikingjelly_lif().eval()
    x, y = batch()
    for eps in (8, 16):
        snnattack.evaluate(
            net, (x, y), eps=[eps], methods=["fgsm"], T=T, masking=False, progress=False
        )
    attack(net)
    kept = PREPARED._kept[net]
    assert len(kept) == 3
    optimiser_step(net)
    evaluate(net)
    assert len(kept) == 2 and preparations.count("call_evaluation") == 3


def test_evaluations_with_and_without_a_source_are_both_kept(preparations) -> None:
    """What tells a copy of the old weights apart is the model's own weights: an evaluation
    with a black-box source, made afresh beside one without, drops nothing."""
    net, source = spikingjelly_lif().eval(), spikingjelly_lif(1).eval()
    x, y = batch()
    boxes = ["white", "black"]
    snnattack.evaluate(
        net, (x, y), eps=[16], methods=["fgsm"], boxes=boxes, source=source, T=T, masking=False
    )
    evaluate(net)
    assert len(PREPARED._kept[net]) == 2


def test_the_cache_keeps_no_model_alive(preparations) -> None:
    net = spikingjelly_plif().eval()
    native = digits_net().eval()
    attack(net)
    attack(native)
    refs = [weakref.ref(net), weakref.ref(native)]
    del net, native
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_a_repeated_evaluate_prepares_once(preparations) -> None:
    net = spikingjelly_plif().eval()
    first, again = evaluate(net), evaluate(net)
    assert preparations == ["call_evaluation"]
    assert [r.adv_acc for r in first.results] == [r.adv_acc for r in again.results]
    net.train()
    evaluate(net)
    assert preparations == ["call_evaluation"] * 2


def test_a_repeated_evaluate_records_the_weights_changed_through_data(preparations) -> None:
    """A change through ``.data`` bumps no version counter: the kept preparation served, and
    its record named the weights by the first call's hash. A repeated ``evaluate`` compares
    the weights' values in its one read of the checks and prepares afresh: its record names
    the weights as they are now."""
    net, source = spikingjelly_plif().eval(), spikingjelly_plif(seed=1).eval()
    x, y = batch()

    def record(target: nn.Module, black: nn.Module) -> dict:
        settings = {"eps": [16], "methods": ["fgsm"], "T": T, "masking": False}
        boxes = {"boxes": ["white", "black"], "source": black}
        return snnattack.evaluate(target, (x, y), progress=False, **settings, **boxes).models

    first = record(net, source)
    with torch.no_grad():
        net[0].weight.data.mul_(2.0)
        source[0].weight.data.mul_(2.0)
    again = record(net, source)
    assert preparations == ["call_evaluation"] * 2  # afresh: the values compared
    PREPARED.clear()
    fresh = record(net, source)
    for box in ("target", "source"):
        assert again[box]["weights"] == fresh[box]["weights"] != first[box]["weights"]


def test_repeated_evaluates_under_many_settings_keep_one_copy_of_the_weights(
    preparations,
) -> None:
    """Each kept preparation of a repeated ``evaluate`` compares the weights' values, against
    a copy of them: the preparations of one model under several settings (up to
    ``KEPT``) share that copy, not one each (a large network's weights many times over)."""
    net = spikingjelly_plif().eval()
    x, y = batch()
    for eps in (4, 8, 16):
        snnattack.evaluate(net, (x, y), eps=[eps], methods=["fgsm"], T=T, masking=False)
    kept = PREPARED._kept[net]
    copies = [numbers.devices for (*_, numbers) in kept.values()]
    assert len(kept) == 3 and len(preparations) == 3
    assert len(copies[0]) >= 1 and all(c.keys() == copies[0].keys() for c in copies)
    for group in copies[0]:
        assert len({c[group][1].data_ptr() for c in copies}) == 1  # one copy of each group


def test_the_loop_measurement_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """examples/attack_in_a_loop.py (docs/performance.md, "A repeated call") on a tiny batch:
    its times and their intercept, torchattacks' beside them, and a call's after an optimiser
    step, no absolute time asserted."""
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    from attack_in_a_loop import fixed_cost

    out = fixed_cost(batch=4, repeats=1, node="plif")  # neurons whose decays a step moves
    measured = ["steps_1_ms", "steps_10_ms", "per_step_ms", "fixed_ms"]
    # and torchattacks' PGD alone on the adapted network, beside it
    assert set(out) == {
        *measured,
        *(f"torchattacks_{k}" for k in measured),
        "steps_1_after_a_step_ms",
    }
    for name in ("", "torchattacks_"):
        assert out[f"{name}steps_1_ms"] > 0 and out[f"{name}steps_10_ms"] > 0
        assert out[f"{name}fixed_ms"] == out[f"{name}steps_1_ms"] - out[f"{name}per_step_ms"]
    assert out["steps_1_after_a_step_ms"] > 0


def test_the_loop_measurement_names_its_settings_and_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command's JSON carries its settings and provenance (version, git commit, torch,
    threads) as a job's metrics.json does: its numbers were quoted without them."""
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    from attack_in_a_loop import main

    main(["--batch", "4", "--repeats", "1"])
    out = json.loads(capsys.readouterr().out)
    assert out["settings"] == {"batch": 4, "T": 4, "repeats": 1, "device": "cpu", "neuron": "lif"}
    assert out["version"] and out["git_commit"] and out["torch"] and out["threads"] >= 1
    assert out["fixed_ms"] == out["steps_1_ms"] - out["per_step_ms"]
    # the numerics the attacks ran under (a job's): the process's own were read after them
    assert (out["tf32"], out["deterministic"]) == (False, True)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--device", "cdua"], "--device=cdua is unknown; accepted: cpu, cuda or cuda:N"),
        (["--device", "cuda:x"], "--device=cuda:x is unknown; accepted: cpu, cuda or cuda:N"),
        (["--device", "cuda:99"], "--device=cuda:99 but this machine has"),
        (["--repeats", "0"], "--repeats=0 is out of range; accepted: an integer >= 1"),
        (["--batch", "0"], "--batch=0 is out of range; accepted: an integer >= 1"),
        (["--repaets", "3"], "unrecognized arguments: --repaets"),
        (["--neuron", "plf"], "invalid choice: 'plf' (choose from 'lif', 'plif')"),
    ],
)
def test_the_loop_measurement_refuses_a_bad_option_in_one_line(
    argv: list[str], named: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo'd device, a repeat count of 0 or an unknown option is one line and exit code 2,
    before any work (they raised torch's or statistics' traceback)."""
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    from attack_in_a_loop import main

    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ") and named in line


def test_a_repeated_call_reads_the_attacked_copys_state_once(
    preparations, copies, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kept attacked copy's state was read twice per repeated call: to check it, then
    again after the model's weights were copied into it (the copies bump its versions). The
    versions of the tensors copied into are not compared now: one read per call, one copy made,
    and a weight the attack changed in the copy in place is overwritten by the next call's
    copy, which attacks what a fresh model's copy would."""
    net = spikingjelly_plif().eval()
    first = attack(net)
    reads = counting(monkeypatch, attacked, "state_of")
    again = [attack(net) for _ in range(3)]
    assert len(reads) == 3 and len(copies) == 1 and preparations == ["_prepare_attack"]
    assert all(torch.equal(a, first) for a in again)
    kept = [v[2][0] for d in PREPARED._kept.values() for k, v in d.items() if "attacked copy" in k]
    with torch.no_grad():
        next(kept[0].parameters()).mul_(2.0)  # in the copy, as an attack's own change would
    assert torch.equal(attack(net), first) and len(copies) == 1


NETWORKS = {  # a foreign network (adapted) and a SpikingNet (attacked as it is)
    "spikingjelly": spikingjelly_plif,
    "digits_net": lambda: digits_net(),
}


@pytest.mark.parametrize("network", NETWORKS)
def test_a_repeated_call_reads_the_models_state_once(
    preparations, copies, network: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repeated call read the state of the network it attacks twice: once as the user's
    model (or the adaptation's source), then again as the network of its attacked copy (the
    adapted network, or a SpikingNet itself), which the first read already vouched for. Now
    once, besides the kept copy's own, and the examples are the first call's."""
    net = NETWORKS[network]().eval()
    first = attack(net)
    reads = counting(monkeypatch, prepared, "_state")
    again = [attack(net) for _ in range(3)]
    assert len(reads) == 3 and len(copies) == 1 and preparations == ["_prepare_attack"]
    assert all(torch.equal(a, first) for a in again)


def test_a_call_whose_arguments_key_nothing_compares_the_kept_copys_model(preparations) -> None:
    """A call whose arguments cannot key a preparation (``eps`` a tensor) prepares afresh and
    keeps nothing, so it drops no stale preparation: the attacked copy of a SpikingNet kept by
    an earlier call is compared with the model again, not vouched for, and a weight replaced
    since is attacked."""
    net = digits_net().eval()
    attack(net)
    conv = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    conv.weight = nn.Parameter(-conv.weight.detach())
    unkeyed = attack(net, eps=torch.tensor(16.0))
    PREPARED.clear()
    assert torch.equal(unkeyed, attack(copy.deepcopy(net), eps=torch.tensor(16.0)))


def test_the_kept_copys_tensors_are_the_models_in_tree_order_but_learned_neurons() -> None:
    """The tensors copied into the kept attacked copy at each call, read in one walk of the
    tree: ``parameters()`` then ``buffers()``, each once (a tied weight too), without the
    learned neuron parameters that the preparation compares by value."""
    x, _ = batch()
    net = snnattack.interop.adapt(spikingjelly_plif(), T=T, example=x)
    net.tied = nn.Linear(4, 4)
    net.again = nn.Linear(4, 4)
    net.again.weight = net.tied.weight
    net.again.register_buffer("absent", None)
    learned = {id(p) for m in net.modules() if isinstance(m, Learned) for p in m.parameters()}
    expected = [t for t in (*net.parameters(), *net.buffers()) if id(t) not in learned]
    assert learned and len(expected) < len(list(net.parameters())) + len(list(net.buffers()))
    assert list(map(id, attacked._tensors(net))) == list(map(id, expected))


def weightless(learned: bool) -> nn.Module:
    """A multi-step spikingjelly network with no tensor to copy into the kept attacked copy:
    pooling and IF neurons, or a parametric LIF whose learned decay, compared by value, is
    its only parameter (``learned``)."""
    from spikingjelly.activation_based import layer, neuron

    node = neuron.ParametricLIFNode(v_threshold=0.1) if learned else neuron.IFNode(v_threshold=0.1)
    net = nn.Sequential(layer.AvgPool2d(2), layer.Flatten(), node)
    functional.set_step_mode(net, "m")
    return net.eval()


@pytest.mark.parametrize("learned", [False, True], ids=["no_tensors", "learned_decay_only"])
def test_a_network_with_no_tensor_to_copy_is_attacked_again(preparations, learned: bool) -> None:
    """The kept copy's tensors are copied from the model in one multi-tensor copy, which
    torch refuses on empty lists ("Tensor list must have at least one tensor"): a network
    with nothing to copy raised at every call, the first included."""
    net = weightless(learned)
    first = attack(net)
    assert torch.equal(attack(net), first)
    assert preparations == ["_prepare_attack"]
    assert torch.equal(first, attack(copy.deepcopy(net)))  # a fresh model's examples
