"""The package finds its config folder from inside itself, and every file of ``conf/`` is the
package's data: a wheel carries what a checkout reads (tests/process/test_wheel.py installs one).
"""

from __future__ import annotations

import configparser
import glob
import subprocess
import sys
import types
from pathlib import Path

import pytest
from harness import ROOT

import snnattack
from snnattack.command import main
from snnattack.package import CONF_DIR
from snnattack.runtime import cli

PACKAGE = ROOT / "src" / "snnattack"
SETUP = configparser.ConfigParser()
SETUP.read(ROOT / "setup.cfg")


def test_the_packages_conf_is_the_checkouts_conf_folder() -> None:
    assert (PACKAGE / "conf").is_symlink()  # one folder: python run.py users edit conf/
    assert CONF_DIR == (ROOT / "conf").resolve()
    assert (CONF_DIR / "config.yaml").is_file()
    assert snnattack.__version__ == SETUP["metadata"]["version"]  # the installed metadata's


def test_every_file_of_conf_is_package_data_without_a_list() -> None:
    """setup.cfg's package-data globs, expanded as setuptools does (from the package folder,
    ``**`` recursive, files only), match every file of ``conf/``: a new config file ships."""
    patterns = SETUP["options.package_data"]["snnattack"].split(",")
    shipped = {
        p
        for pattern in patterns
        for p in glob.glob(pattern.strip(), root_dir=PACKAGE, recursive=True)
        if (PACKAGE / p).is_file()
    }
    in_conf = {p.relative_to(ROOT).as_posix() for p in (ROOT / "conf").rglob("*") if p.is_file()}
    assert len(in_conf) > 50 and shipped == in_conf


def test_the_console_command_is_the_command_lines_entry_point() -> None:
    scripts = SETUP["options.entry_points"]["console_scripts"].strip()
    assert scripts == f"snnattack = {main.__module__}:{main.__name__}"


def test_a_conf_folder_without_its_files_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout made without symbolic links has a text file for ``src/snnattack/conf``: the
    command says so in one line, exit code 2, before Hydra reads anything."""
    monkeypatch.setattr(sys, "argv", ["snnattack", "seed=1"])
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")  # cli.main sets it; restored afterwards
    with pytest.raises(SystemExit) as stop:
        cli.main(lambda: None, tmp_path / "conf")
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {tmp_path / 'conf'} holds no config.yaml; accepted: ")


def test_the_benchmark_is_a_plain_module_served_on_first_use() -> None:
    """``snnattack.benchmark`` is an ordinary module (no class swapped in to make it callable)
    whose ``evaluate`` is a plain function; ``import snnattack`` imports neither it nor its
    run module (torch and the API), which the root's ``__getattr__`` imports on first use."""
    code = (
        "import sys, snnattack; "
        "print(sorted(m for m in sys.modules if m.startswith('snnattack.benchmark')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert type(snnattack.benchmark) is types.ModuleType
    assert type(snnattack.benchmark.evaluate) is types.FunctionType
    assert snnattack.benchmark.evaluate.__module__ == "snnattack.benchmark.evaluation"
    assert "benchmark" in snnattack.__all__
