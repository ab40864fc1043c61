"""The Spike-Retiming attack's keys (conf/method/retime*.yaml): each refused out of range,
before any work, in one line naming the key and the accepted values; its frames checked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from harness import compose

from snnattack.config import validate
from snnattack.errors import ConfigError

EVENTS = "dataset=digits_events"

BAD = [
    ("method=[retime]", "method.retime=retime attacks event frames, but dataset=digits has none"),
    (
        f"{EVENTS} method=[retime] dataset.params.event_encoding=scaled",
        "method.retime=retime changes binary or counts frames, but dataset.params.event_encoding="
        "scaled; accepted: dataset.params.event_encoding=binary, "
        "dataset.params.event_encoding=counts",
    ),
    (f"{EVENTS} method=[retime] method.retime.norm=l2", "method.retime.norm='l2' is unknown"),
    (f"{EVENTS} method=[retime] method.retime.budget=0", "method.retime.budget=0 is out of range"),
    (f"{EVENTS} method=[retime] method.retime.budget=1.5", "method.retime.budget=1.5 is out of"),
    (f"{EVENTS} method=[retime_l1] method.retime_l1.budget=-3", "method.retime_l1.budget=-3 is"),
    (f"{EVENTS} method=[retime_l0] method.retime_l0.steps=0", "method.retime_l0.steps=0 is out"),
    (f"{EVENTS} method=[retime] method.retime.alpha_phi=0", "method.retime.alpha_phi=0 is out"),
    (f"{EVENTS} method=[retime] method.retime.lam_cap=-1", "method.retime.lam_cap=-1 is out of"),
    (
        f"{EVENTS} method=[retime_l1] method.retime_l1.budget_weight=-1",
        "method.retime_l1.budget_weight=-1 is out of range",
    ),
    (f"{EVENTS} method=[retime] method.retime.temperature=0", "method.retime.temperature=0 is"),
    (f"{EVENTS} method=[retime] method.retime.phi_init=20", "method.retime.phi_init=20 is out"),
]


@pytest.mark.parametrize("overrides,message", BAD, ids=[b[0] for b in BAD])
def test_a_bad_retime_setting_is_refused_in_one_line(overrides: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate(compose(*overrides.split()))
    line = str(err.value)
    assert line.startswith(message)
    assert "\n" not in line and "accepted: " in line


@pytest.mark.parametrize("encoding", ["binary", "counts"])
def test_retime_runs_on_binary_and_integer_count_frames(encoding: str) -> None:
    cfg = compose(
        EVENTS, "method=[retime,retime_l1,retime_l0]", f"dataset.params.event_encoding={encoding}"
    )
    validate(cfg)
    assert {m.name for m in cfg.method.values()} == {"retime"}


def test_run_py_refuses_a_retime_budget_with_exit_2_and_writes_nothing(
    tmp_path: Path, cli: Callable
) -> None:
    proc = cli(
        EVENTS, "method=[retime_l0]", "method.retime_l0.budget=0", f"hydra.run.dir={tmp_path}/out"
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: method.retime_l0.budget=0 is out of range; accepted: an integer")
    assert not (tmp_path / "out").exists()
