"""A job's models: trained once per training spec and kept in the checkpoint store, or read
from a model file (``checkpoint=``). The copies the attacks run are the evaluation's
(:mod:`snnattack.evaluation.attacked`)."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
from omegaconf import DictConfig
from torch import nn

from snnattack.interop.external import external_model, factory_network, is_external
from snnattack.models.reference import namings
from snnattack.records.checkpoints import load_model_file
from snnattack.records.results import neuron_text
from snnattack.records.store import ModelStore
from snnattack.snn.backend import set_backend
from snnattack.snn.neurons import lif_settings
from snnattack.training import STRATEGIES
from snnattack.training.fit import TrainContext, Trained
from snnattack.training.spec import training_spec

log = logging.getLogger(__name__)


def build_model(cfg: DictConfig) -> nn.Module:
    """The untrained model the config describes (its kind of training decides which)."""
    return STRATEGIES[cfg.train.kind].build(cfg)


def trained_model(
    cfg: DictConfig, seed: int, store: ModelStore, trainers: list[L.Trainer]
) -> Trained:
    """The model trained with ``seed``: from the store, or trained now (or resumed) and stored.

    How it is trained is the strategy of its kind (``train.kind``); ``record["kind"]`` says it.
    A kind that starts from another model (``Strategy.base``) gets that one first, with the
    same seed, from the store or trained.
    """
    strategy = STRATEGIES[cfg.train.kind]
    spec = training_spec(cfg, seed)

    def make() -> nn.Module:
        L.seed_everything(seed, workers=True, verbose=False)
        return strategy.build(cfg)

    def train(workdir: Path) -> Trained:
        L.seed_everything(seed, workers=True, verbose=False)
        base_cfg = strategy.base(cfg)
        base = None if base_cfg is None else trained_model(base_cfg, seed, store, trainers)
        return strategy.train(cfg, workdir, TrainContext(seed, spec, trainers, base))

    model, record = store.get_or_train(spec, make, train)
    log.info(
        "%s model %s (%s, seed %d)",
        "reused" if record.get("cached") else "trained",
        record.get("key"),
        cfg.train.kind,
        seed,
    )
    return model.eval(), {**record, "kind": cfg.train.kind}


def load_from_file(cfg: DictConfig, path: str, key: str = "checkpoint") -> Trained:
    """The configured model with the weights of ``path`` (any format of
    :mod:`snnattack.records.checkpoints`, ``key`` the config key that names it). A native
    architecture also reads the reference codes' files, by their names
    (:mod:`snnattack.models.reference`); ``model=external`` loads the factory's own network,
    by its own names, before adapting it."""
    if is_external(cfg):
        net = factory_network(cfg)
        record = load_model_file(path, net, key)
        model = set_backend(external_model(cfg, net), cfg.backend)
    else:
        model = build_model(cfg)
        record = load_model_file(path, model, key, namings(cfg.model.name, model))
    return model.eval(), {**record, "kind": cfg.train.kind}


def model_from_file(cfg: DictConfig, path: str, key: str = "checkpoint") -> Trained:
    """:func:`load_from_file`, logged: the model a job attacks or crafts on."""
    log.info("model from file %s", path)
    model, record = load_from_file(cfg, path, key)
    return model, own_neurons(cfg, model, record)


def own_neurons(cfg: DictConfig, model: nn.Module, record: dict) -> dict:
    """``record`` with a ``model=external`` network's own neurons (each LIF's λ, θ, reset:
    ``neurons``, logged), which the config's ``lambda`` and ``reset`` do not describe."""
    if not is_external(cfg):
        return record
    neurons = lif_settings(model)
    log.info("its neurons: %s", neuron_text(neurons))
    return {**record, "neurons": neurons}


def target_model(cfg: DictConfig, store: ModelStore, trainers: list[L.Trainer]) -> Trained:
    """The attacked model: the file ``checkpoint=`` names, else (``model=external``) the one
    the user's factory builds, else the one of ``seed``."""
    if cfg.checkpoint:
        return model_from_file(cfg, cfg.checkpoint)
    if is_external(cfg):
        log.info("model from factory %s", cfg.model.factory._target_)
        model = build_model(cfg).eval()
        record = {"kind": cfg.train.kind, "factory": cfg.model.factory._target_}
        return model, own_neurons(cfg, model, record)
    return trained_model(cfg, cfg.seed, store, trainers)
