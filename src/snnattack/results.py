"""Result records: the metrics.json file (the source of truth) and the printed table."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

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


def table_text(record: dict[str, Any]) -> str:
    """Clean accuracy and one row per attack, as the text of a table (for the console and
    the job's ``run.log`` alike)."""
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
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(table)
    return console.file.getvalue().rstrip()
