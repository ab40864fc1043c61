"""Event recordings handed to the Python API (``data=(streams, labels)``): checked, framed as
the job's event dataset frames its recordings, and kept for the attacks on raw events.

A stream is one recording as tonic gives it: a NumPy structured array with the fields ``x``,
``y``, ``t`` (time, ascending) and ``p`` (polarity, 0 = OFF, 1 = ON), from a sensor of the
dataset's size (``dataset=digits_events``: ``dataset.params.sensor``; N-MNIST 34x34;
DVS-Gesture and CIFAR10-DVS 128x128). The frames are :class:`~snnattack.data.events.Framing`
of ``dataset.params``; an attack on raw events (``gsattack``) changes the streams themselves
(:mod:`snnattack.data.recordings`), drawing insertion candidates from ``val_data``'s streams.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from tonic.datasets import CIFAR10DVS, NMNIST, DVSGesture

from snnattack.data.events import Framing, TooShort
from snnattack.data.recordings import Recordings
from snnattack.errors import UserError

FIELDS = ("x", "y", "t", "p")
TITLES = [(f,) for f in FIELDS]  # a field titled one of them, as numpy's dtype.fields hold it
STREAMS = (
    "a list of event streams (tonic's structured arrays with fields x, y, t, p) and their labels"
)
# each event dataset's sensor, for a stream outside the job's: which dataset= it may be of
SENSORS = "; ".join(
    [
        f"dataset={name} {tonic.sensor_size[0]}x{tonic.sensor_size[1]}"
        for name, tonic in (
            ("nmnist", NMNIST),
            ("cifar10_dvs", CIFAR10DVS),
            ("dvs_gesture", DVSGesture),
        )
    ]
    + ["dataset=digits_events dataset.params.sensor"]
)


def is_streams(data: Any) -> bool:
    """Whether ``data`` is ``(streams, labels)``: a pair whose first item is a list of NumPy
    arrays (else it is images or frames)."""
    return (
        isinstance(data, tuple | list)
        and len(data) == 2
        and isinstance(data[0], list | tuple)
        and len(data[0]) > 0
        and all(isinstance(s, np.ndarray) for s in data[0])
    )


def _check_stream(stream: np.ndarray, name: str, sensor_size: tuple[int, int, int]) -> None:
    """Refuses a stream whose fields are missing, whose timestamps are not finite and
    ascending, whose coordinates are not whole pixels of the sensor, or whose polarities are
    not 0 and 1 (an empty stream passes: a recording without events)."""
    # a field's title names it too: tonic.io.read_aedat4's polarity is aedat's on, titled p
    missing = [f for f in FIELDS if stream.dtype.fields is None or f not in stream.dtype.fields]
    if missing:
        raise UserError(
            f"{name} has no field {', '.join(missing)}; accepted: {STREAMS} (tonic's "
            "dataset items, e.g. events, label = tonic.datasets.NMNIST(...)[i])"
        )
    if not len(stream):
        return
    for field in FIELDS:
        kind = stream[field].dtype.kind
        allowed = "iufb" if field == "p" else "iuf"  # tonic's DVSGesture, CIFAR10-DVS: bool p
        if kind not in allowed or (kind == "f" and not np.isfinite(stream[field]).all()):
            raise UserError(
                f"{name} has {field} of dtype {stream[field].dtype}"
                + (" holding NaN or infinite values" if kind == "f" else "")
                + f"; accepted: finite numbers (tonic's integer {field}"
                + (", or bool)" if field == "p" else ")")
            )
    width, height, _ = sensor_size
    for field, size in (("x", width), ("y", height)):
        values = stream[field]
        if (values != np.floor(values)).any():
            raise UserError(
                f"{name} has fractional {field} coordinates (such as "
                f"{values[values != np.floor(values)][0]}); accepted: whole pixels, integer "
                f"{field} in [0, {size - 1}]"
            )
        low, high = int(values.min()), int(values.max())
        if low < 0 or high >= size:
            raise UserError(
                f"{name} has {field} in [{low}, {high}], outside the {width}x{height} "
                f"sensor of the job's dataset; accepted: {field} in [0, {size - 1}] (name "
                f"the recordings' own dataset in overrides, of their sensor: {SENSORS})"
            )
    if not set(np.unique(stream["p"]).tolist()) <= {0, 1}:
        raise UserError(f"{name} has polarities other than 0 and 1; accepted: p in {{0, 1}}")
    if (stream["t"][1:] < stream["t"][:-1]).any():  # np.diff wraps around an unsigned t
        raise UserError(
            f"{name} is not sorted by time; accepted: t ascending (a structured array's "
            "np.sort(stream, order='t'): a plain np.sort orders by its first field, x)"
        )


def _canonical(stream: np.ndarray) -> np.ndarray:
    """``stream`` with a bool polarity (tonic's DVSGesture, CIFAR10-DVS) as integers 0 and 1,
    and each field titled x, y, t or p (``tonic.io.read_aedat4``'s ``on``) by that name: the
    form the attacks on raw events read and write."""
    fields = stream.dtype.fields
    named = {n: fields[n][2] if fields[n][2:] in TITLES else n for n in stream.dtype.names}
    if stream["p"].dtype.kind != "b" and all(n == title for n, title in named.items()):
        return stream
    kinds = {title: np.int64 if title == "p" else fields[n][0] for n, title in named.items()}
    plain = np.empty(len(stream), dtype=list(kinds.items()))
    for n, title in named.items():
        plain[title] = stream[n]
    return plain


def _framed(
    data: tuple, argument: str, sensor_size: tuple[int, int, int], framing: Framing
) -> tuple[list[np.ndarray], torch.Tensor, torch.Tensor]:
    """``data``'s streams, each checked (:func:`_check_stream`) and with integer polarities,
    their labels (integers, one per stream) and their frames. Not every stream may be empty
    (nothing to attack: refused, never reported as robust); one too short to frame by time is
    refused as ``argument[0][i]``."""
    streams, labels = data[0], data[1]
    for i, stream in enumerate(streams):
        _check_stream(stream, f"{argument}[0][{i}]", sensor_size)
    if not any(len(stream) for stream in streams):
        raise UserError(
            f"{argument}[0] holds {len(streams)} streams without any event; accepted: "
            f"{STREAMS}, at least one stream holding events"
        )
    values = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    if values.ndim != 1 or len(values) != len(streams) or values.dtype.kind not in "iu":
        raise UserError(
            f"{argument}[1] has shape {list(values.shape)} ({values.dtype}) for "
            f"{len(streams)} streams; accepted: {len(streams)} integer labels"
        )
    streams = [_canonical(stream) for stream in streams]
    try:
        return streams, torch.as_tensor(values).long(), framing.many(streams, sensor_size)
    except TooShort as error:
        raise error.named(f"{argument}[0][{error.index}]") from None


def framed_recordings(
    data: tuple,
    val_data: tuple | None,
    sensor_size: tuple[int, int, int],
    framing: Framing,
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple | None, Recordings]:
    """``data`` and ``val_data`` (``(streams, labels)``; ``val_data`` may be frames or None)
    as frames and labels, and the recordings an attack on raw events reads (the insertion
    candidates from ``val_data``'s streams, none without them)."""
    streams, labels, frames = _framed(data, "data", sensor_size, framing)
    donors: list[np.ndarray] = []
    donor_labels: tuple[int, ...] = ()
    if val_data is not None and is_streams(val_data):
        donors, held_out, held_frames = _framed(val_data, "val_data", sensor_size, framing)
        donor_labels = tuple(held_out.tolist())
        val_data = (held_frames, held_out)
    recordings = Recordings(
        sensor_size, framing, streams.__getitem__, donors.__getitem__, donor_labels
    )
    return (frames, labels), val_data, recordings
