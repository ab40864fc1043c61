"""Result records: the metrics.json file (the source of truth), whether it is complete, and
the printed table."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Writes ``record`` to ``path`` atomically (a reader never sees half a file).

    A failed write (disk full, ...) leaves the previous file as it was and no temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(record, indent=2, default=str))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def result_spec(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config without its cosmetic keys (``cosmetic_keys``): what fixes a result."""
    spec = OmegaConf.to_container(cfg, resolve=True)
    for dotted in cfg.cosmetic_keys:
        *parents, leaf = dotted.split(".")
        node = spec
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return spec


def is_complete(path: Path, cfg: DictConfig, n_rows: int) -> bool:
    """Whether ``path`` holds the finished result of this config (cosmetic keys aside), so a
    relaunched job can skip it."""
    try:
        done = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return done.get("result_spec") == result_spec(cfg) and len(done.get("results", [])) == n_rows


def print_table(record: dict[str, Any]) -> None:
    """Prints clean accuracy and one row per attack."""
    cfg = record["config"]
    title = (
        f"{cfg['dataset']['name']} / {cfg['model']['name']}  T={cfg['T']} "
        f"λ={cfg['lambda']} reset={cfg['reset']}  clean acc {record['clean_acc']:.2f}%"
    )
    table = Table(title=title)
    for col in ("method", "box", "eps (/255)", "grad", "ASR %", "adv acc %", "n correct"):
        table.add_column(col, justify="right")
    for r in record["results"]:
        table.add_row(
            r["method"],
            r["box"],
            f"{r['eps_255']:g}",
            r["grad_mode"],
            f"{r['asr']:.2f}",
            f"{r['adv_acc']:.2f}",
            str(r["n_correct"]),
        )
    Console().print(table)
