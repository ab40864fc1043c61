"""A job's lines reach the console once (``snnattack.runtime.console.one_console``):
Lightning's own console handlers are dropped for the root's, and a DDP job's other local ranks,
which share rank 0's terminal, log to their own file only. The job's processes under
``trainer=ddp_cpu`` are checked in ``tests/process/test_scaleout.py``."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from snnattack.runtime.console import LIGHTNING_CONSOLES, one_console


@contextmanager
def consoles(tmp_path: Path) -> Iterator[tuple[io.StringIO, io.StringIO, Path]]:
    """The root logger with a console and a file handler, as Hydra's job logging sets them,
    and Lightning's ``lightning.fabric`` with a console of its own, not propagating (as
    imported before them); the loggers' own handlers (pytest's, of this test's call) are put
    back afterwards."""
    root, fabric = logging.getLogger(), logging.getLogger("lightning.fabric")
    saved = {
        name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate)
        for name in ("", *LIGHTNING_CONSOLES)
    }
    level = root.level
    console, own, log = io.StringIO(), io.StringIO(), tmp_path / "train_ddp_process_1.log"
    to_file = logging.FileHandler(log)
    root.handlers = [logging.StreamHandler(console), to_file]
    root.setLevel(logging.INFO)
    fabric.handlers, fabric.propagate = [logging.StreamHandler(own)], False
    try:
        yield console, own, log
    finally:
        to_file.close()
        for name, (handlers, propagate) in saved.items():
            logging.getLogger(name).handlers = handlers
            logging.getLogger(name).propagate = propagate
        root.setLevel(level)


@pytest.mark.parametrize("rank", ["0", "1"])
def test_each_line_reaches_rank_0_s_console_once_and_every_rank_s_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rank: str
) -> None:
    monkeypatch.setenv("LOCAL_RANK", rank)
    with consoles(tmp_path) as (console, own, log):
        one_console()
        logging.getLogger("snnattack.job").info("job folder /tmp/x")
        logging.getLogger("lightning.fabric.utilities.distributed").info("Initializing distributed")
    lines = "job folder /tmp/x\nInitializing distributed\n"
    assert log.read_text() == lines
    assert console.getvalue() == (lines if rank == "0" else "") and own.getvalue() == ""
