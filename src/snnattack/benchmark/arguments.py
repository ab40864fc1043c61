"""The arguments of :func:`snnattack.benchmark.evaluate` checked before any work: the
model's names, the paths (``path``, ``store``), the entry file (where it could not be written
or read, the whole evaluation would be lost when it is written) and the images a user's
``data=`` or ``val_data=`` hold against the protocol's. Each refusal is one
:class:`~snnattack.errors.UserError` line naming the argument (docs/errors.md).
"""

from __future__ import annotations

import os
import reprlib
from pathlib import Path
from typing import Any

from snnattack import inputs
from snnattack.config.preflight import writable
from snnattack.errors import ConfigError, UserError
from snnattack.preparation.evaluation import Data


def check_names(name: Any, paper: Any, venue: Any, training: Any) -> None:
    """Refuses, before any attack, a name that is not text."""
    given = {"name": name, "paper": paper, "venue": venue, "training": training}
    for argument, value in given.items():
        optional = argument != "name"  # the others may be None
        if not (isinstance(value, str) and value.strip()) and not (optional and value is None):
            raise UserError(
                f"{argument}={value!r} is not a text; accepted: a non-empty string"
                + (" or None" if optional else "")
            )


def check_paths(**paths: Any) -> None:
    """Refuses, before any work, a ``path`` or ``store`` that is not a path."""
    for argument, value in paths.items():
        if value is not None and not isinstance(value, str | os.PathLike):
            raise UserError(
                f"{argument}={value!r} is not a path; accepted: a str or pathlib.Path, or None"
            )


def check_destination(destination: Path) -> None:
    """Refuses, before any work, an entry file (``path``, or the default under ``entries/``)
    that would not be written, or not read: a folder, a name the leaderboard does not read
    (it reads ``*.json``), or a place that cannot be written (the nearest folder on its path
    that exists: a file, a read-only folder)."""
    if destination.is_dir():
        raise UserError(
            f"path={str(destination)!r} is a folder; accepted: the entry's file name (.json)"
        )
    if destination.suffix != ".json":
        raise UserError(
            f"path={str(destination)!r} is not a .json file, which the leaderboard would not "
            "read; accepted: the entry's file name (.json)"
        )
    folder = destination.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        writable(folder, "folder")
    except ConfigError as err:
        raise UserError(f"path={str(destination)!r}: its {err}") from None
    try:  # the longest file name (bytes) its filesystem takes; 255 where none says
        longest = os.pathconf(folder, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows), no such limit
        longest = 255
    longest -= len(f".{os.getpid()}.tmp")  # written beside it first
    if len(os.fsencode(destination.name)) > longest:
        raise UserError(
            f"path={reprlib.repr(str(destination))}: its file name is "
            f"{len(os.fsencode(destination.name))} bytes, more than the {longest} its folder "
            "takes; accepted: a shorter name= or path="
        )


def check_shape(data: Data | None, argument: str, shape: tuple[int, ...], where: str) -> None:
    """Refuses ``data`` (``data=`` or ``val_data=``; None: the protocol's own) whose images
    are not of ``shape``, the protocol's (of ``where``, its data): its radii and standard
    surrogate are the protocol's images', and an entry of other images would be another data
    set's under the protocol's name. Images of another rank (no channel axis) are the input
    checks' to name."""
    first = None if data is None else inputs.first_sample(data)
    if first is not None and first.dim() == len(shape) + 1 and tuple(first.shape[1:]) != shape:
        raise UserError(
            f"{argument} holds images of shape {list(first.shape[1:])}, but the protocol "
            f"attacks images of shape {list(shape)}, as {where} holds them; accepted: images "
            f"of shape {list(shape)} (a copy of the protocol's data), or {argument}=None (the "
            "protocol's own)"
        )
