"""The fused multi-step LIF against the unrolled loop: same spikes, same input and parameter
gradients bit for bit, for both resets, λ, θ, every surrogate and every backward setting;
each test with the loops in the C kernel and on torch ops."""

import contextlib

import pytest
import torch
from torch import nn

from snnattack.gradients import GRADIENT_MODES, gradient_mode
from snnattack.snn.neurons import IMPLS, LIF
from snnattack.snn.surrogates import make_surrogate
from snnattack.training.parse import model_settings

pytestmark = pytest.mark.usefixtures("lif_loops")  # the C kernel's loops, and the torch ops'


def net(impl: str, dtype: torch.dtype, **lif: object) -> nn.Module:
    torch.manual_seed(0)
    layers = nn.Sequential(nn.Linear(5, 9), LIF(impl=impl, **lif), nn.Linear(9, 3))
    return layers.to(dtype)


def gradients(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    x = x.clone().requires_grad_(True)
    out = model(x)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    (out * weights).sum().backward()
    return (out.detach(), x.grad, *(p.grad for p in model.parameters()))


def currents(dtype: torch.dtype) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.rand(7, 4, 5, dtype=dtype) * 2 - 0.3  # [T, B, features]


@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("lam,theta", [(1.0, 1.0), (0.7, 0.6)])
@pytest.mark.parametrize("surrogate", ["triangle", "rectangle", "sigmoid", "atan"])
@pytest.mark.parametrize("setting", ["none", "detach_reset", "detach_membrane"])
def test_fused_equals_unrolled_bit_for_bit_in_float64(reset, lam, theta, surrogate, setting):
    lif = dict(lam=lam, theta=theta, reset=reset, surrogate=make_surrogate(surrogate))
    if setting != "none":
        lif[setting] = True
    fused = gradients(net("fused", torch.float64, **lif), currents(torch.float64))
    unrolled = gradients(net("unrolled", torch.float64, **lif), currents(torch.float64))
    assert fused[1].abs().sum() > 0
    for a, b in zip(fused, unrolled, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("reset", ["hard", "soft"])
def test_fused_equals_unrolled_bit_for_bit_in_float32(reset: str) -> None:
    fused = gradients(net("fused", torch.float32, lam=0.9, reset=reset), currents(torch.float32))
    plain = gradients(net("unrolled", torch.float32, lam=0.9, reset=reset), currents(torch.float32))
    for a, b in zip(fused, plain, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("setting", ["none", "detach_reset"])
def test_a_soft_reset_by_another_amount_is_fused_as_unrolled_and_drops_that_amount(setting):
    lif = dict(lam=0.8, theta=0.6, reset="soft", reset_by=0.75, detach_reset=setting != "none")
    fused = gradients(net("fused", torch.float64, **lif), currents(torch.float64))
    unrolled = gradients(net("unrolled", torch.float64, **lif), currents(torch.float64))
    assert fused[1].abs().sum() > 0
    for a, b in zip(fused, unrolled, strict=True):
        assert torch.equal(a, b)
    one = LIF(lam=0.8, theta=0.6, reset="soft", reset_by=0.75)
    spikes = one(torch.tensor([[0.7], [0.0]], dtype=torch.float64))  # fires, then 0.8 * -0.05
    assert spikes.tolist() == [[1.0], [0.0]]
    assert one.reset_membrane(torch.tensor(0.7), torch.tensor(1.0)).item() == pytest.approx(-0.05)


@pytest.mark.parametrize("mode", sorted(GRADIENT_MODES))
def test_every_gradient_mode_gives_the_same_gradient_on_either_impl(mode: str) -> None:
    grads = {}
    for impl in ("fused", "unrolled"):
        model = net(impl, torch.float64, lam=0.8, reset="soft").eval()
        x = currents(torch.float64).clone().requires_grad_(True)
        with gradient_mode(model, mode):
            model(x).sum().backward()
        grads[impl] = x.grad
    assert grads["fused"].abs().sum() > 0
    assert torch.equal(grads["fused"], grads["unrolled"])


def infinite_currents(dtype: torch.dtype, huge: float | None = None) -> torch.Tensor:
    """:func:`currents` with a current of -inf into two neurons at step 2, one of +inf into
    two at step 3, and two into a fifth whose sum overflows to -inf at step 2; ``huge``:
    -huge and +huge in place of the infinities."""
    x = currents(dtype)
    inf = float("inf") if huge is None else huge
    x[2, 0, :2], x[3, 1, :2] = -inf, inf
    x[1:3, 2, 0] = -0.9 * torch.finfo(dtype).max
    return x


def reading(impl: str, dtype: torch.dtype, **lif: object) -> nn.Module:
    """A LIF fed the currents as they are (no layer before it to mix an infinity into NaN),
    then a linear read-out."""
    torch.manual_seed(0)
    return nn.Sequential(LIF(impl=impl, **lif), nn.Linear(5, 3)).to(dtype)


HUGE = {torch.float64: 1e300, torch.float32: 1e30}  # finite; every surrogate's slope is 0 there


@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("lam", [0.5, 1.0])
@pytest.mark.parametrize("surrogate", ["triangle", "rectangle", "sigmoid", "atan", "fast_sigmoid"])
@pytest.mark.parametrize("setting", ["none", "detach_reset", "detach_membrane"])
def test_an_infinite_membrane_is_the_limit_of_huge_ones_fused_as_unrolled(
    reset, lam, surrogate, setting
) -> None:
    """A membrane at -inf (an input of -inf, or a sum that overflows) stays there without
    firing, one at +inf fires and is reset: the spikes and gradients of huge finite inputs,
    no NaN. The hard reset's product h (1 - s) gave NaN there (snnattack.snn.reset)."""
    lif = dict(lam=lam, theta=0.6, reset=reset, surrogate=make_surrogate(surrogate))
    if setting != "none":
        lif[setting] = True
    for dtype, huge in HUGE.items():
        runs = {}
        for impl in IMPLS:
            at_inf = gradients(reading(impl, dtype, **lif), infinite_currents(dtype))
            at_huge = gradients(reading(impl, dtype, **lif), infinite_currents(dtype, huge))
            assert all(t.isfinite().all() for t in at_inf) and at_inf[1].abs().sum() > 0
            for a, b in zip(at_inf, at_huge, strict=True):
                assert torch.equal(a, b)
            runs[impl] = at_inf
        for a, b in zip(runs["fused"], runs["unrolled"], strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize("mode", sorted(GRADIENT_MODES))
def test_every_gradient_mode_gives_a_finite_gradient_at_infinite_membranes(mode: str) -> None:
    """On either impl; PDSG's spread and ASSG's moments are those of the finite membranes
    (tests/unit/gradients/test_infinite_membranes.py)."""
    grads = {}
    for impl in IMPLS:
        model = reading(impl, torch.float64, lam=0.8, theta=0.6, reset="hard").eval()
        x = infinite_currents(torch.float64).requires_grad_(True)
        with gradient_mode(model, mode):
            model(x).sum().backward()
        grads[impl] = x.grad
    assert grads["fused"].isfinite().all() and grads["fused"].abs().sum() > 0
    assert torch.equal(grads["fused"], grads["unrolled"])


def saved_elements(impl: str) -> int:
    """Elements autograd keeps for the backward of one LIF layer fed a [T, B, N] current."""
    lif, total = LIF(lam=0.9, impl=impl), [0]
    x = torch.rand(8, 4, 16, requires_grad=True)

    def pack(t: torch.Tensor) -> torch.Tensor:
        total[0] += t.numel()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        lif(x)
    return total[0]


def test_fused_saves_only_the_membrane_before_firing() -> None:
    assert saved_elements("fused") == 8 * 4 * 16  # h_t, one tensor of the input's size
    assert saved_elements("unrolled") >= 3 * 8 * 4 * 16


@pytest.mark.parametrize("impl", ["fused", "unrolled"])
def test_neuron_impl_from_the_config_reaches_every_neuron_of_the_built_model(impl: str) -> None:
    from harness import compose

    from snnattack.training import build_net

    cfg = compose(f"neuron_impl={impl}")
    lifs = [m for m in build_net(model_settings(cfg)).modules() if isinstance(m, LIF)]
    assert lifs and {m.impl for m in lifs} == {impl}


@pytest.mark.parametrize("name", ["digits_net", "digits_resnet"])
def test_sgd_training_of_a_digits_model_gives_the_same_weights_with_either_impl(name) -> None:
    """Five float32 SGD steps (BN in train mode, cross-entropy): identical weights."""
    from snnattack.models import build

    torch.manual_seed(5)
    images, labels = torch.rand(4, 16, 1, 8, 8), torch.randint(0, 10, (4, 16))
    weights = {}
    for impl in ("fused", "unrolled"):
        torch.manual_seed(6)
        model = build(name, 10, in_channels=1, T=4, lam=0.9, neuron_impl=impl).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        for x, y in zip(images, labels, strict=True):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        weights[impl] = model.state_dict()
    torch.manual_seed(6)
    initial = build(name, 10, in_channels=1, T=4, lam=0.9).state_dict()
    assert all(not torch.equal(weights["fused"][k], initial[k]) for k in initial if "weight" in k)
    for key, value in weights["fused"].items():
        assert torch.equal(value, weights["unrolled"][key]), key


def conv_bn_lif(impl: str, dtype: torch.dtype, **lif: object) -> nn.Module:
    """conv-BN-LIF (BN with batch statistics) then a linear read-out, on [T, B, 2, 5, 5]."""
    from snnattack.snn.temporal import StepWise

    torch.manual_seed(0)
    conv_bn = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3))
    with torch.no_grad():
        conv_bn[1].weight.uniform_(0.5, 2.0)
        conv_bn[1].bias.uniform_(0.0, 1.0)
    layers = [StepWise(conv_bn), LIF(impl=impl, **lif), nn.Flatten(2), nn.Linear(75, 4)]
    return nn.Sequential(*layers).to(dtype).train()


def bn_gradients(model: nn.Module, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    """Output, input and parameter gradients and the BN's running statistics, the forward
    run in a block where BN outputs are recomputed, as the model wrapper opens it."""
    from snnattack.cpu.recompute import batchnorm_recomputed

    torch.manual_seed(1)
    x = (torch.rand(6, 4, 2, 5, 5, dtype=dtype) * 2 - 0.5).requires_grad_(True)
    with batchnorm_recomputed():
        out = model(x)
    weights = torch.linspace(-1, 1, out.numel(), dtype=dtype).view_as(out)
    (out * weights).sum().backward()
    return (out.detach(), x.grad, *(p.grad for p in model.parameters()), *model.buffers())


@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("surrogate", ["triangle", "sigmoid"])
@pytest.mark.parametrize("setting", ["none", "detach_reset", "detach_membrane"])
def test_fused_bn_lif_equals_unrolled_bit_for_bit_in_float64(reset, surrogate, setting):
    lif = dict(lam=0.8, theta=0.9, reset=reset, surrogate=make_surrogate(surrogate))
    if setting != "none":
        lif[setting] = True
    fused = bn_gradients(conv_bn_lif("fused", torch.float64, **lif), torch.float64)
    unrolled = bn_gradients(conv_bn_lif("unrolled", torch.float64, **lif), torch.float64)
    assert fused[1].abs().sum() > 0
    for a, b in zip(fused, unrolled, strict=True):
        assert torch.equal(a, b)


def test_fused_bn_lif_equals_unrolled_bit_for_bit_in_float32() -> None:
    fused = bn_gradients(conv_bn_lif("fused", torch.float32, lam=0.9), torch.float32)
    unrolled = bn_gradients(conv_bn_lif("unrolled", torch.float32, lam=0.9), torch.float32)
    for a, b in zip(fused, unrolled, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("reset", ["hard", "soft"])
def test_fused_residual_blocks_equal_unrolled_bit_for_bit_in_float64(reset: str) -> None:
    """A block with a projection shortcut (BN + BN into the LIF), then one with the identity
    (BN + the block's input)."""
    from snnattack.models.resnet import BasicBlock

    def blocks(impl: str) -> nn.Module:
        torch.manual_seed(0)

        def neuron() -> nn.Module:
            return LIF(lam=0.8, theta=0.9, reset=reset, impl=impl)

        first, second = BasicBlock(2, 3, 1, True, neuron), BasicBlock(3, 3, 1, False, neuron)
        return nn.Sequential(first, second, nn.Flatten(2), nn.Linear(75, 4)).double().train()

    fused = bn_gradients(blocks("fused"), torch.float64)
    unrolled = bn_gradients(blocks("unrolled"), torch.float64)
    assert fused[1].abs().sum() > 0
    for a, b in zip(fused, unrolled, strict=True):
        assert torch.equal(a, b)


def float_elements_saved(model: nn.Module, recomputing: bool = True) -> int:
    """Elements of the distinct float tensors autograd keeps for the backward of the
    conv-BN-LIF layer of ``model`` (its input included), weights and statistics aside."""
    from snnattack.cpu.recompute import batchnorm_recomputed

    x, saved = torch.rand(6, 4, 2, 5, 5, requires_grad=True), {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.is_floating_point() and t.numel() >= 100 and not isinstance(t, nn.Parameter):
            saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes() // 4
        return t

    with batchnorm_recomputed() if recomputing else contextlib.nullcontext():
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model[:2](x)  # conv-BN, LIF
    return sum(saved.values())


def test_fused_bn_lif_keeps_only_the_batchnorm_input() -> None:
    inputs, layer = 6 * 4 * 2 * 5 * 5, 6 * 4 * 3 * 5 * 5  # the conv's input, the BN's
    assert float_elements_saved(conv_bn_lif("fused", torch.float32)) == inputs + layer
    plain = float_elements_saved(conv_bn_lif("fused", torch.float32), recomputing=False)
    assert plain == inputs + 2 * layer  # the BN's input and the membranes h_t
    assert float_elements_saved(conv_bn_lif("unrolled", torch.float32)) >= inputs + 4 * layer


@pytest.mark.parametrize("case", ["eval", "modified", "sync", "doubled"])
def test_bn_outputs_it_cannot_recompute_go_through_the_plain_fused_lif(case: str) -> None:
    """Running statistics (eval mode), an output changed in place, SyncBatchNorm (whose
    statistics span processes) and an output added to itself (whose gradient autograd sums
    before the BN) are not recomputed: the LIF keeps its membrane."""
    from snnattack.cpu.recompute import add, batchnorm_recomputed
    from snnattack.snn.temporal import StepWise

    bn = nn.SyncBatchNorm(3) if case == "sync" else nn.BatchNorm2d(3)
    layer = StepWise(nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), bn)).train(case != "eval")
    x = torch.rand(6, 4, 2, 5, 5, requires_grad=True)
    with batchnorm_recomputed():
        current = layer(x)
        if case == "modified":
            current.mul_(2.0)
        if case == "doubled":
            current = add(current, current)
        spikes = LIF(lam=0.9)(current)
    assert type(spikes.grad_fn).__name__ == "MultiStepLIFBackward"


@pytest.mark.parametrize("name,lifs", [("digits_net", 2), ("digits_resnet", 9)])
def test_a_digits_training_forward_recomputes_every_batchnorm_before_a_lif(name, lifs) -> None:
    """Every LIF of the plain and the residual net (whose blocks add BN + BN or BN + their
    input) keeps BN inputs only; the BNs left are those no LIF follows."""
    from snnattack.models import build

    model = build(name, 10, in_channels=1, T=4, lam=0.9).train()
    nodes, stack, seen = [], [model(torch.rand(8, 1, 8, 8)).grad_fn], set()
    while stack:
        node = stack.pop()
        if node is not None and node not in seen:
            seen.add(node)
            nodes.append(type(node).__name__)
            stack += [n for n, _ in node.next_functions]
    assert nodes.count("BatchNormLIFBackward") == lifs
    assert "MultiStepLIFBackward" not in nodes
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]  # the read-out's
    assert nodes.count("NativeBatchNormBackward0") == len(bns)


def test_only_cpu_batchnorm_outputs_of_a_c_network_are_noted() -> None:
    """On CUDA the module's BN may run cuDNN, not the kernel the backward runs again; a
    network of the backend ``torch`` runs no CPU path."""
    from snnattack.cpu.recompute import batchnorm_recomputed, note, source

    bn = nn.BatchNorm2d(3)
    with batchnorm_recomputed():
        for device, backend in (("cpu", "c"), ("meta", "c"), ("cpu", "torch")):
            y = torch.zeros(8, 3, 2, 2, device=device)
            out = torch.zeros(2, 4, 3, 2, 2, device=device)
            note(out, y, bn, backend)
            assert (source(out) is not None) == (device == "cpu" and backend == "c")


@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_without_autograd_the_fused_loop_gives_the_unrolled_spikes(reset, dtype) -> None:
    """An evaluation forward (no_grad) runs the loop alone, keeping nothing: the same spikes."""
    x = currents(dtype)
    with torch.no_grad():
        out = {impl: LIF(lam=0.8, theta=0.9, reset=reset, impl=impl)(x) for impl in IMPLS}
    assert 0 < out["fused"].mean() < 1
    assert torch.equal(out["fused"], out["unrolled"])
