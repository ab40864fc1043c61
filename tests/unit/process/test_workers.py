"""A DataLoader worker whose receiver hangs up mid-hand-over prints nothing (a stopped job's
stderr ends with its own line)."""

from __future__ import annotations

import os
import sys
from multiprocessing import current_process, resource_sharer
from multiprocessing.connection import Client

import pytest
import torch
from torch.utils.data import Dataset, SequentialSampler

from snnattack.data.base import SplitDataModule
from snnattack.process.workers import quiet_lost_receiver


class HangsUp(Dataset):
    """Each sample first lets a receiver hang up on the worker's descriptor server, as a job
    stopped while a batch is handed over does, then hands a descriptor over whole."""

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> torch.Tensor:
        read, write = os.pipe()
        dropped = resource_sharer.DupFd(read)
        Client(dropped._id[0], authkey=current_process().authkey).close()
        os.close(resource_sharer.DupFd(write).detach())  # served after the dropped one
        os.close(read)
        os.close(write)
        return torch.tensor(i)


def test_a_worker_whose_receiver_hangs_up_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    data = SplitDataModule(batch_size=1, eval_batch_size=1, seed=0, num_workers=1)
    loader = data._dataloader(HangsUp(), 1, SequentialSampler(range(2)))
    assert [int(b) for b in loader] == [0, 1]
    err = capfd.readouterr().err
    assert "Traceback" not in err and "EOFError" not in err, err


def test_every_other_error_of_a_worker_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    printed: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, error, tb: printed.append(kind))
    quiet_lost_receiver(0)
    for error in (EOFError(), ConnectionResetError(), ValueError()):
        try:
            raise error
        except BaseException:
            sys.excepthook(*sys.exc_info())
    assert printed == [EOFError, ConnectionResetError, ValueError]
