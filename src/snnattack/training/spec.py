"""The training spec: everything that affects a trained model, and so the checkpoint store's key."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from snnattack.training import KIND_BLOCKS, SELECTION, STRATEGIES


def training_spec(cfg: DictConfig, seed: int) -> dict[str, Any]:
    """Everything that affects the model ``cfg`` trains with ``seed``: its store key.

    Includes the kind of training (``train.kind``) and, for a kind that starts from another
    model (conversion, hybrid), that model's key (``base``).
    """
    strategy = STRATEGIES[cfg.train.kind]
    c = OmegaConf.to_container(cfg, resolve=True)
    ignore = set(cfg.store.ignore_dataset_params)
    dataset = {k: v for k, v in c["dataset"].items() if k not in ("params", "encodings")}
    dataset["params"] = {k: v for k, v in c["dataset"]["params"].items() if k not in ignore}
    train = {k: v for k, v in c["train"].items() if k not in KIND_BLOCKS or k in strategy.blocks}
    spec = {
        "dataset": dataset,
        "model": c["model"],
        "neuron": {k: c[k] for k in ("T", "lambda", "reset", "theta")},
        "encoding": c["encoding"],
        "encoding_levels": c.get("encoding_levels"),
        "train": train,
        "trainer": {k: c["trainer"].get(k) for k in cfg.store.trainer_keys},
        "seed": seed,
        "selection": SELECTION,
    }
    base = strategy.base(cfg)
    if base is not None:
        spec["base"] = training_spec(base, seed)
    return strategy.key(spec)
