"""The spiking network every architecture is built into (:class:`SpikingNet`): images in
[0, 1] -> (quantise) -> (normalise) -> encoder -> body -> logits averaged over T. The central
type of the package: the attacks, the training, the interop adapters and the Python API all
take one."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from snnattack.cpu.recompute import batchnorm_recomputed
from snnattack.snn.binary import spikes_as_bytes


class Normalize(nn.Module):
    """Per-channel ``(x - mean) / std`` inside the model, so attacks work in [0, 1] pixels."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(-1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class SpikingNet(nn.Module):
    """Images ``[B, ...]`` -> (quantise) -> (normalise) -> encoder ``[T, B, ...]`` -> body ->
    mean over T (:meth:`decode`); with autograd recording, the spikes its layers save for the
    backward are kept as bytes (:mod:`snnattack.snn.binary`) and BN outputs fed to a fused LIF are
    recomputed (:mod:`snnattack.cpu.recompute`)."""

    foreign_body = False  # True: the body is an adapted copy of a user's network (interop)

    def __init__(
        self,
        encoder: nn.Module,
        body: nn.Module,
        normalize: nn.Module | None,
        quantize: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.architecture: str | None = None  # its name in the zoo, where it was built from one
        self.quantize = quantize if quantize is not None else nn.Identity()
        self.normalize = normalize if normalize is not None else nn.Identity()
        self.encoder = encoder
        self.body = body

    @property
    def T(self) -> int:
        """Number of simulation time steps."""
        return self.encoder.T

    def shown(self, name: str, module: nn.Module) -> str:
        """A refusal's words for its module ``name``: its :meth:`users_layer`, path and class."""
        path, cls = self.users_layer(name, module)
        return f"{path or 'model'} ({cls})"

    def users_layer(self, name: str, module: nn.Module) -> tuple[str, str]:
        """The path and class of the module ``name`` as the user's network names them (an
        adapted body's path without ``body.``) with the class it stands for (``shown_as``: an
        adapter's layer names the user's, ``BatchNorm2d`` for ``FoldedBatchNorm2d``). A module
        inside one that stands for a user's layer (an adapted neuron's LIF after its input
        scale) is named as that layer."""
        parts = name.split(".")
        for end in range(1, len(parts)):
            outer = self.get_submodule(".".join(parts[:end]))
            if "shown_as" in vars(outer):  # an adapter's module in place of the user's
                name, module = ".".join(parts[:end]), outer
                break
        path = name.removeprefix("body.") if self.foreign_body else name
        return path, getattr(module, "shown_as", type(module).__name__)

    @T.setter
    def T(self, value: int) -> None:
        self.encoder.T = int(value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled() or torch.compiler.is_compiling():
            return self._logits(x)
        with spikes_as_bytes(), batchnorm_recomputed():
            return self._logits(x)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        """The network's output, decoded."""
        return self.decode(self.body(self.encoder(self.normalize(self.quantize(x)))))

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        """The body's output ``[T, B, K]`` to logits ``[B, K]``: its mean over T (one step,
        as in the rate-domain pass: the step itself, a view)."""
        return out.squeeze(0) if out.shape[0] == 1 else out.mean(0)
