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
the method is one module and its config file. A universal method's attack class derives from
:class:`UniversalAttack` (fitted once on held-out data: :mod:`snnattack.attacks.universal`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

import torch
from torch import nn
from torchattacks.attack import Attack

from snnattack.errors import UserError
from snnattack.registry import Registry
from snnattack.settings import LOSSES
from snnattack.values import one_of

Make = TypeVar("Make", bound=Callable[..., Attack])
LINF = "L∞ on the inputs"  # the threat model of a method that declares none of its own


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
            found = "events flipped in the frames" if self.events else LINF
        norm = inspect.signature(self.make).parameters.get("norm")
        if norm is None:
            return found
        return f"{found} ({params.get('norm', norm.default)} budget)"

    @cached_property  # read at every attack call: its signature is read once
    def takes_eot(self) -> bool:
        """Whether it can average gradients over several draws (``attack.eot_samples``)."""
        return "eot_samples" in inspect.signature(self.make).parameters


METHODS: Registry[Method] = Registry()  # filled by this package's modules


def drawing_targets() -> list[str]:
    """The methods that take ``target: random``, a target class drawn per sample (their
    class's ``random_target``); the others refuse it."""
    return [n for n, m in METHODS.items() if getattr(m.make, "random_target", False)]


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


COMPACT_EVERY = 8  # on a GPU: iterations between two reads of the samples an attack still runs


def compaction_interval(device: torch.device) -> int:
    """Iterations between two compactions of an iterative attack's running samples (each a
    host sync: ``.nonzero()``): every iteration on the CPU, where the read waits for nothing
    and compacting at once spares the work of the samples done; :data:`COMPACT_EVERY` on
    another device, where each read stalls the host until the device's queue is empty.
    Between two reads the samples done are masked, so the examples are the same at any
    interval (the samples done since the last read still pass through the model, and count
    as its queries)."""
    return 1 if device.type == "cpu" else COMPACT_EVERY


def step(eps: float, alpha: float | None, eps_per_alpha: float) -> float:
    """The step size: ``alpha``, or ``eps / eps_per_alpha`` when it is None."""
    return eps / eps_per_alpha if alpha is None else alpha


def check_loss(method: str, loss: str) -> None:
    """Refuses a loss the adaptive PGD attacks do not have (they take CE or DLR)."""
    one_of(*LOSSES).check(f"method.{method}.loss", loss)


class UniversalAttack(Attack):
    """A universal attack: fitted once (:meth:`fit`) on held-out data, applied as it is
    (:meth:`apply`) to every batch; ``fitted`` is the state :meth:`fit` returned."""

    def __init__(self, name: str, model: nn.Module, fitted: dict[str, torch.Tensor] | None):
        super().__init__(name, model)
        # set past torchattacks' __setattr__, whose search for nested attacks compares tensors
        object.__setattr__(self, "fitted", fitted)
        self.supported_mode = ["default"]

    def fit(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """The state fitted on the held-out batch ``(x, y)``."""
        raise NotImplementedError

    def apply(
        self, x: torch.Tensor, y: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """The adversarial batch of ``(x, y)`` under the fitted ``state``."""
        raise NotImplementedError

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.fitted is None:
            raise UserError(unfitted(self.__class__.__name__))
        state = {k: v.to(self.device) for k, v in self.fitted.items()}
        return self.apply(images.detach().to(self.device), labels.to(self.device), state)


def refuse_empty(keep: torch.Tensor, what: str) -> None:
    """Refuses a fitting whose validation batch holds no sample to fit on (``keep``: the
    samples it may use, ``what`` says which)."""
    if not bool(keep.any()):
        raise UserError(
            f"none of the {len(keep)} validation images is {what}, so a universal attack has "
            "nothing to fit on; accepted: more validation images (attack.tune.val_size, or "
            "val_data) or another target"
        )


def unfitted(what: str) -> str:
    """The refusal of a universal attack ``what`` run without its fitted state."""
    return (
        f"{what} is a universal attack, fitted once on validation data before the test; "
        "accepted: a job (python run.py) or snnattack.evaluate(..., val_data=<validation "
        "images and labels>), not a single batch (snnattack.attack) nor an ensemble component"
    )
