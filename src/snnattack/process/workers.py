"""A DataLoader worker's process: quiet when the job that reads its batches stops.

A worker hands each batch's tensors to the job through file descriptors, served by a thread
of :mod:`multiprocessing.resource_sharer`. When the job stops (``kill PID``, Ctrl-C, a
cluster's preemption) while a batch is being handed over, the job hangs up, and that thread
printed the broken connection's traceback through ``sys.excepthook`` after the job's one
line. The job has stopped or reports its own error, so the hang-up itself says nothing.
"""

from __future__ import annotations

import sys
from multiprocessing import resource_sharer
from types import TracebackType

_SERVE = resource_sharer._ResourceSharer._serve.__code__  # the descriptor-serving loop


def quiet_lost_receiver(worker_id: int) -> None:
    """A ``worker_init_fn``: the worker's descriptor-serving thread no longer prints a
    connection that its receiver dropped; every other error prints as before."""
    printed = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        hung_up = issubclass(kind, (EOFError, ConnectionError))
        if not (hung_up and tb is not None and tb.tb_frame.f_code is _SERVE):
            printed(kind, error, tb)

    sys.excepthook = hook
