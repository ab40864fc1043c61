"""The interface every kind of training (``train.kind``) implements, its registry, and the shared
model build.

A kind is one module of this package: a :class:`Strategy` subclass declaring its ``name``,
``title`` and ``order``, decorated with :func:`register`. The package imports every module,
so the kind is known to the config validation, the store and the report with no other edit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from torch import nn

from snnattack.interop.external import external_model, is_external
from snnattack.models import build
from snnattack.registry import Registry
from snnattack.snn.backend import set_backend
from snnattack.training.fit import TrainContext, Trained, fit


class Strategy:
    """One kind of training. Subclasses override what differs from plain STBP training."""

    name: str  # its ``train.kind``
    title: str  # how figures name the networks it trains
    order: float  # its place in listings (accepted values, figures)
    blocks: tuple[str, ...] = ()  # sub-blocks of ``train`` this kind reads (part of its key)
    trains_at_T = True  # whether training runs the model over the configured T steps
    trains_ann = False  # whether it trains an ANN on the analog image (or starts from one)

    def build(self, cfg: DictConfig) -> nn.Module:
        """The untrained model of this kind (weights are loaded into it from the store)."""
        return build_net(cfg)

    def base(self, cfg: DictConfig) -> DictConfig | None:
        """The config of the model this kind starts from, or None. Its store key joins ours,
        and it is in ``ctx.base`` when :meth:`train` runs."""
        return None

    def key(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The store key from the common training spec: drop what this kind does not read."""
        return spec

    def train(self, cfg: DictConfig, workdir: Path, ctx: TrainContext) -> Trained:
        """Trains the model in ``workdir`` and returns it with a record of how it went."""
        return fit(cfg, self.build(cfg), workdir, ctx)


STRATEGIES: Registry[Strategy] = Registry()  # filled by this package's modules


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: ``train.kind=<cls.name>`` trains with an instance of ``cls``."""
    STRATEGIES.enter(cls.name, cls(), cls.order)
    return cls


def build_net(cfg: DictConfig, **overrides: Any) -> nn.Module:
    """The model ``cfg`` describes; ``overrides`` replace arguments of ``models.build``.
    ``model=external``: the network the user's factory builds
    (:mod:`snnattack.interop.external`)."""
    if is_external(cfg):
        return set_backend(external_model(cfg), cfg.backend)
    args = dict(
        num_classes=cfg.dataset.num_classes,
        in_channels=cfg.dataset.in_channels,
        T=cfg.T,
        lam=cfg["lambda"],
        theta=cfg.theta,
        reset=cfg.reset,
        encoding=cfg.encoding,
        surrogate_width=cfg.train.surrogate_width,
        mean=cfg.dataset.mean,
        std=cfg.dataset.std,
        levels=cfg.get("encoding_levels"),
        neuron_impl=cfg.neuron_impl,
        backend=cfg.backend,
    )
    return build(cfg.model.name, **{**args, **overrides})


def with_train(cfg: DictConfig, **train: Any) -> DictConfig:
    """A copy of ``cfg`` whose ``train`` keys are replaced by ``train`` (e.g. ``kind="ann"``)."""
    copy = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    for key, value in train.items():
        copy.train[key] = value
    return copy
