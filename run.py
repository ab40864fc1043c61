"""Train (or reuse) spiking networks and attack them: ``python run.py [-m] key=value ...``."""

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from snnattack.errors import Preempted, UserError
from snnattack.job import run
from snnattack.records.tracking import closing_runs
from snnattack.runtime import cli
from snnattack.runtime.lifecycle import record_failure, sigterm_as_preemption

CONF = Path(__file__).resolve().parent / "conf"


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    output_dir = Path(hydra_cfg.runtime.output_dir)
    with closing_runs():
        try:
            with sigterm_as_preemption():
                run(cfg, output_dir)
        except UserError as err:
            if hydra_cfg.mode != RunMode.MULTIRUN:
                cli.refuse(err, output_dir)
            print(f"error: {cli.one_line(err)}", file=sys.stderr)  # the sweep goes on
            record_failure(
                Path(hydra_cfg.sweep.dir),
                hydra_cfg.job.num,
                list(hydra_cfg.overrides.task),
                cli.one_line(err),
            )
            cli.discard_job_folder(output_dir)
        except Preempted as stop:
            print(f"error: {stop}; relaunch the same command to resume", file=sys.stderr)
            raise SystemExit(143) from None


if __name__ == "__main__":
    cli.main(main, CONF)
