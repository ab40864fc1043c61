"""Networks with their own time loop, run as their users call them: images in, logits out.

spikingjelly's tutorial classes repeat the image over T in their ``forward`` and average the
output (``x.unsqueeze(0).repeat(T, ...)``, ``.mean(0)``), snnTorch's loop over the steps
(``for step in range(T): spk, mem = self.lif(cur, mem)``), and the SNN-RAT family merges T
into the batch (``add_dimention``, ``MergeTemporalDim``, ``ExpandTemporalDim``). Their
adapted model (:class:`OwnLoopNet`) calls a copy of the user's network on the images, with
each neuron replaced by this project's LIF: one call per forward on ``[T, B, ...]`` where the
network's code gives the neuron the whole T at once (a multi-step node; SNN-RAT's
``LIFSpike`` through :class:`MergedLIF`), one call per step where it loops
(:class:`~snnattack.snn.stepwise.StepLIF`, its membrane reset before each forward). The
time reduction is the network's own: an output ``[B, K]`` is the logits; ``[T, B, K]``
(SNN-RAT's models, snnTorch's stacked records) is decoded (the mean over T unless the user
gives ``decode``; ``[B, T, K]``, the samples first, is refused at the first forward); of a
tuple (snnTorch's ``spk_rec, mem_rec``), the first element.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch import nn

from snnattack.errors import UserError
from snnattack.interop.common import CALLS_CHECKED, Decode, restarted, whole_calls
from snnattack.interop.probe import neuron_steps
from snnattack.models.base import SpikingNet
from snnattack.snn.encoding import Encoder


class OwnEncoding(Encoder):
    """The images as they are: the network's own code makes its time steps (so the
    rate-domain pass sees the images too, and the network's first neuron averages its
    current over the steps)."""

    def simulate(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def expected(self, x: torch.Tensor) -> torch.Tensor:
        return x


class TimeMerged(nn.Module):
    """A module of a network that merges T into the batch (``[T * B, ...]``, t-major): the
    adapted network sets ``batch`` (its images' B) before each forward, so the time steps
    are ``x.shape[0] // batch``, also on a rate-domain pass of one step."""

    batch = 1

    def unmerged(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``[T * B, ...]`` as ``[T, B, ...]``."""
        return x.reshape(x.shape[0] // self.batch, self.batch, *x.shape[1:])


class MergedLIF(TimeMerged):
    """A LIF on ``[T * B, ...]``: unmerged, run over T, merged back."""

    def __init__(self, lif: nn.Module) -> None:
        super().__init__()
        self.lif = lif

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif(self.unmerged(x)).flatten(0, 1)


class Unmerge(TimeMerged):
    """``[T * B, ...]`` to ``[T, B, ...]`` (SNN-RAT's ``ExpandTemporalDim``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.unmerged(x)


def _wrong_loop(T: int, steps: int, batch: int, body_too: bool = True) -> str:
    """The refusal of a network said to loop itself over ``T`` steps whose neurons ran
    ``steps`` on samples of ``batch``: as many steps as samples (a network that maps
    ``[T, B, ...]`` takes the samples for its time steps) or one (a network of one step per
    call) say it loops not at all, which ``own_loop=False`` tells the adapter where its
    library adapts such a network as a body (``body_too``); where it does not (snnTorch: an
    ``nn.Sequential`` only), a loop of its own or its per-step sequence does."""
    head = f"T={T} but the network's own loop runs its neurons over {steps} steps"
    fix = f"adapt(net, T={T}, own_loop=False)"
    if steps == batch > 1:
        return (
            f"{head}, as many as the samples ({batch}), which a network that maps [T, B, ...] "
            f"takes for its time steps; accepted: {fix} for such a network, or T={steps}, the "
            "steps of its loop"
        )
    if steps == 1 and not body_too:
        return (
            f"{head}; accepted: T=1, the steps of its loop, a forward that loops over the "
            f"T={T} steps itself, or its per-step layers as one nn.Sequential passed in its "
            "place"
        )
    one = f", or {fix} for a network of one step a call" if steps == 1 else ""
    return f"{head}; accepted: T={steps}, the steps of its loop{one}"


def _samples_taken_for_steps(T: int, logits: torch.Tensor, batch: int) -> str:
    """The refusal of a network said to loop itself whose ``logits`` hold another count of
    rows than its ``batch`` of samples: a network that maps ``[T, B, ...]`` read the samples
    as its time steps."""
    return (
        f"the network said to loop itself (own_loop=True) gives {logits.shape[0]} rows of "
        f"output for {batch} samples (shape {list(logits.shape)}): it takes the samples' axis "
        "for its time steps, as a network that maps [T, B, ...] does; accepted: "
        f"adapt(net, T={T}, own_loop=False) for such a network"
    )


def _samples_first(T: int, out: torch.Tensor) -> str:
    """The refusal of a network said to loop itself whose output ``out`` holds the samples on
    its first axis (``[B, T, K]``), where the mean over T reads the time steps: its logits
    were the mean over the samples."""
    return (
        f"the network, run with its own time loop, returns {list(out.shape)}, the samples "
        "first ([B, T, K]), where the mean over T reads its first axis as the time steps; "
        "accepted: a network returning [T, B, K] (out.transpose(0, 1), or torch.stack(records) "
        f"of steps, dim=0), or adapt(net, T={T}, decode=lambda out: out.mean(1)) passed in its "
        "place"
    )


# the own-loop networks whose output's time axis was checked (:meth:`OwnLoopNet._time_first`);
# not a flag of theirs, which a repeated call would take for a change of the model passed
LAYOUT_CHECKED: weakref.WeakSet[nn.Module] = weakref.WeakSet()


class OwnLoopNet(SpikingNet):
    """A :class:`SpikingNet` whose body is the user's network (adapted copy), called on the
    images; its output decoded as the module docstring says."""

    foreign_body = True

    def __init__(
        self,
        body: nn.Module,
        T: int,
        normalize: nn.Module | None,
        decode: Decode | None,
        body_too: bool = True,
    ) -> None:
        super().__init__(OwnEncoding(T), body, normalize)
        self.user_decode = decode
        # whether its library adapts the network as a body (own_loop=False), which the
        # refusal of a one-step network offers only then (_wrong_loop)
        self.body_too = body_too

    @SpikingNet.T.setter
    def T(self, value: int) -> None:
        if int(value) != self.encoder.T:  # a time extension: the loop is the network's code
            raise UserError(
                f"attack.time_extension: a network with its own time loop runs its own "
                f"T={self.encoder.T} steps, which the attack cannot extend to {value}; "
                "accepted: attack.time_extension=1, or pass the network's multi-step body"
            )

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        images = self.normalize(self.quantize(x)).clone()  # its code may change it in place
        for module in restarted(self.body).modules():  # each forward one simulation
            if isinstance(module, TimeMerged):
                module.batch = images.shape[0]
        out, steps, stepped = self._counted(images)
        # 1 is a whole-loop LIF's rate-domain pass; one-step LIFs alone have none, so there it
        # is a loop of one step (a per-step snnTorch sequence said to loop itself)
        ours = {self.T} if stepped and steps == {1} else {1, self.T}
        if wrong := max(steps - ours, default=None):
            raise UserError(_wrong_loop(self.T, wrong, images.shape[0], self.body_too))
        logits = self.decode(out)
        batch = images.shape[0]
        if logits.shape[0] != batch and batch in steps:  # T samples run as the T steps asked
            raise UserError(_samples_taken_for_steps(self.T, logits, batch))
        if self not in LAYOUT_CHECKED and self.user_decode is None:
            self._time_first(out[0] if isinstance(out, tuple | list) else out, x)
        return logits

    def _counted(self, images: torch.Tensor) -> tuple[Any, set[int], set[int]]:
        """:func:`~snnattack.interop.probe.neuron_steps` of a forward of the body on
        ``images``; at the first forward, a neuron of the whole T called more than once in it
        is refused (:func:`~snnattack.interop.common.whole_calls`)."""
        if self in CALLS_CHECKED:
            return neuron_steps(self.body, lambda: self.body(images))
        counted, repeated = whole_calls(
            self.body, lambda: neuron_steps(self.body, lambda: self.body(images))
        )
        for path, n in repeated[:1]:
            raise UserError(
                f"interop: the network's own loop calls its multi-step neuron {path} {n} times "
                "in one forward (one node used in two places, or called on each step's slice), "
                "where its library carries the membrane from one call into the next, but the "
                "adapter runs each such neuron as one call on the whole [T, B, ...] from a zero "
                "membrane; accepted: a node of its own for each use, called once per forward "
                "on [T, B, ...], or nodes in step mode 's' called once per step"
            )
        CALLS_CHECKED.add(self)
        return counted

    def _time_first(self, out: torch.Tensor, x: torch.Tensor) -> None:
        """Refuses an output ``[B, T', K]`` that the mean over its first axis decodes: told by
        its shape, or where the samples are as many as its steps (``[B, B, K]``) by one more
        forward on a sample more, without a gradient, in the modules' own modes, with their
        buffers (BatchNorm's statistics) and the random state restored after it: the axis that
        grows holds the samples (a network that cannot run a sample more is run as it is). A
        network found time first is not checked again."""
        batch = x.shape[0]
        if out.dim() < 3 or out.shape[1] == batch != out.shape[0]:
            LAYOUT_CHECKED.add(self)
            return
        if out.shape[0] != batch:  # not the samples first: the other checks' case
            return
        if out.shape[1] != batch:
            raise UserError(_samples_first(self.T, out))
        if batch == 1:  # [1, 1, K]: either axis gives the same logits
            return
        more = self.normalize(self.quantize(torch.cat([x, x[:1]])))
        buffers = [(b, b.clone()) for b in self.body.buffers()]
        devices = [x.device] if x.device.type != "cpu" else []
        try:
            with torch.no_grad(), torch.random.fork_rng(devices, device_type=x.device.type):
                for module in restarted(self.body).modules():
                    if isinstance(module, TimeMerged):
                        module.batch = batch + 1
                grown = self.body(more)
        except Exception:  # a network of a fixed batch: undecided, run as it is
            grown = out
        finally:
            with torch.no_grad():
                for buffer, kept in buffers:
                    buffer.copy_(kept)
            restarted(self.body)
        grown = grown[0] if isinstance(grown, tuple | list) else grown
        if grown.dim() == out.dim() and grown.shape[0] == batch + 1:
            raise UserError(_samples_first(self.T, out))
        LAYOUT_CHECKED.add(self)

    def decode(self, out: torch.Tensor | tuple | list) -> torch.Tensor:
        if isinstance(out, tuple | list):
            out = out[0]
        if out.dim() < 3:
            return out
        return out.mean(0) if self.user_decode is None else self.user_decode(out)
