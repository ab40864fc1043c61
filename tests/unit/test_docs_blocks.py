"""The docs' whole examples run as a user pastes them: each block below defines every name it
uses (they used a ``net``, a ``test_loader`` or ``x_val`` that no line made), and the two on
the digits run with the API's entrance recording its arguments instead of attacking (the
attacks themselves: tests/unit/interop/test_interop_docs.py and the API's tests). Seconds."""

from __future__ import annotations

import ast
import builtins
import inspect
from pathlib import Path
from typing import Any

import pytest
import torch
from harness import ROOT

import snnattack

# (page, the opening of one of its ```python blocks)
WHOLE = [
    ("docs/benchmark.md", "import snnattack\nfrom spikingjelly_digits"),
    ("docs/interop.md", "import snnattack\nfrom snnattack.data.digits import"),
    ("docs/interop.md", "import snnattack\nfrom snnattack.data.cifar"),
    ("docs/interop.md", "import snnattack\nimport torch\nfrom models.VGG"),
]


class Called(Exception):
    """The entrance was called: the block ran up to its call (its arguments: ``args[0]``)."""


def block(page: str, opening: str) -> str:
    """The page's one ```python block that starts with ``opening``."""
    parts = (ROOT / page).read_text().split("```python\n")[1:]
    (found,) = [p.split("```")[0] for p in parts if p.startswith(opening)]
    return found


def undefined(code: str) -> set[str]:
    """The names ``code`` reads that it neither binds (assigns, imports, defines) nor are
    Python's builtins."""
    tree = ast.parse(code)
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return read - bound


@pytest.mark.parametrize(("page", "opening"), WHOLE, ids=[f"{p}:{o[17:40]}" for p, o in WHOLE])
def test_a_whole_example_defines_every_name_it_uses(page: str, opening: str) -> None:
    assert undefined(block(page, opening)) == set()


@pytest.mark.parametrize(
    ("page", "entrance"),
    [("docs/benchmark.md", "benchmark.evaluate"), ("docs/interop.md", "evaluate")],
)
def test_a_digits_example_runs_as_pasted_up_to_its_call(
    page: str, entrance: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The block's imports, data and network are made as written (``sj_digits.pt``: the
    weights the example script saves), and its call's arguments are the entrance's."""
    pytest.importorskip("spikingjelly")
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    from spikingjelly_digits import make_net

    monkeypatch.chdir(tmp_path)
    torch.save(make_net().state_dict(), tmp_path / "sj_digits.pt")
    owner, name = (snnattack.benchmark, "evaluate") if "." in entrance else (snnattack, entrance)
    signature = inspect.signature(getattr(owner, name))

    def called(*args: Any, **kwargs: Any) -> None:
        raise Called(signature.bind(*args, **kwargs))

    monkeypatch.setattr(owner, name, called)
    opening = dict(WHOLE[:2])[page]
    with pytest.raises(Called) as call:
        exec(compile(block(page, opening), page, "exec"), {"__name__": "docs_block"})
    assert isinstance(call.value.args[0].arguments["model"], torch.nn.Module)


def test_the_event_data_examples_run_as_pasted_in_turn_up_to_each_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """interop.md's two event blocks (frames, then the raw recordings, the second going on from
    the first) define every name they use and reach ``snnattack.evaluate`` with the network and
    data they describe (``sj_events.pt``: the weights the event example saves)."""
    pytest.importorskip("spikingjelly")
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    from spikingjelly_events import make_net

    monkeypatch.chdir(tmp_path)
    torch.save(make_net().state_dict(), tmp_path / "sj_events.pt")
    frames = block("docs/interop.md", "import snnattack\nfrom snnattack.data.digits_events")
    streams = block("docs/interop.md", "recordings = data.recordings()")
    assert undefined(frames) == set() and undefined(frames + streams) == set()
    calls: list[inspect.BoundArguments] = []
    signature = inspect.signature(snnattack.evaluate)
    monkeypatch.setattr(
        snnattack, "evaluate", lambda *a, **k: calls.append(signature.bind(*a, **k)) or None
    )
    scope: dict[str, Any] = {"__name__": "docs_block"}
    for code in (frames, streams):
        with pytest.raises(AttributeError, match="'NoneType' object has no attribute"):
            exec(compile(code, "docs/interop.md", "exec"), scope)  # its last line reads the record
    (x, y), (recordings, labels) = (call.arguments["data"] for call in calls)
    assert x.shape[1:] == (4, 2, 8, 8) and len(recordings) == len(labels) == len(y)
    assert set(recordings[0].dtype.names) >= {"x", "y", "t", "p"}
    assert len(calls[1].arguments["val_data"][0]) == 200
