"""What the command prints for an unresolvable value: one line where Hydra prints the config
(``--cfg job --resolve``), a user's doing; the traceback where a job's own code fails, or a
module of the package behind Hydra's error."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import harness
import pytest
from hydra.errors import InstantiationException
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


def _loading_a_broken_module_of_the_package() -> None:
    """What Hydra raises when a callback's module imports a module of the package that fails
    to import (a new method's mistyped ``import``): its error, behind its own two."""
    broken = compile("import not_a_real_module", str(cli.SOURCE / "attacks/methods/x.py"), "exec")
    try:
        try:
            exec(broken)
        except ImportError as err:
            raise ImportError("Error loading 'snnattack.report.hydra_callback.Report'") from err
    except ImportError as err:
        raise InstantiationException("Error locating target; set HYDRA_FULL_ERROR=1") from err


def test_a_module_of_the_package_that_fails_to_import_shows_its_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It was one line naming the report callback, whatever module had failed, and Hydra's
    advice (HYDRA_FULL_ERROR=1) printed the same line."""
    monkeypatch.setattr(sys, "argv", ["snnattack", "seed=1"])
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    with pytest.raises(ModuleNotFoundError, match="not_a_real_module") as raised:
        cli.main(_loading_a_broken_module_of_the_package, CONF_DIR)
    assert traceback.extract_tb(raised.value.__traceback__)[-1].filename.endswith("x.py")


def test_a_hydra_error_of_the_users_is_not_taken_for_the_packages() -> None:
    try:
        try:
            raise ValueError("no such group")  # raised here, outside the package's modules
        except ValueError as err:
            raise InstantiationException("Error locating target") from err
    except InstantiationException as err:
        assert cli.broken_code(err) is None


def test_an_experiment_file_yaml_cannot_read_is_one_line_naming_it(tmp_path: Path) -> None:
    """A user's experiment (``-cd``) with an unclosed bracket was YAML's traceback, exit 1."""
    (tmp_path / "mine.yaml").write_text("defaults:\n  - config\n  - _self_\neps: [16\n")
    done = harness.cli("-cd", str(tmp_path), "-cn", "mine", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith(
        f"error: {tmp_path / 'mine.yaml'}, line 5 is not read as YAML (expected ',' or ']', but "
        "got '<stream end>'); accepted: a file of keys written as conf/'s files are"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["mine.yaml"]  # no job folder
