"""Event framing: spikingjelly's split by number, tonic's split by time, and the values
(scaled, binary, counts) at the sensor's resolution and below."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from foreign_modules import spikingjelly_framing
from harness import compose
from tonic.transforms import ToFrame

from snnattack.config.validation import validate
from snnattack.data.events import Framing, TooShort, bin_counts, encode, to_frames
from snnattack.errors import ConfigError

SENSOR = (12, 10, 2)  # width, height, polarities
# spikingjelly's framing by number, without its datasets package (which imports torchaudio)
integrate_events_by_fixed_frames_number = spikingjelly_framing()


def stream(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    events = np.zeros(n, np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]))
    events["x"], events["y"] = rng.integers(0, 12, n), rng.integers(0, 10, n)
    events["t"], events["p"] = np.sort(rng.integers(0, 50_000, n)), rng.integers(0, 2, n)
    return events


def test_split_by_number_is_spikingjellys_and_each_stream_is_framed_alone() -> None:
    streams = [stream(103, 0), stream(7, 1), stream(0, 2), stream(58, 3)]
    counts = bin_counts(streams, SENSOR, 5, "number")
    for events, framed in zip(streams, counts, strict=True):
        if not len(events):
            assert not framed.any()
            continue
        fields = {k: events[k] for k in "txyp"}
        if len(events) >= 5:  # spikingjelly indexes an empty first bin otherwise
            expected = integrate_events_by_fixed_frames_number(fields, "number", 5, 10, 12)
            np.testing.assert_array_equal(framed, expected)
        assert framed.sum() == len(events)
    # 103 events in 5 bins: 20 each, the last 23; 7 events in 5 bins: 1 each, the last 3
    assert counts[0].sum(axis=(1, 2, 3)).tolist() == [20, 20, 20, 20, 23]
    assert counts[1].sum(axis=(1, 2, 3)).tolist() == [1, 1, 1, 1, 3]


def test_split_by_time_is_tonics_to_frame() -> None:
    streams = [stream(103, 0), stream(58, 3)]
    counts = bin_counts(streams, SENSOR, 4, "time")
    for events, framed in zip(streams, counts, strict=True):
        np.testing.assert_array_equal(framed, ToFrame(SENSOR, n_time_bins=4)(events))


def test_binary_and_counts_sum_sensor_pixels_scaled_averages_them() -> None:
    events = np.zeros(5, np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]))
    # four ON events in the sensor's top-left 2x2 block (one twice), one OFF at (11, 9)
    events["x"], events["y"] = [0, 1, 1, 0, 11], [0, 0, 1, 0, 9]
    events["t"], events["p"] = [0, 1, 2, 3, 4], [1, 1, 1, 1, 0]
    counts = to_frames([events], (12, 12, 2), 1, 6, "number", "counts")[0]
    expected = torch.zeros(1, 2, 6, 6)
    expected[0, 1, 0, 0], expected[0, 0, 4, 5] = 4, 1
    torch.testing.assert_close(counts, expected)
    binary = to_frames([events], (12, 12, 2), 1, 6, "number", "binary")[0]
    torch.testing.assert_close(binary, (expected > 0).float())
    scaled = to_frames([events], (12, 12, 2), 1, 6, "number", "scaled", count_scale=2.0)[0]
    torch.testing.assert_close(scaled, expected / 4 / 2.0)  # mean of 2x2 pixels, over 2


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"split_by": "count"}, "dataset.params.split_by='count' is unknown; accepted: time, "),
        ({"event_encoding": "spikes"}, "dataset.params.event_encoding='spikes' is unknown"),
        (  # a misspelt one: the name it is most like
            {"split_by": "tme"},
            "dataset.params.split_by='tme' is unknown (did you mean time?); accepted: time, number",
        ),
        ({"frames": 0}, "dataset.params.frames=0 is out of range"),
        ({"count_scale": 0.0}, "dataset.params.count_scale=0.0 is out of range"),
    ],
)
def test_framing_refuses_a_bad_setting_naming_its_key(options: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)):
        Framing(**{"frames": 4, "size": 8, **options})


@pytest.mark.parametrize(
    ("dataset", "size", "encoding", "sensor"),
    [
        ("digits_events", 32, "binary", "16x16"),
        ("nmnist", 48, "binary", "34x34"),  # the size dvs_vgg fits
        ("dvs_gesture", 129, "counts", "128x128"),
        ("cifar10_dvs", 256, "binary", "128x128"),
    ],
)
def test_frames_of_whole_events_larger_than_the_sensor_are_refused_before_any_work(
    dataset: str, size: int, encoding: str, sensor: str
) -> None:
    """A frame pixel sums the sensor pixels it covers: above the sensor's side some covered
    none, and SDA or a patch inserted events there that no camera records, without a word.
    Resized (scaled) frames of that size pass."""
    method = "retime" if encoding == "counts" else "sda"
    keys = [f"dataset={dataset}", f"method=[{method}]", f"dataset.params.size={size}"]
    with pytest.raises(ConfigError) as refused:
        validate(compose(*keys, f"dataset.params.event_encoding={encoding}"))
    side = sensor.split("x")[0]
    assert str(refused.value) == (
        f"dataset.params.size={size} is above the {sensor} sensor, so "
        f"dataset.params.event_encoding={encoding} frames would hold pixels that no sensor pixel "
        "maps to (events an attack inserts there no camera records); accepted: "
        f"dataset.params.size <= {side}, or dataset.params.event_encoding=scaled"
    )
    Framing(4, size, event_encoding="scaled").check_sensor((int(side), int(side), 2))


def test_cache_key_of_the_former_frames_is_unchanged_and_every_setting_changes_it() -> None:
    assert Framing(10, 48).key == "T10_s48_c8"  # CIFAR10-DVS caches written before
    keys = {
        Framing(10, 48, split_by="number").key,
        Framing(10, 48, event_encoding="binary").key,
        Framing(10, 48, event_encoding="counts").key,
        Framing(10, 48, "number", "binary").key,
        Framing(10, 48).key,
    }
    assert len(keys) == 5


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
@pytest.mark.parametrize("event_encoding", ["scaled", "counts", "binary"])
def test_counts_are_encoded_on_their_own_device(device: str, event_encoding: str) -> None:
    """An attack on raw events (GSAttack) frames its draws on the model's device: a GPU's
    counts are encoded there, as on the CPU (the pooling's indices were made on the CPU, and
    every GSAttack job on a GPU failed)."""
    counts = torch.poisson(torch.full((3, 2, 2, 12, 12), 0.3), torch.Generator().manual_seed(0))
    expected = encode(counts, 4, event_encoding, 8.0)
    frames = encode(counts.to(device), 4, event_encoding, 8.0)
    assert frames.device.type == device
    torch.testing.assert_close(frames.cpu(), expected)


@pytest.mark.parametrize("field,value", [("x", -1), ("y", -2), ("p", -1), ("x", 34), ("p", 2)])
def test_an_event_outside_the_sensor_is_refused_not_wrapped(field: str, value: int) -> None:
    """A negative coordinate or polarity indexed the far edge (numpy's wrap) without a word;
    one past the edge raised an IndexError."""
    events = np.zeros(3, dtype=[("x", int), ("y", int), ("t", int), ("p", int)])
    events["t"] = [0, 10, 20]
    events[field][1] = value
    with pytest.raises(ValueError, match=r"lies outside the sensor \(34 x 34, polarities 0 and 1"):
        bin_counts([events], (34, 34, 2), 2, "time")


@pytest.mark.parametrize("split_by", ["time", "number"])
def test_events_out_of_time_order_are_framed_as_sorted_by_time(split_by: str) -> None:
    """Decreasing timestamps framed by time gave a window <= 0 and no event in any bin (read
    as "it holds no events"), or bins before the first event's, which wrapped to the last."""
    rng = np.random.default_rng(0)
    events = np.zeros(40, dtype=[("x", int), ("y", int), ("t", int), ("p", int)])
    events["x"], events["y"] = rng.integers(0, 34, 40), rng.integers(0, 34, 40)
    events["t"], events["p"] = np.arange(40) * 10, rng.integers(0, 2, 40)
    glitch = events.copy()
    glitch[[5, 6]] = glitch[[6, 5]]  # one event recorded late
    reversed_ = events[::-1].copy()
    expected = bin_counts([events, events], (34, 34, 2), 4, split_by)
    assert expected.sum() > 0
    for shuffled in (glitch, reversed_):
        got = bin_counts([events, shuffled], (34, 34, 2), 4, split_by)
        np.testing.assert_array_equal(got, expected)


def test_a_stream_too_short_to_frame_by_time_is_refused_framed_alone_or_together() -> None:
    """A stream whose events span fewer µs than the frames gets bins 0 µs long: it was refused
    only when framed alone (a cached recording) and became blank frames when framed together
    with others (the event digits, the API's streams). By number it frames."""
    short = stream(5, 1)
    short["t"] = 7  # five events of one timestamp: a span of 0 µs
    framing = Framing(frames=4, size=4)
    for frame in (
        lambda: framing(short, SENSOR),
        lambda: framing.many([stream(50, 0), short], SENSOR),
    ):
        with pytest.raises(TooShort, match="^its 5 events span 0 µs, fewer than dataset.params"):
            frame()
    with pytest.raises(TooShort) as refused:
        framing.many([stream(50, 0), stream(0, 2), short], SENSOR)
    assert refused.value.index == 2  # the caller names the recording by its place
    by_number = Framing(frames=4, size=4, split_by="number").many([stream(50, 0), short], SENSOR)
    assert by_number[1].sum() > 0
