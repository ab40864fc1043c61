"""The comparisons with other projects' code stay out of the installed package: no module of
src/snnattack imports the checkout's fidelity/ or takes a reference clone (``--reference``),
and fidelity/ lies beside src/, where ``packages = find:`` under ``src`` never looks (the
wheel's own check: tests/process/test_wheel.py)."""

import ast

from harness import ROOT

import fidelity


def _imported(path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def test_no_module_of_the_package_imports_a_comparison_or_takes_a_clone() -> None:
    modules = sorted((ROOT / "src" / "snnattack").rglob("*.py"))
    assert len(modules) > 100  # the package's modules, not an empty glob
    for path in modules:
        roots = {name.split(".")[0] for name in _imported(path)}
        assert "fidelity" not in roots, path
        assert '"--reference"' not in path.read_text(), path


def test_the_comparisons_lie_beside_the_package() -> None:
    folder = ROOT / "fidelity"
    assert fidelity.__file__ == str(folder / "__init__.py")
    assert not (ROOT / "src" / "fidelity").exists()
    scripts = {p.stem for p in folder.glob("*.py") if (p.read_text().find("def main(") >= 0)}
    assert scripts == {"sda", "retime", "gsattack", "patch", "spikefool_universal"}
    for name in scripts:  # each said in the folder's docstring, with its command
        assert f"python -m fidelity.{name} --reference" in fidelity.__doc__
