"""Neuron settings that train: a foreign neuron's leak, threshold and input scale computed from
the parameters its library trains (spikingjelly's ``ParametricLIFNode.w``, snnTorch's
``Leaky(learn_beta=True)`` and ``learn_threshold=True``), so that training the adapted network
trains them as the library's own training would (``docs/interop.md``).

The LIF's fast paths (its C and Triton kernels, the gradient modes) take its settings as
numbers: :class:`Learned` keeps those numbers current, read again after any change of the
parameters that their version counters see (an optimiser's step, ``load_state_dict``). While
the parameters train (training mode, autograd recording, one of them requiring its gradient)
it gives them as tensors instead, which the LIF's unrolled loop differentiates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import nn

from snnattack.errors import UserError

Value = float | torch.Tensor
# the settings (attribute names of the LIF and its input scale: lam, theta, reset_by, scale)
# from the parameters as read (a PLIF's sigmoid(w), snnTorch's clamped beta): one rule for
# numbers and tensors alike, so that both give the values the adaptation would
Derive = Callable[[Mapping[str, Value]], dict[str, Value | None]]
# the settings a Learned sets on its module (a LIF's, an input scale's): they follow its
# parameters, read again at each forward after they moved, and are no setting of their own
FOLLOWING = frozenset(("lam", "theta", "reset_by", "scale"))
MEMOS = frozenset(("_seen", "_numbers"))  # a Learned's own record of what it last read
Read = Callable[[torch.Tensor], torch.Tensor]


class Learned(nn.Module):
    """The trained parameters of one foreign neuron and how its settings follow from them: each
    parameter through its ``read`` (elementwise), then ``derive``. ``where`` names the neuron
    in a refusal.

    The adapters give each parameter as the adapted copy's weights are, one of the copy's own
    over the user's memory (:func:`~snnattack.interop.common.shadow`): the adapted network's
    ``parameters()`` hold it and train the user's values, while its ``.grad`` and
    ``requires_grad`` stay the copy's."""

    def __init__(
        self, params: dict[str, nn.Parameter], read: dict[str, Read], derive: Derive, where: str
    ) -> None:
        super().__init__()
        for name, parameter in params.items():
            self.register_parameter(name, parameter)
        self.read, self.derive, self.where = read, derive, where
        self._seen: tuple | None = None
        self._numbers: dict[str, float | None] = {}
        self._fixed = False  # within as_numbers()

    def live(self) -> bool:
        """Whether the parameters train in this forward: training mode, autograd recording,
        one of them requiring its gradient, and not within :meth:`as_numbers`."""
        return (
            not self._fixed
            and self.training
            and torch.is_grad_enabled()
            and any(p.requires_grad for p in self._parameters.values())
        )

    @contextmanager
    def as_numbers(self) -> Iterator[None]:
        """Within the block the settings are numbers, whatever the mode: a gradient mode that
        installs a forward of its own on the LIF (``rga``, ``bptr``, ``hart``) reads its leak
        and threshold as numbers, and so, for one rule, does the input scale before it."""
        before, self._fixed = self._fixed, True
        try:
            yield
        finally:
            self._fixed = before

    def tensors(self) -> dict[str, Value | None]:
        """The settings as tensors of the parameters, differentiable."""
        return self.derive({n: self.read[n](p) for n, p in self._parameters.items()})

    def numbers(self) -> dict[str, float | None]:
        """The settings as numbers, read again only after the parameters changed (or moved;
        on PyTorch's ``meta`` device, which holds no values, those last read)."""
        parameters = self._parameters.values()
        seen = tuple((p._version, p.data_ptr()) for p in parameters)
        if seen != self._seen and not any(p.is_meta for p in parameters):
            with torch.no_grad():
                read = {n: float(self.read[n](p).item()) for n, p in self._parameters.items()}
            numbers = {k: v if v is None else float(v) for k, v in self.derive(read).items()}
            self._check(numbers)
            self._numbers, self._seen = numbers, seen
        return self._numbers

    def refresh(self, module: nn.Module) -> None:
        """Sets ``module``'s settings (those of :meth:`numbers` it holds) to their values now."""
        for key, value in self.numbers().items():
            if hasattr(module, key):
                setattr(module, key, value)

    def _check(self, numbers: dict[str, float | None]) -> None:
        """Refuses settings the trained parameters left outside what a LIF runs."""
        lam, theta = numbers.get("lam", 1.0), numbers.get("theta", 1.0)
        if not 0.0 < lam <= 1.0 or theta <= 0.0:
            raise UserError(
                f"interop: {self.where} has learned the leak lam={lam:g} and threshold "
                f"theta={theta:g}; the LIF needs 0 < lam <= 1 and theta > 0 (keep its parameters "
                "in range while training, e.g. clamp them after each optimiser step)"
            )

    def extra_repr(self) -> str:
        return ", ".join(self._parameters)


def read_learned(net: nn.Module) -> None:
    """The settings of ``net``'s LIFs (and input scales) that follow learned parameters, read
    from them now (a host sync per such layer), as their next forward would read them: a
    check of the settings before any forward (a gradient mode's range after a step) would
    read the older ones."""
    for m in net.modules():
        if isinstance(getattr(m, "learned", None), Learned):
            m.learned.refresh(m)
