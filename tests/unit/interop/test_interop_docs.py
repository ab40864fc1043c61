"""docs/interop.md's adapter examples run as a user copies them: the spikingjelly tutorial CSNN
and the snnTorch tutorial class, each passed to ``snnattack.evaluate`` as it is, give the
record the page describes (one PGD row at 8/255 on the 32 random images). Seconds each."""

from __future__ import annotations

import pytest
from harness import ROOT

INTEROP = ROOT / "docs" / "interop.md"


def example(opening: str) -> str:
    """The page's one ```python block that starts with ``opening``."""
    blocks = [part.split("```")[0] for part in INTEROP.read_text().split("```python\n")[1:]]
    (block,) = [b for b in blocks if b.startswith(opening)]
    return block


@pytest.mark.parametrize(
    ("library", "opening"),
    [("spikingjelly", "import torch\nfrom spikingjelly"), ("snntorch", "import snntorch")],
)
def test_an_adapter_example_of_interop_md_runs_as_written(library: str, opening: str) -> None:
    pytest.importorskip(library)
    scope: dict = {"__name__": "interop_md"}
    exec(compile(example(opening), str(INTEROP), "exec"), scope)
    record = scope["record"]
    assert [(r.method, r.eps_255, r.box) for r in record.results] == [("pgd", 8.0, "white")]
    assert record.n == record.results[0].n == 32
