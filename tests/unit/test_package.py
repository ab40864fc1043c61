"""The package finds its config folder from inside itself, and every file of ``conf/`` is the
package's data: a wheel carries what a checkout reads (tests/process/test_wheel.py installs one).
"""

from __future__ import annotations

import configparser
import glob

from harness import ROOT

import snnattack
from snnattack.command import main
from snnattack.package import CONF_DIR

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
