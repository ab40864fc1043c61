"""A DDP rank's process that stops is named by rank 0's watch of it (:class:`RankWatch`):
its rank, how it stopped, its log; a rank 0 that hangs after it is ended in that line. The
whole job (gloo, a ``kill -9``, the relaunch) is ``tests/process/test_scaleout.py``'s."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from snnattack.process.distributed import RankWatch

KILLED = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"  # the OOM killer's kill -9


def test_a_rank_killed_is_named_with_its_signal_and_log(tmp_path: Path) -> None:
    watch = RankWatch()
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    watch.watch([finished, subprocess.Popen([sys.executable, "-c", KILLED])], 3, tmp_path)
    try:
        lost = watch.lost(wait=60)
    finally:
        watch.stop()
    assert str(lost) == (
        f"the job's DDP process of rank 4 stopped (killed by signal 9; its log: "
        f"{tmp_path / 'train_ddp_process_2.log'}), and this one cannot go on without it; "
        "relaunch the same command to resume"
    )
    assert lost.exit_code == 3


def test_ranks_that_finished_or_run_are_not_lost() -> None:
    watch = RankWatch()
    assert watch.lost(wait=0.2) is None  # none watched
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    watch.watch([finished, running], 1, None)
    try:
        assert watch.lost(wait=0.5) is None
    finally:
        watch.stop()
        running.kill()
        running.wait()


@pytest.mark.slow
def test_a_rank_0_hung_after_a_rank_stopped_is_ended_in_that_line() -> None:
    """A collective that never returns (NCCL's, after a peer died): Lightning's observer
    SIGKILLed rank 0 without a word; the watch says the line, kills the ranks and exits."""
    rank_0 = textwrap.dedent(
        """
        import subprocess, sys, time
        from snnattack.process import distributed
        distributed.GRACE_S = 0.5
        rank = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
        distributed.RankWatch().watch([rank], 1, None)
        time.sleep(120)  # hung in a collective
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", rank_0], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        "error: the job's DDP process of rank 1 stopped (exit code 1), and this one cannot go "
        "on without it; relaunch the same command to resume"
    ]
