"""A job builds each model once: its checks before any work load the model files and call the
user's factory (``snnattack.training.trained.built_models``), and the job attacks what they
built instead of reading the files or calling the factory again."""

from __future__ import annotations

from pathlib import Path

import external_nets
import pytest
import torch
from external_nets import digits_net

import snnattack.training.trained as trained

ROWS = ["eps=[16]", "method=[fgsm]", "checks.masking.probe_size=8", "train.epochs=1"]
EXTERNAL = ["model=external", "model.factory._target_=external_nets.digits_net"]


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The config key of each model file read into a model, in the order read."""
    read = trained.load_model_file
    keys: list[str] = []

    def counted(path, net, key, *args, **kwargs):
        keys.append(key)
        return read(path, net, key, *args, **kwargs)

    monkeypatch.setattr(trained, "load_model_file", counted)
    return keys


@pytest.fixture
def factory_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The keyword arguments of each call of the factory ``external_nets.digits_net``."""
    calls: list[dict] = []

    def counted(**kwargs):
        calls.append(kwargs)
        return digits_net(**kwargs)

    monkeypatch.setattr(external_nets, "digits_net", counted)
    return calls


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    """A ``torch.save(net.state_dict())`` of the digits SNN (the factory's network)."""
    path = tmp_path / "digits.pt"
    torch.save(digits_net().state_dict(), path)  # not a call the tests count
    return path


def test_a_job_reads_each_model_file_once(run_job, loads, weights) -> None:
    source = weights.with_name("source.pt")  # one file for both is the target itself: refused
    torch.manual_seed(1)
    torch.save(digits_net().state_dict(), source)
    files = [f"checkpoint={weights}", f"source_checkpoint={source}"]
    metrics = run_job(*ROWS, *files, "boxes=[white,black]")
    assert loads == ["checkpoint", "source_checkpoint"]  # by validation, not again by the job
    assert metrics["models"]["target"]["checkpoint"] == str(weights)
    assert metrics["models"]["source"]["checkpoint"] == str(source)
    assert [r["box"] for r in metrics["results"]] == ["white", "black"]


def test_an_external_job_calls_the_factory_once(run_job, factory_calls) -> None:
    metrics = run_job(*EXTERNAL, *ROWS, "+model.kwargs.lam=0.9", "boxes=[white]")
    assert factory_calls == [{"lam": 0.9}]
    assert metrics["models"]["target"]["factory"] == "external_nets.digits_net"
    assert {n["lambda"] for n in metrics["models"]["target"]["neurons"]} == {0.9}


def test_an_external_job_with_a_checkpoint_builds_and_reads_once(
    run_job, loads, factory_calls, weights
) -> None:
    metrics = run_job(*EXTERNAL, *ROWS, f"checkpoint={weights}", "boxes=[white]")
    assert factory_calls == [{}]  # the network the file is loaded into, then checked
    assert loads == ["checkpoint"]
    assert metrics["models"]["target"]["format"] == "state_dict"
