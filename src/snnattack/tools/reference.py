"""A reference repository's ``utils/attack.py`` imported as written from a user's clone, for
the benches that run unlicensed reference code beside this project's
(:mod:`.sda_cost`, :mod:`.retime_fidelity`): such code is never copied here, and a folder
that is not the clone is refused in one :class:`UserError` line."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from snnattack.errors import UserError


def reference_module(
    folder: str | Path, flag: str, accepted: str, classes: Sequence[str]
) -> ModuleType:
    """``utils/attack.py`` of the clone in ``folder`` (given as ``flag``), holding ``classes``;
    ``accepted`` names the clone expected in the refusal."""
    path = Path(folder) / "utils" / "attack.py"
    if not path.is_file():
        raise UserError(f"{flag}={folder} holds no utils/attack.py; accepted: {accepted}")
    spec = importlib.util.spec_from_file_location(f"reference_{flag.strip('-')}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # the reference's own imports (spikingjelly, torchattacks)
        raise UserError(
            f"{flag}={folder}: importing utils/attack.py raised {type(err).__name__}: {err}; "
            f"accepted: {accepted}, with spikingjelly installed"
        ) from None
    missing = [name for name in classes if not hasattr(module, name)]
    if missing:
        raise UserError(
            f"{flag}={folder}: utils/attack.py has no class {', '.join(missing)}; "
            f"accepted: {accepted}"
        )
    return module
