"""How jobs stop: SIGTERM as a clean, resumable stop; one failed job of a sweep does not stop
the others, and the sweep ends with a summary of which jobs failed and why."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from snnattack.errors import Preempted

FAILURES = "failures.jsonl"


@contextmanager
def sigterm_as_preemption() -> Iterator[None]:
    """Within the block SIGTERM raises :class:`Preempted` (finally-blocks run, files close)."""

    def stop(signum: int, frame: object) -> None:
        raise Preempted(f"stopped by signal {signum}")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def record_failure(sweep_dir: Path, job: str, overrides: list[str], message: str) -> None:
    """Appends one failed job of a sweep to ``<sweep_dir>/failures.jsonl``."""
    line = json.dumps({"job": job, "overrides": overrides, "error": message})
    with open(sweep_dir / FAILURES, "a") as f:  # one short append: atomic across processes
        f.write(line + "\n")


def failures(sweep_dir: Path) -> list[dict[str, Any]]:
    """The failed jobs recorded in ``sweep_dir``."""
    path = sweep_dir / FAILURES
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class SweepSummary(Callback):
    """At the end of a multirun: one line per failed job, and exit code 2 if any failed."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        failed = failures(Path(config.hydra.sweep.dir))
        if not failed:
            return
        print(f"{len(failed)} job(s) of the sweep failed:", file=sys.stderr)
        for f in failed:
            print(f"  job {f['job']} ({' '.join(f['overrides'])}): {f['error']}", file=sys.stderr)
        raise SystemExit(2)
