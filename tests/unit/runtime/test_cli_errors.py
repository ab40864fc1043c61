"""What the command prints for an unresolvable value: one line where Hydra prints the config
(``--cfg job --resolve``), a user's doing; the traceback where a job's own code fails."""

from __future__ import annotations

import sys

import pytest
from omegaconf import OmegaConf
from omegaconf.errors import InterpolationKeyError

from snnattack.package import CONF_DIR
from snnattack.runtime import cli


def _unresolvable() -> None:
    OmegaConf.to_container(OmegaConf.create({"T": "${kinds.T.stbp}"}), resolve=True)


def test_an_unresolvable_value_hydra_prints_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["snnattack", "--cfg", "job", "--resolve"])
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")  # cli.main sets it; restored afterwards
    with pytest.raises(SystemExit) as stop:
        cli.main(_unresolvable, CONF_DIR)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1
    assert err.startswith("error: T cannot be resolved (Interpolation key 'kinds.T.stbp' not ")


def test_an_unresolvable_value_of_a_jobs_own_code_keeps_its_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Outside Hydra's printing it is a programming error: no user's line would mend it."""
    monkeypatch.setattr(sys, "argv", ["snnattack", "seed=1"])
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    with pytest.raises(InterpolationKeyError):
        cli.main(_unresolvable, CONF_DIR)
