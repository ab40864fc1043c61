"""The one-liners the docs give for printing every key of the Python API's config
(docs/interop.md's `overrides` row, docs/errors.md's unknown-override row) run as a user pastes
them into a fresh interpreter: their imports are in the line, and ``snnattack.api`` is imported
by name (``import snnattack`` alone does not make it an attribute)."""

import re
import subprocess
import sys

import pytest
from harness import ROOT

# a fresh interpreter each (7 s): interop.md's in the slow run
PAGES = (pytest.param("docs/interop.md", marks=pytest.mark.slow), "docs/errors.md")


def key_listings(page: str) -> list[str]:
    """The inline code spans of ``page`` that print the API's job config."""
    return [
        s
        for s in re.findall(r"`([^`\n]+)`", (ROOT / page).read_text())
        if "print(" in s and "job_config(" in s
    ]


@pytest.mark.parametrize("page", PAGES)
def test_the_docs_line_that_lists_the_apis_keys_runs_in_a_fresh_interpreter(page: str) -> None:
    (line,) = key_listings(page)
    done = subprocess.run(
        [sys.executable, "-c", line], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"^lambda: ", done.stdout, flags=re.M) and "method:" in done.stdout
