"""Input gradients of a model's linear layers without their forward pass.

The backward of a linear layer towards its input (a transposed convolution, a product with
the weight matrix, an eval-mode BN's ``grad * weight * invstd``, an average pooling's
spread, a reshape, a product by a constant) does not depend on the input's values. A pass
whose layer outputs are never read, only differentiated, can skip computing them:
:func:`adjoint_only` makes each such layer of a model return zeros of the right shape (one
zero broadcast, no kernel) and, in the backward, the input gradient its autograd node would
give (the same aten kernels, on the input's shape alone). The rate-domain RGA uses it: its
layers' values come from the simulation, so its second pass is pure backward, one autograd
node per layer.

A model whose own code writes into such a layer's output in place (a residual ``out += x``,
as spikingjelly's zoo ``BasicBlock`` does) cannot write into a broadcast zero: autograd
refuses it. That call of the model then runs again with every layer's zeros in memory of
their own, and from then on the layers whose output it saw written get zeros of their own
(a kernel each), the others the broadcast zero: no kernel where nothing writes in place.

The layers skipped are ``nn.Conv2d``, ``nn.Linear``, an ``nn.BatchNorm2d`` in eval mode with
running statistics, ``nn.AvgPool2d``, ``nn.Flatten`` and an adapted neuron's
:class:`~snnattack.snn.scaled.InputScale`, each running its torch class's forward; and a
foreign subclass of one of them whose forward, in multi-step mode, only folds ``[T, B, ...]``
into ``[T * B, ...]`` around its torch class's forward and unfolds the result (spikingjelly's
``layer.Conv2d``, ``layer.BatchNorm2d``, ``layer.AvgPool2d``, ``layer.Flatten`` with
``step_mode='m'``). What such a forward does is decided by running it, once per layer and
step mode, on a small input against the torch class's forward on the folded input (the same
numbers, bit for bit): never from its source text or its class's name.

On a GPU a convolution's input gradient of stride 1 is a forward convolution
(:func:`snnattack.cuda.convolution.input_gradient`: cuDNN's deterministic backward algorithms
were slow), elsewhere the kernel autograd calls.

Within the block the skipped layers' weights get no gradient: it serves passes that ask for
the input's gradient only (attacks). Convolutions with a padding mode other than zeros or a
padding given as a string, and layers fed an input that needs no gradient, run their real
forward.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import torch
from torch import nn

from snnattack.cpu.guard import CLASS_FORWARD_WITHOUT_GRAD
from snnattack.cuda.convolution import input_gradient, transposable
from snnattack.snn.scaled import InputScale

aten = torch.ops.aten
LINEAR = (nn.Conv2d, nn.Linear, nn.BatchNorm2d, nn.AvgPool2d, nn.Flatten, InputScale)
_folds: weakref.WeakKeyDictionary[nn.Module, tuple[str, bool]] = weakref.WeakKeyDictionary()
# layers whose output a model's own code was seen writing in place: zeros of their own
_written: weakref.WeakSet[nn.Module] = weakref.WeakSet()
Result = TypeVar("Result")
# autograd's refusal of a write into a custom Function's view: the broadcast zero's
_WRITE_REFUSED = "This view was created inside a custom Function"


class _Adjoint(torch.autograd.Function):
    """Zeros (``zero`` broadcast, or in memory of their own where ``own``: written in place)
    shaped like the output of ``steps`` applied in turn to ``x``; backward: their gradient
    w.r.t. ``x``, each step's in reverse. A step is ``(layer, fold, shape)``: ``layer`` fed an
    input of ``shape``, with ``fold`` as ``[T, B, ...]`` that its torch class sees as ``[T *
    B, ...]``."""

    @staticmethod
    def forward(ctx, x, zero, steps, out_shape, own):  # type: ignore[override]
        ctx.steps = steps
        return zero.new_zeros(out_shape) if own else zero.expand(out_shape)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        folded = None  # the [T, B, ...] shape that grad, kept as [T * B, ...], stands for
        for layer, fold, shape in reversed(ctx.steps):
            if isinstance(layer, InputScale):  # elementwise: on either layout
                grad = _input_gradient(layer, grad, shape)
            elif fold:  # folded from here until a layer that is not
                grad = grad if folded is not None else grad.flatten(0, 1)
                grad = _input_gradient(layer, grad, (shape[0] * shape[1], *shape[2:]))
                folded = shape
            else:
                grad, folded = (grad if folded is None else grad.view(folded)), None
                grad = _input_gradient(layer, grad, shape)
        return (grad if folded is None else grad.view(folded)), None, None, None, None


def _step_output(layer: nn.Module, fold: bool, shape: tuple) -> tuple[int, ...]:
    """The output shape of ``layer`` (a step of :class:`_Adjoint`) fed ``shape``."""
    if not fold:
        return _output_shape(layer, shape)
    out = _output_shape(layer, (shape[0] * shape[1], *shape[2:]))
    return (*shape[:2], *out[1:])


def _input_gradient(layer: nn.Module, grad: torch.Tensor, shape: tuple) -> torch.Tensor:
    """The input gradient ``layer``'s autograd node gives for ``grad``, the input of
    ``shape`` (its values unread: a stand-in of that shape)."""
    if isinstance(layer, nn.Linear):
        return grad @ layer.weight
    if isinstance(layer, InputScale):
        return grad * layer.scale
    if isinstance(layer, nn.Flatten):
        return grad.reshape(shape)
    stand_in = grad.new_empty(shape)
    if not stand_in.numel():
        return stand_in  # an empty batch (ATen's batch norm divides by its size)
    if isinstance(layer, nn.BatchNorm2d):
        stats = (layer.running_mean, layer.running_var)
        # eval-mode statistics: none saved, as autograd's own node holds them (CUDA's kernel
        # needs the empty tensors, not None)
        saved = (grad.new_empty(0), grad.new_empty(0))
        mask = [True, False, False]  # the input's gradient only
        return aten.native_batch_norm_backward(
            grad.contiguous(), stand_in, layer.weight, *stats, *saved, False, layer.eps, mask
        )[0]
    if isinstance(layer, nn.AvgPool2d):
        return aten.avg_pool2d_backward(grad, stand_in, *_pool_geometry(layer))
    if grad.is_cuda and transposable(layer):  # cuDNN's forward algorithms (cuda.convolution)
        return input_gradient(grad, layer.weight, layer.padding)
    return aten.convolution_backward(
        grad.contiguous(),
        stand_in,
        layer.weight,
        None,
        layer.stride,
        layer.padding,
        layer.dilation,
        False,
        [0, 0],
        layer.groups,
        (True, False, False),
    )[0]


def _pool_geometry(layer: nn.AvgPool2d) -> tuple:
    pair = torch.nn.modules.utils._pair
    kernel = pair(layer.kernel_size)
    stride = pair(layer.stride) if layer.stride is not None else kernel
    return (
        kernel,
        stride,
        pair(layer.padding),
        layer.ceil_mode,
        layer.count_include_pad,
        layer.divisor_override,
    )


def _pooled(n: int, k: int, p: int, s: int, ceil: bool) -> int:
    """ATen's ``pooling_output_shape`` (dilation 1)."""
    out = (n + 2 * p - (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return out


def _output_shape(layer: nn.Module, shape: tuple) -> tuple[int, ...]:
    if isinstance(layer, nn.Linear):
        return (*shape[:-1], layer.out_features)
    if isinstance(layer, InputScale | nn.BatchNorm2d):
        return tuple(shape)
    if isinstance(layer, nn.Flatten):
        start, end = layer.start_dim % len(shape), layer.end_dim % len(shape)
        size = 1
        for n in shape[start : end + 1]:
            size *= n
        return (*shape[:start], size, *shape[end + 1 :])
    if isinstance(layer, nn.AvgPool2d):
        kernel, stride, padding, ceil = _pool_geometry(layer)[:4]
        size = [
            _pooled(n, k, p, s, ceil)
            for n, k, p, s in zip(shape[-2:], kernel, padding, stride, strict=True)
        ]
        return (*shape[:-2], *size)
    size = [
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, p, d, k, s in zip(
            shape[-2:], layer.padding, layer.dilation, layer.kernel_size, layer.stride, strict=True
        )
    ]
    return (*shape[:-3], layer.out_channels, *size)


def _base(layer: nn.Module) -> type[nn.Module] | None:
    """The torch class among :data:`LINEAR` that ``layer`` is an instance of."""
    return next((cls for cls in LINEAR if isinstance(layer, cls)), None)


def _linear(layer: nn.Module, base: type[nn.Module]) -> bool:
    """Whether ``layer``'s values, not only its forward, are those of a linear layer the
    adjoint computes: zero padding given as numbers, a BN on running statistics in eval."""
    if base is nn.Conv2d:
        return layer.padding_mode == "zeros" and not isinstance(layer.padding, str)
    if base is nn.BatchNorm2d:
        return not layer.training and layer.running_mean is not None
    return True


def _skippable(layer: nn.Module) -> bool | None:
    """How ``layer`` is skipped: False (as its torch class), True (folding ``[T, B]``), or
    None (it runs)."""
    base = _base(layer)
    if base is None or "forward" in vars(layer) or not _linear(layer, base):
        return None
    if type(layer).forward is base.forward:
        return False
    return True if _folds_time(layer, base) else None


def _folds_time(layer: nn.Module, base: type[nn.Module]) -> bool:
    """Whether ``layer``'s forward is its torch class's on ``[T * B, ...]``, folded from and
    back to ``[T, B, ...]``: run once per layer and step mode on a small input."""
    mode = getattr(layer, "step_mode", None)
    known = _folds.get(layer)
    if known is not None and known[0] == mode:
        return known[1]
    try:
        x = _probe(layer, base)
        with torch.no_grad():
            ours = type(layer).forward(layer, x)
            folded = base.forward(layer, x.flatten(0, 1))
            folds = torch.equal(ours, folded.view(*x.shape[:2], *folded.shape[1:]))
    except (RuntimeError, ValueError, TypeError, AssertionError, NotImplementedError):
        folds = False
    _folds[layer] = (mode, folds)
    return folds


def _probe(layer: nn.Module, base: type[nn.Module]) -> torch.Tensor:
    """A small ``[2, 3, ...]`` input of ``layer``, on its device and in its dtype."""
    param = next(layer.parameters(), None)
    like = {} if param is None else {"device": param.device, "dtype": param.dtype}
    generator = torch.Generator(like.get("device", "cpu")).manual_seed(0)
    if base is nn.Conv2d:
        geometry = zip(layer.dilation, layer.kernel_size, layer.stride, strict=True)
        sample = (layer.in_channels, *(d * (k - 1) + 1 + s for d, k, s in geometry))
    elif base is nn.BatchNorm2d:
        sample = (layer.num_features, 2, 2)
    elif base is nn.Linear:
        sample = (layer.in_features,)
    elif base is nn.AvgPool2d:
        kernel, stride = _pool_geometry(layer)[:2]
        sample = (2, kernel[0] + stride[0], kernel[1] + stride[1])
    else:
        sample = (2, 3, 2)
    return torch.rand(2, 3, *sample, generator=generator, **like)


@contextmanager
def adjoint_only(model: nn.Module, rewind: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Within the block, the linear layers of ``model`` (see the module's docstring) output
    zeros (values never to be read) and differentiate as themselves.

    A call of ``model`` whose code writes into such zeros in place (autograd refuses a write
    into the broadcast zero) runs again, ``rewind()`` first (undoing what the refused call
    consumed), with every layer's zeros in memory of their own; the layers whose zeros it
    writes keep memory of their own in later calls."""
    layers = {}
    for m in model.modules():
        fold = _skippable(m)
        if fold is not None:
            layers[m] = fold

    zeros: dict[tuple, torch.Tensor] = {}  # one zero per device and dtype, broadcast
    # in a call run again: each layer's output, of its own memory, and its version then
    watched: list[tuple[nn.Module, torch.Tensor, int]] | None = None

    def skip(layer: nn.Module, fold: bool):
        def forward(x: torch.Tensor) -> torch.Tensor:
            if not (torch.is_grad_enabled() and x.requires_grad) or (fold and x.dim() < 3):
                return type(layer).forward(layer, x)
            step = (layer, fold, tuple(x.shape))
            node = x.grad_fn
            if type(node) is _Adjoint._backward_cls and getattr(node, "origin", None):
                source, steps = node.origin[0], (*node.steps, step)  # a chain: one node
            else:
                source, steps = x, (step,)
            key = (x.device, x.dtype)
            if key not in zeros:
                zeros[key] = x.new_zeros(())
            own = watched is not None or layer in _written
            shape = _step_output(*step[:2], step[2])
            out = _Adjoint.apply(source, zeros[key], steps, shape, own)
            out.grad_fn.origin = (source,)
            if watched is not None:
                watched.append((layer, out, out._version))
            return out

        setattr(forward, CLASS_FORWARD_WITHOUT_GRAD, True)  # the CPU paths may run it then
        return forward

    def writable(call: Callable[..., Result], as_class: bool) -> Callable[..., Result]:
        def forward(*args, **kwargs) -> Result:
            nonlocal watched
            try:
                return call(*args, **kwargs)
            except RuntimeError as error:
                if _WRITE_REFUSED not in str(error):
                    raise
            rewind()
            watched = []
            try:
                out = call(*args, **kwargs)
                _written.update(layer for layer, out, version in watched if out._version > version)
            finally:
                watched = None
            return out

        setattr(forward, CLASS_FORWARD_WITHOUT_GRAD, as_class)  # `call` itself without gradient
        return forward

    for layer, fold in layers.items():
        layer.forward = skip(layer, fold)
    wrapped = model not in layers  # a skipped layer's own forward writes into nothing
    if wrapped:
        before = vars(model).get("forward")
        as_class = before is None or getattr(before, CLASS_FORWARD_WITHOUT_GRAD, False)
        model.forward = writable(model.forward, as_class)
    try:
        yield
    finally:
        for layer in layers:
            del layer.forward
        if wrapped and before is None:
            del model.forward
        elif wrapped:
            model.forward = before
