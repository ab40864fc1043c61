"""What every gradient mode shares: its registration, and installing a forward or the neurons'
settings on the spiking layers of a model.

A mode is one module of this package: a function ``<mode>(model, **params)`` returning the
context manager that replaces the backward pass, decorated with :func:`register`, which
declares its name (``attack.grad_mode``), its title in the report, its place in listings and
the accepted range of each parameter. The package imports every module, so the mode is known
to the config validation, the attacks, the tuning and the report with no other edit.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import nn

from snnattack.errors import UserError, module_named
from snnattack.registry import Registry
from snnattack.snn.neurons import LIF
from snnattack.snn.temporal import MIXES_TIME, temporal_modules
from snnattack.values import Rule

Make = TypeVar("Make", bound=Callable[..., AbstractContextManager[Any]])


@dataclass(frozen=True)
class GradientMode:
    """A registered gradient mode: ``make(model, **params)`` gives the context manager that
    replaces ``model``'s backward pass; ``ranges`` holds the rule of each parameter."""

    name: str
    make: Callable[..., AbstractContextManager[Any]]
    title: str  # how tables and sentences name it
    order: float  # its place in listings (accepted values, report columns)
    ranges: Mapping[str, Rule]
    time_invariant: bool = False  # needs the model in eval mode (BN on running statistics)
    per_step: bool = False  # runs on neurons called one step at a time (snn/stepwise.py)
    fixed: bool = False  # its parameters choose a variant, never tuned (pdsg's pool)
    compiles: bool = True  # a torch.compile'd copy gives its gradient (False: it runs eager)
    # the parameters of ``params`` that change ``model``'s gradient (None: every one)
    reads: Callable[[nn.Module, Mapping[str, Any]], set[str]] | None = None
    # why the parameters (every one, defaults filled in) do not fit a neuron of leak lam and
    # threshold theta, None if they do (None: they fit every neuron)
    neurons: Callable[[float, float, Mapping[str, Any]], str | None] | None = None

    def neuron_complaint(
        self, lam: float, theta: float, params: Mapping[str, Any], prefix: str = ""
    ) -> str | None:
        """Why ``params`` (a mode's, the rest at their defaults) do not fit a neuron of leak
        ``lam`` and threshold ``theta``, naming the keys with ``prefix``; None if they do."""
        if self.neurons is None:
            return None
        defaults = {
            k: p.default
            for k, p in list(inspect.signature(self.make).parameters.items())[1:]
            if p.default is not inspect.Parameter.empty
        }
        problem = self.neurons(lam, theta, {**defaults, **params})
        return None if problem is None else problem.replace("{prefix}", prefix)

    def layer_complaint(
        self, model: nn.Module, params: Mapping[str, Any], prefix: str = ""
    ) -> str | None:
        """Why ``params`` do not fit a spiking layer of ``model`` at its own leak and
        threshold (a passed network's, which the config's ``lambda`` does not describe), as
        one line naming the layer and the keys with ``prefix``; None if they fit every one."""
        for name, lif in model.named_modules():
            if isinstance(lif, LIF):
                problem = self.neuron_complaint(lif.lam, lif.theta, params, prefix)
                if problem is not None:
                    where = (
                        f"the spiking layer {module_named(model, name, lif)}"
                        if name
                        else "the neuron"
                    )
                    return f"{self.title} on {where}: {problem}"
        return None

    def complaint(
        self,
        params: Mapping[str, Any],
        prefix: str = "",
        chosen: str = "",
        spell: Callable[[Any], str] | None = None,
    ) -> str | None:
        """The first of ``params`` out of its range, as one line naming the key (``prefix``
        and the parameter), the mode (``chosen``, e.g. ``attack=hart``) and the accepted
        values, the value spelt by ``spell`` (None: as the command line's YAML does; the
        Python API's ``gradient_mode``: ``repr``); None if all are in range. Names the mode
        does not take are not checked."""
        where = f" for {chosen or f'gradient mode {self.name}'}"
        for name, value in params.items():
            rule = self.ranges.get(name)
            message = rule.complaint(prefix + name, value, where, spell) if rule else None
            if message is not None:
                return message
        return None


GRADIENT_MODES: Registry[GradientMode] = Registry()  # filled by this package's modules


def register(
    name: str,
    /,
    *,
    title: str,
    order: float,
    time_invariant: bool = False,
    per_step: bool = False,
    fixed: bool = False,
    compiles: bool = True,
    reads: Callable[[nn.Module, Mapping[str, Any]], set[str]] | None = None,
    neurons: Callable[[float, float, Mapping[str, Any]], str | None] | None = None,
    **ranges: Rule,
) -> Callable[[Make], Make]:
    """Decorator: ``make(model, **params)`` is the gradient mode ``name``, each parameter
    accepted where its rule in ``ranges`` says (one rule per parameter, no more);
    ``time_invariant``: the mode needs the model in eval mode (:func:`require_eval`);
    ``per_step``: it also runs on neurons called one step at a time
    (:class:`~snnattack.snn.stepwise.StepLIF`: it only sets the neurons' settings, or its
    override declares a ``per_step`` equivalent); ``fixed``: its parameters choose a variant
    of the method, not a value to tune (tuning runs it as it is); ``compiles``: a
    ``torch.compile``'d copy gives its gradient (False: it reads the layers' own autograd
    nodes, which a compiled graph fuses, or keeps Python state per call; with ``compile=true``
    the attacked copy then runs eager, with a note); ``reads(model, params)``:
    the parameters among ``params`` that change ``model``'s gradient, where a model's neurons
    decide it (tuning leaves a parameter no neuron reads out of its grid, with a note);
    ``neurons(lam, theta, params)``: why ``params`` do not fit a neuron of those settings
    (a range that depends on the neuron), None if they do."""

    def add(make: Make) -> Make:
        params = list(inspect.signature(make).parameters)[1:]
        if sorted(params) != sorted(ranges):
            raise TypeError(
                f"gradient mode {name!r} takes {params} but declares ranges of {sorted(ranges)}"
            )
        mode = GradientMode(
            name,
            make,
            title,
            order,
            ranges,
            time_invariant,
            per_step,
            fixed,
            compiles,
            reads,
            neurons,
        )
        GRADIENT_MODES.enter(name, mode, order)
        return make

    return add


@contextmanager
def temporarily(modules: list[Any], attr: str, values: list[object]) -> Iterator[None]:
    """Sets ``module.attr`` to ``values[i]`` for each module (or parameter) within the block,
    then restores; an attribute that holds that very object is not set again (a gradient mode
    that keeps each neuron's own surrogate sets nothing: an attack enters it at every call)."""
    saved = [getattr(m, attr) for m in modules]
    for m, value, was in zip(modules, values, saved, strict=True):
        if value is not was:
            setattr(m, attr, value)
    try:
        yield
    finally:
        for m, value in zip(modules, saved, strict=True):
            if getattr(m, attr) is not value:
                setattr(m, attr, value)


@contextmanager
def neuron_settings(model: nn.Module, **settings: Callable[[LIF], object]) -> Iterator[None]:
    """Within the block, every LIF of ``model`` has ``setting = make(lif)`` for each
    ``setting=make`` (e.g. ``surrogate=lambda lif: Triangle(0.5)``); restored afterwards."""
    lifs = [m for m in temporal_modules(model) if isinstance(m, LIF)]
    with ExitStack() as stack:
        for attr, make in settings.items():
            stack.enter_context(temporarily(lifs, attr, [make(lif) for lif in lifs]))
        yield


def restart_surrogates(model: nn.Module) -> None:
    """Every LIF of ``model`` forgets what its surrogate kept over the attack's passes: an
    attack calls this at each restart, so a restart is a fresh attack (ASSG's moments)."""
    for m in temporal_modules(model):
        if isinstance(m, LIF):
            m.surrogate.restart()


def overriding(model: nn.Module, overrides: dict[type, object]):
    """Installs ``overrides[type]`` as the forward of every temporal module of that type."""
    modules = temporal_modules(model)

    def override(m: nn.Module) -> object:
        return next((fn for cls, fn in overrides.items() if isinstance(m, cls)), m.override)

    return temporarily(modules, "override", [override(m) for m in modules])


def require_eval(model: nn.Module, mode: str) -> None:
    """Refuses BN or dropout in training mode, and a layer that mixes the time steps
    (:data:`~snnattack.snn.temporal.MIXES_TIME`: spikingjelly's attention over T, on which the
    pass of one time-averaged step failed with a shape error): ``mode`` needs time-invariant
    layers."""
    others = ", ".join(n for n, spec in GRADIENT_MODES.items() if not spec.time_invariant)
    for name, m in model.named_modules():
        if getattr(m, MIXES_TIME, False):
            shown = module_named(model, name, m)
            raise UserError(
                f"gradient mode {mode!r} runs the network on one time-averaged step, but its "
                f"{shown} mixes the time steps; accepted: a gradient mode "
                f"that runs every step ({others})"
            )
        if isinstance(m, nn.modules.batchnorm._BatchNorm | nn.Dropout) and m.training:
            shown = module_named(model, name, m)
            raise UserError(
                f"gradient mode {mode!r} needs the model in eval mode, but its {shown} "
                "is in training mode, which is not time-invariant; "
                f"accepted: model.eval() first, or a gradient mode that runs in training mode "
                f"({others})"
            )
