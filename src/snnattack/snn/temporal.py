"""Modules that own the time dimension (neurons, encoders) and a wrapper for per-step layers.

A spiking model here is an ordinary ``nn.Module`` whose tensors are ``[T, B, ...]``. Modules
that mix time steps derive from :class:`Temporal`, so that a gradient mode
(:mod:`snnattack.gradients`) can find them and replace how they run, while every other module
acts on each time step independently.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from snnattack.cpu import frozen as cpu_frozen
from snnattack.cpu.frozen import run_layer
from snnattack.cpu.guard import Backend
from snnattack.cpu.pooling import pooled, pooled_by
from snnattack.cpu.recompute import note
from snnattack.cuda import convolution as gpu_convolution
from snnattack.errors import UserError, class_name
from snnattack.snn.multistep import batch_statistics

# a layer's output on the folded samples as the tensor to unfold: (layer, its output) -> tensor
Output = Callable[[nn.Module, Any], torch.Tensor]
# set (True) on a foreign layer whose output at a step reads the other steps (attention over
# T): the rate-domain gradient modes, which run one time-averaged step, refuse it
MIXES_TIME = "snnattack_mixes_time"


class Temporal(nn.Module):
    """A module that mixes time steps; a gradient mode may install an ``override`` forward."""

    def __init__(self) -> None:
        super().__init__()
        self.override: Callable[[Temporal, torch.Tensor], torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.override is not None:
            return self.override(self, x)
        return self.simulate(x)

    def simulate(self, x: torch.Tensor) -> torch.Tensor:
        """The module's true dynamics, differentiable with its default (STBP) gradient."""
        raise NotImplementedError


class StepWise(nn.Module):
    """Applies a per-sample module (conv, BN, pooling) to every time step of ``[T, B, ...]``.

    A time-constant input (direct encoding: the image repeated T times, a view with time
    stride 0) goes through the module's leading deterministic per-sample layers once, and
    their output is broadcast over T: the same numbers up to float rounding, T times fewer
    operations. Layers that would see the copies differently (BatchNorm computing batch
    statistics, Dropout in training) and everything after them still run on every step.
    Each layer runs through :func:`_run`; with the ``backend`` ``c`` (the default;
    :func:`snnattack.snn.backend.set_backend`), on the CPU a 2x2 average pooling runs in one
    pass of a C kernel, and frozen (an attack's), a convolution or an eval-mode BN keeps
    nothing of its input for the backward; with ``torch``, the modules run.
    """

    backend = Backend()  # c | torch | triton, checked on every assignment

    def __init__(self, module: nn.Module, backend: str = "c") -> None:
        super().__init__()
        self.module = module
        self.backend = backend

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layers = list(self.module) if isinstance(self.module, nn.Sequential) else [self.module]
        if not time_constant(x):
            return _per_step_layers(layers, x, self.backend)
        y = x[0]
        for i, layer in enumerate(layers):
            if not _per_sample(layer):
                each = y.unsqueeze(0).expand(x.shape[0], *y.shape)
                return _per_step_layers(layers[i:], each, self.backend)
            y = _run(layer, y, self.backend)
        return y.unsqueeze(0).expand(x.shape[0], *y.shape)

    def extra_repr(self) -> str:
        return f"per time step, backend={self.backend}"


class _FoldsTime:
    """A per-sample layer of ``[T, B, ...]`` run as one batch of ``T * B`` samples, as
    spikingjelly's multi-step layers compute it, with a ``backend`` whose path
    (:meth:`on_backend`) runs where it applies, else the layer's torch class. The samples are
    :func:`_samples`' (one in channels-last memory with its layout's own strides, as our
    per-step layers see it). It stays an instance of that class that folds time, which RGA's
    adjoint skips as one step of a chain of such layers (:mod:`snnattack.gradients.adjoint`)."""

    backend = Backend()  # c | torch | triton, checked on every assignment

    def on_backend(self, x: torch.Tensor) -> torch.Tensor | None:
        """The layer on ``x`` ``[T * B, ...]`` by the backend's path, or None."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:  # spikingjelly's refusal, which a probe of the input's form may meet
            raise ValueError(f"expected x with shape [T, N, C, H, W], but got {list(x.shape)}")
        flat = _samples(x)
        out = self.on_backend(flat)
        out = super().forward(flat) if out is None else out  # type: ignore[misc]
        return out.view(*x.shape[:2], *out.shape[1:])

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, folding [T, B], backend={self.backend}"  # type: ignore[misc]


class FoldedAvgPool2d(_FoldsTime, nn.AvgPool2d):
    """spikingjelly's multi-step ``layer.AvgPool2d`` (the adapter's map of that layer,
    :mod:`snnattack.interop.spikingjelly`): on the CPU, ``c`` pools in one pass of the C kernel
    where it applies (:mod:`snnattack.cpu.pooling`)."""

    shown_as = "AvgPool2d"  # the user's layer, as a refusal names it

    def __init__(self, pool: nn.AvgPool2d, backend: str = "c") -> None:
        super().__init__(
            pool.kernel_size,
            pool.stride,
            pool.padding,
            pool.ceil_mode,
            pool.count_include_pad,
            pool.divisor_override,
        )
        self.backend = backend

    def on_backend(self, x: torch.Tensor) -> torch.Tensor | None:
        return pooled_by(self, x, self.backend)


class FoldedConv2d(_FoldsTime, nn.Conv2d):
    """spikingjelly's multi-step ``layer.Conv2d`` (the adapter's map of that layer), sharing
    its parameters: in an attack on the CPU the frozen convolution (:mod:`snnattack.cpu.frozen`),
    on a GPU :mod:`snnattack.cuda.convolution`."""

    shown_as = "Conv2d"  # the user's layer, as a refusal names it

    def __init__(self, conv: nn.Conv2d, backend: str = "c") -> None:
        super().__init__(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            conv.stride,
            conv.padding,
            conv.dilation,
            conv.groups,
            conv.bias is not None,
            conv.padding_mode,
            device="meta",
        )
        self.weight, self.bias = conv.weight, conv.bias
        self.backend = backend

    def on_backend(self, x: torch.Tensor) -> torch.Tensor | None:
        return _convolved(self, x, self.backend)


class FoldedBatchNorm2d(_FoldsTime, nn.BatchNorm2d):
    """spikingjelly's multi-step ``layer.BatchNorm2d`` (the adapter's map of that layer),
    sharing its parameters and running statistics, in its training mode: spikingjelly's own folds
    one channels-last sample with an ambiguous batch stride, whose input gradient ATen's CPU
    batch-norm backward gets wrong (:func:`_samples`); in an attack on the CPU, the frozen BN
    (:mod:`snnattack.cpu.frozen`)."""

    shown_as = "BatchNorm2d"  # the user's layer, as a refusal names it

    def __init__(self, bn: nn.BatchNorm2d, backend: str = "c") -> None:
        super().__init__(
            bn.num_features,
            bn.eps,
            bn.momentum,
            bn.affine,
            bn.track_running_stats,
            device="meta",
        )
        for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            setattr(self, name, getattr(bn, name))
        self.train(bn.training)
        self.backend = backend

    def on_backend(self, x: torch.Tensor) -> torch.Tensor | None:
        return cpu_frozen.frozen_batch_norm(self, x, self.backend)


class FoldedSequential(nn.Sequential):
    """spikingjelly's ``layer.SeqToANNContainer`` (the adapter's map of it, holding its
    layers): they run in turn on the ``T * B`` samples of ``[T, B, ...]`` as a
    :class:`StepWise`'s do (:func:`_per_step_layers`: the samples folded by :func:`_samples`,
    each layer on the ``backend``'s paths), where spikingjelly's own fold left one
    channels-last sample an ambiguous batch stride, whose BN input gradient ATen's CPU
    backward gets wrong. It takes what spikingjelly's takes (:func:`_sequence`), and of each
    layer one tensor (:meth:`_output`); with no layers it passes its input through, as
    spikingjelly's does (an empty ``nn.Sequential``)."""

    backend = Backend()  # c | torch | triton, checked on every assignment

    def __init__(self, container: nn.Sequential, path: str, backend: str = "c") -> None:
        super().__init__(OrderedDict(container.named_children()))
        self.training = container.training  # its layers keep their own flags
        self.backend = backend
        self.path = path  # the container's in the user's network, which a refusal names

    def forward(self, x_seq: object, *more: object) -> torch.Tensor:
        x = _sequence(self.path, x_seq, more)
        return _per_step_layers(list(self), x, self.backend, self._output)

    def _output(self, layer: nn.Module, out: object) -> torch.Tensor:
        """``out``, what its ``layer`` returned on the folded samples, if one tensor, which
        they are unfolded from; anything else (a module returning ``(out, aux)``), which
        spikingjelly's own container fails on with a bare error of torch's, is refused
        naming the layer."""
        if isinstance(out, torch.Tensor):
            return out
        name = next(n for n, m in self.named_children() if m is layer)
        raise UserError(
            f"interop: {self.path}.{name} ({class_name(layer)}) in {self.path} "
            f"(spikingjelly.activation_based.layer.SeqToANNContainer) returned "
            f"{_described(out)}; accepted: layers that return one tensor, which the container "
            "unfolds to [T, B, ...] (a module's further outputs kept elsewhere, e.g. as its "
            "attribute)"
        )

    def extra_repr(self) -> str:
        return f"folding [T, B], backend={self.backend}"


def _sequence(path: str, x_seq: object, more: tuple[object, ...]) -> torch.Tensor:
    """The ``[T, B, ...]`` tensor that the :class:`FoldedSequential` at ``path`` was given, as
    spikingjelly's ``SeqToANNContainer`` takes it: one tensor (its model zoo's and tutorial's
    form), or a tuple of one (2.0 passes a tuple's tensors to its ``nn.Sequential``, which
    takes one). Anything else (several tensors, a list, a tensor without ``[T, B]``), which
    spikingjelly meets with a bare TypeError, AttributeError or ValueError, is refused."""
    one = x_seq[0] if isinstance(x_seq, tuple) and len(x_seq) == 1 else x_seq
    if not more and isinstance(one, torch.Tensor) and one.dim() >= 2:
        return one
    given = f"{1 + len(more)} arguments" if more else _described(x_seq)
    raise UserError(
        f"interop: {path} (spikingjelly.activation_based.layer.SeqToANNContainer) was given "
        f"{given}; accepted: one tensor [T, B, ...], or a tuple of one"
    )


def _described(value: object) -> str:
    """What ``value``, a refused input of a :class:`FoldedSequential`, is, for its message."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {list(value.shape)}"
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of ({', '.join(map(_described, value))})"
    return f"a {type(value).__name__}"


def _convolved(conv: nn.Conv2d, x: torch.Tensor, backend: str) -> torch.Tensor | None:
    """``conv(x)`` (``conv`` computing ``nn.Conv2d``'s forward) on the CPU's paths (frozen)
    or the GPU's where one applies, else None."""
    out = cpu_frozen.frozen_convolution(conv, x, backend)
    return gpu_convolution.convolution(conv, x, backend) if out is None else out


PER_SAMPLE = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.Linear,
    nn.AvgPool2d,
    nn.MaxPool2d,
    nn.AdaptiveAvgPool2d,
    nn.Flatten,
    nn.Identity,
)


def _per_sample(layer: nn.Module) -> bool:
    """Whether ``layer`` maps each sample by itself, deterministically (so once is enough)."""
    if isinstance(layer, nn.modules.batchnorm._BatchNorm):
        return not layer.training and layer.running_mean is not None
    if isinstance(layer, nn.Dropout):
        return not layer.training
    return isinstance(layer, PER_SAMPLE)


def _as_given(_layer: nn.Module, out: torch.Tensor) -> torch.Tensor:
    """The output of a layer of this project's model, a tensor (:func:`per_step`)."""
    return out


def _per_step_layers(
    layers: list[nn.Module], x: torch.Tensor, backend: str, output: Output = _as_given
) -> torch.Tensor:
    """``layers`` applied in turn to the T * B samples of ``x``, each one's output taken by
    ``output`` (:func:`per_step`); the output of a last batch-statistics BN is noted with its
    input, for the fused LIF to recompute it (:mod:`snnattack.cpu.recompute`). No layers (an
    empty container): ``x`` as it is."""
    if not layers:
        return x
    *head, last = layers
    for layer in head:
        x = per_step(layer, x, backend, output)
    flat = _samples(x)
    out = output(last, _run(last, flat, backend))
    out = out.reshape(*x.shape[:2], *out.shape[1:])
    if batch_statistics(last):
        note(out, flat, last, backend)
    return out


def _run(layer: nn.Module, x: torch.Tensor, backend: str) -> torch.Tensor:
    """``layer(x)`` in a ``backend`` network: a tiled average pooling in one pass
    (:mod:`snnattack.cpu.pooling`), a convolution on the CPU's or the GPU's paths
    (:func:`_convolved`), a frozen BN that keeps nothing of its input
    (:mod:`snnattack.cpu.frozen`), or the module."""
    out = pooled(layer, x, backend)
    if out is None and type(layer) is nn.Conv2d:
        out = _convolved(layer, x, backend)
    return run_layer(layer, x, backend) if out is None else out


def time_constant(x: torch.Tensor) -> bool:
    """Whether ``x`` ``[T, B, ...]`` is one tensor broadcast over T (time stride 0, T > 1)."""
    return x.dim() > 1 and x.shape[0] > 1 and x.stride(0) == 0


def per_step(
    module: nn.Module, x: torch.Tensor, backend: str, output: Output = _as_given
) -> torch.Tensor:
    """``module`` applied to the T * B samples of ``x`` ``[T, B, ...]`` as one batch, in a
    ``backend`` network; ``output(module, out)`` is its output as the tensor to unfold (a
    user's layer may return anything else: :meth:`FoldedSequential._output` refuses it)."""
    y = output(module, _run(module, _samples(x), backend))
    return y.reshape(*x.shape[:2], *y.shape[1:])


def _samples(x: torch.Tensor) -> torch.Tensor:
    """The T * B samples of ``x`` ``[T, B, ...]`` as one batch. One sample in channels-last
    memory is given its layout's own strides: the reshape leaves its batch stride at the
    channels' count (free for a dimension of one), and ATen's CPU batch-norm backward then
    gives wrong input gradients."""
    flat = x.reshape(x.shape[0] * x.shape[1], *x.shape[2:])
    one = flat.dim() == 4 and flat.shape[0] == 1 and not flat.is_contiguous()
    if one and flat.is_contiguous(memory_format=torch.channels_last):
        return flat.clone(memory_format=torch.channels_last)
    return flat


def temporal_modules(model: nn.Module) -> list[Temporal]:
    """All temporal modules of ``model`` in registration order."""
    return [m for m in model.modules() if isinstance(m, Temporal)]
