"""Convolutions on a GPU whose input gradient is a forward convolution.

A convolution's input gradient is the transposed convolution of the output's gradient. Under
the project's GPU numerics (``deterministic: true``, ``tf32: false``) cuDNN's heuristics picked
for it, on a CIFAR VGG-11's wider layers, an algorithm taking 3.2 ms a call on an H200, where
the forward convolutions of the same layers took 0.3 to 0.7 ms: that backward was 70 % of a PGD
step (``docs/performance.md``, "Against the peer on a GPU"). With stride 1, dilation 1, one
group and zero padding ``p <= k - 1`` per side (:func:`transposable`: VGG's and ResNet's 3x3
and 1x1 convolutions of stride 1), the transposed convolution is a forward convolution of the
gradient by the weights with their channels swapped and their kernels flipped, padded by
``k - 1 - p``: cuDNN's forward algorithms, deterministic too. The same sums in another order,
so the same gradient within float32 rounding. The weight's and the bias's gradients, where
they need one (training), come from the kernel autograd calls; the input is kept for them
only: an attack's frozen convolution keeps nothing of it, like the CPU's frozen layers
(:mod:`snnattack.cpu.frozen`).

It runs (:func:`convolution`) on a CUDA tensor of a network of the backend ``c`` or
``triton``, and on a CPU tensor with ``triton`` under Triton's interpreter (the GPU's paths on
the CPU, as the Triton kernels run there, so that the default suite tests it; without it
the torch ops run, as for the neurons: ``backend=triton`` then gives ``torch``'s numbers);
where a gradient is recorded and something needs one, and nothing traces (``torch.compile``)
or casts (autocast). RGA's adjoint (:mod:`snnattack.gradients.adjoint`) takes :func:`input_gradient`
for its convolutions on a GPU.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.weak import WeakIdKeyDictionary

from snnattack.cpu.guard import first_order, plain
from snnattack.cuda.guard import DEVICE_BACKENDS, TRITON, interpreted

aten = torch.ops.aten
# a weight of the package's own copies (keep_flips) -> None, or (its memory, version and
# shape; flipped(weight))
_flipped = WeakIdKeyDictionary()


def transposable(conv: nn.Conv2d) -> bool:
    """Whether the input gradient of ``conv`` is a forward convolution of the same size: stride
    1, dilation 1, one group, zero padding of at most ``k - 1`` per side, given as numbers."""
    if conv.padding_mode != "zeros" or isinstance(conv.padding, str) or conv.groups != 1:
        return False
    ones = all(s == 1 for s in conv.stride) and all(d == 1 for d in conv.dilation)
    return ones and all(0 <= p < k for p, k in zip(conv.padding, conv.kernel_size, strict=True))


def input_gradient(
    grad: torch.Tensor, weight: torch.Tensor, padding: tuple[int, int]
) -> torch.Tensor:
    """The gradient towards the input of a :func:`transposable` convolution by ``weight``
    with ``padding``, for ``grad``, its output's gradient: a forward convolution."""
    pad = [k - 1 - p for k, p in zip(weight.shape[-2:], padding, strict=True)]
    return aten.convolution(grad, flipped(weight), None, [1, 1], pad, [1, 1], False, [0, 0], 1)


def flipped(weight: torch.Tensor) -> torch.Tensor:
    """``weight`` with its channels swapped and its kernels flipped. A weight of the package's
    own copies (:func:`keep_flips`) keeps it while its memory and version hold, so an attack's
    steps launch no copy for it; any other weight's is made at each call, as a change through
    ``.data`` (weight clipping, a hand-written update) reaches no version counter."""
    if weight not in _flipped:
        return weight.detach().transpose(0, 1).flip(-2, -1)
    key = (weight.data_ptr(), weight._version, weight.shape)
    kept = _flipped[weight]
    if kept is None or kept[0] != key:
        kept = _flipped[weight] = (key, weight.detach().transpose(0, 1).flip(-2, -1))
    return kept[1]


def keep_flips(model: nn.Module) -> None:
    """Lets the weights of ``model``, a copy that the package alone changes and only by
    ``copy_`` (the attacked copy), keep their :func:`flipped` copies between calls."""
    for parameter in model.parameters():
        _flipped.setdefault(parameter, None)


class Convolution(torch.autograd.Function):
    """A :func:`transposable` convolution of ``x`` by ``weight`` (and ``bias``) with
    ``padding``: the input's gradient by :func:`input_gradient`, the parameters' by autograd's
    kernel; ``x`` kept only where a parameter needs a gradient."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        padding: tuple[int, int],
    ) -> torch.Tensor:
        ctx.padding, ctx.bias = padding, None if bias is None else list(bias.shape)
        ctx.weight = weight  # the object itself, which :func:`flipped` keeps its copy by
        ctx.save_for_backward(weight, x if any(ctx.needs_input_grad[1:3]) else None)
        return aten.convolution(x, weight, bias, [1, 1], list(padding), [1, 1], False, [0, 0], 1)

    @staticmethod
    @first_order
    def backward(ctx: Any, grad: torch.Tensor):  # type: ignore[override]
        weight, x = ctx.saved_tensors  # refused if changed in place since the forward
        needs_x, needs_weight, needs_bias = (_needed(ctx, i) for i in range(3))
        dx = input_gradient(grad, ctx.weight, ctx.padding) if needs_x else None
        dw = db = None
        if needs_weight or needs_bias:
            geometry = ([1, 1], list(ctx.padding), [1, 1], False, [0, 0], 1)
            mask = [False, needs_weight, needs_bias]
            _, dw, db = aten.convolution_backward(grad, x, weight, ctx.bias, *geometry, mask)
        return dx, dw, db, None


def _needed(ctx: Any, i: int) -> bool:
    """Whether this backward needs the gradient of the ``i``-th input: one that requires it
    and that autograd will pass on (not a weight's in an attack's ``autograd.grad`` towards the
    images alone, which autograd's own convolution node does not compute either)."""
    if not ctx.needs_input_grad[i]:
        return False
    node = ctx.next_functions[i][0]
    will_run = getattr(torch._C, "_will_engine_execute_node", None)  # torch's, not public
    try:
        return node is None or will_run is None or will_run(node)
    except RuntimeError:  # a leaf that autograd.grad asks for: needed
        return True


def applies(backend: str, x: torch.Tensor, conv: nn.Module) -> bool:
    """Whether :class:`Convolution` runs on ``x`` through ``conv`` in a ``backend`` network
    (the module's docstring), its geometry aside."""
    if backend not in DEVICE_BACKENDS.get(x.device.type, ()) or not x.is_floating_point():
        return False
    if not x.is_cuda and not (TRITON and interpreted()):  # the GPU's paths, as the neurons'
        return False
    if torch.compiler.is_compiling() or torch.is_autocast_enabled(x.device.type):
        return False
    return plain(conv, x.dtype)


def convolution(conv: nn.Conv2d, x: torch.Tensor, backend: str) -> torch.Tensor | None:
    """``conv(x)`` (``conv`` computing ``nn.Conv2d``'s forward on ``x`` ``[N, C, H, W]``) as
    :class:`Convolution` where it applies, else None."""
    recorded = x.requires_grad or any(p.requires_grad for p in conv.parameters())
    if not (recorded and torch.is_grad_enabled() and x.dim() == 4 and transposable(conv)):
        return None
    if not applies(backend, x, conv):
        return None
    return Convolution.apply(x, conv.weight, conv.bias, tuple(conv.padding))
