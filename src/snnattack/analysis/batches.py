"""The first batches of a loader, limited like Lightning's ``limit_*_batches`` keys."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sized
from itertools import islice


def limited(loader: Iterable, limit: int | float | None) -> Iterator:
    """``loader``'s batches: all (``None``), the first ``limit`` (int) or a share (float)."""
    if isinstance(limit, float):
        if not isinstance(loader, Sized):
            raise ValueError("a fractional batch limit needs a loader with a length")
        limit = max(1, int(len(loader) * limit)) if limit < 1.0 else None
    return islice(loader, limit)
