"""snnTorch's tutorial class adapted as its user calls it (snnattack.interop.loops): its own
loop over the steps with ``init_hidden=False`` and an explicit ``mem``, recording the spikes;
snnTorch's own outputs (spikes and membranes), its fast-sigmoid gradient under ``stbp``, every
per-step gradient mode equal to the per-step nn.Sequential's, and snnattack.evaluate on it.
snnTorch 1.0.0, float32 as snnTorch computes its spikes."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch
from interop_oracle import MODES, T, images, relative, weighted_backward
from torch import nn

import snnattack
from snnattack.errors import UserError
from snnattack.gradients import GRADIENT_MODES, gradient_mode
from snnattack.interop import adapt
from snnattack.interop.prepared import state_of
from snnattack.models.base import Normalize
from snnattack.snn.stepwise import step_neurons

snn = pytest.importorskip("snntorch")
from snntorch import spikegen, surrogate, utils  # noqa: E402

PER_STEP = [(m, p) for m, p in MODES if GRADIENT_MODES[m].per_step]
BETA = 0.95  # the tutorials' decay


class Net(nn.Module):
    """snnTorch's tutorial network (tutorial 5), digits-sized: explicit membranes, the loop in
    ``forward``, the spikes and membranes of the last layer recorded per step."""

    def __init__(self, init_hidden: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        spike_grad = surrogate.fast_sigmoid(slope=25)
        self.init_hidden = init_hidden
        self.fc1 = nn.Linear(64, 32)
        self.lif1 = snn.Leaky(beta=BETA, spike_grad=spike_grad, init_hidden=init_hidden)
        self.fc2 = nn.Linear(32, 10)
        self.lif2 = snn.Leaky(
            beta=BETA, spike_grad=spike_grad, init_hidden=init_hidden, output=True
        )
        with torch.no_grad():  # every layer spikes, and not always
            self.fc1.weight.mul_(6.0)
            self.fc2.weight.mul_(4.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.init_hidden:  # the state inside the neurons, reset by the caller
            return self.hidden_loop(x)
        mem1 = self.lif1.init_leaky()
        mem2 = self.lif2.init_leaky()
        spk2_rec, mem2_rec = [], []
        for _step in range(T):
            cur1 = self.fc1(x.flatten(1))
            spk1, mem1 = self.lif1(cur1, mem1)
            cur2 = self.fc2(spk1)
            spk2, mem2 = self.lif2(cur2, mem2)
            spk2_rec.append(spk2)
            mem2_rec.append(mem2)
        return torch.stack(spk2_rec, dim=0), torch.stack(mem2_rec, dim=0)

    def hidden_loop(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spk_rec, mem_rec = [], []
        for _step in range(T):
            spk, mem = self.lif2(self.fc2(self.lif1(self.fc1(x.flatten(1)))))
            spk_rec.append(spk)
            mem_rec.append(mem)
        return torch.stack(spk_rec), torch.stack(mem_rec)


def theirs(net: Net, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """snnTorch's own run, its hidden states reset first as its tutorials do."""
    utils.reset(net)
    return net(x)


def step_sequence(net: Net) -> nn.Sequential:
    """The same layers as the nn.Sequential of one step (the multi-step body form)."""
    return nn.Sequential(
        nn.Flatten(),
        net.fc1,
        snn.Leaky(beta=BETA, init_hidden=True),
        net.fc2,
        snn.Leaky(beta=BETA, init_hidden=True),
    )


def gradient(model: nn.Module, mode: str, params: dict) -> torch.Tensor:
    x = images().float().requires_grad_(True)
    with gradient_mode(model, mode, **params):
        weighted_backward(model(x))
    return x.grad


@pytest.mark.parametrize("init_hidden", [False, True])
def test_the_tutorial_class_gives_snntorch_own_spikes_and_membranes(init_hidden: bool) -> None:
    net = Net(init_hidden)
    adapted = adapt(net, T=T).eval()
    x = images().float()
    with torch.no_grad():
        spk, mem = theirs(net, x)
        assert 0.05 < spk.mean() < 0.95
        assert torch.equal(adapted(x), spk.mean(0))
        for neuron in step_neurons(adapted.body):
            neuron.restart()
        our_spk, our_mem = adapted.body(x)
    assert torch.equal(our_spk, spk)
    torch.testing.assert_close(our_mem, mem, rtol=1e-6, atol=1e-6)


class KeywordNet(Net):
    """The tutorial class calling its neurons by snnTorch's argument names."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mem1, mem2 = self.lif1.reset_mem(), self.lif2.reset_mem()
        spk_rec, mem_rec = [], []
        for _step in range(T):
            spk1, mem1 = self.lif1(input_=self.fc1(x.flatten(1)), mem=mem1)
            spk2, mem2 = self.lif2(input_=self.fc2(spk1), mem=mem2)
            spk_rec.append(spk2)
            mem_rec.append(mem2)
        return torch.stack(spk_rec), torch.stack(mem_rec)


def test_a_leaky_called_by_snntorchs_argument_names_runs_as_snntorch() -> None:
    """``lif(input_=cur, mem=mem)``, snnTorch's own signature, runs on the adapted neuron;
    before, the adapted ``Leaky`` named its input ``x`` and such a network was refused at
    its first forward ("unexpected keyword argument 'input_'")."""
    net, x = KeywordNet().eval(), images().float()
    with torch.no_grad():
        spk, _ = theirs(net, x)
        assert torch.equal(adapt(net, T=T).eval()(x), spk.mean(0))


class ResetHiddenNet(Net):
    """The hidden-state tutorial class resetting its neurons with ``reset_hidden()``: before
    its loop, or (``between=True``) after each step, which snnTorch's zeroing of every
    ``Leaky`` mid-simulation makes another network."""

    def __init__(self, between: bool = False) -> None:
        super().__init__(init_hidden=True)
        self.between = between

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.lif1.reset_hidden()
        self.lif2.reset_hidden()
        spk_rec, mem_rec = [], []
        for _step in range(T):
            spk, mem = self.lif2(self.fc2(self.lif1(self.fc1(x.flatten(1)))))
            if self.between:
                self.lif1.reset_hidden()
            spk_rec.append(spk)
            mem_rec.append(mem)
        return torch.stack(spk_rec), torch.stack(mem_rec)


def test_reset_hidden_before_the_loop_runs_as_snntorch_and_between_steps_is_refused() -> None:
    """A ``Leaky``'s ``reset_hidden()`` before the loop starts it as snnTorch does (each
    forward starts from zero membranes); between steps it is refused in one line. Before,
    both were refused as a read of the neuron's state ("has no attribute 'reset_hidden'")."""
    net, x = ResetHiddenNet().eval(), images().float()
    with torch.no_grad():
        spk, _ = theirs(net, x)
        assert torch.equal(adapt(net, T=T).eval()(x), spk.mean(0))
    with pytest.raises(UserError, match="^interop: a Leaky's reset_hidden.*before the loop") as e:
        snnattack.attack(ResetHiddenNet(between=True).eval(), x, torch.arange(6), "fgsm", T=T)
    assert "\n" not in str(e.value)


class DetachNet(Net):
    """The tutorial class with truncated BPTT: ``lif2.detach_hidden()`` after step ``cut``
    (snnTorch's classmethod, which detaches every ``Leaky``'s membrane in place), its logits
    the records of the last membrane (one of them detached in place by that call); float64."""

    def __init__(self, cut: int | None = 1, **leaky) -> None:
        super().__init__()
        spike_grad = surrogate.atan(alpha=2.0)
        self.lif1 = snn.Leaky(beta=BETA, spike_grad=spike_grad, **leaky)
        self.lif2 = snn.Leaky(beta=BETA, spike_grad=spike_grad, output=True, **leaky)
        self.cut = cut
        self.double()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mem1, mem2 = self.lif1.reset_mem(), self.lif2.reset_mem()
        spk_rec, mem_rec = [], []
        for step in range(T):
            spk1, mem1 = self.lif1(self.fc1(x.flatten(1)), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            spk_rec.append(spk2)
            mem_rec.append(mem2)
            if step == self.cut:
                self.lif2.detach_hidden()
        return torch.stack(mem_rec), torch.stack(spk_rec)


class ATan64(surrogate.ATan):
    """snnTorch's arctan surrogate (its backward) with its spikes in the membrane's dtype:
    snnTorch's are float32, which a float64 network cannot take."""

    @staticmethod
    def forward(ctx, input_: torch.Tensor, alpha: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(input_)
        ctx.alpha = alpha
        return (input_ > 0).to(input_.dtype)


def atan64(v: torch.Tensor) -> torch.Tensor:
    """``surrogate.atan(alpha=2.0)`` with float64 spikes (:class:`ATan64`)."""
    return ATan64.apply(v, 2.0)


DETACHED = {
    "subtract": {},
    "zero": {"reset_mechanism": "zero"},
    "zero-undelayed": {"reset_mechanism": "zero", "reset_delay": False},
    "learned": {"learn_beta": True, "learn_threshold": True},
}


def test_an_adapted_loop_is_the_same_model_after_a_forward() -> None:
    """Each adapted ``Leaky`` holds its network's others (``group``, which ``detach_hidden``
    detaches): they are the network's own modules, so a forward leaves its state as it was
    and a repeated ``snnattack.attack`` on it reuses its preparation (the list was taken for
    an unregistered module: prepared afresh at every call)."""
    net = adapt(Net(), T=T)
    before = state_of(net)
    net(images().float())
    assert state_of(net) == before


@pytest.mark.parametrize("name", sorted(DETACHED))
def test_detach_hidden_in_the_loop_cuts_the_gradient_as_snntorch(name: str) -> None:
    """``lif.detach_hidden()`` inside the user's loop detaches, as snnTorch does, every
    adapted ``Leaky``'s membrane: the input gradient (and a learned beta's and threshold's)
    are snnTorch's own, in float64; before, the network was refused as a read-out of the
    neuron's state ("has no attribute 'detach_hidden'")."""
    net, reference = DetachNet(**DETACHED[name]).train(), DetachNet(**DETACHED[name]).train()
    for lif in (reference.lif1, reference.lif2):
        lif.spike_grad = atan64
    x, mine = images().requires_grad_(True), images().requires_grad_(True)
    weighted_backward(theirs(reference, x)[0].mean(0))
    adapted = adapt(net, T=T)
    weighted_backward(adapted(mine))
    uncut = images().requires_grad_(True)
    weighted_backward(adapt(DetachNet(cut=None, **DETACHED[name]), T=T)(uncut))
    assert relative(uncut.grad, x.grad) > 1e-3  # the cut changes the gradient
    assert relative(mine.grad, x.grad) <= 1e-10
    learned = {n: p for n, p in adapted.named_parameters() if ".learned." in n}
    assert len(learned) == (4 if name == "learned" else 0)
    for path, p in learned.items():
        lif, n = path.split(".")[1], path.split(".")[-1]
        assert relative(p.grad, getattr(getattr(reference, lif), n).grad) <= 1e-10, path


def test_reset_mem_within_the_loop_is_refused_in_one_line() -> None:
    """``mem = lif.reset_mem()`` after the first step zeroes that ``Leaky``'s membrane in
    snnTorch; the adapted neuron, which does not read the ``mem`` passed to it, ran on
    from its own membrane without a word. It is refused in one line."""

    class Restarting(Net):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mem1, mem2 = self.lif1.reset_mem(), self.lif2.reset_mem()
            spk_rec = []
            for _step in range(T):
                spk1, mem1 = self.lif1(self.fc1(x.flatten(1)), mem1)
                spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
                mem1 = self.lif1.reset_mem()
                spk_rec.append(spk2)
            return torch.stack(spk_rec)

    adapted = adapt(Restarting().eval(), T=T)
    with pytest.raises(UserError, match=r"^interop: a Leaky's reset_mem\(\).*before the") as e:
        adapted(images().float())
    assert "\n" not in str(e.value)


class SharedLeaky(nn.Module):
    """One ``Leaky`` for two layers, each passing a membrane of its own: valid snnTorch (the
    state is passed in), which the adapted neuron, keeping one membrane, cannot run."""

    def __init__(self, width: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc1, self.fc2 = nn.Linear(64, 32), nn.Linear(32, width)
        self.out = nn.Linear(width, 10)
        self.lif = snn.Leaky(beta=BETA)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mem1, mem2 = self.lif.init_leaky(), self.lif.init_leaky()
        rec = []
        for _step in range(T):
            spk1, mem1 = self.lif(self.fc1(x.flatten(1)), mem1)
            spk2, mem2 = self.lif(self.fc2(spk1), mem2)
            rec.append(self.out(spk2))
        return torch.stack(rec).mean(0)


@pytest.mark.parametrize("width", [32, 10])
def test_one_leaky_for_two_layers_with_membranes_of_their_own_is_refused(width: int) -> None:
    """Equal widths ran as one membrane over twice the steps (refused at T=4 for 8 steps, and
    at T=8 attacked another network without a word); unequal ones raised torch's size error
    in the user's name."""
    net, x = SharedLeaky(width).eval(), images().float()
    assert net(x).shape == (6, 10)  # snnTorch runs it
    for steps in (T, 2 * T):
        with pytest.raises(UserError) as err:
            snnattack.attack(net, x, torch.arange(6), method="fgsm", eps=8, T=steps)
        assert str(err.value).startswith(
            "interop: the network's loop passes the Leaky lif another mem than the one it "
            "returned at its last step"
        )


def test_one_hidden_leaky_for_layers_of_two_sizes_is_refused_in_one_line() -> None:
    """snnTorch runs one ``init_hidden`` Leaky for layers of two sizes; the adapted neuron's
    one membrane raised torch's size error, bare under ``gradient_mode``."""

    class Hidden(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(64, 32), nn.Linear(32, 10)
            self.lif = snn.Leaky(beta=BETA, init_hidden=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.stack(
                [self.lif(self.fc2(self.lif(self.fc1(x.flatten(1))))) for _step in range(T)]
            )

    net, x = Hidden().eval(), images().float()
    with pytest.raises(UserError, match=r"got inputs \[6, 10\] after \[6, 32\] in one forward"):
        with snnattack.gradient_mode(net, "stbp", T=T) as adapted:
            adapted(x)


def test_default_stbp_gives_snntorch_own_fast_sigmoid_gradient() -> None:
    net = Net()
    x = images().float().requires_grad_(True)
    spk, _ = theirs(net, x)
    weighted_backward(spk.mean(0))
    ours = gradient(adapt(net, T=T).eval(), "stbp", {})  # its neurons' own fast sigmoid
    assert x.grad.abs().sum() > 0
    # float32 rounding, which the fast sigmoid's steep slope magnifies: measured 1.1e-5
    assert relative(ours, x.grad) <= 3e-5


@pytest.mark.parametrize("mode,params", PER_STEP, ids=[f"{m}-{p}" for m, p in PER_STEP])
def test_every_per_step_mode_equals_the_step_sequence(mode: str, params: dict) -> None:
    net = Net()
    ours = gradient(adapt(net, T=T).eval(), mode, params)
    reference = gradient(adapt(step_sequence(net), T=T).eval(), mode, params)
    assert reference.abs().sum() > 0
    assert relative(ours, reference) <= 1e-6


def test_the_whole_loop_modes_are_refused_in_one_line() -> None:
    with pytest.raises(UserError) as err:
        gradient(adapt(Net(), T=T).eval(), "hart", {})
    message = str(err.value)
    assert "\n" not in message and "'hart'" in message and "nn.Sequential" in message


def test_two_networks_keep_separate_membranes() -> None:
    target, source = adapt(Net(), T=T).eval(), adapt(Net(True), T=T).eval()
    x = images().float()
    with torch.no_grad():
        alone = target(x)
        source(x[:2])
        assert torch.equal(target(x), alone)


class KeptStateNet(Net):
    """The tutorial's loop keeping its membranes as attributes (``self.mem1``), as users who
    read them after the forward write it: tensors of the forward's graph on the module."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.mem1, self.mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        spk2_rec, mem2_rec = [], []
        for _step in range(T):
            spk1, self.mem1 = self.lif1(self.fc1(x.flatten(1)), self.mem1)
            spk2, self.mem2 = self.lif2(self.fc2(spk1), self.mem2)
            spk2_rec.append(spk2)
            mem2_rec.append(self.mem2)
        return torch.stack(spk2_rec, dim=0), torch.stack(mem2_rec, dim=0)


class KeptRecordsNet(Net):
    """The tutorial's loop keeping its hidden spikes in a list attribute, as a spike-count
    regulariser of the training loss reads them: tensors of the forward's graph in a list."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        self.hidden = {"spikes": []}
        spk2_rec, mem2_rec = [], []
        for _step in range(T):
            spk1, mem1 = self.lif1(self.fc1(x.flatten(1)), mem1)
            self.hidden["spikes"].append(spk1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            spk2_rec.append(spk2)
            mem2_rec.append(mem2)
        return torch.stack(spk2_rec, dim=0), torch.stack(mem2_rec, dim=0)


@pytest.mark.parametrize("kind", [KeptStateNet, KeptRecordsNet], ids=["attributes", "a list"])
@pytest.mark.parametrize("forwarded", [False, True], ids=["fresh", "after its own forward"])
def test_a_loop_keeping_its_membranes_as_attributes_is_attacked_as_the_tutorial_class(
    forwarded: bool, kind: type[Net]
) -> None:
    """Its copies failed with torch's bare "Only Tensors created explicitly by the user
    (graph leaves) support the deepcopy protocol" (the adapted copy's forward had stored
    them, in attributes or in a dict of lists): the same examples and rows as the class that
    keeps them local."""
    torch.manual_seed(0)
    x, y = torch.rand(4, 1, 8, 8), torch.arange(4)
    kept, tutorial = kind(), Net()
    if forwarded:
        kept(x)  # its attributes now hold tensors of that forward's graph
    args = {"eps": 48, "T": T, "steps": 2}  # half of the clean-correct samples fooled
    theirs_adv = snnattack.attack(tutorial, x, y, "pgd", **args)
    assert torch.equal(snnattack.attack(kept, x, y, "pgd", **args), theirs_adv)
    assert torch.equal(snnattack.attack(kept, x, y, "pgd", **args), theirs_adv)  # kept copies
    rows = [
        snnattack.evaluate(
            net, (x, y), eps=48, methods="pgd", T=T, overrides=["method.pgd.steps=2"]
        ).results[0]
        for net in (kept, tutorial)
    ]
    assert rows[0].asr > 0 and rows[0] == replace(rows[1], source_model=kind.__name__)


def test_the_tutorial_class_is_evaluated_with_its_own_fast_sigmoid() -> None:
    torch.manual_seed(0)
    x, y = torch.rand(4, 1, 8, 8), torch.arange(4)
    record = snnattack.evaluate(
        Net(),
        (x, y),
        eps=8,
        methods="pgd",
        T=T,
        masking=False,
        overrides=["method.pgd.steps=2"],
    )
    (row,) = record.results
    assert row.grad_mode == "stbp" and 0.0 <= row.adv_acc <= record.clean_acc
    neurons = record.models["target"]["neurons"]
    assert {n["surrogate"] for n in neurons} == {"fast_sigmoid(alpha=25.0)"}
    assert record.config["attack"]["params"]["surrogate"] is None  # each neuron's own


def test_an_ensemble_with_whole_loop_modes_is_refused_before_any_work() -> None:
    x, y = torch.rand(4, 1, 8, 8), torch.arange(4)
    val = torch.rand(4, 1, 8, 8), torch.arange(4)
    with pytest.raises(UserError) as err:
        snnattack.evaluate(Net(), (x, y), eps=8, methods="ensemble", T=T, val_data=val)
    assert "\n" not in str(err.value) and "'rga'" in str(err.value)


def test_the_tutorial_class_after_a_normalisation_in_a_sequential_runs_its_own_loop() -> None:
    """``nn.Sequential(normalize, net)`` holds a class with its own loop: it runs as one, the
    examples those of ``adapt(net, normalize=...)``; before, the sequence was taken for the
    layers of one step and its normalisation refused as "not a per-step torch layer"."""
    net, x, y = Net().eval(), images().float(), torch.arange(6) % 10
    normalize = Normalize([0.5], [0.25])
    given = snnattack.attack(nn.Sequential(normalize, net), x, y, "pgd", eps=16, T=T, steps=2)
    adapted = adapt(net, T=T, normalize=normalize)
    assert torch.equal(given, snnattack.attack(adapted, x, y, "pgd", eps=16, steps=2))


def test_the_tutorial_class_trains_a_learned_beta_and_threshold_as_snntorch() -> None:
    """The tutorial class with Leaky(learn_beta=True, learn_threshold=True), trained through
    its adapted copy (one step per call, StepLIF): snnTorch's own gradients of beta and
    threshold, and an optimiser's step over the copy's parameters trains the user's."""
    nets = []
    for _ in range(2):
        net = Net().train()
        spike_grad = surrogate.fast_sigmoid(slope=25)
        learn = dict(learn_beta=True, learn_threshold=True, spike_grad=spike_grad)
        net.lif1 = snn.Leaky(beta=BETA, **learn)
        net.lif2 = snn.Leaky(beta=BETA, output=True, **learn)
        nets.append(net)
    net, reference = nets
    x, y = images().float(), torch.arange(6) % 10
    nn.functional.cross_entropy(theirs(reference, x)[0].mean(0), y).backward()
    adapted = adapt(net, T=T)
    nn.functional.cross_entropy(adapted(x), y).backward()
    ours = {n: p for n, p in adapted.named_parameters() if ".learned." in n}
    assert sorted(ours) == [
        f"body.{lif}.lif.learned.{n}" for lif in ("lif1", "lif2") for n in ("beta", "threshold")
    ]
    for name, p in ours.items():
        lif, n = name.split(".")[1], name.split(".")[-1]
        expected = getattr(getattr(reference, lif), n).grad
        # float32: a sum over the batch and steps of terms rounded in another order (the
        # subtract reset as beta (mem - theta / beta s)): measured 2e-4
        assert expected.abs() > 0 and relative(p.grad, expected) <= 1e-3, name
    torch.optim.SGD(adapted.parameters(), lr=1.0).step()
    assert net.lif1.beta != reference.lif1.beta
    with torch.no_grad():
        assert torch.equal(adapted.eval()(x), theirs(net.eval(), x)[0].mean(0))


class RateCoded(Net):
    """The tutorial network rate-coding its images in ``forward`` (snnTorch's tutorial 1:
    ``spikegen.rate``): a Bernoulli draw, through which no gradient reaches the images."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spikes = spikegen.rate(x, num_steps=T)
        mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        spk2_rec = []
        for step in range(T):
            spk1, mem1 = self.lif1(self.fc1(spikes[step].flatten(1)), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            spk2_rec.append(spk2)
        return torch.stack(spk2_rec), mem2


def test_a_network_through_which_no_gradient_reaches_the_images_is_warned_of(caplog) -> None:
    """``snnattack.attack`` on it returned the clean images (FGSM; PGD its random start)
    without a word: the graph reached the images, its gradient was zero."""
    x, y = images().float(), torch.tensor([0, 1, 2, 3, 4, 5])
    with caplog.at_level("WARNING", logger="snnattack.inputs"):
        adv = snnattack.attack(RateCoded(), x, y, method="fgsm", T=T)
    assert torch.equal(adv, x)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "snnattack.inputs"]
    assert line.startswith(
        "model=RateCoded: its output's gradient in the image is exactly zero on one image of x"
    )
    caplog.clear()
    with caplog.at_level("WARNING", logger="snnattack.inputs"):
        snnattack.attack(Net(), x, y, method="fgsm", T=T)
    assert not [r for r in caplog.records if r.name == "snnattack.inputs"]


class SamplesFirstNet(Net):
    """The tutorial class stacking its records on the samples' axis: ``[B, T, K]``."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spk, mem = super().forward(x)
        return spk.transpose(0, 1), mem.transpose(0, 1)


@pytest.mark.parametrize(
    "batch", [T, 3, 1], ids=["as many samples as steps", "other samples", "one sample"]
)
def test_an_output_of_the_samples_first_is_refused_at_the_first_forward(batch: int) -> None:
    """The mean over the first axis read ``[B, T, K]``'s samples as its steps: logits of the
    mean over the samples, a silently wrong gradient where B == T (a wrong shape else)."""
    x = images().float()[:batch]
    with pytest.raises(UserError, match=r"loop, returns \[\d, \d, 10\], the samples first"):
        with snnattack.gradient_mode(SamplesFirstNet(), "stbp", T=T) as model:
            model(x)
    decoded = adapt(SamplesFirstNet(), T=T, decode=lambda out: out.mean(1)).eval()
    with torch.no_grad():  # the accepted form: the logits of the time-first network
        assert torch.equal(decoded(x), adapt(Net(), T=T).eval()(x))


def test_a_time_first_output_of_as_many_samples_as_steps_is_run_as_before() -> None:
    """Its check (one forward on a sample more) leaves the logits, the random state, the
    modules' modes and the gradient as they were."""
    net, x = Net().train(), images().float()[:T]
    adapted = adapt(net, T=T)
    state = torch.random.get_rng_state()
    with snnattack.gradient_mode(adapted, "stbp") as model:
        logits = model(x.requires_grad_(True))
        assert torch.equal(torch.random.get_rng_state(), state)
        weighted_backward(logits)
    assert all(m.training for m in adapted.modules())
    with torch.no_grad():
        assert torch.equal(logits, theirs(net, x)[0].mean(0))
    again = x.detach().clone().requires_grad_(True)  # checked now: no second forward
    with snnattack.gradient_mode(adapted, "stbp") as model:
        weighted_backward(model(again))
    assert torch.equal(x.grad, again.grad)


class ModeNet(Net):
    """The tutorial class with a BatchNorm, returning its records ``[T, B, K]`` while training
    (a per-step loss) and their mean in eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mem1, mem2, rec = self.lif1.init_leaky(), self.lif2.init_leaky(), []
        for _step in range(T):
            spk1, mem1 = self.lif1(self.bn(self.fc1(x.flatten(1))), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            rec.append(spk2)
        out = torch.stack(rec)
        return out if self.training else out.mean(0)


def test_the_check_of_as_many_samples_as_steps_runs_in_the_networks_own_mode() -> None:
    """Run in eval mode, the check read this network's ``[B + 1, K]`` there as the samples
    first and refused it while training; its BatchNorm statistics are those of one forward."""
    net, x = ModeNet().train(), images().float()[:T]
    reference = copy.deepcopy(net)
    with torch.no_grad():
        once = theirs(reference, x)
    with snnattack.gradient_mode(adapt(net, T=T, own_loop=True), "stbp") as model:
        logits = model(x)
        (bn,) = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    assert torch.equal(logits, once.mean(0))
    for name, buffer in reference.bn.named_buffers():  # T calls of one forward
        assert torch.equal(getattr(bn, name), buffer), name
