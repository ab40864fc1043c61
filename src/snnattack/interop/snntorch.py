"""snnTorch networks: an ``nn.Sequential`` of torch layers and ``snn.Leaky`` neurons, wrapped;
or a class of the user's with its own loop over the steps, run as it is.

snnTorch's time loop is the user's code, so the adapter takes the network of one time step,
an ``nn.Sequential`` (nested ones are flattened) of torch layers and ``Leaky`` neurons, and
wraps it into a multi-step body: each torch layer runs on every step
(:class:`~snnattack.snn.temporal.StepWise`, the ``T * B`` samples as one batch, so a BatchNorm in
training mode would normalise over all steps; attacks run in eval mode) and each ``Leaky``
becomes a LIF (tested on snnTorch 1.0.0). The body's output is the last layer's on every step
(spikes for a last ``Leaky``, decoded by the mean over T unless the user gives a decode).
A class of the user's whose forward loops over the steps (the tutorials' ``for step in
range(T): spk, mem = self.lif(cur, mem)``) is run as it is (:func:`own_loop`,
:mod:`snnattack.interop.loops`), each ``Leaky`` a :class:`LeakyStep` that keeps its membrane
between the steps of one forward. A ``Leaky(init_hidden=False)`` inside an ``nn.Sequential``
but its last layer is refused: snnTorch itself cannot run it.

``Leaky`` (``beta`` clamped to [0, 1] as snnTorch does, ``threshold`` theta, both one value
per layer and read when adapting) computes ``mem_t = beta mem_{t-1} + x_t - R_t`` with the
reset ``R_t`` of the previous step's spike ``s_{t-1} = H(mem_{t-1} - theta)``, detached:

- ``reset_mechanism="zero"``: ``mem_t = beta (1 - s_{t-1}) mem_{t-1} + x_t``, the LIF's hard
  reset with ``lam = beta`` and ``detach_reset``;
- ``"subtract"``: ``mem_t = beta mem_{t-1} - theta s_{t-1} + x_t = beta (mem_{t-1} -
  (theta / beta) s_{t-1}) + x_t``, the LIF's soft reset dropping ``theta / beta``
  (``reset_by``) with ``detach_reset``;
- ``reset_delay=False`` with ``"zero"`` resets on the step of the spike, with the spike's
  gradient: ``mem_t = h_t (1 - s_t)``, ``h_t = beta mem_{t-1} + x_t``, the LIF's hard reset
  without ``detach_reset`` (its delayed reset term is always 0: a membrane after a reset to
  zero is below theta). With ``"subtract"`` it is refused: snnTorch then fires on
  ``h_t - theta R_t`` but keeps ``h_t - theta s_t``, so a membrane left at or above theta
  after a reset is tested once more with theta subtracted, which no LIF does.

snnTorch fires at ``mem > theta``, the LIF at ``h >= theta``: they differ only when a membrane
equals the threshold exactly. The neuron's ``spike_grad`` is the LIF's own surrogate
(:mod:`snnattack.interop.surrogates`), which ``stbp`` differentiates by. ``init_hidden`` and
``output`` only change how snnTorch passes its state, which the LIF keeps inside its T loop:
both are accepted, and neither the user's neurons nor any other network's state is touched.
Refused: ``reset_mechanism="none"``, ``"subtract"`` with ``reset_delay=False``, ``inhibition``,
``state_quant``, graded spikes (``graded_spikes_factor != 1``; a learned factor of 1 runs, and
is refused where it would train: the LIF's spikes are 1, so training through the adapted
network never moved it), ``beta == 0``, a per-neuron ``beta`` or ``threshold``, recurrent torch
layers (they would mix steps), and any other neuron.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import torch
from torch import nn

from snnattack.cpu.guard import hook_kinds
from snnattack.errors import UserError, class_name
from snnattack.interop import surrogates
from snnattack.interop.adapter import register
from snnattack.interop.common import (
    holds_users_class,
    in_mode_of,
    looks_like_neuron,
    refuse,
    scalar,
    shadow,
    shared_copy,
)
from snnattack.interop.prepared import followed
from snnattack.snn.learned import Learned, Value
from snnattack.snn.neurons import LIF
from snnattack.snn.stepwise import StepLIF
from snnattack.snn.temporal import StepWise

SUPPORTED = ("snntorch.Leaky",)


def owns(net: nn.Module) -> bool:
    """Whether ``net`` holds snnTorch modules."""
    return any(type(m).__module__.startswith("snntorch") for m in net.modules())


def has_own_loop(net: nn.Module) -> bool:
    """Whether ``net`` is a class of the user's (its forward loops over the steps), or holds
    one (``nn.Sequential(normalize, net)`` takes the class's form), not the ``nn.Sequential``
    of one time step."""
    return not isinstance(net, nn.Sequential) or holds_users_class(net, "snntorch", ("snntorch",))


def own_loop(net: nn.Module) -> nn.Module:
    """The copy of ``net``, whose own loop calls each ``Leaky`` once per step, with each
    ``Leaky`` as a :class:`LeakyStep`; any other neuron is refused."""
    import snntorch

    replacements: dict[nn.Module, nn.Module] = {}
    for path, module in net.named_modules():
        if type(module) is snntorch.Leaky:
            replacements[module] = LeakyStep(module, _lif(path, module), path)
        elif looks_like_neuron(module):
            raise refuse(path, module, "is not a neuron the adapter knows", SUPPORTED)
    if not replacements:
        raise refuse("", net, "has no snntorch.Leaky neuron", SUPPORTED)
    copied = shared_copy(net, replacements)
    group = list(dict.fromkeys(m for m in copied.modules() if isinstance(m, LeakyStep)))
    for neuron in group:
        neuron.group = group
    return copied


class LeakyStep(StepLIF):
    """A ``Leaky`` called once per step by the user's loop, as snnTorch's: ``(input, mem)``
    to ``(spk, mem)`` (``init_hidden=False`` or ``output=True``), else ``input`` to ``spk``.
    The ``mem`` passed in is not read (the neuron keeps its own, from zero at each forward):
    after the first step it must be the one the neuron returned at its last, else it is
    refused (one ``Leaky`` run for two layers, each passing a membrane of its own, or a
    membrane changed between the steps). The one returned is snnTorch's: the membrane before
    the reset (``reset_delay=True``: the reset comes at the next step) or after it. The
    arguments are named as snnTorch's (``lif(input_=cur, mem=mem)`` runs as
    ``lif(cur, mem)``). ``path``: the ``Leaky``'s in the user's network."""

    def __init__(self, leaky: nn.Module, lif: LIF, path: str) -> None:
        super().__init__(lif)
        self.pair = bool(leaky.output or not leaky.init_hidden)
        self.delayed = bool(leaky.reset_delay)
        self.path = path
        # the adapted Leaky neurons of the same network (set by own_loop), which one's
        # detach_hidden() detaches, as snnTorch's detaches every Leaky's
        self.group: list[LeakyStep] = [self]

    def restart(self) -> None:
        """Back to step 0, the last step's spikes (which :meth:`cut` resets by) dropped with
        the membranes: no graph kept past the forward."""
        super().restart()
        self.spk: torch.Tensor | None = None
        self.returned: torch.Tensor | None = None  # the mem its last step returned

    def forward(self, input_: torch.Tensor, mem: torch.Tensor | None = None):  # type: ignore[override]
        if mem is not None and self.returned is not None and mem is not self.returned:
            raise UserError(
                f"interop: the network's loop passes the Leaky {self.path} another mem than the "
                "one it returned at its last step (one Leaky for two layers, each with a "
                "membrane of its own, or a membrane changed between the steps), which the "
                "adapted neuron, keeping its own membrane, does not read; accepted: a Leaky of "
                "its own for each layer, passed back the mem it returns (a cut: "
                "lif.detach_hidden())"
            )
        spk = self.spk = super().forward(input_)
        if not self.pair:
            return spk
        self.returned = self.h if self.delayed else self.u
        return spk, self.returned

    def reset_mem(self) -> torch.Tensor:
        """snnTorch's call that starts a loop (``mem = lif.reset_mem()``): an empty state;
        refused within the loop, where the adapted neuron does not read the ``mem`` passed."""
        if self.u is not None:
            raise UserError(
                "interop: a Leaky's reset_mem() (or init_leaky()) ran after the first step of "
                "the network's own loop, where snnTorch zeroes its membrane mid-simulation, "
                "which the adapted neuron does not follow; accepted: reset_mem() before the "
                "loop (each forward starts from zero membranes)"
            )
        return torch.zeros(0)

    def detach_hidden(self) -> None:
        """snnTorch's truncated-BPTT cut (``lif.detach_hidden()``, which ``detach_()``-es the
        membrane of every ``Leaky``): each adapted ``Leaky`` of the network detaches, in
        place, the membrane it returned, and carries it detached to its next step, so the
        input gradient and a learned ``beta`` / ``threshold``'s are snnTorch's."""
        for neuron in self.group:
            neuron.cut()

    def cut(self) -> None:
        """This neuron's part of :meth:`detach_hidden`. With the delayed reset snnTorch keeps
        the membrane before the reset and resets it at the next step, its reset term not
        detached from a learned threshold: the carried membrane is the reset of the detached
        one, as then."""
        if self.u is None or self.h is None or self.spk is None:  # before the first step
            return
        if not self.delayed:  # snnTorch keeps (and returns) the membrane after the reset
            self.u.detach_()
            return
        self.h.detach_()
        self.u = self.lif.reset_membrane(self.h, self.spk, self.settings[2])

    init_leaky = reset_mem  # snnTorch's former name of the same call

    def reset_hidden(self) -> None:
        """snnTorch's reset of the hidden membranes (``init_hidden=True``) before a loop's first
        step: nothing to do, each forward starts from zero membranes; refused within the loop."""
        if self.u is not None:
            raise UserError(
                "interop: a Leaky's reset_hidden() ran after the first step of the network's "
                "own loop, where snnTorch zeroes every Leaky's membrane mid-simulation, which "
                "the adapted neurons do not follow; accepted: reset_hidden() or "
                "utils.reset(net) before the loop (each forward starts from zero membranes)"
            )


def _not_a_layer(net: nn.Sequential, module: nn.Module) -> str:
    """Why ``module`` of the sequence ``net`` is refused, and what is accepted: a module of
    the user's (a torchvision ``Normalize`` first, say) may hold anything, so it is not run
    per step; a normalisation of the images goes to ``adapt``'s ``normalize``."""
    recurrent = isinstance(module, nn.RNNBase | nn.RNNCellBase)
    what = "mixes the steps" if recurrent else "is not torch.nn's, so not known to run per step"
    first = next(iter(net.children()), None) is module
    fix = "snnattack.interop.adapt(net[1:], T=..., normalize=net[0]), or " if first else ""
    return (
        f"is not a per-step torch layer (it {what}); accepted: torch.nn's layers (not a "
        f"recurrent one) and snntorch.Leaky in the sequence; {fix}a class of yours with its "
        "own loop over the steps"
    )


def body(net: nn.Module) -> nn.Module:
    """The multi-step body of the per-step sequence ``net``: its layers per step, its
    ``Leaky`` neurons as LIFs; anything else is refused."""
    import snntorch

    if not isinstance(net, nn.Sequential):
        raise refuse("", net, "is not an nn.Sequential of its time step's layers", SUPPORTED)
    steps = _flat(net, "")
    replacements = {m: _lif(p, m) for p, m in steps if type(m) is snntorch.Leaky}
    for leaky in replacements:
        first, *more = [p for p, m in steps if m is leaky]
        if more:
            why = (
                f"is also at {' and '.join(more)} of the sequence: one neuron, whose membrane "
                "snnTorch carries from each place into the next, where the adapter runs a LIF "
                "of its own at each; accepted: a Leaky of its own for each layer"
            )
            raise refuse(first, leaky, why, SUPPORTED)
    for index, (path, module) in enumerate(steps):
        if module in replacements and not module.init_hidden and index < len(steps) - 1:
            why = (
                "has init_hidden=False inside an nn.Sequential, which snnTorch itself cannot "
                "run (the next layer would get its (spk, mem) pair); accepted: "
                "init_hidden=True, or a class of yours passing mem step by step"
            )
            raise refuse(path, module, why, SUPPORTED)
        if module in replacements:
            continue
        if looks_like_neuron(module):
            raise refuse(path, module, "is not a neuron the adapter knows", SUPPORTED)
        torch_layer = type(module).__module__.startswith("torch.nn.")
        if not torch_layer or isinstance(module, nn.RNNBase | nn.RNNCellBase):
            raise refuse(path, module, _not_a_layer(net, module), SUPPORTED)
    if not replacements:
        raise refuse("", net, "has no snntorch.Leaky neuron", SUPPORTED)
    copied = shared_copy(net, replacements)
    layers = (m if isinstance(m, LIF) else in_mode_of(StepWise(m), m) for _, m in _flat(copied, ""))
    return in_mode_of(nn.Sequential(*layers), net)


def _flat(net: nn.Sequential, prefix: str) -> list[tuple[str, nn.Module]]:
    """The layers of ``net``, nested sequences flattened, with their paths (a layer held at
    two places at both: its weights shared; ``named_children`` dropped the second). A
    sequence with hooks is refused: dissolved into its layers, it is never called, nor are
    its hooks (a defence's ``register_forward_hook`` on the network itself)."""
    kinds = hook_kinds(net)
    if kinds:
        where = prefix.rstrip(".") or "the network itself"
        raise UserError(
            f"interop: {where} ({class_name(net)}) has {' and '.join(kinds)} hooks, which the "
            "multi-step body made of its layers would not call; accepted: no hooks on the "
            "nn.Sequential of a time step (handle.remove()), hooks on its layers, which run, "
            "or a class of yours that calls it in its loop over the steps"
        )
    layers = []
    for name, module in net._modules.items():  # every place, a module held twice at each
        path = f"{prefix}{name}"
        if type(module) is nn.Sequential:
            layers += _flat(module, f"{path}.")
        else:
            layers.append((path, module))
    return layers


def _lif(path: str, leaky: nn.Module) -> LIF:
    """The LIF that computes ``leaky``'s spikes."""
    mechanism = leaky.reset_mechanism
    why = None
    if mechanism not in ("subtract", "zero"):
        why = f"has reset_mechanism={mechanism!r} (the LIF resets: subtract or zero)"
    elif mechanism == "subtract" and not leaky.reset_delay:
        why = "has reset_delay=False with the subtract reset (its firing test is no LIF's)"
    elif leaky.inhibition or leaky.state_quant:
        why = "uses inhibition or state_quant, which the LIF does not model"
    elif scalar(leaky.graded_spikes_factor, "spike factor", path, leaky, SUPPORTED) != 1.0:
        why = "emits graded spikes (graded_spikes_factor != 1)"
    beta = scalar(leaky.beta, "beta", path, leaky, SUPPORTED)
    lam = min(max(beta, 0.0), 1.0)  # clamped as snnTorch clamps it
    theta = scalar(leaky.threshold, "threshold", path, leaky, SUPPORTED)
    if why is None and lam == 0.0:  # the value given, not the clamped 0 (beta=-0.5)
        why = f"has beta={beta:g}, which snnTorch clamps to 0 (the LIF needs beta > 0)"
    elif why is None and theta <= 0.0:  # only the setting at fault is named
        why = f"has threshold={theta:g} (the LIF needs threshold > 0)"
    if why is not None:
        raise refuse(path, leaky, why, SUPPORTED)
    zero = mechanism == "zero"
    return LIF(
        lam=lam,
        theta=theta,
        reset="hard" if zero else "soft",
        reset_by=None if zero or lam == 1.0 else theta / lam,
        detach_reset=bool(leaky.reset_delay) if zero else True,
        surrogate=surrogates.snntorch(path, leaky),
        learned=_learned(path, leaky, mechanism),
    )


def _learned(path: str, leaky: nn.Module, mechanism: str) -> Learned | None:
    """A ``Leaky``'s learned ``beta`` (``learn_beta=True``, clamped to [0, 1] as snnTorch
    clamps it) and ``threshold`` (``learn_threshold=True``) as the parameters its leak,
    threshold and reset follow and train with (:mod:`snnattack.snn.learned`)."""
    params = {
        name: shadow(followed(getattr(leaky, name)))
        for name in ("beta", "threshold", "graded_spikes_factor")
        if isinstance(getattr(leaky, name), nn.Parameter)
    }
    if not params:
        return None
    clamped = partial(torch.clamp, min=0.0, max=1.0)  # as snnTorch's forward clamps beta
    read = {"beta": clamped, "threshold": torch.clone, "graded_spikes_factor": torch.clone}
    fixed = {n: float(getattr(leaky, n).detach().reshape(()).item()) for n in ("beta", "threshold")}
    where = f"{path} ({class_name(leaky)})"
    derive = partial(_settings, fixed=fixed, subtract=mechanism == "subtract", where=where)
    return Learned(params, {n: read[n] for n in params}, derive, where)


def _settings(
    read: Mapping[str, Value], fixed: dict[str, float], subtract: bool, where: str
) -> dict[str, Value | None]:
    """The LIF's leak, threshold and (subtract) soft reset's drop ``theta / beta`` from the
    learned ``beta`` and ``threshold`` (``fixed``: the values of those not learned). A
    learned ``graded_spikes_factor`` (adapted at 1: the LIF's spikes are 1) is refused
    where it would train (read as a tensor), as the adapted neuron would never move it, and
    once it is no longer 1 (the user's training moved it)."""
    factor = read.get("graded_spikes_factor")
    if isinstance(factor, torch.Tensor) and not factor.requires_grad:  # frozen: its value
        factor = float(factor.detach().reshape(()).item())
    if isinstance(factor, torch.Tensor):
        raise UserError(
            f"interop: {where} has learn_graded_spikes_factor=True, a factor that training "
            "through the adapted network would not move (its spikes are 1); accepted: "
            "learn_graded_spikes_factor=False, or the network in eval mode"
        )
    if factor is not None and factor != 1.0:
        raise UserError(
            f"interop: {where} has learned graded_spikes_factor={factor:g}, graded spikes "
            "that the LIF does not emit; accepted: graded_spikes_factor=1"
        )
    lam = read.get("beta", min(max(fixed["beta"], 0.0), 1.0))
    theta = read.get("threshold", fixed["threshold"])
    settings = {"lam": lam, "theta": theta}
    if not subtract:
        return settings
    # as adapted: no reset_by where the leak is a number of 1 (the drop is then theta)
    return {**settings, "reset_by": None if isinstance(lam, float) and lam == 1.0 else theta / lam}


@register("snntorch", order=20)
class SnnTorch:
    """The snnTorch adapter (:class:`~snnattack.interop.adapter.Adapter`)."""

    neurons = ("snntorch",)
    supported = SUPPORTED
    owns = staticmethod(owns)
    has_own_loop = staticmethod(has_own_loop)
    own_loop = staticmethod(own_loop)
    body = staticmethod(body)
