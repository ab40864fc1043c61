"""The one guard of the CPU paths (``snnattack.cpu.guard.applies``): each of its conditions
refuses on its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from snnattack.cpu.frozen import run_layer
from snnattack.cpu.guard import BACKENDS, HOOK_KINDS, applies


def test_a_c_network_on_a_cpu_float_tensor_through_plain_modules_runs_the_cpu_paths() -> None:
    for dtype in (torch.float32, torch.float64):
        x = torch.zeros(2, 3, dtype=dtype)
        assert applies("c", x, nn.Linear(3, 3).to(dtype), nn.AvgPool2d(2))
        assert applies("c", x)  # no module: the tensor's conditions alone
    assert applies("c", torch.zeros(2, 3), nn.Linear(3, 3).requires_grad_(True))  # training
    assert BACKENDS == ("c", "torch", "triton")


def test_the_torch_backend_refuses() -> None:
    assert not applies("torch", torch.zeros(2, 3), nn.Linear(3, 3))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int64])
def test_a_dtype_without_a_kernel_refuses(dtype: torch.dtype) -> None:
    assert not applies("c", torch.zeros(2, 3, dtype=dtype))


def test_a_tensor_off_the_cpu_refuses() -> None:
    assert not applies("c", torch.zeros(2, 3, device="meta"))


def test_tracing_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    assert not applies("c", torch.zeros(2, 3))


def test_cpu_autocast_refuses() -> None:
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not applies("c", torch.zeros(2, 3))
    assert applies("c", torch.zeros(2, 3))


def test_a_module_with_a_hook_of_any_kind_or_a_forward_of_its_own_refuses() -> None:
    x = torch.zeros(2, 3)
    modules = {kind: nn.Linear(3, 3) for kind in (*HOOK_KINDS, "legacy backward", "forward")}
    modules["forward"].register_forward_hook(lambda *_: None)
    modules["forward_pre"].register_forward_pre_hook(lambda *_: None)
    modules["backward"].register_full_backward_hook(lambda *_: None)
    modules["backward_pre"].register_full_backward_pre_hook(lambda *_: None)
    modules["legacy backward"].register_backward_hook(lambda *_: None)
    replaced = nn.Linear(3, 3)
    replaced.forward = lambda v: v * 2  # a gradient mode's own forward
    for module in (*modules.values(), replaced):
        assert not applies("c", x, module)
        assert not applies("c", x, nn.Identity(), module)  # any of the modules


@pytest.mark.parametrize(
    "register",
    [
        nn.modules.module.register_module_forward_hook,
        nn.modules.module.register_module_forward_pre_hook,
        nn.modules.module.register_module_full_backward_hook,
        nn.modules.module.register_module_full_backward_pre_hook,
    ],
)
def test_a_hook_on_every_module_refuses(register: Callable[..., Any]) -> None:
    handle = register(lambda *_: None)
    try:
        assert not applies("c", torch.zeros(2, 3), nn.Linear(3, 3))
    finally:
        handle.remove()
    assert applies("c", torch.zeros(2, 3), nn.Linear(3, 3))


def test_a_backward_hook_on_a_frozen_batch_norm_runs_in_an_attacks_backward() -> None:
    """A BN with only a backward hook is called, not run by the C path (which would skip the
    hook): the hook sees the input gradient the torch BN gives."""
    bn = nn.BatchNorm2d(3).eval()
    bn.running_mean.uniform_(-1, 1)
    calls = []
    bn.register_full_backward_hook(lambda m, gin, gout: calls.append(gin[0].clone()))
    x = torch.rand(2, 3, 4, 4, requires_grad=True)
    with torch.no_grad():
        bn.weight.requires_grad_(False), bn.bias.requires_grad_(False)
    run_layer(bn, x, "c").sum().backward()
    assert len(calls) == 1
    torch.testing.assert_close(calls[0], x.grad)


def test_a_module_of_another_dtype_refuses() -> None:
    x = torch.zeros(2, 3)
    assert not applies("c", x, nn.Linear(3, 3).double())
    bn = nn.BatchNorm1d(3)
    bn.running_var = bn.running_var.double()  # a buffer counts as a parameter does
    assert not applies("c", x, bn)


def test_a_container_with_a_layer_of_another_dtype_refuses() -> None:
    """A module with children is judged by all of their tensors, a layer by its own."""
    x = torch.zeros(2, 3)
    assert applies("c", x, nn.Sequential(nn.Linear(3, 3), nn.ReLU()))
    assert not applies("c", x, nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3).double()))
    assert applies("c", x, nn.Linear(3, 3, bias=False))  # a parameter left None
