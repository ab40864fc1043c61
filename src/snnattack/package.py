"""The package itself: its version and its config folder, found from inside the package.

``conf/`` (every key and its default, docs/configuration.md) is the package's data: a wheel
carries it as ``snnattack/conf/``, and in a checkout ``src/snnattack/conf`` is a link to the
top-level ``conf/`` that ``python run.py`` users edit, so an editable install reads the
checkout's files and a wheel its own copy, through the same path.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("snnattack")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

# resolved: in a checkout the top-level conf/, beside experiments/
CONF_DIR = (Path(__file__).parent / "conf").resolve()
