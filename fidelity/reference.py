"""A reference repository's file (``utils/attack.py``, ...) imported as written from a user's
clone, for the comparisons that run unlicensed reference code beside this project's
(:mod:`.sda`, :mod:`.retime`, :mod:`.patch`, :mod:`.spikefool_universal`): such code is never
copied here, and a folder that is not the clone is refused in one :class:`UserError` line."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from snnattack.errors import UserError


def reference_module(
    folder: str | Path,
    name: str,
    accepted: str,
    classes: Sequence[str],
    path: str = "utils/attack.py",
) -> ModuleType:
    """``path`` (``utils/attack.py`` unless said) of the clone in ``folder`` (given as
    ``--reference`` to the comparison ``name``), holding ``classes`` (classes or functions);
    ``accepted`` names the clone expected in the refusal. It is imported inside a package of
    its own folder, so its relative imports (``from .fun import *``) read its siblings."""
    file = Path(folder) / path
    if not file.is_file():
        raise UserError(f"--reference={folder} holds no {path}; accepted: {accepted}")
    package = f"reference_{name}"
    parent = ModuleType(package)
    parent.__path__ = [str(file.parent)]
    sys.modules[package] = parent
    spec = importlib.util.spec_from_file_location(f"{package}.{file.stem}", file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # the reference's own imports (spikingjelly, torchattacks)
        raise UserError(
            f"--reference={folder}: importing {path} raised {type(err).__name__}: {err}; "
            f"accepted: {accepted}, with spikingjelly installed"
        ) from None
    missing = [name for name in classes if not hasattr(module, name)]
    if missing:
        raise UserError(
            f"--reference={folder}: {path} has no class {', '.join(missing)}; accepted: {accepted}"
        )
    return module
