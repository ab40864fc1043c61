"""The registry of analyses (``analysis=[...]``), which their modules fill.

An analysis is one module of this package: its runner ``run(opts, model, dm, device)`` (the
analysis's own options ``analysis.<name>`` as a frozen mapping, the trained target, the job's
datamodule set up for testing, the device) returning a dict for ``metrics.json``, decorated
with ``@register("<name>", order=...)`` (its place in listings). The package imports every
module, so the analysis is one module and its ``conf/analysis/<name>.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from snnattack.registry import Registry

ANALYSES: Registry[Callable[..., dict[str, Any]]] = Registry()  # filled by this package's modules
register = ANALYSES.register
