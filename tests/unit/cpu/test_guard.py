"""The one guard of the CPU paths (``snnattack.cpu.guard.applies``): each of its conditions
refuses on its own."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from snnattack.cpu.guard import BACKENDS, applies


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


def test_a_module_with_a_hook_or_a_forward_of_its_own_refuses() -> None:
    x = torch.zeros(2, 3)
    hooked, pre_hooked, replaced = nn.Linear(3, 3), nn.Linear(3, 3), nn.Linear(3, 3)
    hooked.register_forward_hook(lambda *_: None)
    pre_hooked.register_forward_pre_hook(lambda *_: None)
    replaced.forward = lambda v: v * 2  # a gradient mode's own forward
    for module in (hooked, pre_hooked, replaced):
        assert not applies("c", x, module)
        assert not applies("c", x, nn.Identity(), module)  # any of the modules


def test_a_module_of_another_dtype_refuses() -> None:
    x = torch.zeros(2, 3)
    assert not applies("c", x, nn.Linear(3, 3).double())
    bn = nn.BatchNorm1d(3)
    bn.running_var = bn.running_var.double()  # a buffer counts as a parameter does
    assert not applies("c", x, bn)
