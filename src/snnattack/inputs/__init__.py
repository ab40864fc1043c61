"""The Python API's input gate: what a user hands to the Python API (``snnattack.evaluate``,
``attack``, ``gradient_mode``, ``snnattack.benchmark.evaluate``) and to ``model=external``,
checked once before any attack: one :class:`UserError` line naming the argument and what is
accepted, instead of an error from deep inside torch or a silent wrong result (docs/errors.md,
"The Python API's inputs"). It lies below the foreign networks' adapters
(:mod:`snnattack.interop`), whose ``model=external`` check runs :func:`check_model`, and
imports none of them.

- Data: images a floating-point tensor ``[B, ...]``, finite and in [0, 1] (under an event
  dataset, :class:`Samples`: event frames ``[B, T, C, H, W]`` of the model's T, finite,
  non-negative, of the event encoding's values: binary {0, 1}, integer counts, or scaled
  counts in [0, 1]; images for an event dataset and frames for an image one are refused);
  labels class indices (``torch.long``) of shape ``[B]`` in range of the model's classes;
  as many labels as images; at least one image; a DataLoader's batches ``(images, labels)`` pairs.
- Models (:func:`check_model`): weights real (not on the meta device) and finite; one
  image's forward runs (its error named in one line), returns one tensor of logits
  ``[1, K]`` (a tuple such as ``(out, spikes)`` is refused, not guessed at) that depends
  differentiably on the image (a custom neuron that cuts the graph is refused here, never
  torch's ``does not require grad`` inside an attack).
- Arguments: ``overrides`` a list of strings (one ``gradient_mode`` block per model at a
  time is the gradient modes' own rule: :func:`snnattack.gradients.sole_mode`).

The checks read the data once (a DataLoader is iterated once more than the attack does) and
run one forward of one image per model, in eval mode with no state kept: the user's model is
unchanged. A batch's values (finite, lowest and highest, an event encoding's flags) are read
to the host in one sync and its labels' range in another, each a GPU stall; a repeated
``attack`` on an unchanged model reads both with its kept preparation's check, in one
(:func:`check_attack`).
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import torch
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader, Dataset, TensorDataset

from snnattack.errors import UserError, class_name
from snnattack.models.base import SpikingNet
from snnattack.records.checkpoints import require_finite, require_loaded
from snnattack.snn.neurons import LIF
from snnattack.snn.scaled import ScaledNeuron
from snnattack.snn.stepwise import StepLIF
from snnattack.values import as_python

log = logging.getLogger(__name__)

CHECK_BATCH = 256  # images per batch when a Dataset given without a DataLoader is checked
IMAGES = "floating-point images [B, C, H, W] in [0, 1]"
DATA = (
    "a DataLoader or Dataset of (images in [0, 1], labels), a list of (image tensor, label) "
    "pairs or of (images, labels) batches, or a pair (x, y) of tensors of the same length >= 1"
)


def state_read(err: BaseException) -> str | None:
    """The attribute of a neuron the adapter replaced that a forward read, which ``err``
    raised (a membrane read-out such as spikingjelly's ``node.v_seq``); None for any other
    error."""
    neuron = getattr(err, "obj", None) if isinstance(err, AttributeError) else None
    return err.name if isinstance(neuron, LIF | ScaledNeuron | StepLIF) else None


def first_line(err: BaseException) -> str:
    """``err`` as ``Type: its first line``."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {' '.join(lines[0].split())}" if lines else type(err).__name__


class Items(Dataset):
    """A list (or tuple) of ``(image, label)`` items as a Dataset: what a DataLoader reads of
    the list itself, its items collated into batches as a DataLoader's are (and checked as
    its batches are)."""

    def __init__(self, items: Sequence[Sequence[Any]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Sequence[Any]:
        return self.items[index]


def is_items(data: Any) -> bool:
    """Whether ``data`` is a list (or tuple) of ``(image tensor, label)`` items, which torch's
    DataLoader takes as a data set (a list of two is not then an ``(x, y)`` pair; event
    streams, NumPy arrays, are not images: :mod:`snnattack.interop.streams`)."""
    return (
        isinstance(data, tuple | list)
        and len(data) > 0
        and all(
            isinstance(item, tuple | list) and len(item) == 2 and torch.is_tensor(item[0])
            for item in data
        )
    )


def is_batches(data: Any) -> bool:
    """Whether ``data`` is a list (or tuple) of ``(images, labels)`` batches, as a loop over a
    DataLoader collects them: items whose labels are 1-d tensors, one per image, some of more
    than one (batches of one alone are items of an image ``[1, ...]``, as a list of items)."""
    return (
        is_items(data)
        and all(
            torch.is_tensor(y) and y.ndim == 1 and x.ndim >= 2 and len(x) == len(y) for x, y in data
        )
        and any(len(y) > 1 for _, y in data)
    )


def is_pair(data: Any) -> bool:
    """Whether ``data`` is an ``(x, y)`` pair of a batch (not a list of two items)."""
    return isinstance(data, tuple | list) and len(data) == 2 and not is_items(data)


def dataset_of(data: Any, argument: str = "data") -> Dataset:
    """``data`` (a DataLoader, a Dataset, a list of ``(image, label)`` items or of ``(images,
    labels)`` batches, or an ``(x, y)`` pair of tensors) as a Dataset; a pair's and batches'
    tensors are detached (an input that requires grad is attacked as its values)."""
    if isinstance(data, DataLoader):
        return data.dataset
    if isinstance(data, Dataset):
        return data
    if is_batches(data):
        return ConcatDataset([TensorDataset(x.detach(), y.detach()) for x, y in data])
    if is_items(data):
        return Items(data)
    if is_pair(data):
        x, y = _tensors(data[0], data[1], f"{argument}[0]", f"{argument}[1]")
        _lengths(x, y, f"{argument}[0]", f"{argument}[1]")
        return TensorDataset(x.detach(), y.detach())
    raise UserError(f"{argument}={type(data).__name__} is not a data set; accepted: {DATA}")


def first_sample(data: Any) -> torch.Tensor | None:
    """The first sample ``[1, ...]`` of ``data`` as the attacks read it (a pair's first image,
    a loader's first batch collated by its own function: NumPy items as tensors), on which a
    foreign network's form is probed (:mod:`snnattack.interop.probe`); None where none reads
    here (event streams, data that do not read or hold no sample: the input checks that follow
    say why, labels given as a list among them)."""
    if is_batches(data):
        data = dataset_of(data)
    if is_pair(data):
        x = data[0]
    elif not isinstance(data, DataLoader | Dataset) and not is_items(data):
        return None  # no data set (a bare tensor of images): dataset_of refuses it
    else:
        try:
            loader = data if isinstance(data, DataLoader) else DataLoader(data, batch_size=1)
            x = next(iter(loader))[0]
        except Exception:  # the user's data, whatever broke: refused by the checks that follow
            return None
        if loader.batch_sampler is None and isinstance(x, torch.Tensor):  # one per item
            x = x.unsqueeze(0)
    return x[:1].detach() if isinstance(x, torch.Tensor) and x.dim() > 0 and len(x) else None


def _is_stream(value: Any) -> bool:
    """Whether ``value`` is an event stream as tonic gives one (a NumPy structured array)."""
    return getattr(getattr(value, "dtype", None), "fields", None) is not None and hasattr(
        value, "__array_interface__"
    )


def _tensors(x: Any, y: Any, images: str, labels: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` and ``y`` if both are tensors."""
    if isinstance(x, list | tuple) and x and all(_is_stream(s) for s in x):
        raise UserError(
            f"{images}=list of {len(x)} event streams: attack crafts on their frames "
            "[B, T, C, H, W]; accepted: the frames as a tensor, or snnattack.evaluate(model, "
            "(streams, labels), methods=[...], overrides=['dataset=<the event dataset>']), which "
            "frames the streams as the dataset does and attacks the recordings too (gsattack)"
        )
    for name, value in ((images, x), (labels, y)):
        if not isinstance(value, torch.Tensor):
            raise UserError(
                f"{name}={type(value).__name__} is not a tensor; accepted: a torch.Tensor "
                "(torch.as_tensor(...) of a list or NumPy array)"
            )
    return x, y


def _lengths(x: torch.Tensor, y: torch.Tensor, images: str, labels: str) -> None:
    """As many labels as images, and at least one."""
    if x.dim() == 0 or y.dim() == 0:
        name = images if x.dim() == 0 else labels
        raise UserError(f"{name} is a scalar; accepted: a batch [B, ...] of B >= 1 samples")
    if len(x) != len(y):
        front = (  # x[None], or the time steps first as a network's own loop takes them
            "one axis too many in front"
            if len(x) == 1
            else f"time steps first, [T={len(x)}, B, ...]? The batch comes first: images "
            "[B, C, H, W] (the model runs its T steps on them), event frames [B, T, C, H, W]"
        )
        axis = (
            f" (its shape {list(x.shape)} holds a batch of {len(y)} on its second axis: {front})"
            if x.dim() > 1 and x.shape[1] == len(y)
            else ""
        )
        raise UserError(
            f"{images} has {len(x)} images but {labels} has {len(y)} labels{axis}; accepted: "
            "as many labels as images"
        )
    _refuse_empty(x, images)


def _refuse_empty(x: torch.Tensor, images: str) -> None:
    """At least one image in the batch ``x``."""
    if x.dim() > 0 and len(x) == 0:
        raise UserError(f"{images} is empty (0 images); accepted: at least one image")


@dataclass(frozen=True)
class Samples:
    """What the job's samples are (:func:`samples_of`): ``values`` ``images`` (in [0, 1]) or
    the event frames' values (``binary``, ``counts``, ``scaled``: the dataset's
    ``dataset.params.event_encoding``), ``T`` frames each; ``dataset`` names where they come
    from, in messages."""

    values: str = "images"
    T: int | None = None
    dataset: str = "digits"
    image: tuple[int, ...] | None = None  # the dataset's image [C, H, W], for a note

    @property
    def frames(self) -> bool:
        """Whether the samples are event frames ``[B, T, C, H, W]``."""
        return self.values != "images"

    def accepted(self) -> str:
        """What the samples must be, as an error line says it."""
        if not self.frames:
            return IMAGES
        return (
            f"event frames [B, T={self.T}, C, H, W] of {FRAME_VALUES[self.values]}, as "
            f"dataset={self.dataset} (dataset.params.event_encoding={self.values}) gives them"
        )


IMAGE_SAMPLES = Samples()
FRAME_VALUES = {  # each event encoding's values (snnattack.data.events)
    "binary": "binary values {0, 1}",
    "counts": "integer event counts >= 0",
    "scaled": "scaled counts in [0, 1]",
}


def samples_of(encoding: str, T: int, dataset: Any) -> Samples:
    """The samples a job's data hold: event frames under ``encoding=frames`` (an event
    dataset, ``overrides=['dataset=digits_events']``), of the ``dataset``'s
    ``params.event_encoding`` values (``scaled`` where it has none), else images."""
    if encoding != "frames":
        image = (dataset["in_channels"], dataset["image_size"], dataset["image_size"])
        return Samples("images", T, dataset["name"], image)
    values = dataset.get("params", {}).get("event_encoding", "scaled")
    return Samples(values, T, dataset["name"])


def _read(*groups: Sequence[torch.Tensor]) -> list[list[float]]:
    """The values of each of ``groups`` (0-d tensors: flags, a batch's lowest and highest
    value, labels) as numbers, read together: in one host sync per device (one in all where
    they share one), as float64, which holds every floating dtype's values and integers to
    2**53 exactly (float32 on a device without float64, Apple's MPS: integers to 2**24)."""
    devices: dict[torch.device, list[torch.Tensor]] = {}
    for t in (t for group in groups for t in group):
        devices.setdefault(t.device, []).append(t)
    read: dict[torch.device, Iterator[float]] = {}
    for device, ts in devices.items():
        dtype = torch.float32 if device.type == "mps" else torch.float64
        read[device] = iter(torch.stack([t.to(dtype) for t in ts]).tolist())
    return [[next(read[t.device]) for t in group] for group in groups]


def _check_form(x: torch.Tensor, images: str, samples: Samples = IMAGE_SAMPLES) -> None:
    """Floating-point samples with a batch axis, with values: images, or event frames
    ``[B, T, C, H, W]`` of ``samples.T`` frames; what the host knows of ``x`` without reading
    a value (:func:`_check_values` judges those)."""
    accepted = samples.accepted()
    if not x.is_floating_point():
        hint = "x.float()" if samples.frames else "uint8 images: x.float() / 255"
        raise UserError(f"{images} has dtype {x.dtype}; accepted: {accepted} ({hint})")
    if x.dim() < 2:
        raise UserError(f"{images} has shape {list(x.shape)}; accepted: {accepted}")
    if x.is_meta:
        raise UserError(f"{images} is on the meta device (no values); accepted: {accepted}")
    if samples.frames and x.dim() != 5:
        what = "images, not event frames" if x.dim() == 4 else "not event frames"
        raise UserError(
            f"{images} has shape {list(x.shape)} ({what}) but the job attacks event frames "
            f"(dataset={samples.dataset}); accepted: {accepted}"
        )
    if samples.frames and x.shape[1] != samples.T:
        raise UserError(
            f"{images} has {x.shape[1]} frames per sample (shape {list(x.shape)}) but T="
            f"{samples.T}; accepted: {accepted}, or T={x.shape[1]}"
        )
    if not samples.frames and x.dim() == 5:
        raise UserError(
            f"{images} has shape {list(x.shape)}, event frames [B, T, C, H, W], but the job's "
            f"dataset={samples.dataset} holds images; accepted: {IMAGES}, or event frames with "
            "overrides=['dataset=<their event dataset>'] (digits_events, nmnist, dvs_gesture, "
            "cifar10_dvs)"
        )


OFF_ENCODING = {  # whether a value of event frames is not of their encoding's
    "binary": lambda x: [((x != 0) & (x != 1)).any()],
    "counts": lambda x: [(x != x.round()).any()],
}


def _summary(x: torch.Tensor, samples: Samples) -> list[torch.Tensor]:
    """``x``'s lowest and highest value (NaN where a value is: both propagate it; so ``x`` is
    finite where both are) and (event frames of binary or integer values) whether a value is
    not of the encoding's: unread, for :func:`_read`; one pass over ``x`` for the first two."""
    off = OFF_ENCODING.get(samples.values, lambda _: [])(x)
    return [*x.aminmax(), *off]


ROUNDING = 1e-4  # how far outside [0, 1] float rounding leaves a pixel (x * std + mean)


def _beside(value: float, limit: float) -> str:
    """``value`` in 6 significant digits, or as many more as tell it from the ``limit`` it
    was refused for (the float32 just above 1 is ``1.0000001``, not ``1``)."""
    value += 0.0  # no "-0" in the line
    digits = next((d for d in range(6, 17) if float(f"{value:.{d}g}") != limit), 17)
    return f"{value:.{digits}g}"


def _check_values(summary: list[float], images: str, samples: Samples) -> None:
    """Finite samples, images in [0, 1] or event frames non-negative, of the encoding's
    values, judged on their :func:`_summary` as read."""
    low, high, *off = summary
    finite = math.isfinite(low) and math.isfinite(high)
    accepted = samples.accepted()
    if not samples.frames:
        if not finite:
            raise UserError(f"{images} holds NaN or infinite pixels; accepted: finite {IMAGES}")
        if low < 0 or high > 1:
            rounded = low >= -ROUNDING and high <= 1 + ROUNDING  # un-normalised, say
            how = (
                f"{images}.clamp(0, 1): values a rounding error outside"
                if rounded
                else "images in [0, 255]: divide by 255; normalised images: pass the "
                "normalisation inside the model"
            )
            raise UserError(
                f"{images} holds values in [{_beside(low, 0)}, {_beside(high, 1)}]; accepted: "
                f"{IMAGES} ({how})"
            )
        return
    if not finite:
        raise UserError(f"{images} holds NaN or infinite values; accepted: {accepted}")
    if low < 0 or any(off) or (samples.values == "scaled" and high > 1):
        raise UserError(
            f"{images} holds values in [{_beside(low, 0)}, {_beside(high, 1)}] that are not "
            f"{FRAME_VALUES[samples.values]}; accepted: {accepted} (another encoding: "
            "overrides=['dataset.params.event_encoding=binary|counts|scaled'])"
        )


def _check_labels(y: torch.Tensor, labels: str) -> None:
    """Class indices of dtype long and shape ``[B]``."""
    accepted = "class indices, a torch.long tensor of shape [B]"
    if y.is_meta:
        raise UserError(f"{labels} is on the meta device (no values); accepted: {accepted}")
    if y.dtype != torch.long:
        raise UserError(f"{labels} has dtype {y.dtype}; accepted: {accepted} (y.long())")
    if y.dim() == 0:  # one label, as a batch of one's y[0], or a loader's batch_size=None
        raise UserError(
            f"{labels} has shape [] (one label, no batch axis); accepted: {accepted} (one "
            "image's label: y.reshape(1); a DataLoader's batch_size=None gives unbatched "
            "items: batch_size=1 or more)"
        )
    if y.dim() != 1:
        raise UserError(
            f"{labels} has shape {list(y.shape)}; accepted: {accepted} ([B, 1]: y.squeeze(1); "
            "one-hot [B, K]: y.argmax(1))"
        )


def _check_range(read: list[float], classes: int, labels: str, model: str) -> None:
    """Labels in ``[0, classes)``, judged on their lowest and highest as read
    (``y.aminmax()``, :func:`_read`)."""
    low, high = (int(v) for v in read)
    if low < 0 or high >= classes:
        bad = low if low < 0 else high
        raise UserError(
            f"{labels} holds the label {bad}, out of range for the {classes} classes of "
            f"{model}; accepted: labels in [0, {classes - 1}]"
        )


def _formed(
    x: Any, y: Any, images: str, labels: str, samples: Samples | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` and ``y`` checked as far as the host knows them (tensors, the labels' dtype and
    shape, as many as the images, the samples' form unless ``samples`` is None: no value
    read); returned detached."""
    x, y = _tensors(x, y, images, labels)
    _check_labels(y, labels)
    _lengths(x, y, images, labels)
    if samples is not None:
        _check_form(x, images, samples)
    return x.detach(), y.detach()


def check_tensors(x: Any, y: Any) -> None:
    """Refuses the batch ``(x, y)`` of :func:`snnattack.attack` that is not two tensors (arrays
    or lists) or holds no image, with the input checks' line, before a network whose form its
    samples decide (:mod:`snnattack.interop.probe`) is adapted without samples (none: the probe
    broke), whose line would name the adapter (``adapt(net, T=4, example=...)``) instead of
    ``x``."""
    _refuse_empty(_tensors(x, y, "x", "y")[0], "x")


def empty_data(argument: str) -> UserError:
    """The line for ``argument``, a data set or loader that holds no image."""
    return UserError(f"{argument} is empty (0 images); accepted: {DATA}")


def check_readable(data: Any, argument: str = "data") -> None:
    """Refuses ``data`` whose first sample :func:`first_sample` could not read (arrays or
    lists for tensors, batches that are no ``(images, labels)`` pair, a batch that does not
    read, no data set, no sample) with the input checks' line, before a network whose form its
    samples decide is adapted without them (as :func:`check_tensors`); their form is judged
    later."""
    if next(_batches(data, argument, None), None) is None:
        raise empty_data(argument)


def check_batch(
    x: Any, y: Any, images: str = "x", labels: str = "y", samples: Samples = IMAGE_SAMPLES
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` and ``y`` (one batch of ``samples``) checked as the module doc says, the label
    range aside; returned detached. The images' values are read in one host sync."""
    x, y = _formed(x, y, images, labels, samples)
    (summary,) = _read(_summary(x, samples))
    _check_values(summary, images, samples)
    return x, y


def _batches(
    data: Any, argument: str, samples: Samples | None
) -> Iterator[tuple[torch.Tensor, torch.Tensor, str]]:
    """The ``(images, labels)`` batches of ``data``, each formed (:func:`_formed`: its values
    unread; ``samples`` None: their form unjudged), with the name its images are refused
    by."""
    if is_pair(data):
        images = f"{argument}[0]"
        yield *_formed(data[0], data[1], images, f"{argument}[1]", samples), images
        return
    loader = data if isinstance(data, DataLoader) else None
    if loader is None:
        loader = DataLoader(dataset_of(data, argument), batch_size=CHECK_BATCH)
    images, labels = f"{argument} (its images)", f"{argument} (its labels)"
    batches = iter(loader)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as err:  # the user's dataset or collate function, whatever broke
            raise UserError(
                f"{argument}: reading a batch raised {first_line(err)}; accepted: {DATA}"
            ) from None
        if not isinstance(batch, tuple | list) or len(batch) != 2:
            what = (
                f"a {type(batch).__name__} of {len(batch)} items"
                if isinstance(batch, tuple | list | dict)
                else f"a {type(batch).__name__} (no labels)"
            )
            raise UserError(
                f"{argument}: its batches are {what}; accepted: batches of (images, labels) "
                "pairs, a DataLoader of a Dataset whose items are (image, label)"
            )
        yield *_formed(batch[0], batch[1], images, labels, samples), images


def check_model(
    net: SpikingNet,
    argument: str,
    sample: torch.Tensor,
    data: str,
    model: nn.Module,
    value: str | None = None,
    finite: bool = True,
    classes: int | None = None,
) -> int:
    """The number of classes ``net`` returns on ``sample`` (one image of ``data``), checked as
    the module docstring says and (``classes`` given: the data's) that many; refused in one
    line naming ``argument=value`` (default: the class of ``model``, what the user passed).
    ``finite=False``: weights that a file replaces (``checkpoint=``, checked when it is
    loaded) may be anything."""
    name = f"{argument}={value or type(model).__name__}"
    tensors = [*net.parameters(), *net.buffers()]
    require_loaded(tensors, name)
    if finite:
        require_finite(net, name)
    device = tensors[0].device if tensors else torch.device("cpu")
    weights = next((t.dtype for t in tensors if t.is_floating_point()), sample.dtype)
    if sample.dtype != weights:  # float16 passed a float32 model's normalisation (promoted),
        # its examples rounded back to float16 off the radius; float64 raised in a layer
        raise UserError(
            f"{name}: the images of {data} are {sample.dtype}; accepted: images in the "
            f"weights' dtype {weights} (not {sample.dtype}: .to({weights})), or the "
            f"{argument} in theirs ({argument}.to({sample.dtype}))"
        )
    x = sample.detach().to(device).requires_grad_(True)
    shape = list(x.shape)
    hint = (
        " (images without a channel axis? x.unsqueeze(1); one image without a batch axis? "
        "x.unsqueeze(0))"
        if x.dim() == 3
        else ""
    )
    body: list[Any] = []
    hook = net.body.register_forward_hook(lambda _m, _i, out: body.append(out))
    cuts: list[str] = []  # the modules whose input depends on the image and output does not
    watch = [
        m.register_forward_hook(partial(_record_cut, cuts, path))
        for path, m in net.body.named_modules()
        if path
    ]
    training = {m: m.training for m in net.modules()}
    trained = [t for t in net.parameters() if t.requires_grad]
    net.eval()
    try:
        # weights frozen for this forward: a tensor requires grad where it depends on the image
        for t in trained:
            t.requires_grad_(False)
        with torch.enable_grad():
            out = net(x)
    except UserError:
        raise  # the adapter's own line (an own loop's T), which says the cause
    except Exception as err:  # the user's model, whatever broke
        if body and not isinstance(body[0], torch.Tensor):
            out = body[0]  # what the adapter could not take: the cause, said below
        else:
            log.debug("%s: the forward of one image raised", name, exc_info=True)
            read = state_read(err)
            if read is not None:
                raise UserError(
                    f"{name}: its forward on one image of {data} reads {read!r} of a neuron, "
                    "which the adapter ran as a LIF that keeps no state: a membrane read-out is "
                    "not adapted; accepted: a network that returns a layer's output (e.g. the "
                    "last layer's current) or the spikes, as logits [B, K]"
                ) from None
            raise UserError(
                f"{name}: its forward on one image of {data} (shape {shape}) raised "
                f"{first_line(err)}; accepted: a network that takes the "
                f"images of {data}{hint} and returns logits [B, K]"
            ) from None
    finally:
        for h in (hook, *watch):
            h.remove()
        for t in trained:
            t.requires_grad_(True)
        for m, flag in training.items():
            m.training = flag
    if isinstance(out, tuple | list):
        raise UserError(
            f"{name} returns a {type(out).__name__} of {len(out)}, not one tensor; accepted: "
            "a network returning its output only (logits [B, K]; a network of another "
            "library: [T, B, K]), not (out, spikes): return out"
        )
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or len(out) != 1:
        got = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raw = body[0] if body else out  # the network's own output, before an adapter's decode
        if isinstance(raw, torch.Tensor) and isinstance(out, torch.Tensor) and raw.dim() == 3:
            if len(raw) == len(x) != len(out):  # [B, T, K], read as [T, B, K]
                got = f"{list(raw.shape)} (read time first: {got})"
        lacks = ""
        if isinstance(out, torch.Tensor) and out.dim() == 1 and len(shape) == 3:
            # no batch axis out of images [1, H, W]: the network took an axis of theirs for it
            lacks = f"; its images are {shape[1:]}, without a channel axis: images [B, C, H, W]"
            lacks += f" ({data}.unsqueeze(1))" if data == "x" else ""
        raise UserError(
            f"{name} returns {got} for one image of {data} (shape {shape}){lacks}; accepted: "
            "logits [B, K] (a network of another library: [T, B, K], time first; one "
            "returning [B, T, K]: out.transpose(0, 1))"
        )
    if out.shape[1] < 2:  # a binary classifier's one logit: its cross-entropy is constant
        raise UserError(
            f"{name} returns {out.shape[1]} logit per image ({list(out.shape)} for one image of "
            f"{data}): the cross-entropy the attacks climb is constant over fewer than two "
            "classes, so every example would be its random start; accepted: logits [B, K] of "
            "K >= 2 classes (a binary classifier's logit z: torch.cat([torch.zeros_like(z), z], "
            "1), whose cross-entropy is z's binary one)"
        )
    if not out.requires_grad:
        where = f"its module {cuts[0]} cuts the graph" if cuts else "a module cuts the graph"
        raise UserError(
            f"{name}: its output does not depend differentiably on the image ({where}: a step "
            "function or a neuron the adapter does not know); accepted: a network with a "
            "gradient in its input (spiking neurons the adapter maps, or neurons with a "
            "surrogate gradient)"
        )
    if classes is not None and out.shape[1] != classes:
        raise UserError(
            f"{name} returns {out.shape[1]} classes but {data} has {classes}; accepted: a "
            f"model of {classes} classes"
        )
    _say_zero_gradient(name, data, out, x)
    return out.shape[1]


def _say_zero_gradient(name: str, data: str, out: torch.Tensor, x: torch.Tensor) -> None:
    """Warns where no gradient of ``out`` (logits weighted unequally: a softmax's sum is
    constant) reaches the image ``x`` though the graph does: a random draw in the forward
    (``torch.bernoulli``, ``snntorch.spikegen.rate``) passes none, and every gradient attack
    would return its images (PGD: its random start). A warning, not a refusal: a neuron whose
    surrogate is zero far from its threshold gives one image no gradient in a sound network."""
    weights = torch.linspace(1.0, 2.0, out.shape[1], dtype=out.dtype, device=out.device)
    try:
        (grad,) = torch.autograd.grad((out * weights).sum(), x, allow_unused=True)
    except RuntimeError:  # a backward the attack's own call reports, in its words
        return
    if grad is None or not grad.any():
        log.warning(
            "%s: its output's gradient in the image is exactly zero on one image of %s (a "
            "random draw in its forward, such as torch.bernoulli or snntorch.spikegen.rate, "
            "passes none; or no neuron is near its threshold): a gradient attack returns its "
            "images unchanged (PGD: its random start); snnattack.evaluate's masking checks "
            "measure it over the data",
            name,
            data,
        )


def _record_cut(cuts: list[str], path: str, module: nn.Module, args: tuple, out: Any) -> None:
    """Appends ``path`` (the module's place in the user's network, an adapted copy's path) if
    its input depends on the image and its output does not (a forward hook; the weights are
    frozen, so ``requires_grad`` means a dependence on the image)."""
    outputs = out if isinstance(out, tuple | list) else (out,)
    tensors = [t for t in outputs if isinstance(t, torch.Tensor)]
    needs = any(isinstance(a, torch.Tensor) and a.requires_grad for a in args)
    if needs and tensors and not any(t.requires_grad for t in tensors):
        cuts.append(f"{path} ({class_name(module)})")


def check_attack(
    net: SpikingNet,
    model: nn.Module,
    x: Any,
    y: Any,
    samples: Samples = IMAGE_SAMPLES,
    classes: int | None = None,
    kept: Sequence[torch.Tensor] = (),
) -> int | None:
    """``attack``'s inputs: the batch ``(x, y)`` of ``samples`` and the model on its first;
    returns the model's classes. ``classes`` known (an earlier call checked the model on such
    samples): the model is not run again. ``kept``: the unread checks of the kept preparation
    (:meth:`~snnattack.interop.prepared.Preparations.deferred`), read with the batch's values
    in one host sync; where one is false (the model changed since), None before any refusal
    of the batch: the caller prepares afresh, whose refusals come first, and checks again."""
    try:
        x, y = _formed(x, y, "x", "y", samples)
    except UserError:
        (intact,) = _read(kept)
        if all(intact):
            raise
        return None
    probe = partial(check_model, net, "model", data="x", model=model)  # on the first sample
    return _checked(x, y, ("x", "y"), samples, classes, kept, probe)


def _checked(
    x: torch.Tensor,
    y: torch.Tensor,
    names: tuple[str, str],
    samples: Samples,
    classes: int | None,
    kept: Sequence[torch.Tensor],
    probe: Callable[[torch.Tensor], int],
) -> int | None:
    """The classes of the model that ``probe`` runs on the formed batch's first sample, the
    batch's values and labels checked (``names``: the images' and the labels'); the rest as
    :func:`check_attack`."""
    label_range = y.aminmax() if classes is not None else ()
    intact, summary, labels = _read(kept, _summary(x, samples), label_range)
    if not all(intact):
        return None
    _check_values(summary, names[0], samples)
    if classes is None:
        classes = probe(x[:1])
        (labels,) = _read(y.aminmax())
    _check_range(labels, classes, names[1], "model")
    return classes


def check_evaluation(
    target: SpikingNet,
    model: nn.Module,
    data: Any,
    crafter: SpikingNet | None = None,
    source: nn.Module | None = None,
    val_data: Any = None,
    samples: Samples = IMAGE_SAMPLES,
    classes: int | None = None,
    kept: Sequence[torch.Tensor] = (),
) -> int | None:
    """``evaluate``'s inputs: every batch of ``data`` (and ``val_data``) of ``samples``, the
    target (and the black-box source, which must return as many classes) on the first image
    of ``data``; returns the target's classes. ``classes`` and ``kept`` (read with the first
    batch) as :func:`check_attack`. ``val_data`` that is ``data`` itself, or mostly its
    images, is refused (:func:`check_held_out`), as both are read."""
    test: set[int] = set()  # the test images' hashes, where val_data is given
    shared: set[int] = set()  # those of them that val_data holds
    n = 0
    shape: list[int] | None = None  # the samples' shape, the first batch of data's
    for argument, given in (("data", data), ("val_data", val_data)):
        if given is None:
            continue
        n = 0
        for x, y, images in _batches(given, argument, samples):
            shape = shape or list(x.shape[1:])
            if list(x.shape[1:]) != shape:  # read whole by tuning and the universal fits
                raise UserError(
                    f"{images} holds samples of shape {list(x.shape[1:])}, but data's are "
                    f"{shape}; accepted: {argument} of the same shape as data (the model's "
                    "input)"
                )
            names = (images, f"{argument} (its labels)")
            probe = partial(_classes, target, model, crafter, source, argument)
            classes = _checked(x, y, names, samples, classes, kept, probe)
            if classes is None:
                return None
            kept = ()
            if val_data is not None:  # the images compared (check_held_out)
                flat = x.cpu().contiguous().reshape(len(x), -1).view(torch.uint8).numpy()
                hashes = {hash(bytes(row)) for row in flat}  # each image's bytes
                if argument == "data":
                    test |= hashes
                else:
                    shared |= hashes & test
            n += len(y)
        if n == 0:
            raise empty_data(argument)
    check_held_out(data, val_data, len(shared), n, len(test))
    if samples.image is not None and shape is not None and tuple(shape) != samples.image:
        _say_other_images(samples.dataset, samples.image, tuple(shape))
    return classes


@cache  # once a process: an evaluate() in a loop over batches says it at its first call
def _say_other_images(dataset: str, image: tuple[int, ...], shape: tuple[int, ...]) -> None:
    """Notes that the images are not the config's dataset's, which the record names: they run
    as they are, a CIFAR-10 network's record titled 'digits / VGG'."""
    log.warning(
        "note: data's images are %s, not those of dataset=%s (%s), which the record, its "
        "title and the report name; name theirs with overrides=['dataset=...'] where they "
        "are one of digits, cifar10, cifar100",
        list(shape),
        dataset,
        list(image),
    )


def _classes(
    target: SpikingNet,
    model: nn.Module,
    crafter: SpikingNet | None,
    source: nn.Module | None,
    argument: str,
    first: torch.Tensor,
) -> int:
    """The classes ``target`` returns on the sample ``first`` of ``argument``, which the
    black box's ``crafter`` (where given) must return as many of."""
    classes = check_model(target, "model", first, argument, model)
    if crafter is not None:
        theirs = check_model(crafter, "source", first, argument, source)
        if theirs != classes:
            raise UserError(
                f"source={type(source).__name__} returns {theirs} classes but "
                f"model={type(model).__name__} returns {classes}; accepted: a "
                "source with the target's classes"
            )
    return classes


def check_held_out(
    data: Any, val_data: Any, shared: int = 0, read: int = 0, tested: int = 0
) -> None:
    """Refuses ``val_data`` (None: none given) that is the test ``data`` itself, or whose
    ``read`` images hold ``shared`` distinct test images (of the ``tested`` distinct ones):
    half of them or more (``x_test[:100]``), or ten and 1 % or more, or every test image
    (the whole test split, of which ``data`` is the first images); a few shared images may
    be a dataset's own duplicates. Counted as :func:`check_evaluation` reads them."""
    if val_data is None or data is None:
        return
    accepted = (
        "accepted: held-out validation images and labels (a split of the training data), "
        "never the test data: what is tuned or fitted on them would be measured on them"
    )
    if _same_data(data, val_data):
        raise UserError(f"val_data is the test data (data); {accepted}")
    if shared and (
        2 * shared >= read or (shared >= 10 and (100 * shared >= read or shared == tested))
    ):
        raise UserError(
            f"val_data holds {shared} of its {read} images from the test data (data); {accepted}"
        )


def _same_data(data: Any, val_data: Any) -> bool:
    """Whether ``val_data`` is ``data``: the same object or dataset, or equal tensors."""
    sources = [
        given.dataset if isinstance(given, DataLoader) else given for given in (data, val_data)
    ]
    if sources[1] is sources[0]:
        return True
    pairs = [
        given
        for given in (data, val_data)
        if isinstance(given, tuple | list)
        and len(given) == 2
        and all(isinstance(t, torch.Tensor) and not t.is_meta for t in given)
    ]
    if len(pairs) < 2:
        return False
    both = list(zip(*pairs, strict=True))  # (x, val_x), (y, val_y)
    return all(
        (a.shape, a.dtype, a.device) == (b.shape, b.dtype, b.device) for a, b in both
    ) and all(torch.equal(a, b) for a, b in both)


# what a model passed to the API holds itself: its architecture, its T, its neurons' λ, θ and
# reset, how its layers run (same values: snnattack.snn.backend, snnattack.snn.neurons.LIF's
# impl) and how it encodes its input (its encoder and quantiser)
MODEL_KEYS = (
    *("model", "model.name", "T", "lambda", "theta", "reset", "backend", "neuron_impl"),
    *("encoding", "encoding_levels"),
)


# what a job writes into its folder, which a call of the API has none of
FOLDER_KEYS = ("analysis", "attack.save_examples")

# what only a job reads: the models it trains, loads or stores (train.kind aside, which labels
# a network passed as the kind it was trained as), its own Trainer and its loggers; each with
# what a call takes instead
JOB_KEYS = {
    "train": "a network trained as you wish, passed as model (train.kind labels its kind)",
    "checkpoint": "the file's network passed as model (snnattack.load(name, path, ...))",
    "source_checkpoint": "the file's network passed as source (snnattack.load(...))",
    "source_lambda": "a source network built with it, passed as source",
    "source_T": "a source network built with it, passed as source",
    "source_model": "a source network built with it, passed as source",
    "source_seed_offset": "a source network of your choice, passed as source",
    "store": "the networks passed as model and source (a call stores no model)",
    "trainer": "the data you pass (a part of it for fewer batches), progress= for the bar",
    "logger": "your own logging of the record returned (a call logs nothing)",
    "tags": "your own logging of the record returned (a call logs nothing)",
}


def check_call_keys(overrides: Any) -> None:
    """``overrides`` (:func:`check_overrides`) set none of :data:`MODEL_KEYS`: a model passed
    to the API runs as it is built (its T, its neurons' λ, θ and reset, its backend, its
    input encoding), so such a value would change nothing but the record's config, which
    would then misdescribe the model; nor ``threads``, which a call leaves to the caller's
    process, for that reason; nor :data:`FOLDER_KEYS` (or a key below them): a call writes no
    folder, so its record would claim analyses or saved examples that none made; nor
    :data:`JOB_KEYS`, which only a job reads (a checkpoint, a training, a Trainer's limits)."""
    check_overrides(overrides)
    for item in overrides:
        key = item.split("=", 1)[0].lstrip("+~")
        shown = as_python(item)  # a value of 400 digits shortened
        if _block_of(key, FOLDER_KEYS) is not None:
            raise UserError(
                f"overrides=[{shown}] sets {key}, which a call cannot do: it writes no folder "
                "(a job's analyses and saved examples go into its own); accepted: "
                "snnattack.attack(...) for a batch's examples, or a job: python run.py "
                f"{shown[1:-1]} (model=external for a network of your code)"
            )
        job_key = _block_of(key, JOB_KEYS)
        if job_key is not None and key != "train.kind":
            raise UserError(
                f"overrides=[{shown}] sets {key}, which only a job reads (the call would "
                "ignore it, and its record would claim it); accepted: "
                f"{JOB_KEYS[job_key]}, or a job: python run.py {shown[1:-1]}"
            )
        if key == "threads":
            raise UserError(
                f"overrides=[{shown}] sets threads, which a call leaves to your process (it "
                "runs on torch's threads, and the record would misdescribe it); accepted: "
                f"torch.set_num_threads(...) before the call, or a job: python run.py {shown[1:-1]}"
            )
        if key in MODEL_KEYS:
            raise UserError(
                f"overrides=[{shown}] sets {key}, which the model passed holds itself (it "
                "runs as it is built, and the record would misdescribe it); accepted: the "
                "model built with it (snnattack.load(..., T=, lam=, theta=, reset=, "
                "encoding=, levels=, backend=), or snnattack.models.zoo.build with them), "
                f"the argument T= for a network of another library, or a job: python run.py "
                f"{shown[1:-1]}"
            )


def _block_of(key: str, blocks: Iterable[str]) -> str | None:
    """The one of ``blocks`` that the dotted ``key`` is, or lies below; None for none."""
    return next((b for b in blocks if key == b or key.startswith(f"{b}.")), None)


def check_overrides(overrides: Any) -> None:
    """``overrides`` a list of ``key=value`` strings (a lone string is refused: it would be
    read character by character), each one override of one value as Hydra reads it: one
    Hydra cannot parse (``'===='``), or a sweep (``'eps=16,32'``, which a call does not run
    and Hydra answers with its command line's advice), is refused here in one line naming
    ``overrides``, not by Hydra's own exception."""
    accepted = "accepted: a list of 'key=value' strings"
    if isinstance(overrides, str):
        shown = as_python(overrides)  # a value of 400 digits shortened, here and below
        raise UserError(f"overrides={shown} is not a list; {accepted}: [{shown}]")
    if not isinstance(overrides, Sequence):
        raise UserError(f"overrides={as_python(overrides)} is not a list; {accepted}")
    given = as_python(list(overrides))
    for item in overrides:
        if not isinstance(item, str):
            raise UserError(f"overrides={given}: {as_python(item)} is not a string; {accepted}")
    parser = OverridesParser.create()
    for item in overrides:
        try:
            (override,) = parser.parse_overrides([item])
        except HydraException:
            override = None
        except ValueError:  # Hydra's int() of an integer past Python's 4300 digits
            raise UserError(
                f"overrides={given}: {as_python(item)} holds an integer of more than "
                f"{sys.get_int_max_str_digits()} digits, more than Python reads; accepted: a "
                "number of fewer digits"
            ) from None
        if override is None or not override.key_or_group:
            raise UserError(
                f"overrides={given}: {as_python(item)} is not a key=value override; "
                f"{accepted}, one value each (a list: key=[a,b]; text with commas or spaces: "
                "key='a b')"
            )
        if override.is_sweep_override():
            raise UserError(
                f"overrides={given}: {as_python(item)} gives {override.key_or_group} several "
                f"values (a sweep, which a call does not run); {accepted}, one value each (a "
                f"list: {override.key_or_group}=[a,b]; a sweep: one call per value)"
            )
