"""Train (or reuse) spiking networks and attack them: ``python run.py [-m] key=value ...``."""

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from snnattack.errors import UserError
from snnattack.job import run
from snnattack.tracking import closing_runs


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    with closing_runs():
        try:
            run(cfg, Path(HydraConfig.get().runtime.output_dir))
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(2) from None


if __name__ == "__main__":
    main()
