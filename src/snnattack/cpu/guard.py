"""When the CPU paths run: one guard for all of them.

A network's modules carry a ``backend`` (:func:`snnattack.snn.backend.set_backend`): ``"c"``
runs the CPU paths of this package (the C kernels of :mod:`.native`, tiled pooling, frozen
layers, recomputed BN outputs) wherever :func:`applies` finds them the same computation as
the torch ops, and the torch ops elsewhere (on a GPU, the fused LIF's Triton kernels of
:mod:`snnattack.cuda` where they apply, else the torch ops); ``"triton"`` runs those kernels
(on a GPU, and on the CPU under Triton's interpreter) and the torch ops elsewhere;
``"torch"`` runs the torch modules and ops everywhere. Each path adds only its own
conditions (a pooling's geometry, a frozen layer's parameters, the kernel library being
built). The CPU paths give the torch ops' values bit for bit, the Triton kernels within
float32 rounding (:mod:`snnattack.cuda.kernels`); only time and memory change
(``docs/performance.md``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as torch_module

from snnattack.cpu.native import C_TYPES

# the fastest paths (C on the CPU, Triton on a GPU) | torch ops | the Triton kernels
BACKENDS = ("c", "torch", "triton")
FLOATS = tuple(C_TYPES)  # the dtypes the C kernels are built for
# the kinds of hooks a module holds (``module._<kind>_hooks``; every module's in torch's
# ``_global_<kind>_hooks``): forward pre, forward, backward pre
# (register_full_backward_pre_hook) and backward (register_full_backward_hook and the legacy
# register_backward_hook)
HOOK_KINDS = ("forward_pre", "forward", "backward_pre", "backward")
# the mark of a forward set on a module that computes its class's while no gradient is recorded
CLASS_FORWARD_WITHOUT_GRAD = "class_forward_without_grad"


def checked(backend: str) -> str:
    """``backend``, refused with a ``ValueError`` unless it is one of :data:`BACKENDS`."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend


class Backend:
    """The ``backend`` attribute of a module that runs a CPU path (the LIF, the per-step
    wrapper): every assignment is checked, in the constructor and after it
    (``m.backend = "cuda"`` is refused by :func:`checked`), as spikingjelly's ``backend``
    setter refuses a value outside its ``supported_backends``. The value is a plain instance
    attribute: copies keep it, a ``state_dict`` does not hold it."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, module: nn.Module | None, owner: type | None = None) -> str:
        return self if module is None else module.__dict__[self.slot]

    def __set__(self, module: nn.Module, backend: str) -> None:
        module.__dict__[self.slot] = checked(backend)


def first_order(backward: Callable[..., Any]) -> Callable[..., Any]:
    """The hand-written ``backward`` of a path (a fused LIF, a C pooling, the GPU's
    convolution), refused where autograd records it (``create_graph=True``: a gradient
    penalty's double backward): it has no second derivative, and ``once_differentiable``
    drops one without a word where the incoming gradient needs none. The torch ops have one."""

    @functools.wraps(backward)
    def once(ctx: Any, *grads: torch.Tensor) -> Any:
        if torch.is_grad_enabled():
            name = type(ctx).__name__.strip("_").removesuffix("Backward")
            raise RuntimeError(
                f"{name} has no second derivative "
                "(autograd.grad with create_graph=True); accepted: neuron_impl=unrolled and "
                "backend=torch (LIF(impl='unrolled'), set_backend(net, 'torch')), whose torch "
                "ops differentiate twice"
            )
        return backward(ctx, *grads)

    return once


def applies(backend: str, x: torch.Tensor, *modules: nn.Module) -> bool:
    """Whether a CPU path of a ``backend`` network runs on ``x`` through ``modules``: the
    backend ``"c"`` and :func:`native`."""
    return backend == "c" and native(x, *modules)


def native(x: torch.Tensor, *modules: nn.Module) -> bool:
    """Whether ``x`` and ``modules`` are what the CPU paths take: ``x`` a float32/64 CPU
    tensor; nothing tracing (``torch.compile`` compiles the torch ops into its own loops and
    cannot trace a foreign call) or casting (CPU autocast); each module plain (:func:`plain`)
    in ``x``'s dtype."""
    if x.device.type != "cpu" or x.dtype not in FLOATS:
        return False
    if torch.compiler.is_compiling() or torch.is_autocast_enabled("cpu"):
        return False
    return all(plain(module, x.dtype) for module in modules)


def plain(module: nn.Module, dtype: torch.dtype) -> bool:
    """Whether ``module`` runs as its class's forward (no hooks of any kind, :func:`hooked`;
    no forward of its own set on it, as a gradient mode may) with every floating parameter
    and buffer in ``dtype``. A forward set on it that is its class's while no gradient is
    recorded (RGA's adjoint,
    :func:`snnattack.gradients.adjoint.adjoint_only`: :data:`CLASS_FORWARD_WITHOUT_GRAD`)
    counts as its class's then: RGA's simulation runs the CPU paths."""
    own = vars(module).get("forward")
    as_class = getattr(own, CLASS_FORWARD_WITHOUT_GRAD, False) and not torch.is_grad_enabled()
    installed = own is not None and not as_class
    if installed or hooked(module):
        return False
    if module._modules:  # a container: every layer's tensors
        tensors = (*module.parameters(), *module.buffers())
    else:  # a layer's own, off its registries: asked per layer at every forward and backward
        tensors = (*module._parameters.values(), *module._buffers.values())
    return all(t is None or t.dtype == dtype or not t.is_floating_point() for t in tensors)


def hook_kinds(module: nn.Module) -> list[str]:
    """The kinds of :data:`HOOK_KINDS` that ``module`` has hooks of: what runs in its place
    (a CPU path, an adapter's replacement) calls none of them, its class's forward and
    backward alone. The one test of whether a module may be run otherwise than by calling
    it: a CPU path does not run it, an adapter keeps a layer and refuses a neuron."""
    return [kind for kind in HOOK_KINDS if getattr(module, f"_{kind}_hooks")]


def hooked(*modules: nn.Module) -> bool:
    """Whether calling ``modules`` runs hooks: their own of any kind (:func:`hook_kinds`) or
    every module's (torch's global hooks, ``register_module_forward_hook``, ...)."""
    everyone = any(getattr(torch_module, f"_global_{kind}_hooks") for kind in HOOK_KINDS)
    return everyone or any(hook_kinds(m) for m in modules)
