"""The embedded event digits: the simulated event camera on a few images, and (slow) the
whole dataset through the datamodule."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from snnattack.data import build_datamodule, digits_events
from snnattack.data.digits_events import (
    SACCADE_US,
    DigitsEventsDataModule,
    record,
    saccade_path,
)
from snnattack.errors import ConfigError, DataError

IMAGES = load_digits().images[:6] / 16.0


def test_the_saccades_trace_n_mnists_triangle_and_close() -> None:
    path = saccade_path(amplitude=0.5, steps=4)
    assert path.shape == (13, 2)
    steps = np.diff(path, axis=0)
    np.testing.assert_allclose(steps[:4], [[0.4375, 0.875]] * 4)  # (3.5, 7) / 2 in 4 steps
    np.testing.assert_allclose(steps[8:], [[-0.875, 0.0]] * 4)
    np.testing.assert_allclose(path[0], path[-1])


def test_recordings_are_seeded_time_sorted_and_balanced_over_the_closed_loop() -> None:
    first = record(IMAGES, event_seed=3)
    again = record(IMAGES, event_seed=3)
    other = record(IMAGES, event_seed=4)
    assert all((a == b).all() for a, b in zip(first, again, strict=True))
    assert any(len(a) != len(b) or (a != b).any() for a, b in zip(first, other, strict=True))
    for events in first:
        assert 300 < len(events) < 2000 and (np.diff(events["t"]) >= 0).all()
        assert events["t"].min() >= 0 and events["t"].max() < 3 * SACCADE_US
    # without noise, the image returns to its start: every pixel's ON and OFF events differ
    # by at most one (one threshold of rounding), and a blank field records nothing
    quiet = record(np.concatenate([IMAGES[:2], np.zeros((1, 8, 8))]), noise_rate=0.0)
    for events in quiet[:2]:
        on = np.zeros((16, 16), int)
        off = np.zeros((16, 16), int)
        np.add.at(on, (events["y"][events["p"] == 1], events["x"][events["p"] == 1]), 1)
        np.add.at(off, (events["y"][events["p"] == 0], events["x"][events["p"] == 0]), 1)
        assert on.sum() > 100 and np.abs(on - off).max() <= 1
    assert len(quiet[2]) == 0


def test_a_long_recording_says_how_far_it_is(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # a large sensor or many steps record for minutes (a 128-pixel sensor: one): it says so
    monkeypatch.setattr(digits_events, "SAY_EVERY_S", 0.0)
    with caplog.at_level("INFO", logger="snnattack.data.digits_events"):
        quiet = record(IMAGES, steps=2)
    said = [r.getMessage() for r in caplog.records if r.name == "snnattack.data.digits_events"]
    head = "recording the 6 digits as events (sensor=16, steps=2): sampling point"
    assert [line.rsplit(",", 1)[0] for line in said] == [f"{head} {k} of 6" for k in range(1, 7)]
    assert all(line.endswith(" s") for line in said)
    assert all((a == b).all() for a, b in zip(quiet, record(IMAGES, steps=2), strict=True))


def test_pixels_the_image_moves_onto_brighten_on_and_those_it_leaves_darken_off() -> None:
    # the first saccade moves the image right and down: ON events lie ahead of the bright
    # square (right, below), OFF events behind it; the third moves it left: the reverse
    image = np.zeros((1, 8, 8))
    image[0, 2:6, 2:6] = 1.0
    events = record(image, noise_rate=0.0, threshold_mismatch=0.0)[0]
    first = events[events["t"] < SACCADE_US]
    on, off = first[first["p"] == 1], first[first["p"] == 0]
    assert on["x"].mean() > off["x"].mean() and on["y"].mean() > off["y"].mean()
    third = events[events["t"] >= 2 * SACCADE_US]
    on, off = third[third["p"] == 1], third[third["p"] == 0]
    assert on["x"].mean() < off["x"].mean()


@pytest.mark.slow
def test_the_datamodule_serves_binary_frames_with_the_digits_splits() -> None:
    dm = build_datamodule("digits_events", 64, 32, 0, frames=4)
    dm.setup()
    digits = build_datamodule("digits", 64, 32, 0)
    digits.setup()
    assert [len(dm.train_set), len(dm.val_set), len(dm.test_set)] == [
        len(digits.train_set),
        len(digits.val_set),
        len(digits.test_set),
    ]
    assert (dm.test_set.tensors[1] == digits.test_set.tensors[1]).all()
    x = dm.test_set.tensors[0]
    assert x.shape[1:] == (4, 2, 8, 8) and set(torch.unique(x).tolist()) == {0.0, 1.0}
    assert 0.2 < x.mean() < 0.7


def test_frames_outnumbering_a_digits_microseconds_by_time_are_refused_naming_the_digit() -> None:
    """Every event digit spans under 300,000 µs: cut into more bins by time, each bin is 0 µs
    long and empty. The digits were framed together, where no recording was checked, so the
    dataset was blank frames without a word."""
    dm = build_datamodule("digits_events", 64, 32, 0, frames=3 * SACCADE_US + 1)
    with pytest.raises(DataError) as refused:
        dm.setup()
    assert str(refused.value).startswith(
        "cannot frame the recording of digit 0 (dataset=digits_events): its "
    )
    assert "fewer than dataset.params.frames=300001" in str(refused.value)


@pytest.mark.parametrize(
    "params,told",
    [
        # numpy's "lam value too large" traceback once the training began
        ({"noise_rate": 1e30}, "dataset.params.noise_rate=1e+30 is out of range; accepted: at "),
        # 10^9 background events: the memory of the machine before a line was said
        ({"noise_rate": 1e4}, "dataset.params.noise_rate=10000.0 is out of range; accepted: a"),
        ({"noise_rate": 500.0, "sensor": 64}, "dataset.params.noise_rate=500.0 is out of ran"),
        # no digit makes an event: recordings of background activity, trained on to exit 0
        ({"threshold": 1e30}, "dataset.params.threshold=1e+30 is out of range; accepted: below"),
        ({"threshold": 2.0, "background": 0.2}, "dataset.params.threshold=2.0 is out of range"),
    ],
    ids=["huge_noise", "noise", "noise_on_a_larger_sensor", "huge_threshold", "threshold"],
)
def test_a_simulated_sensor_that_records_no_digit_or_too_many_events_is_refused(
    params: dict, told: str
) -> None:
    with pytest.raises(ConfigError) as err:
        DigitsEventsDataModule(**params)
    assert str(err.value).startswith(told) and "\n" not in str(err.value)


def test_a_sensors_settings_within_their_bounds_are_taken() -> None:
    DigitsEventsDataModule(noise_rate=20.0, sensor=64, threshold=1.7, background=0.2)
    DigitsEventsDataModule(noise_rate=300.0, threshold=0.01)


def test_a_threshold_that_makes_more_events_than_memory_holds_is_refused_as_they_are_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``dataset.params.threshold=0.001`` made about 5·10^8 events of the 1797 digits: the
    memory filled before a line was said. Here the bound is lowered to the six digits'."""
    monkeypatch.setattr(digits_events, "MOST_EVENTS", 1000)
    assert sum(map(len, record(IMAGES[:1], noise_rate=0.0))) < 1000
    with pytest.raises(ConfigError) as err:
        record(IMAGES, threshold=0.3, noise_rate=0.0)
    assert str(err.value).startswith(
        "dataset.params.threshold=0.3 makes more than 1e+03 events of the 6 digits"
    )
