"""The checkpoint store trains once per spec, reloads strictly, and reports bad files clearly."""

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest
import torch
from filelock import FileLock
from torch import nn

from snnattack.errors import CheckpointError, UserError, WriteError
from snnattack.records.checkpoints import load_model_file, weights, weights_id
from snnattack.records.store import RESUME_FILE, ModelStore, spec_key


def trainer(calls: list):
    def train(workdir: Path):
        calls.append(workdir)
        model = nn.Linear(3, 2)
        return model, {"val_acc": 90.0}

    return train


def test_model_is_trained_once_per_spec_and_reloaded(tmp_path: Path) -> None:
    store, calls = ModelStore(tmp_path), []
    spec = {"lambda": 0.9, "seed": 0}
    first, rec1 = store.get_or_train(spec, lambda: nn.Linear(3, 2), trainer(calls))
    second, rec2 = store.get_or_train(spec, lambda: nn.Linear(3, 2), trainer(calls))
    assert len(calls) == 1
    assert (rec1["cached"], rec2["cached"]) == (False, True)
    assert rec2["val_acc"] == 90.0 and rec2["spec"] == spec
    assert torch.equal(first.weight, second.weight)
    store.get_or_train({"lambda": 0.5, "seed": 0}, lambda: nn.Linear(3, 2), trainer(calls))
    assert len(calls) == 2
    assert not list(tmp_path.glob("*.partial"))


def test_spec_key_ignores_key_order_but_not_values() -> None:
    assert spec_key({"a": 1, "b": [1, 2]}) == spec_key({"b": [1, 2], "a": 1})
    assert spec_key({"a": 1}) != spec_key({"a": 2})


def test_failed_training_leaves_no_checkpoint(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)

    def broken(workdir: Path):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.get_or_train({"x": 1}, lambda: nn.Linear(3, 2), broken)
    assert not (store.path({"x": 1}) / "model.pt").exists()
    _, rec = store.get_or_train({"x": 1}, lambda: nn.Linear(3, 2), trainer([]))
    assert rec["cached"] is False


def test_corrupt_checkpoint_is_reported_with_its_path(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    store.get_or_train({"x": 1}, lambda: nn.Linear(3, 2), trainer([]))
    path = store.path({"x": 1}) / "model.pt"
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(CheckpointError, match=str(path)):
        store.get_or_train({"x": 1}, lambda: nn.Linear(3, 2), trainer([]))


def test_checkpoint_of_another_shape_is_refused(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    store.get_or_train({"x": 1}, lambda: nn.Linear(3, 2), trainer([]))
    with pytest.raises(CheckpointError, match="does not fit"):
        store.get_or_train({"x": 1}, lambda: nn.Linear(4, 2), trainer([]))


def test_stored_models_are_read_without_the_lock_or_any_write(tmp_path: Path, monkeypatch) -> None:
    store = ModelStore(tmp_path)
    store.get_or_train({"x": 1}, lambda: nn.Linear(3, 2), trainer([]))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def no_lock(*args, **kwargs):
        raise PermissionError("read-only store")

    monkeypatch.setattr("snnattack.records.store.FileLock", no_lock)
    monkeypatch.setattr(ModelStore, "_writable", no_lock)
    _, record = store.get_or_train({"x": 1}, lambda: nn.Linear(3, 2), trainer([]))
    assert record["cached"] is True
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_a_job_waiting_for_another_jobs_training_says_so_and_reads_its_model(
    tmp_path: Path, caplog
) -> None:
    """A job that needs a model another job is training waited on the store's lock without a
    line (hours, at a paper's scale); it now says which model it waits for, and then reads
    the model the other job stored instead of training it."""
    store, spec, calls = ModelStore(tmp_path), {"x": 1}, []
    (tmp_path / ".locks").mkdir()
    lock_file = tmp_path / ".locks" / f"{spec_key(spec)}.lock"
    other = FileLock(str(lock_file))  # the other job's, which trains the model
    other.acquire()
    got: dict = {}
    waiting = threading.Thread(
        daemon=True,
        target=lambda: got.update(
            record=store.get_or_train(spec, lambda: nn.Linear(3, 2), trainer(calls))[1]
        ),
    )
    with caplog.at_level("INFO", logger="snnattack.records.store"):
        waiting.start()
        for _ in range(200):
            if caplog.records:
                break
            time.sleep(0.05)
        assert [r.getMessage() for r in caplog.records] == [
            f"another job is training this model into {store.workdir(spec)} (it holds "
            f"{lock_file}): waiting to read it"
        ]
        ModelStore(tmp_path)._train(spec, store.path(spec), trainer([]))  # the other job's
        other.release()
        waiting.join(timeout=30)
    assert calls == [] and got["record"]["cached"] is True


def test_a_lock_file_that_cannot_be_opened_is_one_line_naming_it(tmp_path: Path) -> None:
    """A lock file the job cannot open (here a folder in its place; another user's file in a
    shared store) raised the file system's OSError, a traceback that stopped a whole sweep;
    it is now the job's own one line (a WriteError) naming the lock file."""
    store, spec = ModelStore(tmp_path), {"x": 1}
    lock_file = tmp_path / ".locks" / f"{spec_key(spec)}.lock"
    lock_file.mkdir(parents=True)
    with pytest.raises(WriteError, match=f"cannot write {lock_file} "):
        store.get_or_train(spec, lambda: nn.Linear(3, 2), trainer([]))
    lock_file.rmdir()
    assert store.get_or_train(spec, lambda: nn.Linear(3, 2), trainer([]))[1]["cached"] is False


def test_a_store_under_a_file_is_refused_naming_the_file_before_training(tmp_path: Path) -> None:
    """mkdir's "Not a directory" was said as "is not writable (Not a directory)", which named
    neither the file nor that it is one."""
    (tmp_path / "file").write_text("not a folder")
    for key in ("store.dir", "store"):
        calls: list = []
        store = ModelStore(tmp_path / "file" / "sub" / "models", key)
        with pytest.raises(UserError) as refused:
            store.get_or_train({"x": 1}, nn.Identity, trainer(calls))
        assert str(refused.value) == (
            f"{key}={store.root} lies under {tmp_path / 'file'}, which is a file, not a folder; "
            f"a model must be trained there; accepted: a folder on a writable filesystem "
            f"({key}=PATH)"
        )
        assert calls == []


def test_a_store_that_is_a_file_is_refused_as_a_file_named_by_its_callers_key(
    tmp_path: Path,
) -> None:
    """mkdir's "File exists" did not say that the store's path is a file."""
    (tmp_path / "models").write_text("not a folder")
    for store, key in (
        (ModelStore(tmp_path / "models"), "store.dir"),
        (ModelStore(tmp_path / "models", "store"), "store"),
    ):
        with pytest.raises(UserError) as refused:
            store.get_or_train({"x": 1}, nn.Identity, trainer([]))
        assert str(refused.value) == (
            f"{key}={tmp_path / 'models'} is a file, not a folder; a model must be trained "
            f"there; accepted: a folder on a writable filesystem ({key}=PATH)"
        )


def test_failure_before_any_epoch_leaves_no_work_folder(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)

    def broken(workdir: Path):
        (workdir / "metrics.csv").write_text("epoch\n")
        raise RuntimeError("data missing")

    with pytest.raises(RuntimeError):
        store.get_or_train({"x": 1}, lambda: nn.Linear(3, 2), broken)
    assert not list(tmp_path.glob("*.partial"))


def _rewrite_weight(path: Path, weight: torch.Tensor) -> None:
    """Changes ``weight``'s bytes inside the file ``path`` in place, as a flipped bit on disk
    does: the values stay finite and the archive readable (torch checks no CRC on load)."""
    raw, old = path.read_bytes(), weight.detach().numpy().tobytes()
    assert raw.count(old) == 1
    path.write_bytes(raw.replace(old, (weight.detach() * 0.5 + 1.0).numpy().tobytes()))


def test_stored_weights_changed_on_disk_are_refused(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    model, record = store.get_or_train({"x": 1}, lambda: nn.Linear(3, 2), trainer([]))
    folder = store.path({"x": 1})
    kept = json.loads((folder / "record.json").read_text())
    assert record["weights"] == kept["weights"] == weights_id(model)
    _rewrite_weight(folder / "model.pt", model.weight)
    changed = nn.Linear(3, 2)
    changed.load_state_dict(torch.load(folder / "model.pt", weights_only=True)["state_dict"])
    with pytest.raises(CheckpointError) as err:
        store.get_or_train({"x": 1}, lambda: nn.Linear(3, 2), trainer([]))
    assert str(err.value) == (
        f"checkpoint {folder / 'model.pt'} holds other weights than were stored "
        f"({weights_id(changed)}, its record's {kept['weights']}): the file changed after "
        "it was written; "
        f"delete the folder {folder} to retrain it"
    )
    with pytest.raises(CheckpointError, match="changed after it was written; accepted"):
        load_model_file(folder / "model.pt", nn.Linear(3, 2))


def test_a_record_without_a_weights_digest_still_loads(tmp_path: Path) -> None:
    """A model stored by older code (no ``weights`` in its record) is loaded unchecked."""
    store = ModelStore(tmp_path)
    model, _ = store.get_or_train({"x": 1}, lambda: nn.Linear(3, 2), trainer([]))
    path = store.path({"x": 1}) / "model.pt"
    payload = torch.load(path, weights_only=True)
    del payload["record"]["weights"]
    torch.save(payload, path)
    loaded, record = store.get_or_train({"x": 1}, lambda: nn.Linear(3, 2), trainer([]))
    assert record["cached"] is True and "weights" not in record
    assert torch.equal(loaded.weight, model.weight)
    assert load_model_file(path, nn.Linear(3, 2))["format"] == "store"


def test_a_training_clears_abandoned_work_folders_without_a_resume_file(tmp_path: Path) -> None:
    """A job killed before its training's first epoch ended (kill -9, out of memory) left its
    ``<key>.partial/`` without a resume file, which only a training of that key cleared: of
    settings never run again, it stayed. Another key's training clears it, not one that holds
    a resume file (a job of its settings resumes from it), nor one whose lock a job holds (a
    training in its first epoch)."""
    store = ModelStore(tmp_path)
    (tmp_path / ".locks").mkdir()
    abandoned, resumable, training = (tmp_path / f"{k}.partial" for k in ("a", "b", "c"))
    for workdir in (abandoned, resumable, training):
        workdir.mkdir()
        (workdir / "metrics.csv").write_text("epoch\n")
    (resumable / RESUME_FILE).write_bytes(b"a stopped training's state")
    with FileLock(str(tmp_path / ".locks" / "c.lock")):  # another job trains it
        store.get_or_train({"x": 1}, lambda: nn.Linear(3, 2), trainer([]))
    assert not abandoned.exists()
    assert (resumable / RESUME_FILE).is_file() and (training / "metrics.csv").is_file()


def test_a_stored_folder_holds_no_temporary_file_of_a_killed_write(tmp_path: Path) -> None:
    """A job killed (``kill -9``) between writing a file of its work folder and renaming it
    left ``model.pt.<pid>.tmp``, which the resumed training moved into the stored model's
    folder for good."""
    store, spec = ModelStore(tmp_path), {"x": 1}

    def resumed(workdir: Path):
        assert (workdir / "model.pt.4242.tmp").is_file()  # the killed job's, still there
        return trainer([])(workdir)

    store.workdir(spec).mkdir(parents=True)
    (store.workdir(spec) / "model.pt.4242.tmp").write_bytes(b"half a model")
    torch.save({"epoch": 3}, store.workdir(spec) / RESUME_FILE)  # a stopped training's state
    store.get_or_train(spec, lambda: nn.Linear(3, 2), resumed)
    assert sorted(p.name for p in store.path(spec).iterdir()) == ["model.pt", "record.json"]


def test_the_weights_digest_hashes_each_tensors_bytes_in_order() -> None:
    """The digest a record names weights by reads each tensor's memory without copying it;
    the bytes it hashes are those it always hashed (a non-contiguous tensor's in its logical
    order, a bfloat16's and an integer buffer's as they lie), so stored records still
    match."""
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to(torch.bfloat16)
    model[0].weight = nn.Parameter(torch.randn(3, 4).t())  # non-contiguous
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    digest.update(b"|")
    assert not model[0].weight.is_contiguous()
    assert weights(model) == digest.hexdigest()
