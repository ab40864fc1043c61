"""snnattack: adversarial robustness of spiking neural networks (STBP training, RGA attacks)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("snnattack")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
