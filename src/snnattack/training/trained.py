"""A job's models: trained once per training spec and kept in the checkpoint store, or read
from a model file (``checkpoint=``)."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import lightning as L
from omegaconf import DictConfig
from torch import nn

from snnattack.interop.external import is_external
from snnattack.models.fold import folded
from snnattack.records.checkpoints import load_model_file
from snnattack.records.results import neuron_text
from snnattack.records.store import ModelStore
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


def model_from_file(cfg: DictConfig, path: str) -> Trained:
    """The configured model with the weights of ``path`` (``checkpoint=``, any format of
    :mod:`snnattack.records.checkpoints`) instead of one from the store."""
    model = build_model(cfg)
    log.info("model from file %s", path)
    record = {**load_model_file(path, model), "kind": cfg.train.kind}
    return model.eval(), own_neurons(cfg, model, record)


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


def attacked_models(
    cfg: DictConfig, target: nn.Module, source: nn.Module | None
) -> tuple[nn.Module, nn.Module | None]:
    """The copies of the trained target and source that the attacks run: with their BNs
    folded into the convs (``attack.fold_bn``) and ``torch.compile``'d (``compile``), each
    only where the config asks. The trained models themselves stay as they are (analyses and
    the store use them)."""

    def prepare(model: nn.Module) -> nn.Module:
        out = folded(model) if cfg.attack.fold_bn else copy.deepcopy(model)
        if cfg.compile:
            out.compile()  # in place: the module keeps its attributes and state_dict keys
        return out

    return prepare(target), None if source is None else prepare(source)
