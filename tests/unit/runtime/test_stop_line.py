"""A stopped command's last line is its own stop line."""

from __future__ import annotations

import logging
import signal

import pytest
from torch._subclasses import fake_tensor

from snnattack import command
from snnattack.errors import Preempted


def test_a_stop_during_torchs_import_ends_on_the_stop_line(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    """Ctrl-C while the job imported torch left torch's loggers as Python makes them (torch sets
    their levels at its import's end): at the exit torch's report of its FakeTensor cache, at
    INFO, reached the job's log after the stop line."""
    torch_log = logging.getLogger("torch")
    before = torch_log.level, torch_log.propagate
    torch_log.setLevel(logging.NOTSET)  # as an interrupted import leaves it
    torch_log.propagate = True
    try:
        with pytest.raises(SystemExit) as ended:
            command._stopped(Preempted(signal.SIGINT))
        with caplog.at_level(logging.INFO):
            fake_tensor.dump_cache_stats()  # what runs at the exit
    finally:
        torch_log.setLevel(before[0])
        torch_log.propagate = before[1]
    assert ended.value.code == 130
    err = capsys.readouterr().err  # its wording depends on what the process ran before
    assert err.startswith("error: stopped by signal 2") and err.count("\n") == 1
    assert [r.getMessage() for r in caplog.records if r.name.startswith("torch")] == []
