"""The README and docs/ link to each other: every relative link names a file that exists and,
with an anchor, a heading in it (GitHub's anchors: lower case, punctuation dropped, spaces as
hyphens)."""

import re
from pathlib import Path

from harness import ROOT

LINK = re.compile(r"\]\(([^)\s]+)\)")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but `-` and `_` dropped."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings (outside code blocks)."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {anchor(m) for m in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}


def broken(page: Path) -> list[str]:
    """The relative links of ``page`` whose file or heading does not exist."""
    found = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            found.append(target)
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            found.append(target)
    return found


def test_a_headings_anchor_is_githubs() -> None:
    assert anchor("The CPU backend (`backend`)") == "the-cpu-backend-backend"
    assert anchor("Training kinds: ANN, conversion, hybrid (`train.kind`)") == (
        "training-kinds-ann-conversion-hybrid-trainkind"
    )


def test_a_missing_file_or_heading_is_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Top\n\n[a](page.md#top) [b](#top) [c](gone.md) [d](#gone) [e](https://x.y)\n"
    )
    assert broken(page) == ["gone.md", "#gone"]


def test_every_link_of_the_readme_and_docs_points_at_a_file_and_heading() -> None:
    assert {page.name: broken(page) for page in PAGES} == {page.name: [] for page in PAGES}


def test_the_readme_stays_short_and_links_every_docs_page() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    linked = {Path(t.partition("#")[0]).name for t in LINK.findall(readme)}
    assert {p.name for p in PAGES[1:]} <= linked


CONFIGS = sorted((ROOT / "conf").rglob("*.yaml"))
NAMED = re.compile(r"(snnattack/[\w/]+\.py|docs/[\w.]+\.md)")  # a module's or a page's path


def unknown_paths(config: Path) -> list[str]:
    """The code and docs paths that the comments of ``config`` name and that do not exist."""
    comments = "\n".join(line.partition("#")[2] for line in config.read_text().splitlines())
    found = NAMED.findall(comments)
    return [
        p for p in found if not (ROOT / ("src/" + p if p.startswith("snnattack") else p)).exists()
    ]


def test_a_missing_module_or_page_named_in_a_config_comment_is_found(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("a: 1  # see snnattack/job.py and docs/gone.md\nb: snnattack/gone.py\n")
    assert unknown_paths(config) == ["docs/gone.md"]


def test_every_module_and_page_named_in_the_configs_exists() -> None:
    found = {c.relative_to(ROOT).as_posix(): unknown_paths(c) for c in CONFIGS}
    assert found == {name: [] for name in found}
