"""docs/adversarial_training.md's measured numbers say where they were measured: each table of
accuracies (a ``clean`` column) is followed, before the next heading, by a line naming the
date, the CPU and the commit that recorded it (they gave none: a reader could not tell a
number of this code from an older one's, nor another machine's)."""

import re

from harness import ROOT

PAGE = ROOT / "docs" / "adversarial_training.md"
PROVENANCE = re.compile(
    r"Measured on \d{4}-\d{2}-\d{2}\s+on another CPU \([^)]+\)[^.]*commit\s+[0-9a-f]{7}"
)


def measured_sections(text: str) -> list[str]:
    """The text from each table with a ``clean`` column to the next heading."""
    sections = re.split(r"^#{1,6} ", text, flags=re.M)
    return [
        s[s.index(row) :]
        for s in sections
        for row in re.findall(r"^\|[^\n]*\| clean \|[^\n]*$", s, flags=re.M)
    ]


def test_every_table_of_measured_accuracies_says_where_it_was_measured() -> None:
    sections = measured_sections(PAGE.read_text())
    assert len(sections) == 3  # bn_mode, TRADES' BN updates, the full digits_adversarial
    for section in sections:
        assert PROVENANCE.search(section), section[:200]
