"""Running a measurement command in-process: its record (JSON on stdout) and its tables
(stderr), for the tests of snnattack.tools and of the checkout's tools/ and fidelity/."""

import json
from collections.abc import Callable

import pytest

TINY = ["--batch", "2", "--T", "2", "--repeats", "1"]  # a bench of an untrained model in seconds


def output(
    main: Callable[[list[str]], None], argv: list[str], capsys: pytest.CaptureFixture
) -> tuple[dict, str]:
    """The JSON record on stdout and the tables on stderr of ``main(argv)``."""
    main(argv)
    out, err = capsys.readouterr()
    return json.loads(out), err
