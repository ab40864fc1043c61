"""`python -m tools.retime_cost`: each budget's step over a PGD step, the event
digits at any frame side, and bad options refused in one line."""

import pytest
import torch
from measured import output

from tools.retime_cost import main


def test_the_retime_bench_times_each_budget_over_a_pgd_step(capsys: pytest.CaptureFixture) -> None:
    record, table = output(main, ["--batch", "4", "--steps", "2", "--repeats", "1"], capsys)
    steps = record["steps"]
    assert list(steps) == ["retime", "retime_l1", "retime_l0", "pgd"]
    assert steps["pgd"]["vs_pgd"] == 1.0 and record["events"] > 0
    for m in steps.values():
        assert m["vs_pgd"] == m["seconds"] / steps["pgd"]["seconds"]
    assert record["settings"] == {
        "model": "digits_net",
        "size": 8,
        "batch": 4,
        "T": 4,
        "steps": 2,
        "repeats": 1,
        "seed": 0,
    }
    assert "retime over PGD, per step" in table


def test_steps_below_one_are_refused_in_one_line(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--steps", "0"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--steps=0 is out of range" in err


def test_the_retime_bench_records_the_event_digits_at_any_frame_side() -> None:
    from sklearn.datasets import load_digits

    from snnattack.data.digits_events import record
    from snnattack.data.events import to_frames
    from tools.retime_cost import event_digits

    small = event_digits(3, 4, 8)  # the event digits' own sensor (16) and digit size (12)
    streams = record(load_digits().images[:3] / 16.0)
    assert torch.equal(small, to_frames(streams, (16, 16, 2), 4, 8, "time", "binary"))
    large = event_digits(2, 4, 32)
    assert large.shape == (2, 4, 2, 32, 32) and set(large.unique().tolist()) == {0.0, 1.0}


def test_a_frame_side_below_four_is_refused_in_one_line(
    capsys: pytest.CaptureFixture,
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--size", "2"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "--size=2 is out of range" in err
