"""A foreign library's module loaded from its file, without its package's ``__init__``.

spikingjelly's ``datasets/__init__.py`` imports every data set it knows, the audio ones
through torchaudio; a torchaudio of another CUDA build than torch refuses to import, and
the tests that only compare with one of its framing functions would fail to collect. The
module itself imports what it uses and nothing of the package's siblings.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def load(dotted: str) -> ModuleType:
    """Module ``dotted`` (``spikingjelly.datasets.utils``) run from its file: its top-level
    package is imported, the folders between are not."""
    top, *middle, name = dotted.split(".")
    spec = importlib.util.find_spec(top)
    assert spec is not None and spec.submodule_search_locations, f"{top} is not installed"
    file = Path(next(iter(spec.submodule_search_locations))).joinpath(*middle, f"{name}.py")
    module_spec = importlib.util.spec_from_file_location(dotted, file)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module
