"""The leaderboard page in a real browser (headless Chromium, offline): a click on a header
sorts, the protocol menu filters, and the address's fragment opens it sorted and filtered.
The page's own script does the work; the probe only clicks and reads the rows' order."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from entries import entry, protocols, write

from snnattack.benchmark import leaderboard

PROBE = """<script>addEventListener('DOMContentLoaded', () => {
  const names = () => [...document.querySelectorAll('#board tbody tr')]
    .filter(r => !r.hidden).map(r => r.cells[1].textContent).join(',');
  const head = [...document.querySelectorAll('#board th')]
    .find(h => h.dataset.key === 'worst case');
  const seen = [names()];
  head.click(); seen.push(names());
  head.click(); seen.push(names());
  const menu = document.getElementById('protocol');
  menu.value = 'digits'; menu.dispatchEvent(new Event('change')); seen.push(names());
  document.body.dataset.probe = seen.join(' / ');
})</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium; .ci/run does)")
    return found


def dom(page: str) -> str:
    """The page's DOM after its scripts ran, in headless Chromium (no network)."""
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout


@pytest.fixture
def page(tmp_path: Path) -> Path:
    folder = tmp_path / "entries"
    write(folder, "a", entry("A", 30.0, version=2))
    write(folder, "b", entry("B", 45.5, version=2))
    write(folder, "c", entry("C", 60.0, version=2, flagged=["zero_gradients"]))
    write(folder, "d", entry("D", 55.0, version=1))
    write(folder, "e", entry("E", 10.0, protocol="cifar10_linf8"))
    known = protocols(tmp_path / "protocols", digits=[1, 2], cifar10_linf8=[1])
    return leaderboard.write(folder, tmp_path / "site", known)["html"]


@pytest.mark.slow  # Chromium starts in about 4 s
def test_a_click_sorts_and_the_menu_filters_keeping_the_ones_apart_last(
    page: Path, tmp_path: Path
) -> None:
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    out = dom(probe.as_uri())
    seen = out.split('data-probe="')[1].split('"')[0].split(" / ")
    assert seen == [
        "E,B,A,C,D",  # as built: by protocol, ranked by worst case, then the ones apart
        "E,A,B,D,C",  # worst case ascending, the ranked ones before the ones apart
        "B,A,E,C,D",  # again: descending
        "B,A,C,D",  # digits only (both versions); cifar10_linf8's E hidden
    ]


@pytest.mark.slow
def test_the_address_opens_the_page_sorted_and_filtered(page: Path) -> None:
    out = dom(page.as_uri() + "#sort=worst%20case&order=asc&protocol=digits")
    rows = out.split("<tbody")[1:]
    shown = [
        cell.split(">", 1)[1].split("<")[0]
        for body in rows
        for tr in body.split("<tr")[1:]
        if " hidden" not in tr.split(">")[0]
        for cell in [tr.split("<td")[2]]
    ]
    assert shown == ["A", "B", "D", "C"]
    assert 'aria-sort="ascending">worst case' in out
