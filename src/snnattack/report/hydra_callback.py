"""Writes the report at the end of every multirun (a Hydra callback), and logs it to W&B;
also that of a single run into its folder (``single``).

Registered in ``conf/config.yaml`` under ``hydra.callbacks.report``. With ``logger=wandb``,
a sweep's report tables and figures go to one W&B run of ``job_type=report`` in the sweep's
group (``<date>/<time>``, the sweep folder's parent and own name, unless
``logger.wandb.group`` is set); a single run's report stays in its folder (the job logged its
own run). A failure prints one line (the report's, or only its logging to W&B) and leaves the
exit status alone; a run that wrote no ``metrics.json`` (refused, failed) gets no report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from snnattack.config.parse import user_tags
from snnattack.report import Report, write_report
from snnattack.report.collect import cell
from snnattack.runtime.lifecycle import refused_launch


def log_to_wandb(report: Report, wandb_cfg: dict[str, Any], tags: list[str]) -> None:
    """Logs ``report``'s tables and figures to the W&B run of ``job_type=report`` of its
    folder, tagged ``tags`` (the sweep's ``tags``), with what the report says beside them as
    its config (:func:`report_config`): one run per sweep folder, its id made from the
    folder's path, so a relaunch into the folder logs the new report into the same run."""
    import wandb

    from snnattack.records.tracking import start_run, sweep_group  # Lightning's loggers

    folder = report.folder
    run = start_run(
        wandb_cfg,
        folder,
        group=wandb_cfg.get("group") or sweep_group(folder),
        job_type="report",
        name=f"report {sweep_group(folder)}",
        id=hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16],
        resume="allow",
        tags=tags,
        reinit="create_new",
        config=report_config(report),
    )
    try:
        data = [[_cell(r.get(c)) for c in report.columns] for r in report.rows]
        run.log({"results": wandb.Table(columns=report.columns, data=data)})
        for table in report.tables:
            run.log({table.key or table.title: wandb.Table(columns=table.columns, data=table.rows)})
        run.log({p.stem: wandb.Image(str(p)) for p in report.figures})
    finally:
        run.finish()


def report_config(report: Report) -> dict[str, Any]:
    """What the report says beside its tables, as the config of its W&B run: the command,
    versions, commits and date of its opening line, the jobs it left out (failed, missing,
    unreadable, repeated: without them a W&B reader would take the tables for the whole sweep)
    and each table's settings line (what every row shares, ε included, which its columns do
    not show), finding and note."""
    o = report.origin
    return {
        "command": o.command,
        "version": list(o.versions),
        "git_commit": list(o.commits),
        "results_of": o.date,
        "launches": list(o.launches),
        "left_out": list(report.left_out),
        "tables": {
            t.key or t.title: {"settings": t.settings, "finding": t.summary, "note": t.note}
            for t in report.tables
        },
    }


def _why(err: Exception) -> str:
    """``err`` on one line (OmegaConf's errors span several)."""
    return " ".join(f"{type(err).__name__}: {err}".split())


def _cell(value: Any) -> Any:
    """A results.csv cell (:func:`~snnattack.report.collect.cell`) of a type W&B tables take."""
    value = cell(value)
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)


class ReportCallback(Callback):
    """Hydra callback: the report of the sweep folder once every job has finished, and (if
    ``single``) of a single run's folder once it wrote its ``metrics.json``."""

    def __init__(self, single: bool = True) -> None:
        self.single = single

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        """A DDP job's other ranks run as runs of their own into its folder: only rank 0,
        which wrote its ``metrics.json``, writes the report (two would write the same files
        at once, and print its line twice)."""
        from snnattack.process.distributed import is_writer

        folder = Path(config.hydra.run.dir)
        if self.single and is_writer() and (folder / "metrics.json").is_file():
            _report(folder, lambda: None)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """The sweep folder's report, unless every job of the sweep was refused: the folder
        is then left as it was (:func:`~snnattack.runtime.lifecycle.refused_launch`)."""
        if refused_launch(Path(config.hydra.sweep.dir)) is not None:
            return

        def wandb_block() -> tuple[dict[str, Any], list[str]] | None:
            node = OmegaConf.select(config, "logger.wandb")
            if not node:
                return None
            return OmegaConf.to_container(node, resolve=True), list(user_tags(config))

        _report(Path(config.hydra.sweep.dir), wandb_block)


def _report(
    folder: Path, wandb_block: Callable[[], tuple[dict[str, Any], list[str]] | None]
) -> None:
    """Writes ``folder``'s report and logs it to W&B if ``wandb_block()``, the resolved
    ``logger.wandb`` block and the sweep's ``tags``, is set; one line either way, which says
    what failed: the report, or only its logging (a W&B error, or a block that does not
    resolve, such as an interpolation of an unset environment variable)."""
    try:
        report = write_report(folder)
    except Exception as err:  # the results stand whatever happens to the report
        print(f"report: not written for {folder} ({_why(err)})")
        return
    try:
        block = wandb_block()
        if block:
            log_to_wandb(report, *block)
    except Exception as err:  # the local report stands whatever happens to W&B
        print(f"report: {report.files['html']} (not logged to W&B: {_why(err)})")
        return
    print(f"report: {report.files['html']}")
