"""An entry is never written over another model's (another name of the same file name, other
weights): ``snnattack.benchmark.evaluate`` and a job on a protocol file refuse it in one line
before any work, keeping the old file; the same weights under the same name rewrite theirs. A
job that names no model is refused before any work too, and so is an entry file that could
not be written or that the leaderboard would not read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from entries import entry, protocols, write
from omegaconf import OmegaConf

import snnattack
from snnattack.benchmark import callback, evaluation
from snnattack.benchmark.entry import check_replaced
from snnattack.errors import UserError
from snnattack.evaluation.reuse import weights
from snnattack.models import build


class Reached(Exception):
    """The call went past its checks: it was about to read the protocol's data."""


@pytest.fixture
def net(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A digits model, in ``tmp_path``, whose evaluation stops where the work would begin."""
    monkeypatch.chdir(tmp_path)

    def reached(*args: object) -> None:
        raise Reached

    monkeypatch.setattr(evaluation, "protocol_data", reached)
    return build("digits_net", num_classes=10, in_channels=1, T=4)


def own_entry(name: str, net) -> dict:
    """A valid entry named ``name`` of ``net``'s weights."""
    return entry(name, 30.0, weights=f"params:{weights(net)[:16]}")


@pytest.mark.parametrize(
    "held,given,message",
    [
        (
            "My SNN",
            {"name": "my-snn"},
            "name='my-snn': entries/my-snn_digits_v1.json holds the entry of 'My SNN' (weights "
            "params:",
        ),
        ("my-snn", {"name": "my-snn", "path": "entries/my-snn_digits_v1.json"}, "path='entries/"),
    ],
)
def test_an_entry_of_another_name_or_weights_is_kept_and_the_call_refused_before_any_work(
    net, tmp_path: Path, held: str, given: dict, message: str
) -> None:
    old = write(tmp_path / "entries", "my-snn_digits_v1", entry(held, 30.0)).read_text()
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(net, protocol="digits", **given)
    line = str(err.value)
    assert line.startswith(message) and "\n" not in line
    assert line.endswith(
        "which this entry would replace; accepted: another name= or path=, or "
        "entries/my-snn_digits_v1.json removed to replace it"
    )
    assert (tmp_path / "entries" / "my-snn_digits_v1.json").read_text() == old


def test_the_same_weights_under_the_same_name_rewrite_their_entry(net, tmp_path: Path) -> None:
    write(tmp_path / "entries", "my-snn_digits_v1", own_entry("my-snn", net))
    with pytest.raises(Reached):
        snnattack.benchmark.evaluate(net, protocol="digits", name="my-snn")


def test_the_same_weights_at_another_T_keep_their_entry(net, tmp_path: Path) -> None:
    """The entry of these weights run at T=8 is another result than one at T=4: it was
    silently written over."""
    held = own_entry("my-snn", net)
    held["model"]["T"] = 8
    old = write(tmp_path / "entries", "my-snn_digits_v1", held).read_text()
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(net, protocol="digits", name="my-snn", T=4)
    assert str(err.value).startswith(
        "name='my-snn': entries/my-snn_digits_v1.json holds the entry of 'my-snn' (weights "
        f"params:{weights(net)[:16]}, T=8), which this entry would replace; accepted: "
    )
    assert (tmp_path / "entries" / "my-snn_digits_v1.json").read_text() == old


@pytest.mark.parametrize(
    "path,message",
    [
        (  # found when the entry was written: a FileExistsError after the whole evaluation
            "notes/entry.json",
            "path='notes/entry.json': its folder='notes' cannot be written (notes is not a "
            "folder this user can write); accepted: a writable folder",
        ),
        (
            "notes/more/entry.json",
            "path='notes/more/entry.json': its folder='notes' cannot be written (notes is not "
            "a folder this user can write); accepted: a writable folder",
        ),
        (  # written, but never on the leaderboard, which reads *.json
            "entry.txt",
            "path='entry.txt' is not a .json file, which the leaderboard would not read; "
            "accepted: the entry's file name (.json)",
        ),
    ],
)
def test_an_entry_file_that_could_not_be_written_or_read_is_refused_before_any_work(
    net, tmp_path: Path, path: str, message: str
) -> None:
    (tmp_path / "notes").write_text("a file, not a folder")
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(net, protocol="digits", name="N", path=path)
    assert str(err.value) == message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]


@pytest.mark.parametrize("argument", ["path", "store"])
def test_a_path_that_is_not_a_path_is_refused_before_any_work(net, argument: str) -> None:
    """``path=5`` was a TypeError of ``Path(5)``."""
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(net, protocol="digits", name="N", **{argument: 5})
    assert str(err.value) == (
        f"{argument}=5 is not a path; accepted: a str or pathlib.Path, or None"
    )


def test_a_name_too_long_for_a_file_name_is_refused_before_any_work(net, tmp_path: Path) -> None:
    """It was refused once the evaluation had run (File name too long), the work lost."""
    longest = os.pathconf(tmp_path, "PC_NAME_MAX") - len(f".{os.getpid()}.tmp")
    with pytest.raises(UserError) as err:
        snnattack.benchmark.evaluate(net, protocol="digits", name="x" * 300)
    line = str(err.value)
    assert line.startswith("path='entries/xxxx") and "\n" not in line
    assert line.endswith(
        f"its file name is 315 bytes, more than the {longest} its folder takes; accepted: a "
        "shorter name= or path="
    )
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_an_entry_is_not_written_over(tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    path.write_text("[1, 2]")
    with pytest.raises(UserError) as err:
        check_replaced(path, {"name": "x"}, "path='notes.json'", "another path=")
    assert str(err.value).startswith(f"path='notes.json': {path} holds a file that is not an")


def test_a_job_whose_folder_holds_another_models_entry_is_refused_when_it_starts(
    tmp_path: Path,
) -> None:
    known = protocols(tmp_path / "protocols", digits=[1])
    job = tmp_path / "job"
    write(job, "entry", entry("STBP", 30.0))
    cfg = OmegaConf.create({"benchmark": {"protocol": "digits", "version": 1, "name": "RAT"}})
    with pytest.raises(UserError) as err:
        callback.start(cfg, known, job)
    assert str(err.value).startswith(
        f"benchmark.name='RAT': {job / 'entry.json'} holds the entry of 'STBP'"
    )
    assert str(err.value).endswith(
        "accepted: another hydra.run.dir (for a sweep another hydra.sweep.dir), or "
        f"{job / 'entry.json'} removed to replace it"
    )


def test_a_finished_job_of_other_weights_keeps_the_old_entry(tmp_path: Path) -> None:
    """The weights' hash is known once the job ran: its entry is refused before it is written."""
    job = tmp_path / "job"
    old = write(job, "entry", entry("STBP", 30.0))
    kept = old.read_text()
    with pytest.raises(UserError) as err:
        callback.replaced(job, {"name": "STBP", "weights": "store:0123456789abcdef"}, "STBP")
    assert str(err.value).startswith("benchmark.name='STBP': ")
    assert json.loads(old.read_text()) == json.loads(kept)


@pytest.mark.parametrize("name", [None, ""])
def test_a_job_that_names_no_model_is_refused_when_it_starts(tmp_path: Path, name) -> None:
    """Found once the job ran, it would leave the whole job without its entry."""
    known = protocols(tmp_path / "protocols", digits=[1])
    cfg = OmegaConf.create({"benchmark": {"protocol": "digits", "version": 1, "name": name}})
    with pytest.raises(UserError) as err:
        callback.start(cfg, known, tmp_path / "job")
    assert str(err.value) == (
        'benchmark.name is not set; accepted: benchmark.name="<the model\'s name>" (the '
        "entry's model)"
    )
