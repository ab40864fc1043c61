"""examples/: a digits SNN trained by spikingjelly's or snnTorch's own loop, evaluated with
``snnattack.evaluate`` (one worst-case robust accuracy per ε, the masking checks), then the same
weights attacked from the command line with ``model=external`` and the example's factory."""

from __future__ import annotations

import contextlib
import io
import json
import runpy
import sys
from pathlib import Path

import pytest
import torch
from harness import ROOT
from torch import nn

import snnattack
from snnattack.errors import ConfigError
from snnattack.records.checkpoints import load_model_file, weights_id
from snnattack.records.provenance import LOADED_COMMIT

EXAMPLES = ROOT / "examples"
LIBRARIES = {"spikingjelly": "spikingjelly_digits", "snntorch": "snntorch_digits"}


@pytest.mark.slow
@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_a_model_trained_by_the_librarys_own_loop_is_evaluated_from_python_and_the_cli(
    library: str, tmp_path: Path, run_job, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip(library)
    script = LIBRARIES[library]
    weights = tmp_path / f"{script}.pt"
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setattr(
        sys,
        "argv",
        [
            script,
            "--epochs",
            "3",
            "--test-size",
            "16",
            "--eps",
            "8",
            "16",
            "--weights",
            str(weights),
        ],
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(EXAMPLES / f"{script}.py"), run_name="__main__")
    lines = out.getvalue().splitlines()
    clean_line = next(line for line in lines if line.startswith("clean accuracy"))
    assert clean_line.endswith("% on 16 test digits")
    clean = float(clean_line.split()[2])
    robust = [float(line.split()[-2]) for line in lines if "worst-case robust accuracy" in line]
    assert clean > 80 and len(robust) == 2 and robust[1] <= robust[0] <= clean
    assert any(line.startswith("masking checks flagged: ") for line in lines)
    made = next(line for line in lines if line.startswith("made by snnattack "))
    assert " at commit " in made and "T=4, seed 0, 3 epochs, method=ensemble_quick" in made
    record = json.loads((tmp_path / f"{script}.pt.json").read_text())
    assert (record["version"], record["git_commit"]) == (snnattack.__version__, LOADED_COMMIT)
    assert (record["example"], record["T"], record["epochs"]) == (f"{script}.py", 4, 3)

    metrics = run_job(
        "model=external",
        f"model.factory._target_={script}.make_net",
        f"+model.kwargs.weights={weights}",
        "T=4",
        "method=[ensemble]",
        "boxes=[white]",
        "eps=[16]",
        "method.ensemble.components=[{attack: stbp, method: fgsm}, {attack: rga, method: pgd}]",
    )
    assert metrics["config"]["model"]["name"] == "external"
    (row,) = metrics["results"]
    assert row["method"] == "ensemble" and 0 <= row["adv_acc"] <= metrics["clean_acc"]
    assert "flagged" in metrics["masking"]


@pytest.mark.slow
def test_the_event_example_trains_a_spikingjelly_net_and_reports_every_event_attack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("spikingjelly")
    monkeypatch.syspath_prepend(str(EXAMPLES))
    argv = ["spikingjelly_events", "--epochs", "3", "--test-size", "32"]
    monkeypatch.setattr(sys, "argv", [*argv, "--weights", str(tmp_path / "sj_events.pt")])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(EXAMPLES / "spikingjelly_events.py"), run_name="__main__")
    lines = out.getvalue().splitlines()
    clean = float(next(line for line in lines if line.startswith("clean accuracy")).split()[2])
    sda = next(line for line in lines if line.startswith("sda: ASR"))
    assert clean > 30 and float(sda.split()[2]) == 100.0
    assert float(sda.split("mean ")[1].split()[0]) > 0  # events changed per success
    gsattack = next(line for line in lines if line.startswith("gsattack: ASR"))
    raw = next(line for line in lines if line.startswith("  gsattack on the recordings"))
    assert float(gsattack.split()[2]) > 50 and float(raw.split()[4]) > 0  # events of the streams
    assert {line.split(":")[0] for line in lines if ": ASR" in line} >= {"retime", "sparsefool"}
    assert sda.endswith("share under 200: 100.0 %, 800: 100.0 %")  # not a dict's repr
    made = next(line for line in lines if line.startswith("made by snnattack "))
    assert " at commit " in made and "T=4, seed 0, 3 epochs, 200 donors" in made
    assert (tmp_path / "sj_events.pt").is_file()
    record = json.loads((tmp_path / "sj_events.pt.json").read_text())
    assert (record["version"], record["git_commit"]) == (snnattack.__version__, LOADED_COMMIT)
    assert (record["example"], record["epochs"]) == ("spikingjelly_events.py", 3)


SCRIPTS = [*LIBRARIES.values(), "spikingjelly_events"]


def test_an_examples_weights_are_saved_with_the_version_and_commit_that_made_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The examples saved their weights by ``torch.save(net.state_dict())`` alone: nothing
    named the version or commit that trained them, though every result of the project carries
    both. The same state dict is saved (read back as before: ``torch.load`` and a strict
    ``load_state_dict``, as each ``make_net(weights)``, and ``checkpoint=``'s loader), and
    beside it ``<weights>.json``, the record of the code that made it (a stored model's
    provenance), the weights' digest and the example's settings; a folder in the record's
    place is refused before the training."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    from digits_eval import check_weights, save_weights

    def make() -> nn.Module:
        return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))

    torch.manual_seed(0)
    net = make()
    weights = tmp_path / "net.pt"
    made = save_weights(net, weights, example="x.py", T=4, epochs=3, seed=0)
    assert made == tmp_path / "net.pt.json" and sorted(tmp_path.iterdir()) == [weights, made]
    record = json.loads(made.read_text())
    assert (record["version"], record["git_commit"]) == (snnattack.__version__, LOADED_COMMIT)
    assert record["git_commit"] and {"torch", "threads"} <= record.keys()
    assert record["weights"] == weights_id(net)
    assert (record["example"], record["T"], record["epochs"], record["seed"]) == ("x.py", 4, 3, 0)

    loaded = make()
    loaded.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    assert weights_id(loaded) == record["weights"]
    assert load_model_file(weights, make())["format"] == "state_dict"  # checkpoint=

    (tmp_path / "other.pt.json").mkdir()
    with pytest.raises(ConfigError, match=r"other\.pt\.json\); accepted: a file path"):
        check_weights(str(tmp_path / "other.pt"))


def test_an_examples_record_of_earlier_weights_never_stays_beside_new_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The weights were replaced before their record: a stop or a refused write in between
    (Ctrl-C, a full disk) left the earlier weights' record, naming another digest, version and
    settings, beside the new weights. The earlier record is now removed first: a record is
    that of the weights beside it, or there is none."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import digits_eval

    weights, record = tmp_path / "net.pt", tmp_path / "net.pt.json"
    digits_eval.save_weights(nn.Linear(4, 3), weights, epochs=1)
    written = digits_eval.write_atomic

    def stopped_at_the_record(path: Path, data: str | bytes) -> None:
        if path == record:
            raise KeyboardInterrupt
        written(path, data)

    monkeypatch.setattr(digits_eval, "write_atomic", stopped_at_the_record)
    net = nn.Linear(4, 3)
    with pytest.raises(KeyboardInterrupt):
        digits_eval.save_weights(net, weights, epochs=2)
    loaded = nn.Linear(4, 3)
    loaded.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    assert weights_id(loaded) == weights_id(net) and not record.exists()


def exit_code(script: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int | str | None:
    """The exit code of the example ``script`` run as a command with ``argv`` (it must exit)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setattr(sys, "argv", [script, *argv])
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(EXAMPLES / f"{script}.py"), run_name="__main__")
    return stop.value.code


def check_refused(
    script: str,
    argv: list[str],
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The example ``script`` run in ``tmp_path`` with ``argv`` exits 2 with one line naming
    ``named``, having written nothing (no weights: nothing was trained)."""
    monkeypatch.chdir(tmp_path)
    assert exit_code(script, argv, monkeypatch) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ") and named in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--epcohs", "3"], "unrecognized arguments: --epcohs"),
        (["--epochs", "0"], "--epochs=0 is out of range; accepted: an integer >= 1"),
        (["--test-size", "0"], "--test-size=0 is out of range; accepted: an integer >= 1"),
        (["--weights", "no/such/folder/w.pt"], "--weights=no/such/folder/w.pt cannot be written"),
    ],
)
@pytest.mark.parametrize("script", SCRIPTS)
def test_an_example_refuses_a_bad_option_in_one_line_before_training(
    script: str,
    argv: list[str],
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A typo'd option, a count under 1 or weights bound for a missing folder are one line and
    exit code 2 before the training (they ran the training, then raised a traceback: from
    torch.save, from snnattack.evaluate's own refusal)."""
    pytest.importorskip("snntorch" if script.startswith("snntorch") else "spikingjelly")
    check_refused(script, argv, named, tmp_path, monkeypatch, capsys)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--eps", "300"], "--eps 300 holds 300; accepted: distinct radii in (0, 255]"),
        (["--eps", "8", "8"], "--eps 8 8 repeats a radius"),
        (["--ensemble", "fast"], "invalid choice: 'fast'"),
    ],
)
def test_a_digits_example_refuses_a_bad_radius_before_training(
    argv: list[str],
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A radius out of (0, 255] or given twice is refused before the training: the evaluation
    refused it (a traceback) once the model was trained."""
    pytest.importorskip("spikingjelly")
    check_refused("spikingjelly_digits", argv, named, tmp_path, monkeypatch, capsys)


@pytest.mark.parametrize("script", [*SCRIPTS, "attack_in_a_loop"])
def test_an_examples_help_says_its_whole_first_paragraph(
    script: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--help`` describes the script by its docstring's first paragraph, a whole sentence:
    it showed the first line alone, cut mid-sentence ("..., then its worst-case robustness
    measured")."""
    pytest.importorskip("snntorch" if script.startswith("snntorch") else "spikingjelly")
    assert exit_code(script, ["--help"], monkeypatch) == 0
    description = capsys.readouterr().out.split("\n\n")[1]
    assert description.rstrip().endswith(".")  # a whole sentence
