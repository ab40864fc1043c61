"""A foreign library's module loaded from its file, without its package's ``__init__``.

spikingjelly's ``datasets/__init__.py`` imports every data set it knows, the audio ones
through torchaudio; a torchaudio of another CUDA build than torch refuses to import, and
the tests that only compare with one of its framing functions would fail to collect. The
module itself imports what it uses and nothing of the package's siblings.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
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


def spikingjelly_framing() -> Callable:
    """spikingjelly's framing by number, ``integrate_events_by_fixed_frames_number``: in
    ``datasets/utils.py`` since spikingjelly 2.0 (loaded alone, as :func:`load` does), in the
    ``datasets`` package itself before (0.0.0.0.14, the one Python 3.10 installs, whose package
    imports no torchaudio)."""
    spec = importlib.util.find_spec("spikingjelly")
    assert spec is not None and spec.submodule_search_locations, "spikingjelly is not installed"
    if Path(next(iter(spec.submodule_search_locations)), "datasets", "utils.py").is_file():
        return load("spikingjelly.datasets.utils").integrate_events_by_fixed_frames_number
    return importlib.import_module("spikingjelly.datasets").integrate_events_by_fixed_frames_number
