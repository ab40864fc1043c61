"""The timings table: one place for every timing, rewritten from measurements (faked here:
measuring the real commands takes minutes)."""

import re
from pathlib import Path

import pytest
from harness import ROOT

from tools import timings

HEADLINE = (
    "| headline sweep (quick start) | `python run.py -m attack=rga,stbp lambda=0.5,0.9,1.0` "
    "| 84 s | 2026-11-23, 2 CPU cores |"
)
README = f"""# x

Text before, with `pytest` in it.

{timings.START}
| run | command | wall time | measured on |
|---|---|---|---|
{HEADLINE}
| default test suite | `pytest` | 10.0 min | 2026-11-23, 2 CPU cores |
| a row someone added | `make` | 1 s | yesterday |
{timings.END}

Text after.
"""


def test_rewrite_replaces_measured_rows_keeps_the_others_and_the_text_around() -> None:
    known = timings.targets(ROOT)
    measured = {
        "suite": timings.Measurement(431.0, "2026-11-24", "16 CPU cores (Fake CPU)"),
        "digits_eps": timings.Measurement(95.4, "2026-11-24", "16 CPU cores (Fake CPU)"),
    }
    text = timings.rewrite(README, measured, known)
    before, table, after = re.split(r"<!-- timings: (?:start|end)[^>]*-->", text)
    assert before == README.split(timings.START)[0] and after == "\n\nText after.\n"
    assert table.strip().splitlines()[2:] == [
        HEADLINE,
        "| default test suite | `pytest` | 7.2 min | 2026-11-24, 16 CPU cores (Fake CPU) |",
        "| `digits_eps` | `python run.py -m -cd experiments -cn digits_eps` | 95 s | 2026-11-24,"
        " 16 CPU cores (Fake CPU) |",
        "| a row someone added | `make` | 1 s | yesterday |",
    ]
    assert timings.rewrite(text, {}, known) == text  # nothing measured: nothing changes


def test_main_measures_the_chosen_rows_and_writes_the_readme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(README)
    seen = []
    monkeypatch.setattr(
        timings, "measure", lambda target, root, keep=None: seen.append(target) or 12.3
    )
    monkeypatch.setattr(timings, "machine", lambda: "2 CPU cores (Fake CPU)")
    monkeypatch.chdir(ROOT)
    timings.main(["--only", "headline", "--readme", str(readme)])
    assert [t.words for t in seen] == [timings.targets(ROOT)["headline"].words]
    assert "| 12 s | " in readme.read_text() and "2 CPU cores (Fake CPU) |" in readme.read_text()
    with pytest.raises(SystemExit) as stop:
        timings.main(["--only", "digits_nothing"])
    assert stop.value.code == 2


def test_readme_and_experiment_headers_take_their_timings_from_the_table() -> None:
    readme = (ROOT / "README.md").read_text()
    before, table, after = re.split(r"<!-- timings: (?:start|end)[^>]*-->", readme)
    stale = re.compile(r"(about|~)\s*[\d.]+(\s*[–-]\s*[\d.]+)?\s*(min|minutes|s)\b")
    assert stale.findall(before + after) == []
    assert {line.split(" | ")[0] for line in table.strip().splitlines()[2:]} >= {
        "| headline sweep (quick start)",
        "| default test suite",
        "| `digits_table2`",
    }
    for path in (ROOT / "experiments").glob("digits_*.yaml"):
        header = "".join(line for line in path.read_text().splitlines() if line.startswith("#"))
        assert re.findall(r"[\d.]+\s*min\b", header) == [], path.name


def test_a_kept_sweep_folder_stays_for_reading_its_results(tmp_path: Path) -> None:
    writes = "import sys, pathlib; pathlib.Path(sys.argv[-1].split('=', 1)[1]).mkdir(parents=True)"
    target = timings.Target("fake sweep", ("python", "-c", writes))
    assert timings.measure(target, ROOT, keep=tmp_path / "fake") >= 0
    assert (tmp_path / "fake" / "sweep").is_dir()
