"""The registry of analyses (``analysis=[...]``), which their modules fill.

An analysis is one module of this package: its runner ``run(opts, model, dm, device)`` (the
analysis's own options ``analysis.<name>`` as a frozen mapping, the trained target, the job's
datamodule set up for testing, the device) returning a dict for ``metrics.json``, decorated
with ``@register("<name>", order=...)`` (its place in listings). The package imports every
module, so the analysis is one module and its ``conf/analysis/<name>.yaml``.

A setting that an analysis accepts but cannot use, which only its data tells (a batch larger
than the test split), is a job's note: the runner calls :func:`note`, and the job's record
keeps the line in its ``notes`` (:func:`snnattack.analysis.run_analyses`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from snnattack.registry import Registry

log = logging.getLogger(__name__)

ANALYSES: Registry[Callable[..., dict[str, Any]]] = Registry()  # filled by this package's modules
register = ANALYSES.register

# the notes of the analyses under way, kept for the job's record (None: none is kept)
_NOTES: ContextVar[list[str] | None] = ContextVar("analysis_notes", default=None)


def note(text: str) -> None:
    """Logs ``text`` as a job's other notes are (``note: ...``), and keeps it, once, for the
    record's ``notes`` (:func:`kept_notes`): logged alone, it never reached metrics.json or
    the report, and the record said nothing of the setting the analysis could not use."""
    log.warning("note: %s", text)
    kept = _NOTES.get()
    if kept is not None and text not in kept:
        kept.append(text)


@contextmanager
def kept_notes(notes: list[str]) -> Iterator[None]:
    """Within the block, the analyses' notes (:func:`note`) are appended to ``notes``."""
    token = _NOTES.set(notes)
    try:
        yield
    finally:
        _NOTES.reset(token)
