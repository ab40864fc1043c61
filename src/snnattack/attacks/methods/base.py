"""The registry of attack methods (``method=``), which their modules fill, and what several
methods share.

A method is one module of this package: a function ``<method>(model, eps, **params)`` returning
a torchattacks attack (or an attack class taking these arguments), decorated with
``@register("<method>", order=...)`` (its place in listings; ``gradient_free=True`` if it only
queries the model's outputs, so no gradient mode applies; ``events=(...)`` for an attack on
event frames, the frame values it changes; ``retimes=True`` if it only moves events in
time; ``recordings=True`` if it changes the raw recordings, which the evaluation then hands
it per batch as ``recordings``). Its parameters are its
``conf/method/<method>.yaml`` keys, checked against its signature; it averages gradients over
``attack.eot_samples`` draws if it takes ``eot_samples``. The package imports every module, so
the method is one module and its config file.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from torchattacks.attack import Attack

from snnattack.errors import ConfigError
from snnattack.registry import Registry

Make = TypeVar("Make", bound=Callable[..., Attack])


@dataclass(frozen=True)
class Method:
    """A registered attack method: ``make(model, eps, **params)`` gives its attack."""

    name: str
    make: Callable[..., Attack]
    order: float  # its place in listings (accepted values)
    gradient_free: bool = False  # queries outputs only: no gradient mode (recorded as none)
    # an event attack: the frame values (dataset.params.event_encoding) its threat model
    # changes; its rows report the events changed per success. () = an L-infinity attack
    events: tuple[str, ...] = ()
    # an event attack that only moves events in time (counts per line kept): its rows also
    # report the events moved and their total delay per success
    retimes: bool = False
    # an attack on the raw recordings (snnattack.data.recordings): it is built per batch with
    # the batch's recordings (``recordings=``), which only an event dataset has
    recordings: bool = False

    def threat(self, params: Mapping[str, Any]) -> str:
        """Its threat model under ``params`` (its parameters), the perturbations its budget
        bounds, from what it declares at its registration and, for a method with a ``norm``
        parameter, that norm: rows of two threat models are two numbers, never one worst
        case."""
        if self.recordings:
            found = "changes to the raw recordings"
        elif self.retimes:
            found = "events moved in time"
        else:
            found = "events flipped in the frames" if self.events else "L∞ on the inputs"
        norm = inspect.signature(self.make).parameters.get("norm")
        if norm is None:
            return found
        return f"{found} ({params.get('norm', norm.default)} budget)"

    @property
    def takes_eot(self) -> bool:
        """Whether it can average gradients over several draws (``attack.eot_samples``)."""
        return "eot_samples" in inspect.signature(self.make).parameters


METHODS: Registry[Method] = Registry()  # filled by this package's modules


def register(
    name: str,
    /,
    *,
    order: float,
    gradient_free: bool = False,
    events: tuple[str, ...] = (),
    retimes: bool = False,
    recordings: bool = False,
) -> Callable[[Make], Make]:
    """Decorator: ``make(model, eps, **params)`` is the attack method ``name``."""

    def add(make: Make) -> Make:
        method = Method(name, make, order, gradient_free, events, retimes, recordings)
        METHODS.enter(name, method, order)
        return make

    return add


def step(eps: float, alpha: float | None, eps_per_alpha: float) -> float:
    """The step size: ``alpha``, or ``eps / eps_per_alpha`` when it is None."""
    return eps / eps_per_alpha if alpha is None else alpha


def check_loss(method: str, loss: str) -> None:
    """Refuses a loss the adaptive PGD attacks do not have (they take CE or DLR)."""
    if loss not in ("ce", "dlr"):
        raise ConfigError(f"method.{method}.loss={loss!r} is unknown; accepted: ce, dlr")
