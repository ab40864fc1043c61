"""A network's backend (``snnattack.snn.backend``): set per model, each model runs its own
paths in one process, and the torch backend gives the C backend's values bit for bit."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from snnattack.analysis.cost import attack_step, calibrate_batchnorm, train_step
from snnattack.cpu import native
from snnattack.models import build
from snnattack.models.fold import folded
from snnattack.snn.backend import backend_modules, set_backend
from snnattack.snn.neurons import LIF
from snnattack.snn.temporal import StepWise

needs_cc = pytest.mark.skipif(
    native.c_compiler() is None, reason="no C compiler on this machine ($CC or cc)"
)


def digits(name: str = "digits_net", backend: str = "c") -> nn.Module:
    torch.manual_seed(0)
    return build(name, 10, in_channels=1, T=4, lam=0.9, backend=backend)


def nodes(out: torch.Tensor) -> list[str]:
    """The type names of the autograd nodes behind ``out``."""
    names, stack, seen = [], [out.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is not None and node not in seen:
            seen.add(node)
            names.append(type(node).__name__)
            stack += [n for n, _ in node.next_functions]
    return names


def test_the_builder_sets_the_backend_of_every_lif_and_per_step_layer() -> None:
    model = digits(backend="torch")
    carriers = backend_modules(model)
    assert {type(m) for m in carriers} == {LIF, StepWise}
    assert len(carriers) == sum(isinstance(m, (LIF, StepWise)) for m in model.modules())
    assert {m.backend for m in carriers} == {"torch"}
    assert {m.backend for m in backend_modules(digits())} == {"c"}  # the default
    assert set_backend(model, "c") is model
    assert {m.backend for m in carriers} == {"c"}


def test_copies_keep_the_backend_and_the_weights_do_not_hold_it() -> None:
    model = set_backend(digits().eval(), "torch")
    for copied in (copy.deepcopy(model), folded(model)):
        assert {m.backend for m in backend_modules(copied)} == {"torch"}
    assert not any("backend" in key for key in model.state_dict())


def test_an_unknown_backend_is_refused_when_built_set_or_assigned_later() -> None:
    """As spikingjelly's ``backend`` setter: a later ``m.backend = "cuda"`` is refused too,
    instead of silently running the torch ops; the module keeps its backend."""
    model = digits()
    with pytest.raises(ValueError, match=r"backend must be one of \('c', 'torch', 'triton'\)"):
        set_backend(model, "cuda")
    with pytest.raises(ValueError, match="backend must be one of"):
        LIF(backend="cuda")
    with pytest.raises(ValueError, match="backend must be one of"):
        StepWise(nn.Identity(), backend="cuda")
    for module in backend_modules(model):
        refused = r"backend must be one of \('c', 'torch', 'triton'\), got 'x'"
        with pytest.raises(ValueError, match=refused):
            module.backend = "x"
        assert module.backend == "c"
        module.backend = "torch"  # an accepted value is set as before
    assert {m.backend for m in backend_modules(model)} == {"torch"}


@needs_cc
def test_two_models_in_one_process_each_run_their_own_backend(monkeypatch) -> None:
    """A C model and a torch model, called in turn: the C model's LIFs run the kernel,
    recompute their BNs and pool in one pass, an attack's convolutions keep nothing; the
    torch model's run the torch ops and modules, whichever ran before."""
    calls = []
    real = native.forward
    monkeypatch.setattr(native, "forward", lambda *a: calls.append(1) or real(*a))
    models = {"c": digits(backend="c").train(), "torch": digits(backend="torch").train()}
    x = torch.rand(4, 1, 8, 8)
    for backend in ("c", "torch", "c", "torch"):
        calls.clear()
        names = nodes(models[backend](x))
        c = backend == "c"
        assert bool(calls) == c
        assert ("BatchNormLIFBackward" in names) == c
        assert ("MultiStepLIFBackward" in names) != c
        assert ("TiledAvgPoolBackward" in names) == c
        assert ("AvgPool2DBackward0" in names) != c
    for backend, model in models.items():
        model.eval().requires_grad_(False)
        names = nodes(model(x.clone().requires_grad_(True)))
        assert ("FrozenConvolutionBackward" in names) == (backend == "c")
        assert ("FrozenBatchNormBackward" in names) == (backend == "c")


@pytest.mark.parametrize("name", ["digits_net", "digits_resnet"])
def test_the_torch_backend_gives_the_same_outputs_and_gradients_bit_for_bit(name: str) -> None:
    """Training gradients of every parameter, attack input gradients of STBP, RGA and HART,
    and the logits: equal on either backend."""
    c = digits(name).eval()
    x, y = torch.rand(8, 1, 8, 8), torch.randint(0, 10, (8,))
    calibrate_batchnorm(c, x)
    ops = set_backend(copy.deepcopy(c), "torch")
    with torch.no_grad():
        assert torch.equal(c(x), ops(x))
    for ours, theirs in zip(train_step(c, x, y), train_step(ops, x, y), strict=True):
        assert torch.equal(ours, theirs)
    c.requires_grad_(False)
    ops.requires_grad_(False)
    for mode in ("stbp", "rga", "hart"):
        ours = attack_step(c, x, y, mode)
        assert ours.abs().sum() > 0 and torch.equal(ours, attack_step(ops, x, y, mode)), mode
