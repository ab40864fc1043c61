"""A DDP job's other local ranks share rank 0's terminal: their lines go to their own log file
only (``snnattack.runtime.console.quiet_other_ranks``); the job's process under ``trainer=ddp_cpu``
is checked in ``tests/process/test_scaleout.py``."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from snnattack.runtime.console import quiet_other_ranks


@pytest.fixture
def handlers(tmp_path: Path) -> Iterator[tuple[io.StringIO, Path]]:
    """The root logger with a console handler and a file handler, as Hydra's job logging sets
    them; the root's own handlers are put back afterwards."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    console, log = io.StringIO(), tmp_path / "train_ddp_process_1.log"
    root.handlers = [logging.StreamHandler(console), logging.FileHandler(log)]
    root.setLevel(logging.INFO)
    try:
        yield console, log
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers, root.level = before, level


@pytest.mark.parametrize("rank", ["0", "1"])
def test_a_local_rank_other_than_0_logs_to_its_file_only(
    handlers: tuple[io.StringIO, Path], monkeypatch: pytest.MonkeyPatch, rank: str
) -> None:
    console, log = handlers
    monkeypatch.setenv("LOCAL_RANK", rank)
    quiet_other_ranks()
    logging.getLogger("snnattack.job").info("job folder /tmp/x")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert log.read_text() == "job folder /tmp/x\n"
    assert console.getvalue() == ("job folder /tmp/x\n" if rank == "0" else "")
