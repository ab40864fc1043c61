"""An attack's random start drawn from the host's generator, so that one seed gives one start
on every device.

torchattacks' PGD (and EOT-PGD, and an attack written as they are) draws its start with
``torch.empty_like(x).uniform_(-eps, eps)``: on a CUDA tensor that is CUDA's generator, whose
numbers are not the CPU's for the same seed. The same job on the CPU and on a GPU then
attacks from other starting points, and its PGD rows differ by more than float rounding
(docs/running.md, *CPU and GPU: the same job*). Until the crafting model's first forward, the
draws of :data:`DRAWS` on a tensor off the CPU are made on the CPU (the same numbers a CPU job
draws) and copied over; later draws, and every draw of a CPU job, are left as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode, _get_current_function_mode

# the in-place draws an attack starts from (with their arguments: bounds, mean and std)
DRAWS = (torch.Tensor.uniform_, torch.Tensor.normal_)


class _HostDraws(TorchFunctionMode):
    """:data:`DRAWS` on a tensor off the CPU made on the CPU's generator and copied over."""

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        kwargs = kwargs or {}
        if func in DRAWS and args[0].device.type != "cpu" and kwargs.get("generator") is None:
            target = args[0]
            drawn = func(torch.empty(target.shape, dtype=target.dtype), *args[1:], **kwargs)
            return target.copy_(drawn)
        return func(*args, **kwargs)


@contextmanager
def host_start(model: nn.Module, device: torch.device) -> Iterator[None]:
    """Within, an attack's draws before ``model``'s first forward come from the CPU's
    generator (:class:`_HostDraws`); from that forward on, each device's own. On the CPU
    (``device``: the images', which ``model`` runs on) there is nothing to move: no mode
    is entered, and the attack's torch calls before that forward pass through none (about
    0.1 ms of a repeated ``snnattack.attack``)."""
    if device.type == "cpu":
        yield
        return
    mode = _HostDraws()
    mode.__enter__()
    active = True

    def stop(*_: Any) -> None:
        nonlocal active
        if active and _get_current_function_mode() is mode:  # modes leave in turn
            mode.__exit__(None, None, None)
            active = False

    handle = model.register_forward_pre_hook(stop, prepend=True)  # before any other hook
    try:
        yield
    finally:
        handle.remove()
        if active:  # no forward ran: the mode is the innermost context's, on top
            mode.__exit__(None, None, None)
