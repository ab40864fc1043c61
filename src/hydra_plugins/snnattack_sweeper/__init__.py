"""snnattack's Hydra sweeper (``hydra.sweeper`` in conf/config.yaml): Hydra finds a plugin in
the ``hydra_plugins`` namespace package only."""
