"""Event streams to the frames a network and an event attack read: the framing and the values.

An event stream is tonic's structured array (fields ``x``, ``y``, ``t``, ``p``; polarity 0 =
OFF, 1 = ON). :func:`to_frames` cuts it into ``frames`` bins and counts the events of each
pixel, polarity and bin, then turns the counts into the values of ``event_encoding``:

Framing (``split_by``, the name of spikingjelly's option):

- ``time``: ``frames`` bins of equal duration (tonic's ``ToFrame(n_time_bins=frames)``; the
  framing of this project's CIFAR10-DVS frames before event encodings existed);
- ``number``: ``frames`` bins of an equal number of events, spikingjelly's
  ``split_by='number'`` (``integrate_events_by_fixed_frames_number``): ``N // frames``
  events a bin in their order, the last bin taking the remainder. Every event-attack
  reference (SDA, Spike-Retiming, AE-Patch) frames this way; a bin then spans a short time
  where the scene moves fast, so the same stream gives other frames than ``time``.

Values (``event_encoding``), what an attack may change:

- ``scaled``: ``min(c, count_scale) / count_scale`` of the *area-resized* count ``c`` (the
  mean count of the sensor pixels an output pixel covers): values in [0, 1], so the L∞
  attacks' [0, 1] box is the valid range (``snnattack/data/dvs.py`` explains the choice);
- ``binary``: 1 where the output pixel received at least one event of that polarity in the
  bin, else 0: the threat model of SDA and SpikeFool (a bit flip inserts or deletes an event);
- ``counts``: the integer event count of the output pixel (the sum over the sensor pixels it
  covers), unsaturated: the integer grid of Spike-Retiming.

For ``binary`` and ``counts`` an output pixel of a ``size x size`` frame covers the sensor
pixels ``x`` with ``x * size // width`` equal to it (a sensor of lower resolution records
what they record together), so the values stay whole events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from snnattack.errors import ConfigError, DataError
from snnattack.values import one_of

SPLITS = ("time", "number")
EVENT_ENCODINGS = ("scaled", "binary", "counts")
# encodings whose values are whole events: the threat models of the event attacks
DISCRETE_ENCODINGS = ("binary", "counts")


def bin_counts(
    streams: list[np.ndarray], sensor_size: tuple[int, int, int], frames: int, split_by: str
) -> np.ndarray:
    """Event counts ``[len(streams), frames, 2, H, W]`` of ``streams`` at the sensor's
    resolution, each stream framed on its own, in time order: a recording whose timestamps
    go back somewhere (a sensor's or a USB transfer's glitch, which the AEDAT formats keep) is
    framed as its events sorted by time, as tonic's ``TimeJitter(sort_timestamps=True)``
    leaves them.

    ``time``: tonic's ``ToFrame(n_time_bins=frames)``: windows of ``(t_last - t_first) //
    frames`` from the first event; events past the last whole window (the last event, often)
    are dropped, as tonic drops them. ``number``: spikingjelly's rule (module docstring).
    """
    if split_by not in SPLITS:
        raise ValueError(f"split_by must be one of {SPLITS}, got {split_by!r}")
    width, height, _ = sensor_size
    lengths = np.array([len(s) for s in streams], dtype=np.int64)
    counts = np.zeros((len(streams), frames, 2, height, width), dtype=np.float32)
    if not lengths.sum():
        return counts
    x, y, t, p = (np.concatenate([np.asarray(s[f]) for s in streams]) for f in "xytp")
    outside = (x < 0) | (x >= width) | (y < 0) | (y >= height) | (p < 0) | (p > 1)
    if outside.any():  # a negative index would wrap to the far edge (or the other polarity)
        i = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"an event at x={x[i]}, y={y[i]} of polarity {p[i]} lies outside the sensor "
            f"({width} x {height}, polarities 0 and 1)"
        )
    live = np.flatnonzero(lengths)  # the streams holding events, in order
    sample = np.repeat(live, lengths[live])
    if ((t[1:] < t[:-1]) & (sample[1:] == sample[:-1])).any():
        # by time the window was <= 0 (no event in any bin) or events before the first one's
        # time wrapped to the last bins; by number the bins were out of time
        order = np.lexsort((t, sample))  # stable: events of one time keep their order
        x, y, t, p = x[order], y[order], t[order], p[order]
    first = np.cumsum(lengths) - lengths
    rank = np.arange(len(t)) - first[sample]
    if split_by == "number":
        # bin i holds events [i * per_bin, (i + 1) * per_bin), the last bin the rest (and
        # every event of a stream holding fewer events than bins)
        per_bin = (lengths // frames)[sample]
        t_bin = np.where(per_bin > 0, rank // np.maximum(per_bin, 1), frames - 1)
        t_bin = np.minimum(t_bin, frames - 1)
        keep = np.ones(len(t), dtype=bool)
    else:
        start = t[first[sample]]  # the first time of each event's stream, and its window
        w = (t[first[sample] + lengths[sample] - 1] - start) // frames
        t_bin = np.where(w > 0, (t - start) // np.where(w > 0, w, 1), frames)
        t_bin = t_bin.astype(np.int64)
        keep = t_bin < frames
    index = (sample, t_bin, p.astype(np.int64), y.astype(np.int64), x.astype(np.int64))
    np.add.at(counts, tuple(i[keep] for i in index), 1.0)
    return counts


def to_frames(
    streams: list[np.ndarray],
    sensor_size: tuple[int, int, int],
    frames: int,
    size: int,
    split_by: str = "time",
    event_encoding: str = "scaled",
    count_scale: float = 8.0,
) -> torch.Tensor:
    """Event ``streams`` as ``[len(streams), frames, 2, size, size]`` float frames, each
    stream framed on its own (module docstring)."""
    if event_encoding not in EVENT_ENCODINGS:
        raise ValueError(f"event_encoding must be one of {EVENT_ENCODINGS}, got {event_encoding!r}")
    counts = torch.from_numpy(bin_counts(streams, sensor_size, frames, split_by))
    return encode(counts, size, event_encoding, count_scale)


def encode(
    counts: torch.Tensor, size: int, event_encoding: str, count_scale: float
) -> torch.Tensor:
    """Counts ``[..., 2, H, W]`` at the sensor's resolution as ``[..., 2, size, size]`` values of
    ``event_encoding`` (module docstring). Differentiable in the counts (an attack on raw
    events frames its draws here): binary frames pass the gradient of the counts straight
    through."""
    if event_encoding == "scaled":
        lead = counts.shape[:-3]
        resized = F.interpolate(counts.flatten(0, -4), size=(size, size), mode="area")
        resized = resized.reshape(*lead, *resized.shape[1:])
        return (resized / count_scale).clamp_(max=1.0)
    # the counts summed into size x size cells: sensor pixel x into cell x * size // width
    height, width = counts.shape[-2:]
    cols = torch.arange(width, device=counts.device) * size // width
    rows = torch.arange(height, device=counts.device) * size // height
    pooled = counts.new_zeros(*counts.shape[:-1], size).index_add_(-1, cols, counts)
    pooled = pooled.new_zeros(*counts.shape[:-2], size, size).index_add_(-2, rows, pooled)
    if event_encoding == "counts":
        return pooled
    binary = (pooled > 0).to(pooled.dtype)
    return binary + (pooled - pooled.detach()) if pooled.requires_grad else binary


class TooShort(ValueError):
    """A recording whose events span fewer microseconds than the frames it is cut into by
    time: its bins, ``(t_last - t_first) // frames`` long, are 0 and hold no event, so its
    frames would be blank (one event, or events of one timestamp, among them). ``index`` is
    its place among the streams framed together; the caller names the recording
    (:meth:`named`)."""

    def __init__(self, events: int, span: int, frames: int, index: int = 0) -> None:
        super().__init__(
            f"its {events} {'events span' if events != 1 else 'event spans'} {span} µs, fewer than "
            f"dataset.params.frames={frames}, so its bins of equal duration "
            f"(dataset.params.split_by=time) are 0 µs long and hold none"
        )
        self.index = index

    def named(self, name: object) -> DataError:
        """The refusal of the recording ``name`` (its file, or where the user passed it)."""
        return DataError(
            f"cannot frame {name}: {self}; accepted: dataset.params.split_by=number (bins of "
            "an equal number of events), or a dataset without the recording"
        )


def framed_form(params: Mapping[str, object]) -> dict[str, object]:
    """The framing ``params`` that decide a frame's values (``count_scale``: the unit of
    ``scaled`` frames only; ``frames`` is the model's T): an event datamodule's
    :meth:`~snnattack.data.base.SplitDataModule.input_form`."""
    form = {k: params.get(k) for k in ("size", "split_by", "event_encoding")}
    if params.get("event_encoding") == "scaled":
        form["count_scale"] = params.get("count_scale")
    return form


@dataclass(frozen=True)
class Framing:
    """How a dataset's event streams become frames: its ``dataset.params`` of the same names.

    Checked when made, so a datamodule refuses a bad value before reading any file.
    """

    frames: int
    size: int
    split_by: str = "time"
    event_encoding: str = "scaled"
    count_scale: float = 8.0

    def __post_init__(self) -> None:
        for key in ("frames", "size"):
            value = getattr(self, key)
            if int(value) != value or value < 1:
                raise ConfigError(
                    f"dataset.params.{key}={value!r} is out of range; accepted: an integer >= 1"
                )
        for key, accepted in (("split_by", SPLITS), ("event_encoding", EVENT_ENCODINGS)):
            one_of(*accepted).check(f"dataset.params.{key}", getattr(self, key))
        if not self.count_scale > 0:
            raise ConfigError(
                f"dataset.params.count_scale={self.count_scale!r} is out of range; accepted: > 0"
            )

    def check_sensor(self, sensor_size: tuple[int, int, int]) -> None:
        """Refuses frames of whole events (``binary``, ``counts``) larger than the sensor
        ``sensor_size`` (width, height, polarities): a frame pixel sums the sensor pixels it
        covers, so some would cover none, never hold an event, and an event attack flipping
        one would insert an event that no camera records. ``scaled`` frames are resized."""
        side = min(sensor_size[:2])
        if self.event_encoding in DISCRETE_ENCODINGS and self.size > side:
            raise ConfigError(
                f"dataset.params.size={self.size} is above the {sensor_size[0]}x"
                f"{sensor_size[1]} sensor, so dataset.params.event_encoding="
                f"{self.event_encoding} frames would hold pixels that no sensor pixel maps to "
                f"(events an attack inserts there no camera records); accepted: "
                f"dataset.params.size <= {side}, or dataset.params.event_encoding=scaled"
            )

    def __call__(self, events: np.ndarray, sensor_size: tuple[int, int, int]) -> torch.Tensor:
        """``events`` of a ``sensor_size`` sensor as ``[frames, 2, size, size]`` (:meth:`many`)."""
        return self.many([events], sensor_size)[0]

    def many(self, streams: list[np.ndarray], sensor_size: tuple[int, int, int]) -> torch.Tensor:
        """Event ``streams`` as ``[len(streams), frames, 2, size, size]``, framed together. A
        stream too short to frame by time is refused (:class:`TooShort`, its index among
        ``streams``) on every path, never framed as blank frames; an empty stream passes (its
        caller refuses or keeps a recording without events)."""
        if self.split_by == "time":
            for index, events in enumerate(streams):
                span = int(events["t"].max()) - int(events["t"].min()) if len(events) else None
                if span is not None and span < self.frames:
                    raise TooShort(len(events), span, self.frames, index)
        return to_frames(streams, sensor_size, **asdict(self))  # the same names

    @property
    def key(self) -> str:
        """The part of a frame cache's folder name that every setting here changes (the
        ``scaled`` frames by time keep the name they had before the other settings existed)."""
        key = f"T{self.frames}_s{self.size}"
        scaled = self.event_encoding == "scaled"
        key += f"_c{self.count_scale:g}" if scaled else f"_{self.event_encoding}"
        return key if self.split_by == "time" else f"{key}_by{self.split_by}"
