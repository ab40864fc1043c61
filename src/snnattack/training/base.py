"""The interface every kind of training (``train.kind``) implements, its registry, and the shared
model build. A kind is one module of this package (the package doc): a :class:`Strategy`
subclass declaring its ``name``, ``title`` and ``order``, decorated with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from snnattack.interop.external import external_model, is_external
from snnattack.models import build
from snnattack.registry import Registry
from snnattack.settings import ModelSettings, thaw
from snnattack.snn.backend import set_backend
from snnattack.training.fit import TrainContext, Trained, fit
from snnattack.values import declare, member_of, optional


class Strategy:
    """One kind of training. Subclasses override what differs from plain STBP training."""

    name: str  # its ``train.kind``
    title: str  # how figures name the networks it trains
    order: float  # its place in listings (accepted values, figures)
    blocks: tuple[str, ...] = ()  # sub-blocks of ``train`` this kind reads (part of its key)
    trains_at_T = True  # whether training runs the model over the configured T steps
    trains_ann = False  # whether it trains an ANN on the analog image (or starts from one)
    spiking = True  # whether the model it trains is an SNN (``snnattack.load`` builds one)
    # the ``train`` keys that make the model this kind starts from out of its own config
    # (training/parse.py derives it: ``ModelSettings.base``); None: it starts from scratch
    base_train: dict[str, Any] | None = None

    def fine_tuning(self, train: Mapping[str, Any]) -> dict[str, Any] | None:
        """The ``train`` keys of the recipe this kind fits with, from its ``train`` block
        (``ModelSettings.fine_tuning``); None: ``train``'s own recipe."""
        return None

    def build(self, model: ModelSettings) -> nn.Module:
        """The untrained model of this kind (weights are loaded into it from the store)."""
        return build_net(model)

    def stored_neuron(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """The neuron settings (``T``, ``lambda``, ``theta``, ``reset``) that a stored model of
        this kind runs with, from its training ``spec`` (its record's): the spec's own."""
        return dict(spec["neuron"])

    def stored_settings(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """The settings of this kind, by config key, that a stored model runs with and its
        weights do not hold, from its training ``spec``: a file given as ``checkpoint=`` is
        held to them. None of its own here."""
        return {}

    def base(self, model: ModelSettings) -> ModelSettings | None:
        """The model this kind starts from, or None. Its store key joins ours, and it is in
        ``ctx.base`` when :meth:`train` runs."""
        return model.base

    def key(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The store key from the common training spec: drop what this kind does not read."""
        return spec

    def train(self, model: ModelSettings, workdir: Path, ctx: TrainContext) -> Trained:
        """Trains the model in ``workdir`` and returns it with a record of how it went."""
        return fit(model, self.build(model), workdir, ctx)


STRATEGIES: Registry[Strategy] = Registry()  # filled by this package's modules
declare({"train.kind": member_of(STRATEGIES), "source_train": optional(member_of(STRATEGIES))})


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: ``train.kind=<cls.name>`` trains with an instance of ``cls``."""
    STRATEGIES.enter(cls.name, cls(), cls.order)
    return cls


def spikes(kind: str) -> bool:
    """Whether a model trained as ``kind`` is an SNN (its :class:`Strategy`'s ``spiking``); a
    kind unknown here (a record of a kind since removed) counts as one."""
    return STRATEGIES[kind].spiking if kind in STRATEGIES else True


def build_net(model: ModelSettings, **overrides: Any) -> nn.Module:
    """The network ``model`` describes; ``overrides`` replace arguments of ``models.build``.
    ``model=external``: the network the user's factory builds
    (:mod:`snnattack.interop.external`)."""
    t = model.tree
    if is_external(t):
        return set_backend(external_model(t), t["backend"])
    dataset = t["dataset"]
    args = dict(
        num_classes=dataset["num_classes"],
        in_channels=dataset["in_channels"],
        T=t["T"],
        lam=t["lambda"],
        theta=t["theta"],
        reset=t["reset"],
        encoding=t["encoding"],
        surrogate_width=t["train"]["surrogate_width"],
        mean=thaw(dataset["mean"]),
        std=thaw(dataset["std"]),
        levels=t.get("encoding_levels"),
        neuron_impl=t["neuron_impl"],
        backend=t["backend"],
    )
    return build(model.name, **{**args, **overrides})
