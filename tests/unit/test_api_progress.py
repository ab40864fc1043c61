"""``snnattack.evaluate`` shows the attacks' and the masking checks' progress as a job does,
and is quiet with ``progress=False``, Lightning's banners dropped as a job drops them; the
record keeps each row's and ensemble component's seconds."""

from __future__ import annotations

import logging

import pytest
from fixtures_digits import trained

import snnattack
from snnattack.runtime.console import LIGHTNING_LOGGERS

# a two-part worst case that runs in a second: STBP PGD, then RGA FGSM on what PGD left
SMALL_ENSEMBLE = (
    "method.ensemble.components=[{attack: stbp, method: pgd, params: {steps: 3}},"
    "{attack: rga, method: fgsm}]"
)


@pytest.fixture(scope="module")
def digits(request: pytest.FixtureRequest):
    return trained(request.getfixturevalue("digits_store"))


def evaluate(digits, progress: bool):
    model, x, y = digits
    return snnattack.evaluate(
        model,
        (x[:32], y[:32]),
        eps=[16],
        methods=["ensemble"],
        overrides=[SMALL_ENSEMBLE, "checks.masking.probe_size=64"],
        progress=progress,
    )


def test_evaluate_shows_the_rows_components_and_checks_and_is_quiet_without_progress(
    digits, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in LIGHTNING_LOGGERS:  # as in a fresh process: the API quiets them for the call
        monkeypatch.setattr(logging.getLogger(name), "filters", [])
    capsys.readouterr()
    record = evaluate(digits, progress=True)
    shown = capsys.readouterr()
    out = shown.out + shown.err
    # off a terminal the bars print their last state: the last row's last component, the
    # last probe
    assert "ensemble white box ε=16/255: fgsm/rga (2/2)" in out
    assert "masking check: unbounded eps (stbp, 20 PGD steps)" in out
    (row,) = record.results
    assert [c["name"] for c in row.components] == ["pgd/stbp", "fgsm/rga"]
    seconds = record.row_seconds["ensemble/white/eps16"]
    assert list(seconds["components"]) == ["pgd/stbp", "fgsm/rga"]
    assert seconds["components"]["pgd/stbp"] > 0 and seconds["total"] > 0
    assert record.masking["probe_size"] == 32  # the data evaluated, not probe_size's 64
    # the banners were dropped for the call only: the user's own Lightning code shows them
    assert not any(logging.getLogger(name).filters for name in LIGHTNING_LOGGERS)

    quiet = evaluate(digits, progress=False)
    shown = capsys.readouterr()
    assert shown.out == "" and shown.err == ""
    assert quiet.results[0].adv_acc == row.adv_acc
