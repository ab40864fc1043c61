"""The suite's part of ``gpu_check``: its pytest command, parallel where pytest-xdist is
installed, and the failures and skips by name from pytest's JUnit XML
(:mod:`tools.gpu_suite`)."""

from __future__ import annotations

from pathlib import Path

from tools import gpu_suite

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4">
<testcase classname="tests.unit.test_api" name="test_a" time="1.0"/>
<testcase classname="tests.unit.test_api" name="test_b[x]" time="1.0">
  <failure message="AssertionError: assert 1 == 2&#10;where ...">trace</failure></testcase>
<testcase classname="tests.jobs.test_one_core" name="test_c" time="1.0">
  <error message="fixture">trace</error></testcase>
<testcase classname="tests.unit.test_api" name="test_d" time="0.0">
  <skipped message="needs a CUDA device"/></testcase>
<testcase classname="" name="tests.unit.data.test_dvs" time="0.0">
  <error message="collection failure">ImportError while importing test module
Traceback:
tests/unit/data/test_dvs.py:7: in &lt;module&gt;
    import dv_processing as dv
E   ModuleNotFoundError: No module named 'dv_processing'</error></testcase>
</testsuite></testsuites>
"""


def test_failures_errors_and_skips_are_named(tmp_path: Path) -> None:
    (tmp_path / "suite.xml").write_text(JUNIT)
    found = gpu_suite.outcome(tmp_path / "suite.xml")
    assert found.tests == 5
    assert found.skipped == ("tests/unit/test_api.py::test_d (needs a CUDA device)",)
    assert found.failed == (
        "tests/unit/test_api.py::test_b[x] (AssertionError: assert 1 == 2)",
        "tests/jobs/test_one_core.py::test_c (fixture)",
        "tests/unit/data/test_dvs.py (collection failure: ModuleNotFoundError: No module named "
        "'dv_processing')",
    )  # fmt: skip
    assert found.summary() == (
        "5 tests, 3 failed, 1 skipped; "
        "FAILED tests/unit/test_api.py::test_b[x] (AssertionError: assert 1 == 2); "
        "FAILED tests/jobs/test_one_core.py::test_c (fixture); "
        "FAILED tests/unit/data/test_dvs.py (collection failure: ModuleNotFoundError: No module "
        "named 'dv_processing'); "
        "SKIPPED tests/unit/test_api.py::test_d (needs a CUDA device)"
    )


def test_the_suite_runs_on_the_workers_asked_for(tmp_path: Path) -> None:
    cmd = gpu_suite.pytest_command("not slow and not cuda", tmp_path / "s.xml", 12)
    assert cmd[1:3] == ["-m", "pytest"] and cmd[cmd.index("-m", 3) + 1] == "not slow and not cuda"
    assert f"--junitxml={tmp_path / 's.xml'}" in cmd
    assert cmd[-2:] == ["-n", "12"]
    assert gpu_suite.pytest_command("cuda", tmp_path / "c.xml", 0)[-2:] == ["-n", "0"]
