"""docs/architecture.md places every module of the package: its "Modules by job" table gives
each module its one job, in a row of its own or in its folder's row, and names no module that
is gone. A module added, moved or removed without the page following fails here.

A kind's entry (a module that registers a gradient mode, method, dataset, ... with its
kind's ``@register``) is placed by the page's "Where a new feature goes" (one module per entry, in
its kind's folder) and needs no row."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from harness import ROOT

PACKAGE = ROOT / "src" / "snnattack"
PAGE = ROOT / "docs" / "architecture.md"
NAMED = re.compile(r"`([\w/]+(?:\.py|/))`")  # a module's or a folder's path, in backticks


def rows(page: str) -> list[tuple[list[str], str]]:
    """The rows of the page's "Modules by job" table: the paths its first cell names, and the
    whole row."""
    section = page.partition("\n## Modules by job\n")[2].partition("\n## ")[0]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    return [(NAMED.findall(line.split("|")[1]), line) for line in table]


def registers(path: Path) -> bool:
    """Whether the module at ``path`` is a kind's entry: a top-level definition decorated with
    its kind's ``@register``, called or not (a rule or check entered in a registry of
    :mod:`snnattack.values`, ``@CHECKS.register``, is not an entry of a kind)."""
    for node in ast.parse(path.read_text()).body:
        for decorator in getattr(node, "decorator_list", []):
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(target, ast.Name) and target.id == "register":
                return True
    return False


def unplaced(page: str, package: Path) -> list[str]:
    """The modules of ``package`` (below it, as ``folder/module.py``) that no row of ``page``
    places: by its path in a row's first cell, or by its name below a folder that a row's
    first cell names, in that row (``report/``: ``collect.py``)."""
    found = rows(page)
    missing = []
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package).as_posix()
        if path.name in ("__init__.py", "__main__.py") or registers(path):
            continue
        placed = any(
            module in paths
            or any(
                folder.endswith("/")
                and module.startswith(folder)
                and (f"`{module[len(folder) :]}" in row or f"`{module}`" in row)
                for folder in paths
            )
            for paths, row in found
        )
        if not placed:
            missing.append(module)
    return missing


def gone(page: str, package: Path) -> list[str]:
    """The paths that the table's first cells name and that do not exist below ``package``
    (or, for the checkout's ``tools/``, below the repository root)."""
    return [
        p
        for paths, _ in rows(page)
        for p in paths
        if not (package / p).exists() and not (package.parent.parent / p).exists()
    ]


def test_a_module_without_a_row_and_a_row_without_a_module_are_found(tmp_path: Path) -> None:
    package = tmp_path / "src" / "pkg"
    for module in ("a.py", "f/b.py", "f/c.py", "f/__init__.py", "g/d.py", "h/kind.py"):
        (package / module).parent.mkdir(parents=True, exist_ok=True)
        (package / module).write_text("x = 1\n")
    (package / "h" / "kind.py").write_text('@register("kind")\ndef kind():\n    pass\n')
    page = (
        "# Page\n\n## Modules by job\n\n| module | its one job |\n|---|---|\n"
        "| `a.py` | a |\n| `f/` | the folder: `b.py` (b) |\n| `gone.py` | was here |\n"
        "\n## Next\n\n| `g/d.py` | not in the table |\n"
    )
    assert unplaced(page, package) == ["f/c.py", "g/d.py"]
    assert gone(page, package) == ["gone.py"]


def test_every_module_of_the_package_has_its_job_in_the_architecture_page() -> None:
    page = PAGE.read_text()
    assert unplaced(page, PACKAGE) == []
    assert gone(page, PACKAGE) == []
