"""Train (or reuse) spiking networks and attack them: ``python run.py [-m] key=value ...``."""

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from snnattack import cli
from snnattack.errors import UserError
from snnattack.job import run

CONF = Path(__file__).resolve().parent / "conf"


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        run(cfg, output_dir)
    except UserError as err:
        cli.refuse(err, output_dir)


if __name__ == "__main__":
    cli.main(main, CONF)
