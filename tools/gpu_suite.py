"""The test suite on the GPU machine, its failures by name: a part of
``python -m tools.gpu_check``.

It runs from a checkout's root (an installed package has no ``tests/``), on as many
pytest-xdist workers as asked (the suite's tests share no files but the model store, which
locks), and reads pytest's JUnit XML for the names of the
tests that failed, erred or skipped (a skip on a GPU machine is news: which one, and why).
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

TESTS = Path("tests")  # the suite, from a checkout's root


def has_suite() -> bool:
    """Whether this folder is a checkout's root with its tests."""
    return TESTS.is_dir()


def pytest_command(marks: str, junit: Path, workers: int) -> list[str]:
    """pytest on the tests selected by ``marks`` (a ``-m`` expression), writing ``junit``;
    on ``workers`` pytest-xdist processes (the test extra installs it)."""
    return [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marks,
        f"--junitxml={junit}", "-n", str(workers),
    ]  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """What a JUnit XML file says: tests run, their failures (and errors) and skips by name."""

    tests: int
    failed: tuple[str, ...]
    skipped: tuple[str, ...]

    def summary(self) -> str:
        """One line: counts, then the failures and the skips by name."""
        line = f"{self.tests} tests, {len(self.failed)} failed, {len(self.skipped)} skipped"
        named = [f"; FAILED {name}" for name in self.failed]
        return line + "".join(named + [f"; SKIPPED {name}" for name in self.skipped])


MESSAGE = 160  # characters of a failure's or a skip's message kept in its name


def _named(case: ET.Element, problem: ET.Element) -> str:
    """A test case as ``module::test`` (a module that failed to collect as its path) with the
    first line of its failure's, error's or skip's message; a module that failed to collect
    with its error's last line (``ModuleNotFoundError: No module named ...``: a wheel the GPU
    machine lacks)."""
    module, name = case.get("classname", ""), case.get("name", "")
    where = f"{module.replace('.', '/')}.py::{name}" if module else f"{name.replace('.', '/')}.py"
    message = (problem.get("message") or "").strip().splitlines()[:1]
    errors = [line[1:].strip() for line in (problem.text or "").splitlines() if line[:1] == "E"]
    if message == ["collection failure"] and errors:
        message = [f"collection failure: {errors[-1]}"]
    return where + "".join(f" ({m[:MESSAGE]})" for m in message)


def outcome(junit: Path) -> Outcome:
    """The tests of pytest's JUnit XML ``junit``, each failed or skipped one by name: the
    report is all that comes back from a GPU machine."""
    tests, failed, skipped = 0, [], []
    for case in ET.parse(junit).getroot().iter("testcase"):
        tests += 1
        problem = next((p for p in map(case.find, ("failure", "error")) if p is not None), None)
        if problem is not None:
            failed.append(_named(case, problem))
        elif (skip := case.find("skipped")) is not None:
            skipped.append(_named(case, skip))
    return Outcome(tests, tuple(failed), tuple(skipped))
