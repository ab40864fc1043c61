"""The package itself: its version, its config folder, and whether the torch stack it is
installed beside fits together.

``conf/`` (every key and its default, docs/configuration.md) is the package's data: a wheel
carries it as ``snnattack/conf/``, and in a checkout ``src/snnattack/conf`` is a link to the
top-level ``conf/`` that ``python run.py`` users edit, so an editable install reads the
checkout's files and a wheel its own copy, through the same path.

torch, torchvision and torchaudio are built together: each release of torchvision and
torchaudio pairs with one torch release and one CUDA build. pip does not always keep them
paired (torchaudio, which spikingjelly requires, lags torch's releases), and a torchaudio of
another CUDA build refuses to import. :func:`torch_stack_problem` reads the versions without
importing torchvision or torchaudio, so the mismatch is said in one line instead of surfacing
as a traceback from a foreign library's import chain.
"""

from __future__ import annotations

import ast
import importlib.util
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

try:
    __version__ = version("snnattack")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

# resolved: in a checkout the top-level conf/, beside experiments/
CONF_DIR = (Path(__file__).parent / "conf").resolve()

# the fix said with a mismatch: the tested set, or the companions of the user's own torch
STACK_FIX = (
    'install the tested set (pip install -e ".[test,interop]" -c constraints.txt, README), '
    "or the torchvision/torchaudio built for your torch (pip uninstall torchaudio if nothing "
    "you run needs it)"
)


def installed_version(package: str) -> str | None:
    """``package``'s version as its own ``version.py`` states it (with the build's local label,
    ``2.11.0+cu130``), read without importing the package; None where it is not installed."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    file = Path(next(iter(spec.submodule_search_locations))) / "version.py"
    if file.is_file():
        for node in ast.parse(file.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and any(getattr(t, "id", None) == "__version__" for t in node.targets)
                and isinstance(node.value, ast.Constant)
            ):
                return str(node.value.value)
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def torch_requirement(package: str) -> str | None:
    """The torch versions ``package``'s metadata declares it was built for (``==2.11.0``,
    ``>=2.14.0``); None where it declares none or is not installed."""
    try:
        declared = requires(package) or []
    except PackageNotFoundError:
        return None
    for line in declared:
        requirement = Requirement(line)
        if requirement.name == "torch" and not requirement.marker:
            return str(requirement.specifier) or None
    return None


def _release(text: str) -> tuple[int, int]:
    """The major and minor release of a version string (``2.11.0+cu130`` -> (2, 11))."""
    major, minor = (text.split("+")[0].split(".") + ["0"])[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def _release_problem(companion: str, found: str, torch_version: str, declared: str | None) -> str:
    """Why ``companion`` at version ``found`` is not a release built with ``torch_version``
    (empty when it is): its metadata's torch requirement where it declares one, else the
    pairing of the releases (torchaudio shares torch's number, torchvision's minor is
    torch's plus 15: torch 2.11 with torchvision 0.26)."""
    public = torch_version.split("+")[0]
    if declared is not None:
        if SpecifierSet(declared).contains(public, prereleases=True):
            return ""
        return f"{companion} {found} requires torch{declared}, not {torch_version}"
    major, minor = _release(torch_version)
    paired = (major, minor) if companion == "torchaudio" else (major - 2, minor + 15)
    if _release(found) == paired:
        return ""
    return (
        f"{companion} {found} is not the release built with torch {torch_version} "
        f"({companion} {paired[0]}.{paired[1]})"
    )


def torch_stack_problem(stack: dict[str, tuple[str, str | None]] | None = None) -> str | None:
    """One line naming the packages of the installed torch stack that do not fit together
    (another release, another CUDA build) and the fix; None when they fit. ``stack``
    (package -> its version and declared torch requirement; torch and the installed
    companions only) replaces the installed one in tests."""
    if stack is None:
        stack = {
            name: (found, torch_requirement(name))
            for name in ("torch", "torchvision", "torchaudio")
            if (found := installed_version(name)) is not None
        }
    if "torch" not in stack:
        return None
    torch_version = stack["torch"][0]
    wrong = []
    for companion in ("torchvision", "torchaudio"):
        if companion not in stack:
            continue
        found, declared = stack[companion]
        # their build labels (cu130, cpu, rocm6.4); None for a plain release
        builds = [text.partition("+")[2] or None for text in (found, torch_version)]
        if problem := _release_problem(companion, found, torch_version, declared):
            wrong.append(problem)
        elif None not in builds and builds[0] != builds[1]:
            wrong.append(
                f"{companion} {found} is another build than torch {torch_version} "
                f"({builds[0]} vs {builds[1]})"
            )
    if not wrong:
        return None
    return f"the torch stack does not fit together: {'; '.join(wrong)}; fix: {STACK_FIX}"
