"""The fused LIF's C kernel (``snnattack.cpu.native``) against the torch ops it replaces: the same
spikes, membranes and gradients bit for bit, for every setting it takes; where it cannot be
built, the torch ops run with the same results."""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import timeit
from pathlib import Path

import pytest
import torch

from snnattack.cpu import native
from snnattack.gradients import rate_slope
from snnattack.process.malloc import set_malloc
from snnattack.snn import multistep
from snnattack.snn.neurons import LIF
from snnattack.snn.surrogates import ATan, FastSigmoid, Rectangle, Sigmoid, Triangle

SETTINGS = (None, "detach_reset", "detach_membrane")  # the backward's settings, or none

pytestmark = pytest.mark.skipif(
    native.c_compiler() is None, reason="no C compiler on this machine ($CC or cc)"
)


@pytest.fixture
def fresh_build(tmp_path, monkeypatch):
    """The kernel built anew into ``tmp_path`` (the user's cache folder) on its next use."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    native.built.cache_clear()
    yield tmp_path / "snnattack"
    native.built.cache_clear()


def neuron(
    surrogate, reset="hard", lam=0.9, theta=1.0, setting=None, backend="c"
) -> multistep.Neuron:
    flags = {setting: True} if setting else {}
    return multistep.Neuron.of(LIF(lam, theta, reset, surrogate, **flags, backend=backend))


def on_torch(lif: multistep.Neuron) -> multistep.Neuron:
    """The same neuron in a network of the backend ``torch``: its loops on torch ops."""
    return lif._replace(backend="torch")


def loops(x: torch.Tensor, grad: torch.Tensor, lif: multistep.Neuron, scale: float = 1.0):
    """Membranes and spikes of the forward (fed ``x`` times ``scale``), and dL/dI of the
    backward."""
    h, s = torch.empty_like(x), torch.empty_like(x)
    seen = multistep._run(x, lif, h, s, observe=True, scale=scale)
    return h, s, multistep._bptt(h, grad, lif, seen, scale)


def inputs(dtype: torch.dtype, shape=(6, 3, 10, 11)) -> tuple[torch.Tensor, torch.Tensor]:
    """Currents and spike gradients; 330 elements per step: a full block of 256 and a part."""
    torch.manual_seed(3)
    x = (torch.rand(shape, dtype=dtype) * 1.6 - 0.2).contiguous()  # around theta: spikes
    return x, torch.randn(shape, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("lam,theta", [(1.0, 1.0), (0.7, 0.6)])
@pytest.mark.parametrize(
    "surrogate",
    [
        *(Triangle(), Triangle(0.7), Rectangle(), Rectangle(0.3), ATan(), ATan(3.0)),
        *(FastSigmoid(), FastSigmoid(3.0), Sigmoid(), Sigmoid(2.5)),
    ],
    ids=repr,
)
@pytest.mark.parametrize("setting", SETTINGS)
def test_kernel_equals_the_torch_ops_bit_for_bit(
    dtype, reset, lam, theta, surrogate, setting
) -> None:
    lif = neuron(surrogate, reset, lam, theta, setting)
    x, grad = inputs(dtype)
    kernel = loops(x, grad, lif)
    reference = loops(x, grad, on_torch(lif))
    assert 0 < kernel[1].mean() < 1 and kernel[2].abs().sum() > 0  # spikes, and gradients
    for a, b in zip(kernel, reference, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("lam", [0.5, 1.0])
def test_infinite_membranes_are_the_torch_ops_bit_for_bit_and_give_no_nan(dtype, reset, lam):
    """A membrane at -inf (a current of -inf, or two whose sum overflows) stays -inf and never
    fires; the hard reset sets one at +inf to 0 (snnattack.snn.reset); every gradient is a
    number."""
    x, grad = inputs(dtype)
    x[1, 0], x[2, 1], x[:2, 2] = -torch.inf, torch.inf, -0.9 * torch.finfo(dtype).max
    surrogates = (Triangle(), Rectangle(), ATan(), FastSigmoid(), Sigmoid())
    for surrogate, setting in itertools.product(surrogates, SETTINGS):
        lif = neuron(surrogate, reset, lam, 0.6, setting)
        h, s, dx = loops(x, grad, lif)
        for a, b in zip((h, s, dx), loops(x, grad, on_torch(lif)), strict=True):
            assert torch.equal(a, b)
        assert dx.isfinite().all() and dx.abs().sum() > 0
        assert (h[1:, 0] == -torch.inf).all() and (h[2:, 2] == -torch.inf).all()
        assert not s[1:, 0].any() and not s[1:, 2].any() and s[2, 1].all()
        assert h[3:, 1].isfinite().all() == (reset == "hard")  # reset to 0, or +inf - theta


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("surrogate", [Triangle(), ATan(), Sigmoid()], ids=repr)
def test_an_input_scale_in_the_loops_is_the_product_made_first_bit_for_bit(
    dtype, reset, surrogate
) -> None:
    # an adapted spikingjelly LIFNode's 1/tau (snn/scaled.py): the module path multiplies
    # first, then autograd's product multiplies dL/dI by the scale
    lif, scale = neuron(surrogate, reset, 0.7, 0.6), 1 / 3
    x, grad = inputs(dtype)
    h, s, dx = loops(x * scale, grad, on_torch(lif))
    reference = (h, s, dx * scale)
    for run in (lif, on_torch(lif)):  # the C kernel's loops, the torch ops'
        for a, b in zip(loops(x, grad, run, scale), reference, strict=True):
            assert torch.equal(a, b)
    assert 0 < s.mean() < 1


def test_the_kernel_runs_where_it_applies_and_not_elsewhere(monkeypatch) -> None:
    calls = []
    for name in ("forward", "backward"):
        real = getattr(native, name)
        monkeypatch.setattr(
            native,
            name,
            lambda *a, real=real, name=name, **k: calls.append(name) or real(*a, **k),
        )
    x, grad = inputs(torch.float32)
    loops(x, grad, neuron(Triangle()))
    assert calls == ["forward", "backward"]
    calls.clear()

    class Own(Triangle):
        """A surrogate of the user's own, which the kernel does not know."""

    loops(x, grad, neuron(Own()))  # its grad on the torch ops
    assert calls == ["forward"]
    calls.clear()
    loops(x.half(), grad.half(), neuron(Triangle()))  # no half kernel: torch ops
    assert calls == []
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    loops(x, grad, neuron(Triangle()))  # torch.compile traces the torch ops
    assert calls == []
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: False)
    loops(x, grad, neuron(Triangle(), backend="torch"))  # a network on torch ops
    assert calls == []


def test_a_current_broadcast_over_time_and_one_step_buffers() -> None:
    """Direct encoding's first layer: x is one step viewed T times (stride 0); the BN-LIF
    keeps neither h nor s (one step's buffer), or writes h over x itself."""
    lif = neuron(Triangle(), lam=0.8)
    one, _ = inputs(torch.float32, (1, 4, 9))
    x = one.expand(5, 4, 9)
    assert x.stride(0) == 0

    def run(lif):
        h, s, scratch = torch.empty(5, 4, 9), torch.empty(5, 4, 9), torch.empty(4, 9)
        multistep._run(x, lif, h, s, observe=False)
        s_only = torch.empty(5, 4, 9)
        multistep._run(x, lif, scratch, s_only, observe=False)
        in_place = x.contiguous()
        multistep._run(in_place, lif, in_place, scratch, observe=False)
        return h, s, s_only, in_place

    kernel, reference = run(lif), run(on_torch(lif))
    assert torch.equal(kernel[1], kernel[2]) and torch.equal(kernel[0], kernel[3])
    for a, b in zip(kernel, reference, strict=True):
        assert torch.equal(a, b)


def test_a_gradient_broadcast_over_time_or_not_contiguous() -> None:
    lif = neuron(Triangle())
    x, grad = inputs(torch.float64, (5, 4, 6))
    h, s = torch.empty_like(x), torch.empty_like(x)
    multistep._run(x, lif, h, s, observe=False)
    for g in (grad[:1].expand(5, 4, 6), grad.transpose(1, 2).contiguous().transpose(1, 2)):
        kernel = multistep._bptt(h, g, lif, [None] * 5)
        assert torch.equal(kernel, multistep._bptt(h, g, on_torch(lif), [None] * 5))


def test_threads_split_a_layer_without_changing_a_bit() -> None:
    lif = neuron(Triangle(), lam=0.9)
    x, grad = inputs(torch.float32, (4, 3 * native.PER_THREAD + 17))
    one = loops(x, grad, lif)
    threads = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        split = loops(x, grad, lif)
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(one, split, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("threads", [1, 3])
def test_the_sigmoids_curve_is_atens_at_each_place_of_a_step_on_any_threads(threads) -> None:
    """ATen's vectorised ``exp`` and its scalar one (a thread's last few elements) may differ
    in the last bit, so the kernel's ``sig(alpha v)`` is the torch loop's only where it is
    computed on the same step's tensor, split across the same threads: a step of 3 threads'
    work and 17 elements, one thread and three."""
    lif = neuron(Sigmoid(), lam=0.9)
    x, grad = inputs(torch.float32, (4, 3 * native.PER_THREAD + 17))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        kernel, reference = loops(x, grad, lif), loops(x, grad, on_torch(lif))
    finally:
        torch.set_num_threads(before)
    for a, b in zip(kernel, reference, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("surrogate", [Triangle(), ATan(), FastSigmoid(), Sigmoid()], ids=repr)
def test_the_kernels_backward_takes_less_time_than_the_torch_ops(surrogate) -> None:
    """Its one pass over memory, each surrogate's loop vectorised (no branch on the surrogate
    inside it: one left there made it scalar, 1.7x the torch ops' time), against the torch
    loop's passes: one thread from the start (torch's idle workers spin for a while), a job's
    allocator, a quarter of VGG-11's second block, the best of 6 repeats of each in turn after
    2, in one run."""
    lif = neuron(surrogate)
    x, grad = inputs(torch.float32, (8, 16, 128, 8, 8))
    h, s = torch.empty_like(x), torch.empty_like(x)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    set_malloc("reuse")  # a job's allocator: else a run may page-fault a fresh dx per call
    try:
        multistep._run(x, lif, h, s, observe=False)
        timers = [
            timeit.Timer(lambda each=each: multistep._bptt(h, grad, each, [None] * 8))
            for each in (lif, on_torch(lif))
        ]
        times = [[timer.timeit(2) for timer in timers] for _ in range(8)]  # in turn
    finally:
        torch.set_num_threads(threads)
        set_malloc("system")
    kernel, torch_ops = (min(column) for column in zip(*times[2:], strict=True))
    assert kernel < torch_ops  # 0.2-0.7x here


@pytest.mark.skipif(shutil.which("clang") is None, reason="no clang on this machine")
def test_clang_builds_a_kernel_with_the_torch_ops_bits(fresh_build, monkeypatch) -> None:
    """macOS's C compiler (and many clusters'): the same flags keep each product and sum as
    ATen rounds it, for every surrogate the kernel knows, both resets and dtypes."""
    monkeypatch.setenv("CC", "clang")
    assert native.built() is not None and "clang" in Path(native.c_compiler()[0]).name
    for surrogate in (Triangle(0.7), Rectangle(), ATan(), FastSigmoid(), Sigmoid(2.5)):
        for dtype in (torch.float32, torch.float64):
            for reset in ("hard", "soft"):
                lif = neuron(surrogate, reset, 0.7, 0.6)
                x, grad = inputs(dtype)
                kernel, reference = loops(x, grad, lif), loops(x, grad, on_torch(lif))
                for a, b in zip(kernel, reference, strict=True):
                    assert torch.equal(a, b), (surrogate, dtype, reset)
    assert list(fresh_build.glob("lif-*.so"))  # built there, by clang


def test_the_library_is_built_once_into_the_cache_folder(fresh_build) -> None:
    assert native.built() is not None
    (path,) = fresh_build.glob("lif-*.so")
    stamp = path.stat().st_mtime_ns
    native.built.cache_clear()  # as a new process
    assert native.built() is not None
    assert path.stat().st_mtime_ns == stamp  # read back, not rebuilt


def other_library(folder, code: str):
    """A shared library compiled from ``code`` (not the kernel's source)."""
    import subprocess

    source = folder / "other.c"
    source.write_text(code)
    out = folder / "other.so"
    subprocess.run(
        [*native.c_compiler(), "-shared", "-fPIC", "-o", str(out), str(source)], check=True
    )
    return out


def test_a_cached_library_that_does_not_match_its_hash_is_rebuilt_before_it_runs(
    fresh_build, tmp_path
) -> None:
    """A library replaced at the hashed name (its constructor would write a file) is rebuilt,
    never loaded: the recorded SHA-256 no longer matches."""
    path = native.library_path(native.c_compiler())
    path.parent.mkdir(parents=True)
    recorded = path.with_name(path.name + ".sha256")
    ran = tmp_path / "constructor_ran"
    code = (
        "#include <stdio.h>\n"
        f'__attribute__((constructor)) static void f(void) {{ fopen("{ran}", "w"); }}\n'
    )
    other_library(tmp_path, code).replace(path)
    recorded.write_text("0" * 64)  # the hash recorded when the kernel was built
    assert native.built() is not None  # rebuilt: the kernels are there
    assert not ran.exists() and recorded.read_text() == native._digest(path)


def test_a_cached_library_without_the_kernels_symbols_leaves_the_torch_ops(
    fresh_build, tmp_path, caplog
) -> None:
    """Even with a matching recorded hash, a library lacking a kernel is a warning and the
    torch ops, not an ``AttributeError``."""
    path = native.library_path(native.c_compiler())
    path.parent.mkdir(parents=True)
    other_library(tmp_path, "int unrelated(void) { return 1; }\n").replace(path)
    path.with_name(path.name + ".sha256").write_text(native._digest(path))
    with caplog.at_level(logging.WARNING, logger="snnattack.cpu.native"):
        assert native.built() is None
    assert "could not be built or loaded" in caplog.text and "undefined symbol" in caplog.text


@pytest.mark.parametrize("cc", [pytest.param("/no/such/compiler", marks=pytest.mark.slow), "false"])
@pytest.mark.usefixtures("fresh_build")
def test_without_a_working_compiler_the_torch_ops_give_the_same_spikes(
    monkeypatch, caplog, cc
) -> None:
    """No compiler (none found) or a broken one (its build fails): a warning for the
    latter, and the LIF runs on torch ops."""
    x, grad = inputs(torch.float32)
    lif = neuron(Triangle())
    expected = loops(x, grad, lif)
    native.built.cache_clear()
    monkeypatch.setenv("CC", cc)
    with caplog.at_level(logging.INFO, logger="snnattack.cpu.native"):
        assert native.built() is None
        got = loops(x, grad, lif)
    assert ("could not be built" in caplog.text) == (cc == "false")
    for a, b in zip(expected, got, strict=True):
        assert torch.equal(a, b)


def test_a_compiler_command_with_arguments_builds_the_kernel(
    fresh_build, monkeypatch, tmp_path
) -> None:
    """``$CC`` as ``ccache gcc`` sets it: a program (here a wrapper that notes its arguments)
    and its arguments, which reach the compiler and key the cached library (a
    ``-march=native`` build is another node's); a blank or unparsable ``$CC`` is ``cc`` or
    the torch ops, never an error at the first forward."""
    cc = native.c_compiler()[0]
    noted = tmp_path / "arguments"
    wrapper = tmp_path / "noting-cc"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {noted}\nexec {cc} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("CC", f"{wrapper} -DSNNATTACK_NOTED")
    assert native.built() is not None and "-DSNNATTACK_NOTED -O3" in noted.read_text()
    plain = native.library_path((cc,))
    assert native.library_path(native.c_compiler()) != native.library_path((cc, "-O1")) != plain
    for blank in ("", " "):
        monkeypatch.setenv("CC", blank)
        assert native.c_compiler()[0] == shutil.which("cc")
    monkeypatch.setenv("CC", 'gcc "-O2')
    assert native.c_compiler() is None


def test_a_forked_child_makes_threads_of_its_own() -> None:
    """The parent's pool is kept over its calls; a child forked after them has none of its
    threads, and a call of its own waited on them forever."""
    native._pool(2)
    pid = os.fork()
    if pid == 0:
        os._exit(native._pool.cache_info().currsize)  # 0: the child starts a pool afresh
    assert os.waitpid(pid, 0)[1] == 0
    assert native._pool.cache_info().currsize  # the parent's is still kept


@pytest.mark.usefixtures("fresh_build")
def test_without_a_home_folder_the_torch_ops_run(monkeypatch, caplog) -> None:
    """A container's user without a passwd entry or ``$XDG_CACHE_HOME`` has no cache folder:
    a warning, and the torch ops, not an error at the first forward."""
    monkeypatch.delenv("XDG_CACHE_HOME")

    def no_home() -> None:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(native.Path, "home", no_home)
    with caplog.at_level(logging.WARNING, logger="snnattack.cpu.native"):
        assert native.built() is None
    assert "home directory" in caplog.text


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("lam,theta,beta,gamma", [(0.9, 1.0, 2.0, 0.2), (0.7, 0.3, 1.5, 0.1)])
def test_the_rate_slope_equals_the_torch_ops(monkeypatch, dtype, lam, theta, beta, gamma) -> None:
    """RGA's slope in one pass: the torch ops' values at every current, the curve's ends
    (0, low, high: each in the dtype and a step either side, where rounding decides) and
    -0, infinities and NaN included; over a layer split across threads."""
    low, high = (1.0 - lam) * theta, beta * theta
    ends = torch.tensor([0.0, low, high], dtype=dtype)
    near = [ends, ends.nextafter(ends - 1), ends.nextafter(ends + 1)]
    special = torch.tensor([-0.0, float("inf"), -float("inf"), float("nan")], dtype=dtype)
    torch.manual_seed(0)
    spread = torch.rand(3 * native.PER_THREAD, dtype=dtype) * 3 * high - high
    current = torch.cat([*near, special, spread]).reshape(1, -1)
    ran = []  # whether each call ran the kernel
    real = native.rate_slope
    monkeypatch.setattr(native, "rate_slope", lambda *a: ran.append(real(*a)) or ran[-1])
    threads = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        kernel = rate_slope(current, lam, theta, beta, gamma)
    finally:
        torch.set_num_threads(threads)
    reference = rate_slope(current, lam, theta, beta, gamma, backend="torch")
    assert [out is not None for out in ran] == [True] and kernel.dtype == dtype
    assert set(kernel.unique().tolist()) == set(reference.unique().tolist())
    assert len(reference.unique()) == 3  # 0, gamma and the ramp all seen
    assert torch.equal(kernel, reference)
    strided = current.expand(2, -1).t()  # not contiguous: torch ops
    assert torch.equal(rate_slope(strided, lam, theta, beta, gamma), reference.expand(2, -1).t())
