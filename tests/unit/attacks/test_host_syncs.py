"""No host sync per iteration in the loops of SDA, SpikeFool, Spike-Retiming and the L∞
attacks, crafted as a job does and through ``snnattack.attack`` on a spikingjelly network
(issue 55): on a GPU each one stalls the host until the queued kernels are done.

The CPU has nothing to wait for, so the reads a GPU would wait on are counted instead: the
operators ``torch.profiler`` records that read a device value to the host (``.item()``,
``bool(tensor)``, ``.nonzero()`` and boolean-mask indexing, ``masked_select``, ``unique``)
and the calls of ``Tensor.cpu``, ``Tensor.numpy`` and ``Tensor.tolist``. Each attack runs
``n`` and ``2 n`` iterations on a model it cannot fool (every sample runs every iteration,
the worst case), with the compaction of the running samples read as on a GPU (at most once
per :data:`~snnattack.attacks.methods.base.COMPACT_EVERY` iterations, here never within the
runs): both make as many reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import torch
from fixtures_event_nets import binary_digits_net
from foreign_nets import spikingjelly_plif
from harness import QUICK, compose
from torch import nn
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

import snnattack
from snnattack.attacks.crafting import craft
from snnattack.attacks.methods import retime, sda, sparsefool
from snnattack.evaluation import core
from snnattack.gradients import gradient_mode
from snnattack.models import build
from snnattack.preparation.config import job_settings

READING_OPS = (
    "aten::_local_scalar_dense",  # .item(), bool(), int(), float() of a tensor
    "aten::nonzero",  # .nonzero(), boolean-mask indexing
    "aten::masked_select",
    "aten::_unique2",
    "aten::unique_consecutive",
)
READING_METHODS = ("cpu", "numpy", "tolist")
N = 2  # iterations of the shorter run
FRAMES = (2, 4, 2, 4, 4)  # B, T, polarities, H, W of the event attacks' binary frames


@contextmanager
def counted_reads() -> Iterator[list[int]]:
    """Within the block, counts (``box[0]``, read after it) the host reads of tensor values."""
    box = [0]
    originals = {name: getattr(torch.Tensor, name) for name in READING_METHODS}

    def counting(original: Callable) -> Callable:
        def read(self: torch.Tensor, *args, **kwargs):
            box[0] += 1
            return original(self, *args, **kwargs)

        return read

    for name, original in originals.items():
        setattr(torch.Tensor, name, counting(original))
    try:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            yield box
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)
    box[0] += sum(
        1 for e in prof.events() if e.device_type == DeviceType.CPU and e.name in READING_OPS
    )


def reads(run: Callable[[], object]) -> int:
    with counted_reads() as box:
        run()
    return box[0]


class Unfoolable(nn.Module):
    """Class 0 whatever the input, with a zero input gradient: no attack fools it."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.tensor([1.0, 0.0, 0.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias + 0.0 * x.flatten(1).sum(1, keepdim=True)


@pytest.fixture
def as_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compaction of the running samples read as on a GPU, here never after the first."""
    for module in (sda, sparsefool):
        monkeypatch.setattr(module, "compaction_interval", lambda device: 1000)


def native_net() -> nn.Module:
    """A digits_net of this package (no adaptation), T=2."""
    torch.manual_seed(0)
    return build("digits_net", 10, 1, T=2).eval()


def frames() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x = (torch.rand(*FRAMES) < 0.3).float()
    return x, torch.zeros(FRAMES[0], dtype=torch.long)


def test_the_counter_sees_each_kind_of_read() -> None:
    """The counter itself: a missed kind would pass any loop."""
    t = torch.tensor([0.0, 1.0])
    for read in (
        lambda: t.sum().item(),
        lambda: bool(t.any()),
        lambda: t.nonzero(),
        lambda: t[t > 0],
        lambda: t.tolist(),
        lambda: t.cpu(),
        lambda: t.unique(),
    ):
        assert reads(read) >= 1


def test_sda_reads_no_more_for_more_iterations(as_on_a_gpu: None) -> None:
    x, y = frames()

    def run(n: int) -> Callable[[], object]:
        return lambda: sda.SDA(Unfoolable(), k_init=2, n_iter=n)(x, y)

    assert reads(run(2 * N)) == reads(run(N))


def test_the_cpu_compacts_sdas_running_samples_every_iteration() -> None:
    """Without the GPU's interval the counter sees the compaction of each iteration."""
    x, y = frames()
    counts = [
        reads(lambda n=n: sda.SDA(Unfoolable(), k_init=2, n_iter=n)(x, y)) for n in (N, 2 * N)
    ]
    assert counts[1] - counts[0] == N


def test_spikefools_deepfool_reads_no_more_for_more_steps(as_on_a_gpu: None) -> None:
    x, y = frames()

    def run(n: int) -> Callable[[], object]:
        return lambda: sparsefool.SparseFool(Unfoolable(), max_iter=1, max_iter_deep_fool=n)(x, y)

    assert reads(run(2 * N)) == reads(run(N))


def test_spikefool_reads_twice_per_iteration(as_on_a_gpu: None) -> None:
    """Kept per SpikeFool iteration (each runs up to ``max_iter_deep_fool`` DeepFool steps of
    a backward pass per class): the logits ranked by numpy's argsort, the reference's tie
    order (``descending``: a ``.cpu()`` and a ``.numpy()``, one copy), and the linear
    solver's first check whether a sample still moves."""
    x, y = frames()

    def run(n: int) -> Callable[[], object]:
        return lambda: sparsefool.SparseFool(Unfoolable(), max_iter=n, max_iter_deep_fool=2)(x, y)

    assert reads(run(2 * N)) - reads(run(N)) == 3 * N


@pytest.mark.parametrize("norm", retime.NORMS)
def test_retime_reads_no_more_for_more_steps(norm: str) -> None:
    x, y = frames()
    budget = 1 if norm == "linf" else 2

    def run(n: int) -> Callable[[], object]:
        return lambda: retime.Retime(Unfoolable(), norm=norm, budget=budget, steps=n)(x, y)

    assert reads(run(2 * N)) == reads(run(N))


@pytest.mark.parametrize("mode", ["stbp", "rga"])
@pytest.mark.parametrize("method", ["pgd", "bim", "mifgsm"])
def test_linf_attacks_read_no_more_for_more_steps(method: str, mode: str) -> None:
    job = job_settings(compose(*QUICK, f"method=[{method}]", "boxes=[white]", f"attack={mode}"))
    (spec,) = job.specs
    net = native_net()
    x, y = torch.rand(2, 1, 8, 8), torch.zeros(2, dtype=torch.long)

    def run(n: int) -> Callable[[], object]:
        params = {**spec.params, "steps": n}
        return lambda: craft(spec.algorithm, net, x, y, spec.eps, params, job.attack.recipe)

    assert reads(run(2 * N)) == reads(run(N))


@pytest.mark.parametrize("attack", ["sda", "sparsefool"])
def test_the_examples_are_the_same_at_any_compaction_interval(
    attack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Samples fooled at different iterations: those done since the last read are masked, so
    the GPU's interval gives the CPU's examples bit for bit."""
    model, x, y = binary_digits_net()
    module = {"sda": sda, "sparsefool": sparsefool}[attack]
    make = {
        "sda": lambda: sda.SDA(model, n_iter=20),
        "sparsefool": lambda: sparsefool.SparseFool(model),
    }[attack]
    examples = []
    for every in (1, 3):
        monkeypatch.setattr(module, "compaction_interval", lambda device, every=every: every)
        torch.manual_seed(0)
        with gradient_mode(model, "stbp"):
            examples.append(make()(x, y))
    assert (model(examples[0]).argmax(1) != y).sum() >= 2
    assert torch.equal(examples[1], examples[0])


@pytest.mark.parametrize("mode", ["stbp", "rga"])
def test_the_apis_pgd_on_a_spikingjelly_network_reads_no_more_for_more_steps(mode: str) -> None:
    """Through the adapter too: the reads of a call (its preparation) do not grow with its
    steps."""
    net = spikingjelly_plif()
    x, y = torch.rand(2, 1, 8, 8), torch.zeros(2, dtype=torch.long)

    def run(n: int) -> Callable[[], object]:
        return lambda: snnattack.attack(net, x, y, "pgd", eps=8, grad_mode=mode, T=2, steps=n)

    assert reads(run(2 * N)) == reads(run(N))


@pytest.mark.parametrize("net", ["spikingjelly_plif", "digits_net"])
def test_a_repeated_apis_attack_reads_once_before_the_attack(
    net: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 57: a repeated call on an unchanged model reads its kept preparation's check
    (the PLIF's decay read as a number, the weights' finiteness), the images' values and the
    labels' range in one host sync; the attack's own reads come after it (counted apart:
    here the attack returns the batch as it is). The first call checks the model on its
    own."""
    monkeypatch.setattr(core, "attack_batch", lambda spec, attack, model, x, *_: x)
    model = {"spikingjelly_plif": spikingjelly_plif, "digits_net": native_net}[net]()
    x, y = torch.rand(2, 1, 8, 8), torch.zeros(2, dtype=torch.long)

    def call() -> torch.Tensor:
        return snnattack.attack(model, x, y, "pgd", eps=8, T=2, steps=1)

    assert reads(call) > 1
    assert reads(call) == 1


@pytest.mark.parametrize("net", ["spikingjelly_plif", "digits_net"])
def test_a_repeated_apis_evaluate_reads_once_before_the_attacks(
    net: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 57: a repeated evaluation on an unchanged model reads its kept preparation's
    check with its batch's values and labels in one host sync (before: three, the kept
    check on its own, the images, the labels); the attacks' own reads come after it (counted
    apart: here the core returns at once). A loader's batches after the first are read in
    one sync each, as the first; its own seed draws are reads of the CPU too, so the batch
    is given as a pair here."""
    monkeypatch.setattr(core, "record_attacks", lambda *args, **kwargs: {})
    model = {"spikingjelly_plif": spikingjelly_plif, "digits_net": native_net}[net]()
    data = torch.rand(4, 1, 8, 8), torch.arange(4) % 2

    def call() -> object:
        return snnattack.evaluate(model, data, T=2, masking=False, progress=False)

    assert reads(call) > 1
    assert reads(call) == 1
