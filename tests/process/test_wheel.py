"""snnattack as a library: a wheel built with ``python -m build`` (through its sdist), installed
into a fresh virtual environment and run from a folder outside the checkout, through the Python
API and the ``snnattack`` command. The wheel holds the package's modules, every one and no
other: the step bench a user runs (``snnattack.tools.step_cost``), not the developer's tools
of the checkout's ``tools/`` nor the comparisons of its ``fidelity/``.

The new environment sees the running one's packages (torch, Lightning, Hydra: no download) but
its own snnattack: the wheel is installed with ``--no-deps``, and the child runs without
``PYTHONPATH`` from a temporary folder, so that neither the checkout's ``src/`` nor an editable
install of it (a path entry after the new environment's own site-packages) can shadow it. The
child says which file it imported.
"""

from __future__ import annotations

import configparser
import contextlib
import io
import json
import os
import re
import runpy
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from harness import CHILD_ENV, QUICK, ROOT

# the API on a seeded, untrained digits SNN: the same numbers from the wheel as from the checkout
API_SCRIPT = """
import json, torch
import snnattack
from snnattack.data.digits import DigitsDataModule
from snnattack.models import build
from snnattack.benchmark.protocol import PROTOCOL_DIR, available
from snnattack.package import CONF_DIR

torch.manual_seed(0)
net = build("digits_net", num_classes=10, in_channels=1, T=2)
data = DigitsDataModule(seed=0)
data.setup("test")
x = torch.stack([data.test_set[i][0] for i in range(32)])
y = torch.tensor([data.test_set[i][1] for i in range(32)])
record = snnattack.evaluate(net, (x, y), eps=[32], methods=["fgsm"], masking=False)
print(json.dumps({
    "file": snnattack.__file__,
    "conf": str(CONF_DIR),
    "protocols": [str(PROTOCOL_DIR), available()],
    "rows": [record.clean_acc, record.n, [(r.asr, r.adv_acc) for r in record.results]],
}))
"""


def _run(*cmd: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env={**env, **CHILD_ENV},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _venv_over_this_environment(folder: Path) -> Path:
    """A fresh virtual environment that also sees this interpreter's packages (a ``.pth`` file
    adds its site-packages after the environment's own); its python."""
    _run(sys.executable, "-m", "venv", "--system-site-packages", folder, cwd=folder.parent)
    python = folder / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    own = _run(python, "-c", purelib, cwd=folder)
    dirs = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    lines = [f"import site; site.addsitedir({d!r})" for d in dirs]
    (Path(own.stdout.strip()) / "_parent_environment.pth").write_text("\n".join(lines) + "\n")
    return python


# an import of the checkout's folders beside src/, which an installed package does not have
OUTSIDE_IMPORT = re.compile(r"^\s*(from|import) (tools|fidelity)\b", re.M)


def _package_modules() -> set[str]:
    """The checkout's modules of the package and of its Hydra sweeper, as the wheel names
    them."""
    return {
        p.relative_to(ROOT / "src").as_posix()
        for package in ("snnattack", "hydra_plugins/snnattack_sweeper")
        for p in (ROOT / "src" / package).rglob("*.py")
        if "__pycache__" not in p.parts
    }


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.slow
def test_a_wheel_installed_outside_the_checkout_runs_the_api_and_a_job(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "build", "--outdir", dist, ROOT, cwd=tmp_path)
    (wheel,) = dist.glob("snnattack-*.whl")
    with zipfile.ZipFile(wheel) as shipped:  # the package only: no developer tool, no comparison
        names = shipped.namelist()
        sources = [shipped.read(n).decode() for n in names if n.endswith(".py")]
    own = ("snnattack/", "snnattack-", "hydra_plugins/snnattack_sweeper/")
    assert all(n.startswith(own) for n in names), names
    assert {n for n in names if n.endswith(".py")} == _package_modules()  # every one, no other
    # the step bench a user runs ships; the checkout's tools/ (the developer's measurements and
    # checks) and fidelity/ (the comparisons with other projects' code) do not
    assert sorted(n for n in names if n.startswith("snnattack/tools/")) == [
        "snnattack/tools/__init__.py",
        "snnattack/tools/command.py",
        "snnattack/tools/step_cost.py",
    ]
    developer = {p.name for p in (ROOT / "tools").glob("*.py")} - {"__init__.py"}
    assert {"peer_compare.py", "gpu_check.py", "timings.py", "stored.py"} <= developer
    assert not any(n.rpartition("/")[2] in developer for n in names), names
    assert not any("fidelity" in n for n in names)
    assert not any(OUTSIDE_IMPORT.search(text) or "--reference" in text for text in sources)
    python = _venv_over_this_environment(tmp_path / "venv")
    _run(python, "-m", "pip", "install", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    work = tmp_path / "work"  # outside the checkout: no conf/, no src/
    work.mkdir()
    package = tmp_path / "venv" / "lib"
    installed = _files(package)

    script = work / "api.py"
    script.write_text(API_SCRIPT)
    found = json.loads(_run(python, script, cwd=work).stdout.strip().splitlines()[-1])
    assert Path(found["file"]).is_relative_to(package)  # the wheel's, not the checkout's
    assert Path(found["conf"]).is_relative_to(package)
    shipped = Path(found["conf"]) / "config.yaml"
    assert shipped.read_text() == (ROOT / "conf" / "config.yaml").read_text()
    protocols, versions = found["protocols"]  # the benchmark's protocol files ship too
    assert Path(protocols).is_relative_to(package) and versions["digits"] == [1]
    here = io.StringIO()
    with contextlib.redirect_stdout(here):
        runpy.run_path(str(script), run_name="__main__")
    assert found["rows"] == json.loads(here.getvalue().splitlines()[-1])["rows"]
    assert found["rows"][1] == 32 and len(found["rows"][2]) == 1

    _run(tmp_path / "venv" / "bin" / "snnattack", *QUICK, "boxes=[white]", cwd=work)
    (metrics,) = work.glob("outputs/*/*/metrics.json")
    record = json.loads(metrics.read_text())
    version = configparser.ConfigParser()
    version.read(ROOT / "setup.cfg")
    assert record["version"] == version["metadata"]["version"]  # the installed metadata's
    assert record["git_commit"] == "unknown"  # no checkout around the installed files
    assert [(r["method"], r["box"]) for r in record["results"]] == [("fgsm", "white")]
    assert (metrics.parent / "run.log").is_file()
    assert list(work.glob("models/*/model.pt"))  # the store: below the launch folder
    assert _files(package) == installed  # nothing written into the installed package

    shown = _run(python, "-m", "snnattack", "--help", cwd=work).stdout
    assert "method: apgd, apgd_dlr" in shown and "Experiments" not in shown
