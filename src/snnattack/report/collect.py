"""Reads a job or sweep folder: every ``metrics.json`` below it, as jobs and result rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# configuration sub-trees that never describe the experiment (paths, logging, paper numbers)
IGNORED_PREFIXES = (
    "paper",
    "store",
    "logger",
    "hydra",
    "analysis",
    "trainer.enable_progress_bar",
    "trainer.log_every_n_steps",
    "dataset.params.root",
    "dataset.params.num_workers",
    "dataset.params.cache_dir",
    "dataset.params.download",
)
# the columns that describe a trained model's setting
SETTING_KEYS = ("dataset", "model", "T", "lambda", "reset", "encoding")
# result-row columns taken from the job (its config and clean accuracies) and the attack record
STANDARD = (
    *SETTING_KEYS,
    "seed",
    "target_kind",
    "source_kind",
    "grad_mode",
    "method",
    "box",
    "eps_255",
    "time_extension",
    "asr",
    "adv_acc",
    "clean_acc",
    "source_clean_acc",
    "n_correct",
    "n",
)
RECORD_KEYS = (
    "target_kind",
    "source_kind",
    "grad_mode",
    "method",
    "box",
    "eps_255",
    "time_extension",
    "asr",
    "adv_acc",
    "n_correct",
)  # result-row columns taken from the attack record
# swept config keys already shown by a standard column
COVERED = {
    "dataset.name",
    "model.name",
    "T",
    "lambda",
    "reset",
    "encoding",
    "seed",
    "attack.grad_mode",
    "eps",
    "boxes",
}


@dataclass
class Job:
    """One job's folder (relative to the report root) and its metrics.json content."""

    name: str
    metrics: dict[str, Any]
    flat: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        return self.metrics.get("config") or {}

    def setting(self, key: str) -> Any:
        """A standard column's value from the config (``None`` if absent)."""
        cfg = self.config
        nested = {
            "dataset": ("dataset", "name"),
            "model": ("model", "name"),
            "grad_mode": ("attack", "grad_mode"),
        }
        if key in nested:
            outer, inner = nested[key]
            return (cfg.get(outer) or {}).get(inner)
        return cfg.get(key)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists become JSON strings."""
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    key = prefix[:-1]
    return {key: json.dumps(tree) if isinstance(tree, list) else tree}


def load_jobs(root: Path) -> list[Job]:
    """Every readable ``metrics.json`` under ``root`` (itself included), sorted by folder."""
    jobs = []
    for path in sorted(root.rglob("metrics.json"), key=lambda p: _natural(p.parent, root)):
        try:
            metrics = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(metrics, dict):
            continue
        name = str(path.parent.relative_to(root)) if path.parent != root else "."
        flat = {
            k: v
            for k, v in flatten(metrics.get("config") or {}).items()
            if not k.startswith(IGNORED_PREFIXES)
        }
        jobs.append(Job(name, metrics, flat))
    return jobs


def _natural(folder: Path, root: Path) -> list:
    return [int(p) if p.isdigit() else p for p in folder.relative_to(root).parts]


def swept_keys(jobs: list[Job]) -> list[str]:
    """Config keys whose value differs between jobs (absent counts as a value)."""
    keys = sorted({k for j in jobs for k in j.flat})
    return [k for k in keys if len({json.dumps(j.flat.get(k), sort_keys=True) for j in jobs}) > 1]


def mode_params(jobs: list[Job]) -> list[str]:
    """``attack.params.*`` keys that vary between jobs of the same gradient mode."""
    out = set()
    for mode in {j.setting("grad_mode") for j in jobs}:
        same = [j for j in jobs if j.setting("grad_mode") == mode]
        out |= {k for k in swept_keys(same) if k.startswith("attack.params.")}
    return sorted(out)


def extra_keys(jobs: list[Job]) -> list[str]:
    """Swept keys that get their own column beside the standard ones."""
    return [
        k for k in swept_keys(jobs) if k not in COVERED and not k.startswith(("method.", "attack."))
    ] + mode_params(jobs)


def result_rows(jobs: list[Job]) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and rows of results.csv: one row per job and attack record."""
    extra = extra_keys(jobs)
    columns = ["job", *extra, *STANDARD]
    rows = []
    for job in jobs:
        base = {"job": job.name, **{k: job.flat.get(k) for k in extra}}
        base.update({k: job.setting(k) for k in (*SETTING_KEYS, "seed", "grad_mode")})
        base.update({k: job.metrics.get(k) for k in ("clean_acc", "source_clean_acc", "n")})
        for r in job.metrics.get("results") or []:
            row = {**base, **{k: r.get(k) for k in RECORD_KEYS}}
            row["grad_mode"] = row["grad_mode"] or base.get("grad_mode")
            if r.get("n") is not None:
                row["n"] = r["n"]
            rows.append(row)
    return columns, rows


def paper_block(jobs: list[Job]) -> dict[str, Any]:
    """The experiment file's ``paper:`` numbers (the first job that states them)."""
    for job in jobs:
        paper = job.config.get("paper")
        if paper:
            return paper
    return {}
