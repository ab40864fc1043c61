"""The store under DDP when a concurrent job stores the model while rank 0 waits for the lock:
every rank hears it, none trains, and no rank waits at a barrier the others never reach.

Two threads stand in for two DDP processes: a ``threading.Barrier`` is the collective (a
broadcast from rank 0, a barrier, a step of DDP training), and a rank left waiting at it
breaks it after a timeout instead of hanging."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from snnattack.records import store as store_module
from snnattack.records.store import ModelStore

SPEC = {"lambda": 0.9, "seed": 0}


class Group:
    """A collective group of two threads (rank 0 and rank 1)."""

    def __init__(self) -> None:
        self.wall = threading.Barrier(2, timeout=5)
        self.box: list[Any] = [None]
        self.local = threading.local()

    def is_writer(self) -> bool:
        return self.local.rank == 0

    def agree(self, value: Any) -> Any:
        if self.local.rank == 0:
            self.box[0] = value
        self.wall.wait()
        agreed = self.box[0]
        self.wall.wait()
        return agreed

    def barrier(self) -> None:
        self.wall.wait()


def stored_by_another_job(store: ModelStore) -> Any:
    """The store's lock (``held_lock``), whose holder finds the model stored by a job that
    held it before."""

    @contextlib.contextmanager
    def lock(_path: Path, _log: Any, _waiting: str) -> Iterator[None]:
        ModelStore(store.root)._train(SPEC, store.path(SPEC), lambda _: (nn.Linear(3, 2), {}))
        yield

    return lock


def on_two_ranks(
    group: Group, store: ModelStore, train: Callable
) -> tuple[dict[int, dict], list[tuple[int, Exception]]]:
    """``store.get_or_train(SPEC)`` on ranks 0 and 1 of ``group`` at once (a thread each):
    each rank's record, and the ranks whose barrier broke."""
    records, errors = {}, []

    def rank(r: int) -> None:
        group.local.rank = r
        try:
            records[r] = store.get_or_train(SPEC, lambda: nn.Linear(3, 2), train)[1]
        except threading.BrokenBarrierError as err:
            errors.append((r, err))

    threads = [threading.Thread(target=rank, args=(r,)) for r in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return records, errors


def test_a_model_stored_concurrently_is_read_by_every_rank_without_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    group, store = Group(), ModelStore(tmp_path)
    for name in ("is_writer", "agree", "barrier"):
        monkeypatch.setattr(store_module, name, getattr(group, name))
    monkeypatch.setattr(store_module, "held_lock", stored_by_another_job(store))
    trained = []

    def train(workdir: Path) -> tuple[nn.Module, dict]:
        trained.append(group.local.rank)
        group.barrier()  # DDP training: a collective with the other rank
        return nn.Linear(3, 2), {}

    records, errors = on_two_ranks(group, store, train)
    assert not errors and not trained
    assert records[0]["cached"] and records[1]["cached"]


def test_the_other_ranks_read_the_work_folder_once_rank_0_has_set_it_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A corrupt resume file in a model's work folder, trained once the process group is up
    (a job's second model): rank 0 sets it aside under the lock while rank 1 went on to
    train, and read it (``fit`` reads a resume file first) as rank 0 moved it: a traceback on
    rank 1, or a resume that rank 0 does not make."""
    group, store = Group(), ModelStore(tmp_path)
    for name in ("is_writer", "agree", "barrier"):
        monkeypatch.setattr(store_module, name, getattr(group, name))
    workdir = store.workdir(SPEC)
    workdir.mkdir(parents=True)
    whole = io.BytesIO()
    torch.save({"epoch": 3}, whole)
    (workdir / store_module.RESUME_FILE).write_bytes(whole.getvalue()[:40])  # a copy cut short
    read = store_module.load_tensors

    def slow_read(path: Path) -> Any:
        time.sleep(0.5)  # rank 0's read of the corrupt file, before it is set aside
        return read(path)

    monkeypatch.setattr(store_module, "load_tensors", slow_read)
    seen = {}

    def train(workdir: Path) -> tuple[nn.Module, dict]:
        seen[group.local.rank] = (workdir / store_module.RESUME_FILE).exists()
        group.barrier()  # DDP training: a collective with the other rank
        return nn.Linear(3, 2), {}

    assert not on_two_ranks(group, store, train)[1]
    assert seen == {0: False, 1: False}
