"""The Spike-Retiming attack's keys (conf/method/retime*.yaml): each refused out of range,
before any work, in one line naming the key and the accepted values; its frames checked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from harness import compose

from snnattack.config.validation import RULES, validate
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
    (f"{EVENTS} method=[retime_l0] method.retime_l0.budget=0", "method.retime_l0.budget=0 is out"),
    (
        f"{EVENTS} method=[retime] method.retime.budget=10 T=4",
        "method.retime.budget=10 is out of range for T=4 (method norm=linf moves a spike by at "
        "most budget bins within the T bins); accepted: 1 <= method.retime.budget <= 3",
    ),
    (
        f"{EVENTS} method=[retime_l1] method.retime_l1.norm=linf method.retime_l1.budget=4 T=4",
        "method.retime_l1.budget=4 is out of range for T=4",
    ),
]


@pytest.mark.parametrize("overrides,message", BAD, ids=[b[0] for b in BAD])
def test_a_bad_retime_setting_is_refused_in_one_line(overrides: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate(compose(*overrides.split()))
    line = str(err.value)
    assert line.startswith(message)
    assert "\n" not in line and "accepted: " in line


@pytest.mark.parametrize(
    "key,value,problem,accepted",
    [
        ("budget", 1.5, "is not an integer", "an integer >= 1"),
        ("budget", -3, "is out of range", "an integer >= 1"),
        ("alpha_phi", 0, "is out of range", "a finite number > 0"),
        ("lam_cap", -1, "is out of range", "a finite number >= 0"),
        ("budget_weight", -1, "is out of range", "a finite number >= 0"),
        ("temperature", 0, "is out of range", "a finite number > 0"),
        ("phi_init", 20, "is out of range", "-10 <= method.retime.phi_init <= 10"),
    ],
)
def test_each_retime_key_has_its_range(key: str, value: float, problem: str, accepted: str) -> None:
    """The rules ``validate`` applies to every ``method.*`` node (checked end to end above)."""
    with pytest.raises(ConfigError) as err:
        RULES[f"method.*.{key}"].check(f"method.retime.{key}", value)
    line = str(err.value)
    assert line.startswith(f"method.retime.{key}={value} {problem}; accepted: ")
    assert accepted in line


def test_b1_and_b0_budgets_above_what_a_sample_holds_are_legal_caps() -> None:
    """B1 and B0 bound a sample's moves; one above its spikes' count is never reached."""
    validate(compose(EVENTS, "method=[retime_l1,retime_l0]", "method.retime_l1.budget=99999"))


def test_retime_runs_on_integer_count_frames() -> None:
    cfg = compose(
        EVENTS, "method=[retime,retime_l1,retime_l0]", "dataset.params.event_encoding=counts"
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


def test_run_py_refuses_a_linf_budget_of_t_bins_with_exit_2_and_writes_nothing(
    tmp_path: Path, cli: Callable
) -> None:
    out, store = tmp_path / "out", tmp_path / "models"
    proc = cli(
        EVENTS, "method=[retime]", "method.retime.budget=10", "T=4",
        f"hydra.run.dir={out}", f"store.dir={store}",
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: method.retime.budget=10 is out of range for T=4")
    assert line.endswith("accepted: 1 <= method.retime.budget <= 3")
    assert not out.exists() and not store.exists()
