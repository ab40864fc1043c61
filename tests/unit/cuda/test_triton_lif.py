"""The fused LIF's Triton kernels (``snnattack.cuda``) on Triton's interpreter, against the
torch ops: the same spikes, the same input gradients (bit for bit here, the sigmoid surrogate
within 1e-6 relative: its ``exp`` is numpy's), in every combination of surrogate, reset,
detach setting, λ and T; a NaN membrane's gradient as a GPU computes it; the batch-norm
recompute path; the inputs the kernels do not take (other dtypes, an unknown surrogate) on
the torch ops; the custom ops' registrations and ``torch.compile``; a PGD attack on digits
giving the same examples with either backend. Tiny tensors: the interpreter is slow. The
environment variable is set per test and read at each call, so the rest of the suite runs
without it."""

from __future__ import annotations

import itertools
import timeit
from collections.abc import Callable

import pytest
import torch
from fixtures_digits import trained
from torch import nn

import snnattack
from snnattack.cpu.recompute import batchnorm_recomputed
from snnattack.cuda import guard, ops
from snnattack.snn.backend import set_backend
from snnattack.snn.multistep import Neuron, _bptt, _run
from snnattack.snn.neurons import LIF
from snnattack.snn.surrogates import Triangle, make_surrogate
from snnattack.snn.temporal import StepWise

pytestmark = pytest.mark.usefixtures("interpreter")  # the GPU's paths on the CPU

RESETS = {"hard": ("hard", None), "soft": ("soft", None), "soft by 0.45": ("soft", 0.45)}
THETA = 0.6
SCALES = (1.0, 1 / 3)  # none, and an adapted neuron's input scale (spikingjelly's 1 / tau)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """The Triton kernels' calls: ``("forward", membranes)`` and ``("backward",)``."""
    seen: list[tuple] = []
    forward, backward = ops.lif, ops.lif_input_grad

    def counted_forward(x, *settings):
        seen.append(("forward", settings[-1]))
        return forward(x, *settings)

    def counted_backward(h, grad, *settings):
        seen.append(("backward",))
        return backward(h, grad, *settings)

    monkeypatch.setattr(ops, "lif", counted_forward)
    monkeypatch.setattr(ops, "lif_input_grad", counted_backward)
    return seen


def currents(T: int, *shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.rand(T, *shape, dtype=dtype) * 1.6 - 0.3


def spikes_and_grad(lif: LIF, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.detach().requires_grad_(True)
    out = lif(x)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype, device=out.device).view_as(out)
    (out * weights).sum().backward()
    return out.detach(), x.grad


def assert_same(kernel: torch.Tensor, reference: torch.Tensor, exact: bool = True) -> None:
    if exact:
        assert torch.equal(kernel, reference)
    scale = reference.abs().max().clamp(min=torch.finfo(reference.dtype).tiny)
    assert ((kernel - reference).abs().max() / scale).item() <= 1e-6


@pytest.mark.parametrize("reset", list(RESETS))
@pytest.mark.parametrize("surrogate", guard.SURROGATES)
def test_the_kernels_give_the_torch_loops_spikes_and_gradients_in_every_combination(
    surrogate: str, reset: str
) -> None:
    kind, reset_by = RESETS[reset]
    slope = make_surrogate(surrogate, width=0.7, alpha=3.0)
    parameter = getattr(slope, slope.parameter)
    for lam, T, scale in itertools.product((0.5, 1.0), (1, 4), SCALES):
        x, grad = currents(T, 2, 3) * (1 / scale), torch.randn(T, 2, 3)
        drop, hard = THETA if reset_by is None else reset_by, kind == "hard"
        kernel_slope = (guard.SURROGATES.index(surrogate), parameter, scale)
        spikes, h = torch.empty_like(x), torch.empty_like(x)
        plain = Neuron(slope, lam, THETA, hard, False, False, drop, "torch")
        _run(x * scale, plain, h, spikes, observe=False)  # InputScale's product, then the LIF
        kernel_spikes, kernel_h = ops.lif_forward(
            x, lam, THETA, drop, hard, False, False, *kernel_slope, True
        )
        assert torch.equal(kernel_spikes, spikes) and torch.equal(kernel_h, h)
        assert 0 < spikes.sum() < spikes.numel() or T == 1
        for flags in itertools.product((False, True), repeat=2):  # detach reset, membrane
            neuron = Neuron(slope, lam, THETA, hard, *flags, drop, "torch")
            dx = ops.lif_backward(h, grad, lam, THETA, drop, hard, *flags, *kernel_slope)
            reference = _bptt(h, grad, neuron, [None] * T) * scale  # and the product's backward
            assert_same(dx, reference, exact=surrogate != "sigmoid")


@pytest.mark.parametrize("reset", list(RESETS))
def test_a_triton_lif_runs_the_kernels_and_matches_the_torch_backend(reset, calls) -> None:
    kind, reset_by = RESETS[reset]
    lifs = {b: LIF(0.8, THETA, kind, reset_by=reset_by, backend=b) for b in ("triton", "torch")}
    x = currents(4, 3, 5)
    out = lifs["triton"](x.requires_grad_(True))
    assert type(out.grad_fn).__name__ == "_LIFBackward"  # the kernels, not the op's dispatch
    kernel, reference = spikes_and_grad(lifs["triton"], x), spikes_and_grad(lifs["torch"], x)
    assert calls == [("forward", True), ("forward", True), ("backward",)]
    for a, b in zip(kernel, reference, strict=True):
        assert_same(a, b)
    with torch.no_grad():  # no backward follows: the spikes alone
        assert torch.equal(lifs["triton"](x), reference[0])
    assert calls[-1] == ("forward", False)


@pytest.mark.cuda
@pytest.mark.parametrize("surrogate", guard.SURROGATES)
def test_on_a_gpu_the_compiled_kernels_give_the_torch_backends_spikes_and_gradients(
    surrogate: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernels Triton compiles for the GPU, launched as an attack launches them, against
    the torch ops on the same GPU: the same spikes and input gradients in every reset (the
    sigmoid surrogate's within 1e-6: its ``exp`` is the hardware's)."""
    monkeypatch.delenv("TRITON_INTERPRET")
    for kind, reset_by in RESETS.values():
        lifs = {
            b: LIF(
                0.8,
                THETA,
                kind,
                reset_by=reset_by,
                backend=b,
                surrogate=make_surrogate(surrogate, width=0.7, alpha=3.0),
            )
            for b in ("triton", "torch")
        }
        x = currents(4, 64, 33).cuda()
        assert type(lifs["triton"](x.requires_grad_(True)).grad_fn).__name__ == "_LIFBackward"
        kernel, reference = spikes_and_grad(lifs["triton"], x), spikes_and_grad(lifs["torch"], x)
        assert 0 < reference[0].sum() < reference[0].numel()
        for a, b in zip(kernel, reference, strict=True):
            assert a.is_cuda
            assert_same(a, b, exact=surrogate != "sigmoid")


def test_the_batchnorm_recompute_path_keeps_only_the_bn_input_and_matches_torch(calls) -> None:
    """Train mode, batch statistics: the forward kernel writes spikes alone; the backward
    recomputes the BN output, runs the forward kernel again for h_t, then the backward's."""
    grads = {}
    for backend in ("triton", "torch"):
        torch.manual_seed(0)
        conv_bn = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3))
        model = nn.Sequential(StepWise(conv_bn), LIF(0.8, THETA, surrogate=make_surrogate("atan")))
        set_backend(model.train(), backend)
        x = currents(4, 2, 1, 5, 5).requires_grad_(True)
        with batchnorm_recomputed():
            out = model(x)
        if backend == "triton":
            assert type(out.grad_fn).__name__ == "BatchNormLIFBackward"
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        grads[backend] = (out, x.grad, *(p.grad for p in model.parameters()))
    assert calls == [("forward", False), ("forward", True), ("backward",)]
    assert grads["triton"][0].sum() > 0
    for a, b in zip(grads["triton"], grads["torch"], strict=True):
        assert_same(a, b, exact=False)


def adapted(tau: float, backend: str) -> nn.Module:
    """spikingjelly's LIFNode (decay_input: the input scaled by 1 / tau) as the adapter
    makes it: a ScaledNeuron, InputScale then the LIF, whose own surrogate is the triangle
    (their PiecewiseQuadratic: the kernels' gradient is the torch ops' bit for bit)."""
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    from spikingjelly.activation_based import surrogate

    from snnattack.interop.spikingjelly import body

    triangle = surrogate.PiecewiseQuadratic()
    node = neuron.LIFNode(tau=tau, v_threshold=THETA, step_mode="m", surrogate_function=triangle)
    return set_backend(body(nn.Sequential(node)), backend)


@pytest.fixture
def products(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The scales of the InputScale modules' forward calls (the product made first)."""
    from snnattack.snn.scaled import InputScale

    seen, real = [], InputScale.forward
    monkeypatch.setattr(InputScale, "forward", lambda m, x: seen.append(m.scale) or real(m, x))
    return seen


def in_turn(neuron: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """A ScaledNeuron run as its two modules in turn, the product made first: the reference."""
    return lambda x: nn.Sequential.forward(neuron, x)


@pytest.mark.parametrize("tau", [2.0, 3.0])
def test_an_adapted_neurons_input_scale_runs_in_the_kernels_with_the_same_numbers(
    tau: float, calls, products
) -> None:
    from snnattack.snn.scaled import ScaledNeuron

    nets = {b: adapted(tau, b) for b in ("triton", "c", "torch")}
    assert type(nets["triton"][0]) is ScaledNeuron
    x = currents(4, 3, 5) * tau
    kernel = spikes_and_grad(nets["triton"], x)
    assert calls == [("forward", True), ("backward",)]
    # the C kernel's loops and the torch ops' take the scale in their T loop too
    loops = [spikes_and_grad(nets[b], x) for b in ("c", "torch")]
    assert products == []  # no product op
    reference = spikes_and_grad(in_turn(nets["torch"][0]), x)
    assert products == [1 / tau] and 0 < reference[0].sum() < reference[0].numel()
    for run in (kernel, *loops):
        for a, b in zip(run, reference, strict=True):
            assert_same(a, b)  # bit for bit: the product rounded once, before the charge
    with torch.no_grad():
        assert torch.equal(nets["triton"](x), reference[0])
        assert torch.equal(nets["c"](x), reference[0])
    assert calls[-1] == ("forward", False) and products == [1 / tau]


def test_a_gradient_mode_or_a_hook_sees_the_input_scale_as_its_own_layer(calls, products):
    """A mode that installs the LIF's forward (HART), or a hook on the neuron, gets the
    product as before: the two modules run in turn, with the same numbers as the torch ops."""
    from snnattack.gradients import gradient_mode

    nets = {b: adapted(2.0, b) for b in ("triton", "torch")}
    x = currents(4, 3, 5) * 2
    grads = {}
    for backend, net in nets.items():
        with gradient_mode(net, "hart"):
            grads[backend] = spikes_and_grad(net, x)
    assert products == [0.5, 0.5] and ("backward",) in calls
    for a, b in zip(grads["triton"], grads["torch"], strict=True):
        assert_same(a, b)
    seen = []
    lif = nets["triton"][0][1]
    handle = lif.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with torch.no_grad():
        out = nets["triton"](x)
    handle.remove()
    assert torch.equal(seen[0], x * 0.5) and torch.equal(out, grads["torch"][0])


def test_the_batchnorm_recompute_path_takes_the_input_scale(calls, products) -> None:
    from snnattack.snn.scaled import InputScale, ScaledNeuron

    grads = {}
    for backend, scaled in (("triton", True), ("c", True), ("torch", True), ("torch", False)):
        torch.manual_seed(0)
        conv_bn = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3))
        lif = LIF(0.8, THETA / 3, surrogate=make_surrogate("atan"))
        # the reference: the two modules in turn, the product made first
        neuron = (ScaledNeuron if scaled else nn.Sequential)(InputScale(1 / 3), lif)
        model = set_backend(nn.Sequential(StepWise(conv_bn), neuron).train(), backend)
        x = currents(4, 2, 1, 5, 5).requires_grad_(True)
        with batchnorm_recomputed():
            out = model(x)
        if scaled:  # the torch ops recompute no BN; the others do, the scale taken in
            node = "MultiStepLIF" if backend == "torch" else "BatchNormLIF"
            assert type(out.grad_fn).__name__ == f"{node}Backward" and products == []
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        grads[backend, scaled] = (out, x.grad, *(p.grad for p in model.parameters()))
    assert calls == [("forward", False), ("forward", True), ("backward",)]
    assert products == [1 / 3]
    reference = grads["torch", False]
    assert 0 < reference[0].sum() < reference[0].numel()
    for backend in ("triton", "c", "torch"):
        for a, b in zip(grads[backend, True], reference, strict=True):
            assert_same(a, b, exact=backend != "triton")


def test_strided_and_time_constant_inputs_and_gradients_are_made_contiguous(calls) -> None:
    lifs = [LIF(0.8, THETA, backend=b) for b in ("triton", "torch")]
    transposed = currents(4, 5, 3).transpose(1, 2)  # time steps first, the rest strided
    constant = currents(1, 3, 5).expand(4, 3, 5)  # direct encoding: time stride 0
    for x in (transposed, constant):
        for a, b in zip(*(spikes_and_grad(lif, x) for lif in lifs), strict=True):
            assert_same(a, b)
    assert calls.count(("backward",)) == 2
    grads = []  # the spikes' gradient of a sum: one value broadcast, time stride 0
    for lif in lifs:
        x = currents(4, 3, 5).requires_grad_(True)
        lif(x).sum().backward()
        grads.append(x.grad)
    assert_same(*grads)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # -3e38 twice
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # see below
@pytest.mark.parametrize("reset", list(RESETS))
@pytest.mark.parametrize("surrogate", guard.SURROGATES)
def test_infinite_membranes_give_the_torch_loops_spikes_and_gradients_and_no_nan(
    surrogate: str, reset: str
) -> None:
    """A membrane at -inf (a current of -inf, or two whose sum overflows) stays -inf, the
    hard reset sets one at +inf to 0 (``snnattack.snn.reset``; its product gave NaN), and no
    reset's gradient comes from after the last step nor with ``detach_membrane``: the kernels
    give the torch loop's membranes, spikes and gradients, every one a number. (The
    interpreter's numpy computes the reset path's ``0 * inf`` before the kernel's select
    drops it, and says so.)"""
    kind, reset_by = RESETS[reset]
    slope = make_surrogate(surrogate, width=0.7, alpha=3.0)
    drop, hard = THETA if reset_by is None else reset_by, kind == "hard"
    kernel_slope = (guard.SURROGATES.index(surrogate), getattr(slope, slope.parameter), 1.0)
    x, grad = currents(4, 2, 4), torch.randn(4, 2, 4)
    x[1, 0], x[2, 1, :2], x[:2, 1, 2], x[3, 1, 3] = -torch.inf, torch.inf, -3e38, torch.inf
    for lam, flags in itertools.product((0.5, 1.0), itertools.product((False, True), repeat=2)):
        neuron = Neuron(slope, lam, THETA, hard, *flags, drop, "torch")
        spikes, h = torch.empty_like(x), torch.empty_like(x)
        _run(x, neuron, h, spikes, observe=False)
        settings = (lam, THETA, drop, hard, *flags, *kernel_slope)
        kernel_spikes, kernel_h = ops.lif_forward(x, *settings, True)
        assert torch.equal(kernel_spikes, spikes) and torch.equal(kernel_h, h)
        assert (h[1:, 0] == -torch.inf).all() and (h[1:, 1, 2] == -torch.inf).all()
        dx = ops.lif_backward(h, grad, *settings)
        assert dx.isfinite().all()
        assert_same(dx, _bptt(h, grad, neuron, [None] * 4), exact=surrogate != "sigmoid")


@pytest.fixture
def gpu_maxnum(monkeypatch: pytest.MonkeyPatch) -> None:
    """``tl.maximum`` as a GPU computes it: its default lowers to IEEE maxNum (``maxnumf``,
    ``max.f32``), which returns the number of a NaN and a number, where the interpreter's
    ``np.maximum`` returns the NaN (and so hid the difference on the CPU)."""
    import numpy as np
    from triton.runtime.interpreter import InterpreterBuilder

    monkeypatch.setattr(
        InterpreterBuilder,
        "create_maxnumf",
        lambda self, lhs, rhs: self.binary_op(lhs, rhs, np.fmax),
        raising=True,
    )


@pytest.mark.parametrize("reset", list(RESETS))
def test_a_nan_membrane_gets_the_torch_loops_nan_gradient_as_a_gpu_computes_it(
    reset: str, gpu_maxnum: None
) -> None:
    """A NaN current (a NaN pixel, or +inf and -inf summed by a layer before the LIF) gives
    the torch ops' spikes and their NaN input gradients in every surrogate: the triangle's
    ``max(0, w - |v|)`` was ``tl.maximum``, which on a GPU returns 0 at a NaN membrane where
    the torch ops' ``clamp`` (and the C kernel's select) keep the NaN, so the default
    surrogate's gradient there was a silent 0 on the GPU alone."""
    kind, reset_by = RESETS[reset]
    x = currents(4, 2, 3)
    x[1, 0, :2] = torch.nan
    backends = ("triton", "torch")
    for surrogate in guard.SURROGATES:
        slope = make_surrogate(surrogate, width=0.7, alpha=3.0)
        lifs = {b: LIF(0.8, THETA, kind, slope, reset_by=reset_by, backend=b) for b in backends}
        kernel, reference = spikes_and_grad(lifs["triton"], x), spikes_and_grad(lifs["torch"], x)
        assert not reference[1].isnan().all()
        assert reference[1].isnan().any() != (surrogate == "rectangle")  # its 1[|v| < w]: 0
        for a, b in zip(kernel, reference, strict=True):
            assert torch.equal(a.isnan(), b.isnan()), surrogate
            assert_same(a.nan_to_num(0.0), b.nan_to_num(0.0), exact=surrogate != "sigmoid")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_other_dtypes_run_the_torch_ops(dtype: torch.dtype, calls) -> None:
    lifs = [LIF(0.8, THETA, backend=b) for b in ("triton", "torch")]
    x = currents(4, 3, 5, dtype=dtype)
    for a, b in zip(*(spikes_and_grad(lif, x) for lif in lifs), strict=True):
        assert torch.equal(a, b)
    assert calls == []


def test_an_unknown_surrogate_is_differentiated_by_the_torch_ops(calls) -> None:
    class Steeper(Triangle):  # a subclass may change the slope: not the kernel's triangle
        def grad(self, grad, v, seen=None):
            return 2 * super().grad(grad, v, seen)

    lifs = [LIF(0.8, THETA, surrogate=Steeper(), backend=b) for b in ("triton", "torch")]
    x = currents(4, 3, 5)
    for a, b in zip(*(spikes_and_grad(lif, x) for lif in lifs), strict=True):
        assert torch.equal(a, b)
    assert calls == []
    with torch.no_grad():  # the forward alone needs no slope: the kernel
        assert torch.equal(lifs[0](x), lifs[1](x))
    assert calls == [("forward", False)]


def test_an_empty_batch_launches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops, "compiled", lambda interpret: pytest.fail("a kernel launched"))
    x = torch.empty(4, 0, 5, requires_grad=True)
    out = LIF(backend="triton")(x)
    out.sum().backward()
    assert out.shape == x.shape and x.grad.shape == x.shape


def test_the_backends_and_devices_the_kernels_take(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.zeros(2, 3)
    assert guard.applies("triton", x) and not guard.applies("c", x)
    assert not guard.applies("torch", x) and not guard.applies("triton", x.double())
    assert not guard.applies("triton", x.to("meta"))
    monkeypatch.delenv("TRITON_INTERPRET")
    assert not guard.applies("triton", x)  # the CPU needs the interpreter


@pytest.mark.parametrize(
    ("capabilities", "runs"),
    [([(9, 0)], True), ([(7, 0), (8, 6)], True), ([(8, 0), (6, 0)], False)],
)
def test_a_gpu_older_than_triton_compiles_for_runs_the_torch_ops(
    monkeypatch: pytest.MonkeyPatch, capabilities: list[tuple[int, int]], runs: bool
) -> None:
    """On a Pascal GPU (compute capability 6.0) the default backend launched the kernels,
    which Triton cannot compile there: the first LIF failed (torch's GPUTooOldForTriton).
    A machine with such a GPU runs the torch ops on every GPU, as without Triton."""
    monkeypatch.delenv("TRITON_INTERPRET")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: len(capabilities))
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda i: capabilities[i])
    monkeypatch.setattr(guard, "GPUS", {})  # read afresh, and the process's after the test
    # the two attributes the guard reads of a CUDA float32 tensor (none can be made here)
    on_a_gpu = type("OnAGPU", (), {"dtype": torch.float32, "device": torch.device("cuda", 0)})
    assert [guard.applies(b, on_a_gpu()) for b in ("c", "triton")] == [runs, runs]


def test_the_custom_ops_pass_opcheck_and_run_on_the_meta_device() -> None:
    x = currents(3, 2, 4).requires_grad_(True)
    settings = (0.8, THETA, THETA, True, False, False, guard.SURROGATES.index("atan"), 2.0, 0.5)
    checks = ("test_schema", "test_autograd_registration", "test_faketensor")
    torch.library.opcheck(ops.lif_forward, (x, *settings, True), test_utils=checks)
    h = ops.lif_forward(x.detach(), *settings, True)[1]
    torch.library.opcheck(ops.lif_backward, (h, torch.randn(3, 2, 4), *settings), test_utils=checks)
    meta = torch.empty(3, 2, 4, device="meta")
    spikes, membranes = ops.lif_forward(meta, *settings, False)
    assert spikes.shape == meta.shape and spikes.is_meta and membranes.numel() == 0
    assert LIF(backend="triton")(meta).is_meta  # the torch ops, on the meta device


def test_the_fake_ops_give_the_real_outputs_layout_on_a_permuted_input() -> None:
    """``torch.compile`` takes an op's output strides from its fake: a LIF fed time moved to
    the front (``x.transpose(0, 1)``) got the input's strides there and contiguous ones from
    the kernel, and inductor's compiled graph refused them."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    settings = (0.8, THETA, THETA, True, False, False, guard.SURROGATES.index("atan"), 2.0, 1.0)
    x = currents(3, 4, 5).transpose(0, 1)  # [T, B, N] of a [B, T, N] tensor
    h = ops.lif_forward(x, *settings, True)[1].transpose(0, 1).contiguous().transpose(0, 1)
    calls = {
        "lif_forward": (ops.lif_forward, (x, *settings, True)),
        "lif_backward": (ops.lif_backward, (h, x, *settings)),
        "rate_slope": (ops.rate_slope_op, (x, 0.1, 0.9, 0.5, 1.0)),
    }
    for name, (op, args) in calls.items():
        real = op(*args)
        with FakeTensorMode() as mode:
            fake = op(*(mode.from_tensor(a) if isinstance(a, torch.Tensor) else a for a in args))
        for r, f in zip(*(o if isinstance(o, tuple) else (o,) for o in (real, fake)), strict=True):
            assert r.stride() == f.stride(), name


def test_the_kernels_launched_as_they_are_cost_the_host_less_than_the_custom_ops() -> None:
    """An attack calls the LIF at every neuron and step: in eager mode it launches the kernels
    without the custom ops' dispatch. Timed on an empty input, which launches nothing: the
    host's cost alone, forward and backward, the better of 7 repeats of each, in one run, the
    two taken in turn (a load that comes and goes on a shared machine weighs on both)."""
    settings = (0.8, THETA, THETA, True, False, False, guard.SURROGATES.index("atan"), 2.0, 1.0)
    x = torch.empty(4, 0, requires_grad=True)

    def host_cost(forward) -> float:
        return timeit.timeit(lambda: forward(x, *settings, True)[0].sum().backward(), number=200)

    launched, dispatched = zip(
        *((host_cost(ops.lif), host_cost(ops.lif_forward)) for _ in range(7)), strict=True
    )
    assert min(launched) < 0.7 * min(dispatched)


def test_torch_compile_traces_the_op_in_one_graph() -> None:
    graphs = []

    def keep(graph: torch.fx.GraphModule, inputs: list) -> object:
        graphs.append(graph)
        return graph.forward

    lifs = [LIF(0.8, THETA, backend=b) for b in ("triton", "torch")]
    compiled = torch.compile(lifs[0], backend=keep, fullgraph=True)  # no graph break
    x = currents(4, 3, 5)
    for a, b in zip(spikes_and_grad(compiled, x), spikes_and_grad(lifs[1], x), strict=True):
        assert torch.equal(a, b)
    (graph,) = graphs
    assert torch.ops.snnattack.lif_forward.default in {n.target for n in graph.graph.nodes}
    torch._dynamo.reset()


def test_pgd_on_digits_gives_the_same_examples_with_the_triton_backend(digits_store, calls):
    model, x, y = trained(digits_store)
    examples = []
    for backend in ("triton", "torch"):
        set_backend(model, backend)
        examples.append(snnattack.attack(model, x[:4], y[:4], "pgd", eps=8, steps=2, alpha=2))
        assert (("backward",) in calls) == (backend == "triton")
        calls.clear()
    assert torch.equal(*examples)
    assert not torch.equal(examples[0], x[:4])


@pytest.mark.parametrize("lam", [0.9, 1.0])
def test_rgas_rate_slope_kernel_equals_the_torch_ops(lam: float) -> None:
    from snnattack.gradients import rate_slope

    theta, beta, gamma = THETA, 2.0, 0.2
    low, high = (1 - lam) * theta, beta * theta
    edges = [0.0, -0.0, low, high, float("nan"), float("inf"), -1.0]
    current = torch.cat([torch.linspace(-0.5, 1.5, 37), torch.tensor(edges)]).view(1, 4, -1)
    current = torch.cat([current, current.nextafter(torch.tensor(2.0))], 1)  # just above
    kernel = rate_slope(current, lam, theta, beta, gamma, backend="triton")
    reference = rate_slope(current, lam, theta, beta, gamma, backend="torch")
    assert torch.equal(kernel, reference) and kernel.unique().numel() == 3
    assert rate_slope(current.double(), lam, theta, beta, gamma, "triton").dtype == torch.float64
