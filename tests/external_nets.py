"""Factories of a user's own networks for ``model=external`` (tests/jobs/test_external.py): what a
package of the user's would hold."""

from __future__ import annotations

from torch import nn

from snnattack.models import build
from snnattack.models.registry import SpikingNet


def digits_net(T: int = 4, lam: float = 1.0) -> SpikingNet:
    """The digits SNN of ``conf/model/digits_net.yaml``, built the way a script would."""
    return build(
        "digits_net", num_classes=10, in_channels=1, T=T, lam=lam, mean=[0.305], std=[0.376]
    )


def not_a_network() -> str:
    """A factory that returns something other than a network."""
    return "net"


def broken(width: int) -> nn.Module:
    """A factory whose own code fails."""
    raise RuntimeError(f"no layer of width {width}")
