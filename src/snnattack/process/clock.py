"""Seconds of a device's work. CUDA runs asynchronously: a clock read while kernels are still
queued misses them, and the next reading counts them instead (a row's time would spill into
the next row's). :func:`synced_time` waits for the queue; :class:`Spans` records CUDA events in
the stream and waits once, when the spans are read, so a training step pays no host sync."""

from __future__ import annotations

import time
from typing import Any

import torch


def synced_time(device: torch.device) -> float:
    """``time.perf_counter()`` once ``device``'s queued work is done (CUDA is synchronised)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


class Spans:
    """Spans of device time between marks (:meth:`mark`), summed when read (:meth:`settle`):
    on CUDA each mark is an event recorded in the current stream, read after one
    synchronisation; elsewhere the time of the mark itself."""

    def __init__(self) -> None:
        self.pending: list[tuple[Any, Any]] = []

    @staticmethod
    def mark(device: torch.device) -> Any:
        """Now, on ``device``'s timeline."""
        if device.type != "cuda":
            return time.perf_counter()
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def add(self, start: Any, end: Any) -> None:
        """Counts the span from mark ``start`` to mark ``end``."""
        self.pending.append((start, end))

    def settle(self) -> float:
        """The seconds of the spans added since the last call (one synchronisation on CUDA)."""
        total = 0.0
        for start, end in self.pending:
            if isinstance(start, float):
                total += end - start
            else:
                end.synchronize()
                total += start.elapsed_time(end) / 1000.0
        self.pending.clear()
        return total
