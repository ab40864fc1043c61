"""The embedded event dataset: scikit-learn's digits recorded as N-MNIST was, by a simulated
event camera in front of the image moved in saccades. No download, no file.

Recording (Orchard et al., 2015, *Converting static image datasets to spiking neuromorphic
datasets using saccades*). N-MNIST moved an ATIS sensor in front of a monitor along three
saccades of 100 ms tracing a triangle (the image moves by (+3.5, +7), (+3.5, -7), (-7, 0)
pixels: tonic's ``stabilize``). Here each 8x8 digit (17 grey levels) is upsampled to
``image_size`` pixels (bilinear), centred on a dark ``sensor x sensor`` field and moved along
the same triangle scaled by ``amplitude`` (in sensor pixels; 0.5 gives (1.75, 3.5) per saccade,
the N-MNIST triangle at half scale for a sensor half N-MNIST's 34 pixels), sampled at
``steps`` points per saccade with bilinear (sub-pixel) shifts.

Events (the DVS pixel model, Lichtsteiner et al., 2008). Each pixel keeps the log intensity
``log(background + I)`` at its last event; when the current log intensity differs from it by
a multiple ``k`` of the pixel's contrast threshold, the pixel emits ``k`` ON (brighter) or OFF
(darker) events with timestamps spread evenly over the sampling interval, and moves its
reference by ``k`` thresholds. Thresholds vary between pixels (a normal mismatch of relative
spread ``threshold_mismatch``, as real sensors do), and background activity adds
``noise_rate`` events per pixel and second at random times and polarities. Both are drawn from
``event_seed``, so the dataset is the same on every machine; generating all 1797 recordings
takes about a second at the default 20 steps and 16-pixel sensor (each sampling point about
8 ms on one core, growing with the sensor's area: a 128-pixel sensor takes a minute), so it is
done once per process and never cached on disk; a recording that takes longer says how far it
is every :data:`SAY_EVERY_S` seconds.

Frames follow ``dataset.params`` (:class:`snnattack.data.events.Framing`); the splits are the
digits dataset's (stratified, ``test_fraction``, ``val_fraction``, ``split_seed``), so the
event digits and the image digits share their test images.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch.utils.data import TensorDataset

from snnattack.data.base import SplitDataModule, register
from snnattack.data.digits import CLASSES, IMAGES, check_splits, split_indices
from snnattack.data.events import Framing, TooShort, framed_form
from snnattack.data.recordings import Recordings
from snnattack.errors import ConfigError

log = logging.getLogger(__name__)

# tonic's structured event array, in N-MNIST's field order
EVENT_DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
# N-MNIST's saccades: the image's displacement (x, y) in sensor pixels at the end of each
# 100 ms saccade, from its start (tonic.datasets.nmnist.stabilize)
TRIANGLE = ((0.0, 0.0), (3.5, 7.0), (7.0, 0.0), (0.0, 0.0))
SACCADE_US = 100_000  # one saccade's duration in µs
# the events of all the digits' recordings at most, the digits' and the background's each
# (some GB while they are made)
MOST_EVENTS = 5 * 10**7
# seconds between two progress lines of a long recording (a large sensor, many steps: minutes)
SAY_EVERY_S = 10.0
# the simulated sensor's params (dataset.params), which make the events a model sees
RECORDING = (
    "sensor",
    "image_size",
    "amplitude",
    "steps",
    "threshold",
    "threshold_mismatch",
    "background",
    "noise_rate",
    "event_seed",
)


def saccade_path(amplitude: float, steps: int) -> np.ndarray:
    """The image's offsets ``[3 * steps + 1, 2]`` (x, y) in sensor pixels along the triangle."""
    corners = np.asarray(TRIANGLE) * amplitude
    fractions = np.arange(steps) / steps
    legs = [
        a + fractions[:, None] * (b - a) for a, b in zip(corners[:-1], corners[1:], strict=True)
    ]
    path = np.concatenate([*legs, corners[-1:]])
    return path - path.mean(0)  # centred, so the digit stays in the middle of the field


def shifted(images: torch.Tensor, offset: np.ndarray, sensor: int) -> torch.Tensor:
    """``images`` ``[N, 1, s, s]`` centred on a ``sensor``-pixel field, moved by ``offset``
    (x, y; sub-pixel, bilinear, zero outside the image)."""
    n, _, side, _ = images.shape
    pad = (sensor - side) // 2
    field = F.pad(images, (pad, sensor - side - pad, pad, sensor - side - pad))
    theta = torch.zeros(1, 2, 3, dtype=images.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    # affine_grid's units are half the field's width: a shift of d pixels is -2 d / sensor
    theta[:, 0, 2] = -2.0 * float(offset[0]) / sensor
    theta[:, 1, 2] = -2.0 * float(offset[1]) / sensor
    grid = F.affine_grid(theta, [1, 1, sensor, sensor], align_corners=False).expand(n, -1, -1, -1)
    return F.grid_sample(field, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def record(
    images: np.ndarray,
    sensor: int = 16,
    image_size: int = 12,
    amplitude: float = 0.5,
    steps: int = 20,
    threshold: float = 0.4,
    threshold_mismatch: float = 0.05,
    background: float = 0.2,
    noise_rate: float = 1.0,
    event_seed: int = 0,
) -> list[np.ndarray]:
    """The event recordings (tonic's structured arrays, t in µs) of ``images`` ``[N, h, w]``
    in [0, 1] (module docstring)."""
    rng = np.random.default_rng(event_seed)
    n = len(images)
    x = torch.as_tensor(images, dtype=torch.float64).unsqueeze(1)
    x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    x = x.clamp(0.0, 1.0)
    path = saccade_path(amplitude, steps)
    dt = SACCADE_US / steps
    theta = threshold * (1.0 + threshold_mismatch * rng.standard_normal((sensor, sensor)))
    theta = np.maximum(theta, 1e-3)
    reference = np.log(background + shifted(x, path[0], sensor)[:, 0].numpy())
    parts, made = [], 0  # (sample, t, x, y, p) columns of every step's events; their count
    started = said = time.monotonic()
    for k in range(1, len(path)):
        if time.monotonic() - said >= SAY_EVERY_S:  # long work shows progress
            said = time.monotonic()
            log.info(
                "recording the %d digits as events (sensor=%d, steps=%d): sampling point %d of "
                "%d, %.0f s",
                n,
                sensor,
                steps,
                k,
                len(path) - 1,
                said - started,
            )
        level = np.log(background + shifted(x, path[k], sensor)[:, 0].numpy())
        crossings = np.trunc((level - reference) / theta)
        reference += crossings * theta
        sample, row, col = np.nonzero(crossings)
        count = np.abs(crossings[sample, row, col]).astype(np.int64)
        made += int(count.sum())
        if made > MOST_EVENTS:  # a fine threshold: the memory filled before a line was said
            raise ConfigError(
                f"dataset.params.threshold={threshold!r} makes more than {MOST_EVENTS:.0e} "
                f"events of the {n} digits on the simulated sensor (sensor={sensor}, "
                f"image_size={image_size}, steps={steps}), more than the memory holds while "
                "they are made; accepted: a larger dataset.params.threshold (0.4, the "
                "default, makes about 1.4e+06)"
            )
        polarity = (crossings[sample, row, col] > 0).astype(np.int64)
        # the j-th of c events of a step at (j + 1) / (c + 1) of its interval
        repeat = np.repeat(np.arange(len(count)), count)
        first = np.cumsum(count) - count
        j = np.arange(len(repeat)) - first[repeat]
        t = (k - 1) * dt + (j + 1) / (count[repeat] + 1) * dt
        parts.append((sample[repeat], t, col[repeat], row[repeat], polarity[repeat]))
    duration = (len(path) - 1) * dt
    n_noise = rng.poisson(noise_rate * duration * 1e-6 * sensor * sensor * n)
    noise = (rng.integers(0, n, n_noise), rng.uniform(0, duration, n_noise))  # sample, t
    parts.append((*noise, *(rng.integers(0, high, n_noise) for high in (sensor, sensor, 2))))
    sample, t, col, row, polarity = (np.concatenate(c) for c in zip(*parts, strict=True))
    t = np.floor(t).astype(np.int64)
    order = np.argsort(sample * SACCADE_US * 4 + t, kind="stable")  # by sample, then time
    events = np.empty(len(order), EVENT_DTYPE)
    for field, values in zip("xytp", (col, row, t, polarity), strict=True):
        events[field] = values[order]
    return np.split(events, np.cumsum(np.bincount(sample, minlength=n))[:-1])


@lru_cache(maxsize=4)
def _digit_recordings(recording: tuple) -> tuple[list[np.ndarray], torch.Tensor]:
    """Every digit's recording and label, once per process."""
    digits = load_digits()
    return record(digits.images / 16.0, **dict(recording)), torch.tensor(digits.target)


@lru_cache(maxsize=4)
def _digit_frames(framing: Framing, recording: tuple) -> tuple[torch.Tensor, torch.Tensor]:
    """Every digit's frames ``[1797, frames, 2, size, size]`` and labels, once per process; a
    recording too short to frame by time is refused naming the digit."""
    recordings, labels = _digit_recordings(recording)
    try:
        return framing.many(recordings, _sensor_size(recording)), labels
    except TooShort as error:
        raise error.named(f"the recording of digit {error.index} (dataset=digits_events)") from None


def _sensor_size(recording: tuple) -> tuple[int, int, int]:
    sensor = dict(recording)["sensor"]
    return (sensor, sensor, 2)


def _check_sensor(sensor: int, threshold: float, background: float, noise_rate: float) -> None:
    """Refuses a simulated sensor whose recordings hold no digit's event (a threshold at or
    above the largest log-intensity change a digit makes, ``log(1 + 1 / background)``: a pixel
    of that threshold never fires, and the recordings are background activity alone) or more
    than :data:`MOST_EVENTS` background events (numpy's sampler refused 10^30; 10^4 per pixel
    and second filled the memory before a line was said)."""
    change = float(np.log1p(1.0 / background))
    if threshold >= change:
        raise ConfigError(
            f"dataset.params.threshold={threshold!r} is out of range; accepted: below "
            f"log(1 + 1/dataset.params.background) = {change:.3g}, the largest log-intensity "
            "change a digit makes (a pixel of that threshold never fires)"
        )
    most = MOST_EVENTS / (3 * SACCADE_US * 1e-6 * sensor**2 * IMAGES)
    if noise_rate > most:
        raise ConfigError(
            f"dataset.params.noise_rate={noise_rate!r} is out of range; accepted: at most "
            f"{most:.4g} events per pixel and second for dataset.params.sensor={sensor} "
            f"({MOST_EVENTS:.0e} background events over the {IMAGES} recordings)"
        )


@register("digits_events", order=12)
class DigitsEventsDataModule(SplitDataModule):
    """Event digits, frames ``[frames, 2, size, size]``, with the digits' fixed splits."""

    TEST_SPLIT = ("test_fraction", "split_seed")
    FACTS = MappingProxyType({"num_classes": CLASSES, "in_channels": 2})

    @staticmethod
    def input_form(params: Mapping[str, object]) -> dict[str, object]:
        """The framing's params and the simulated sensor's, which make the events."""
        return {**framed_form(params), **{k: params.get(k) for k in RECORDING}}

    def __init__(
        self,
        batch_size: int = 64,
        eval_batch_size: int = 32,
        seed: int = 0,
        frames: int = 4,
        size: int = 8,
        split_by: str = "time",
        event_encoding: str = "binary",
        count_scale: float = 4.0,
        sensor: int = 16,
        image_size: int = 12,
        amplitude: float = 0.5,
        steps: int = 20,
        threshold: float = 0.4,
        threshold_mismatch: float = 0.05,
        background: float = 0.2,
        noise_rate: float = 1.0,
        event_seed: int = 0,
        test_fraction: float = 0.25,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed, num_workers)
        check_splits(test_fraction, val_fraction)
        self.framing = Framing(frames, size, split_by, event_encoding, count_scale)
        self.framing.check_sensor((sensor, sensor, 2))
        if not image_size <= sensor:
            raise ConfigError(
                f"dataset.params.image_size={image_size} is out of range; accepted: at most "
                f"dataset.params.sensor={sensor}"
            )
        _check_sensor(sensor, threshold, background, noise_rate)
        self.recording = (
            ("sensor", sensor),
            ("image_size", image_size),
            ("amplitude", amplitude),
            ("steps", steps),
            ("threshold", threshold),
            ("threshold_mismatch", threshold_mismatch),
            ("background", background),
            ("noise_rate", noise_rate),
            ("event_seed", event_seed),
        )
        self.test_fraction, self.val_fraction = test_fraction, val_fraction
        self.split_seed = split_seed

    def setup(self, stage: str | None = None) -> None:
        if hasattr(self, "train_set"):
            return
        x, y = _digit_frames(self.framing, self.recording)
        self.splits = split_indices(y, self.test_fraction, self.val_fraction, self.split_seed)
        self.train_set, self.val_set, self.test_set = (
            TensorDataset(x[i], y[i]) for i in self.splits
        )

    @property
    def sensor_size(self) -> tuple[int, int, int]:
        """The simulated sensor's (width, height, polarities)."""
        return _sensor_size(self.recording)

    def recordings(self) -> Recordings:
        """The recordings of the test and training splits (an attack on raw events reads
        them: :mod:`snnattack.data.recordings`)."""
        self.setup()
        streams, labels = _digit_recordings(self.recording)
        train, _, test = self.splits
        return Recordings(
            self.sensor_size,
            self.framing,
            lambda i: streams[test[i]],
            lambda i: streams[train[i]],
            tuple(labels[train].tolist()),
        )
