"""An entry as a W&B run (``logger=wandb``): ``job_type=benchmark``, named by the model, in the
group ``benchmark/<protocol>_v<version>`` (or ``logger.wandb.group``), so that the entries of
one protocol form one W&B report. Its summary holds the entry's numbers (clean accuracy,
worst case, reported, gap, n) and a table of its rows; its config, the entry itself."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from snnattack.benchmark.entry import lowest_reported
from snnattack.records.tracking import start_run


def group(entry: dict[str, Any]) -> str:
    """The entry's W&B group: its protocol and version."""
    return f"benchmark/{entry['protocol']}_v{entry['provenance']['protocol_version']}"


def log_entry(
    entry: dict[str, Any], wandb_cfg: dict[str, Any], folder: Path, tags: Sequence[str] = ()
) -> None:
    """Logs ``entry`` as one W&B run under ``folder/wandb`` with the settings of
    ``logger.wandb`` (:func:`~snnattack.records.tracking.start_run`, which says where the run
    is), tagged with the job's ``tags`` as its other runs are, so that a filter on them in
    W&B finds the entry beside the job's train and attack runs."""
    import wandb

    run = start_run(
        wandb_cfg,
        folder,
        group=wandb_cfg.get("group") or group(entry),
        job_type="benchmark",
        name=entry["model"]["name"],
        config=entry,
        tags=list(dict.fromkeys(tags)),
        reinit="create_new",
    )
    try:
        run.summary.update(
            {
                "clean_acc": entry["clean_acc"],
                "worst_case": entry["worst_case"],
                "reported": lowest_reported(entry["reported"]),
                "gap": entry["gap"],
                "n": entry["n"],
                "masking_flagged": len(entry["masking"]["flagged"]),
            }
        )
        rows = [[attack, acc] for attack, acc in entry["robust_acc"].items()]
        run.log({"robust_acc": wandb.Table(columns=["attack", "robust_acc"], data=rows)})
    finally:
        run.finish()
