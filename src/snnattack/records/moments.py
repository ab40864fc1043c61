"""When a record says a thing happened (a job's results made, a job refused): UTC, ISO 8601,
to the millisecond. The report orders by it: of two runs of one config the later counts, a
refusal after the results a folder holds is a job that never ran. A file's own time would
not do: a copy or a checkout sets it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def now() -> str:
    """This moment, as records say it."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def moment(text: Any) -> float | None:
    """The moment ``text`` (:func:`now`'s form) says, in seconds; None where it says none."""
    try:
        return datetime.fromisoformat(text).timestamp()
    except (TypeError, ValueError):
        return None
