"""The locked install and the torch stack check: the tested set fits together, a mismatch is
said in one line naming the packages and the fix, and no test or module needs torchaudio."""

from __future__ import annotations

import ast
import configparser
import importlib
import logging
import sys
from pathlib import Path

import conftest
import pytest
from foreign_modules import spikingjelly_framing
from foreign_nets import spikingjelly_plif
from harness import ROOT
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from snnattack.errors import ConfigError
from snnattack.interop import external
from snnattack.package import installed_version, torch_stack_problem

LOCK = ROOT / "constraints.txt"
# pip's CUDA 13.2 torch beside the newest torchaudio, CUDA 13.0: what an unlocked install gave
MISMATCH = {
    "torch": ("2.15.0+cu132", None),
    "torchvision": ("0.29.2+cu132", ">=2.14.0"),
    "torchaudio": ("2.11.0+cu130", None),
}


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            pins[name.lower()] = pinned
    return pins


def test_the_lock_pins_one_fitting_torch_stack_and_every_dependency() -> None:
    pins = locked()
    stack = {name: (pins[name], None) for name in ("torch", "torchvision", "torchaudio")}
    assert torch_stack_problem(stack) is None
    for name in ("lightning", "hydra-core", "torchattacks", "spikingjelly", "snntorch", "tonic"):
        assert name in pins, f"{name} is not locked in constraints.txt"


def test_every_marked_line_of_the_lock_serves_a_python_the_package_declares() -> None:
    """No line for a Python setup.cfg refuses (a dead pin), and CI's other Python is one the
    package declares."""
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    declared = SpecifierSet(setup["options"]["python_requires"])
    pythons = [f"3.{minor}" for minor in range(8, 20) if f"3.{minor}" in declared]
    for line in LOCK.read_text().splitlines():
        if ";" in line and not line.startswith("#"):
            marker = Marker(line.split(";", 1)[1])
            served = [v for v in pythons if marker.evaluate({"python_version": v})]
            assert served, f"{line!r} serves no Python that setup.cfg declares ({declared})"
    ci = (ROOT / ".ci/run").read_text()
    others = ci.split("OTHER_PYTHONS=(", 1)[1].split(")", 1)[0].split()
    assert others and all(v in declared for v in others), others


def test_the_installed_stack_fits_together() -> None:
    problem = torch_stack_problem()
    assert problem is None, problem


def test_the_readme_ci_and_conda_install_with_the_lock() -> None:
    command = 'pip install -e ".[test,interop]" -c constraints.txt'
    assert command in (ROOT / "README.md").read_text()
    ci = 'pip install --quiet -e ".[test,interop]" -c constraints.txt'
    assert ci in (ROOT / ".ci/run").read_text()
    conda = (ROOT / "environment.yml").read_text()
    assert "- -c constraints.txt" in conda and "- -e .[test,interop]" in conda


@pytest.mark.parametrize(
    ("stack", "named"),
    [
        (MISMATCH, ["torchaudio 2.11.0+cu130", "torch 2.15.0+cu132"]),
        (
            {"torch": ("2.11.0+cu130", None), "torchaudio": ("2.11.0+cu128", None)},
            ["torchaudio 2.11.0+cu128", "cu128 vs cu130"],
        ),
        (
            {"torch": ("2.11.0+cpu", None), "torchvision": ("0.26.0+cu130", "==2.11.0")},
            ["torchvision 0.26.0+cu130", "cu130 vs cpu"],
        ),
        (
            {"torch": ("2.14.1", None), "torchvision": ("0.26.0", "==2.11.0")},
            ["torchvision 0.26.0 requires torch==2.11.0, not 2.14.1"],
        ),
    ],
)
def test_a_mismatch_is_one_line_naming_the_packages_and_the_fix(stack, named) -> None:
    problem = torch_stack_problem(stack)
    assert problem is not None and "\n" not in problem
    for words in named:
        assert words in problem
    assert "-c constraints.txt" in problem and "pip uninstall torchaudio" in problem


def test_stacks_that_fit_pass() -> None:
    assert torch_stack_problem({"torch": ("2.11.0", None)}) is None
    assert (
        torch_stack_problem(
            {"torch": ("2.15.0+cu132", None), **{"torchvision": ("0.29.2+cu132", ">=2.14.0")}}
        )
        is None
    )
    assert (
        torch_stack_problem({"torch": ("2.11.0+cu130", None), **{"torchaudio": ("2.11.0", None)}})
        is None
    )


@pytest.fixture
def broken_torchaudio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A torchaudio of another CUDA build first on the path: importing it raises, as the
    real one does beside a torch of another build."""
    package = tmp_path / "torchaudio"
    package.mkdir()
    (package / "version.py").write_text("__version__ = '2.11.0+cu128'\n")
    (package / "__init__.py").write_text(
        "raise RuntimeError('Detected that PyTorch and TorchAudio were compiled with different "
        "CUDA versions. PyTorch has CUDA version 13.0 whereas TorchAudio has CUDA version 12.8.')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "torchaudio", raising=False)
    importlib.invalidate_caches()
    external.say_torch_stack.cache_clear()
    yield
    external.say_torch_stack.cache_clear()


@pytest.mark.usefixtures("broken_torchaudio")
def test_a_torchaudio_that_cannot_import_is_read_and_named_without_importing_it() -> None:
    assert installed_version("torchaudio") == "2.11.0+cu128"
    assert "torchaudio" not in sys.modules
    problem = torch_stack_problem()
    assert problem is not None and "torchaudio 2.11.0+cu128" in problem
    assert problem in conftest.pytest_report_header()
    # spikingjelly's framing, which the event tests compare with, loads all the same
    assert callable(spikingjelly_framing())


@pytest.mark.usefixtures("broken_torchaudio")
def test_a_foreign_model_names_the_mismatch(caplog: pytest.LogCaptureFixture) -> None:
    factory = {"_target_": "torchaudio.models.wav2letter"}
    tree = {"model": {"name": "external", "factory": factory, "kwargs": {}}, "T": 4}
    with pytest.raises(ConfigError) as refused:
        external.factory_network(tree)
    message = str(refused.value)
    assert "\n" not in message
    assert "model.factory._target_=torchaudio.models.wav2letter" in message
    assert "likely cause: the torch stack does not fit together: torchaudio" in message
    # where the network builds, adapting it says the mismatch once, as a warning line
    caplog.set_level(logging.WARNING)
    external.say_torch_stack.cache_clear()
    external.as_spiking_net(spikingjelly_plif(), 4)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("torchaudio 2.11.0+cu128" in line for line in warned)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_nothing_imports_a_foreign_librarys_data_sets_or_torchaudio() -> None:
    files = [*(ROOT / "src").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]
    files += [*(ROOT / "examples").rglob("*.py"), *(ROOT / "benchmark").rglob("*.py")]
    for path in files:
        for name in imports_of(path):
            assert not name.startswith(("spikingjelly.datasets", "torchaudio")), (
                f"{path.relative_to(ROOT)} imports {name}"
            )
