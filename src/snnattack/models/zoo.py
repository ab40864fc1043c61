"""The model zoo: name -> architecture, and :func:`build`, which wraps an architecture's body in a
:class:`~snnattack.models.base.SpikingNet`.

An architecture is one module of this package: a body factory decorated with
``@register("<name>", order=...)`` (its ``model.name`` and its place in listings); the package
imports every module, so the architecture is one module and its ``conf/model/<name>.yaml``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from snnattack.errors import ConfigError
from snnattack.models.base import Normalize, SpikingNet
from snnattack.registry import Registry
from snnattack.snn.backend import set_backend
from snnattack.snn.encoding import FIXED_NORMALISATION, Quantize, build_encoder
from snnattack.snn.neurons import LIF
from snnattack.snn.surrogates import Triangle
from snnattack.values import as_python, member_of

MODELS: Registry[Callable[..., nn.Module]] = Registry()  # filled by this package's modules
# decorator: a body factory f(num_classes, in_channels, neuron) -> nn.Module is an architecture
register = MODELS.register
ACTIVATIONS = ("lif", "relu")  # spiking model, or its ANN counterpart (ReLU, one time step)


def build(
    name: str,
    num_classes: int,
    in_channels: int = 3,
    T: int = 4,
    lam: float = 1.0,
    theta: float = 1.0,
    reset: str = "hard",
    encoding: str = "direct",
    surrogate_width: float = 1.0,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    activation: str = "lif",
    levels: int | None = None,
    neuron_impl: str = "fused",
    backend: str = "c",
) -> SpikingNet:
    """A spiking model taking images in [0, 1] and returning logits averaged over T.

    ``mean``/``std`` normalise analog inputs inside the model (direct encoding only: Poisson
    spikes and event frames are fed as they are); an encoding of ``FIXED_NORMALISATION``
    (``poisson_signed``) normalises with its own fixed mean and std instead.
    ``activation="relu"`` gives the ANN counterpart: the same layers (same parameter names)
    with every LIF replaced by a ReLU.
    ``levels`` quantises the analog image to that many values before encoding (None: off).
    ``neuron_impl`` is how the neurons' STBP backward is computed (``fused`` or ``unrolled``,
    same gradients; :class:`snnattack.snn.neurons.LIF`).
    ``backend`` is where its LIFs and per-step layers run: ``c`` (the CPU paths where they
    apply) or ``torch`` (torch ops), same values (:mod:`snnattack.snn.backend`).
    An unknown ``name`` or ``activation`` is a :class:`~snnattack.errors.ConfigError` naming
    the argument and the accepted values, as the rest of the API refuses a name.
    """
    for argument, value, accepted in (
        ("name", name, MODELS),
        ("activation", activation, ACTIVATIONS),
    ):
        if complaint := member_of(accepted).complaint(argument, value, spell=as_python):
            raise ConfigError(complaint)

    def neuron() -> nn.Module:
        if activation == "relu":
            return nn.ReLU()
        return LIF(
            lam=lam,
            theta=theta,
            reset=reset,
            surrogate=Triangle(surrogate_width),
            impl=neuron_impl,
        )

    normalize = None
    if encoding in FIXED_NORMALISATION:
        centre, scale = FIXED_NORMALISATION[encoding]
        normalize = Normalize([centre] * in_channels, [scale] * in_channels)
    elif encoding == "direct" and mean is not None and std is not None:
        normalize = Normalize(mean, std)
    body = MODELS[name](num_classes=num_classes, in_channels=in_channels, neuron=neuron)
    quantize = Quantize(levels) if levels is not None else None
    net = SpikingNet(build_encoder(encoding, T), body, normalize, quantize)
    net.architecture = name
    return set_backend(net, backend)
