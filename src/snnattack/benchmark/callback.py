"""The entry of a ``run.py`` job launched on a protocol file (a Hydra callback).

Each protocol file registers it (``hydra.callbacks.benchmark_entry``): after every job that
wrote ``metrics.json``, it adds the target's parameter count to the record's target (the
architecture the config builds, untrained: the count does not depend on the weights) and
writes ``entry.json`` beside it, and with ``logger=wandb`` logs it as a W&B run
(:mod:`snnattack.benchmark.tracking`). A job whose config names no model (``benchmark.name``),
or a protocol version without a file, gets none: one line says so, and the job's result and
exit status are left alone.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from snnattack.benchmark import leaderboard
from snnattack.benchmark.entry import from_record, write_entry
from snnattack.benchmark.protocol import PROTOCOL_DIR, protocol
from snnattack.benchmark.tracking import log_entry
from snnattack.config.settings import model_settings
from snnattack.errors import UserError
from snnattack.records.results import read_record
from snnattack.settings import ModelSettings
from snnattack.training.trained import build_model

log = logging.getLogger(__name__)


def parameters(model: ModelSettings) -> int:
    """The parameter count of the network ``model`` describes."""
    return sum(p.numel() for p in build_model(model).parameters())


def protocol_folder(hydra: Any) -> Path:
    """The folder of the protocol file the job was launched on (``-cd``), as Hydra records it
    in ``hydra`` (its config node)."""
    for source in hydra.runtime.config_sources:
        if source.provider == "command-line" and source.schema == "file":
            return Path(source.path)
    return PROTOCOL_DIR


def job_entry(cfg: DictConfig, folder: Path, protocols: Path = PROTOCOL_DIR) -> Path | None:
    """Writes the entry of the job in ``folder`` to ``folder/entry.json``; None (and one
    line) when the job wrote no record, its config names no model, or its ``benchmark``
    block names a protocol or version that has no file in ``protocols``."""
    metrics = folder / "metrics.json"
    if not metrics.is_file():
        return None
    block = cfg.get("benchmark") or {}
    try:
        protocol(
            block.get("protocol"),
            block.get("version"),
            folder=protocols,
            argument="benchmark.protocol",
        )
        record = read_record(metrics)
        target = record.models.get("target") or {}
        # the job's own config: a callback's also holds Hydra's node, which does not resolve here
        job = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
        record.models["target"] = {**target, "parameters": parameters(model_settings(job))}
        entry = from_record(record)
        path = write_entry(entry, folder / "entry.json")
    except UserError as err:
        print(f"error: no benchmark entry: {err}", file=sys.stderr)
        return None
    wandb_cfg = (cfg.get("logger") or {}).get("wandb")
    if wandb_cfg:
        log.info("W&B benchmark run: %s", log_entry(entry, dict(wandb_cfg), folder))
    return path


class EntryCallback(Callback):
    """Writes each finished job's ``entry.json`` (:func:`job_entry`), and at a multirun's end
    the leaderboard of its entries into the sweep folder (``leaderboard.md``, ``.html``)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = Path(config.hydra.sweep.dir)
        try:
            files = leaderboard.write(sweep, sweep, protocol_folder(config.hydra), "*/entry.json")
        except UserError as err:
            print(f"error: no leaderboard: {err}", file=sys.stderr)
            return
        log.info("benchmark leaderboard %s", files["html"])

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        hydra = HydraConfig.get()
        path = job_entry(config, Path(hydra.runtime.output_dir), protocol_folder(hydra))
        if path is not None:
            log.info("benchmark entry %s", path)
