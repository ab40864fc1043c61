"""The evaluation both entrances prepare and run: :func:`snnattack.evaluate` (:mod:`snnattack.api`)
and ``snnattack.benchmark.evaluate`` (:mod:`snnattack.benchmark.evaluation`).

An entrance prepares once (:func:`prepared_evaluation`: the adapted target and source reading
the config's samples, the settings, the resolved config and the record's description of the
models; :func:`call_evaluation`: all of it made of :func:`snnattack.evaluate`'s arguments)
and hands the :class:`PreparedEvaluation` on to :func:`run_evaluation`, which checks the data
unless the entrance did, frames event streams and runs the one evaluation core
(:func:`snnattack.evaluation.core.record_attacks`): the record is right as the core makes it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from snnattack import inputs
from snnattack.attacks.methods import reads_recordings
from snnattack.config.spelling import spelt
from snnattack.data import datamodule
from snnattack.data.recordings import Recordings
from snnattack.errors import UserError
from snnattack.evaluation import core
from snnattack.evaluation.attacked import device_of
from snnattack.evaluation.core import RunSettings
from snnattack.evaluation.reuse import about_weights
from snnattack.inputs import dataset_of
from snnattack.interop.external import (
    as_spiking_net,
    encoding_held,
    model_description,
    with_encoding,
)
from snnattack.interop.prepared import passed
from snnattack.interop.streams import STREAMS, framed_recordings, is_streams
from snnattack.models.base import SpikingNet
from snnattack.preparation.config import job_config, job_settings
from snnattack.process import numerics
from snnattack.process.malloc import set_malloc
from snnattack.records.results import JobRecord
from snnattack.runtime.console import libraries_quieted
from snnattack.settings import JobSettings
from snnattack.snn.neurons import lif_settings

Data = DataLoader | tuple[torch.Tensor, torch.Tensor] | tuple[list, Any]  # (streams, labels)


@dataclass
class PreparedEvaluation:
    """What :func:`snnattack.evaluate` (and the benchmark) prepares of a model (and a source):
    the adapted networks (None: the model passed), the settings and the resolved config (its
    samples, ``malloc``, ``tf32``, ``deterministic``, ``eval_batch_size`` and ``boxes``), the
    record's description of the models, and the target's classes once the data checked it."""

    target: SpikingNet | None
    crafter: SpikingNet | None
    settings: JobSettings
    config: dict[str, Any]
    described: dict[str, Any]
    classes: int | None = None

    @property
    def boxes(self) -> list[str]:
        """The config's ``boxes``."""
        return list(self.config["boxes"])

    def networks(
        self, model: nn.Module, source: nn.Module | None
    ) -> tuple[nn.Module, nn.Module | None]:
        """The networks the attacks run: the adapted target and crafter, or the models passed
        (``model``, ``source``) where they are SpikingNets of the config's samples."""
        target = model if self.target is None else self.target
        return target, source if self.crafter is None else self.crafter


def call_evaluation(
    model: nn.Module,
    source: nn.Module | None,
    example: torch.Tensor | None,
    arguments: dict[str, Any],
    overrides: Sequence[str],
) -> PreparedEvaluation:
    """:func:`snnattack.evaluate`'s preparation of ``model`` and ``source`` (their form probed
    on ``example``) under its ``arguments`` (:data:`snnattack.api.EVALUATE`, ``T`` among
    them) and ``overrides``: the networks adapted at their time steps, then the config
    composed at the target's and parsed (:func:`prepared_evaluation`)."""
    inputs.check_call_keys(overrides)
    T = arguments["T"]
    target = as_spiking_net(model, T, example=example, beside=source)
    crafter = None if source is None else as_spiking_net(source, T, "source", example, model)
    named = dict(arguments, T=target.T, overrides=overrides, names={a: a for a in arguments})
    composed, _ = job_config(**named, validated=False, shared=True)  # both read only
    held = encoding_held(target, composed.encoding == "frames")
    # only what the config does not say already: a direct model's config is the one composed
    held = {k: v for k, v in held.items() if composed.get(k) != v}
    cfg, notes = job_config(**named, held=held, network=target, source=crafter, shared=True)
    settings, config = job_settings(cfg, notes), spelt(cfg)
    return prepared_evaluation(settings, config, model, target, source, crafter)


def prepared_evaluation(
    settings: JobSettings,
    config: dict[str, Any],
    model: nn.Module,
    target: SpikingNet,
    source: nn.Module | None = None,
    crafter: SpikingNet | None = None,
    *,
    about: dict[str, Any] | None = None,
) -> PreparedEvaluation:
    """The evaluation of ``model``, adapted as ``target`` (and of ``source``, adapted as
    ``crafter``), under the ``settings`` of a validated config and the config itself,
    resolved (``config``, which the record keeps). The record describes the target and the
    source with their weights' count and hash (:func:`~snnattack.evaluation.reuse.about_weights`,
    as a job's record does): the target's ``about``, where the caller has them (the
    benchmark's), else taken here."""
    about = about_weights(target) if about is None else about
    encoding = config["encoding"]
    target = with_encoding(target, encoding, "model", model)
    crafter = None if crafter is None else with_encoding(crafter, encoding, "source", source)
    described = {
        "target": model_description(model, settings.model.kind, target),
        "source": model_description(source, settings.source.kind, crafter),
    }
    # each LIF's λ, θ and reset (which the config's lambda and reset do not describe), read on
    # the network the attacks run on the model: the adapted one for another library; whether
    # it spikes is the network's own (an ANN passed under train.kind=stbp is one), as the
    # attacks judge it, where a job's model spikes by its kind (evaluation.kinds)
    neurons = lif_settings(target)
    described["target"] |= {"neurons": neurons, **about, "spiking": bool(neurons)}
    if settings.store.black_box and source is not None and crafter is not None:
        neurons = lif_settings(crafter)
        about = about_weights(crafter)
        described["source"] |= {"neurons": neurons, **about, "spiking": bool(neurons)}
    return PreparedEvaluation(
        None if target is model else target,
        None if crafter is source else crafter,
        settings,
        config,
        described,
    )


def run_evaluation(
    prepared: PreparedEvaluation,
    model: nn.Module,
    source: nn.Module | None,
    data: Data,
    val_data: Data | None = None,
    progress: bool = True,
    *,
    kept: tuple[list[torch.Tensor], Callable[[], PreparedEvaluation], Callable[[], None]],
) -> JobRecord:
    """The record of the evaluation ``prepared`` (:func:`prepared_evaluation`) of ``model``
    (and ``source``) on ``data`` (and ``val_data``), checked by the input gate (the models run
    only where ``prepared`` does not know their classes yet): :func:`snnattack.evaluate`'s
    tail (:func:`run_checked` where the entrance checked the data itself). ``kept``: a kept
    preparation's unread checks (:func:`~snnattack.interop.prepared.prepared_once`), read with
    the first batch's values, what prepares afresh where one is false, before anything is
    refused (as :func:`snnattack.attack`), and what takes a fresh preparation as made of the
    models as its checks left them (:func:`~snnattack.interop.prepared.settled`)."""
    checks, afresh, settle = kept
    config = prepared.config  # the checks' forwards too (afresh: the same settings)
    with as_a_job(config["malloc"], config["tf32"], config["deterministic"]), libraries_quieted():
        fresh = prepared.classes is None  # its checks run the models (a SpikingNet: its hooks)
        checked = _checked(prepared, model, source, data, val_data, checks)
        if checked is None:  # the kept preparation's model changed: afresh
            prepared = afresh()
            checked = _checked(prepared, model, source, data, val_data, [])
            fresh = True
        assert checked is not None  # without kept checks, every check is read and holds
        if fresh:
            settle()  # what the checks' forwards changed is no change at the next call
        framed, val, recordings, prepared.classes = checked
        return _recorded(prepared, model, source, framed, val, recordings, progress)


def _checked(
    prepared: PreparedEvaluation,
    model: nn.Module,
    source: nn.Module | None,
    data: Data,
    val_data: Data | None,
    checks: list[torch.Tensor],
) -> tuple[Any, Any, Recordings | None, int] | None:
    """The framed ``data`` and ``val_data``, the recordings an attack on raw events reads,
    and the target's classes, checked by the input gate with a kept preparation's unread
    ``checks``; None where one of those is false (its model changed since: a refusal then
    would be of the stale preparation)."""
    _check_source(prepared, model, source)
    target, crafter = prepared.networks(model, source)
    try:
        framed, val, recordings = _recordings(prepared.settings, data, val_data)
        config = prepared.config  # the samples the networks read: its encoding, T, dataset
        samples = inputs.samples_of(config["encoding"], config["T"], config["dataset"])
        classes = inputs.check_evaluation(
            target, model, framed, crafter, source, val, samples, prepared.classes, checks
        )
    except UserError:
        if passed(checks):
            raise
        return None
    return None if classes is None else (framed, val, recordings, classes)


def run_checked(
    prepared: PreparedEvaluation,
    model: nn.Module,
    source: nn.Module | None,
    data: Data,
    val_data: Data | None = None,
) -> JobRecord:
    """The record of the evaluation ``prepared`` of ``model`` (and ``source``) on ``data``
    (and ``val_data``) that its entrance checked itself, before its work
    (``snnattack.benchmark.evaluate``: before its standard surrogate is trained), within the
    entrance's :func:`as_a_job` block: the data are read once more only to be attacked."""
    _check_source(prepared, model, source)
    framed, val, recordings = _recordings(prepared.settings, data, val_data)
    return _recorded(prepared, model, source, framed, val, recordings, progress=True)


@contextmanager
def as_a_job(malloc: str, tf32: bool, deterministic: bool) -> Iterator[None]:
    """The process as a job's holds it while an entrance's call runs (its checks' forwards,
    a standard surrogate's training and the attacks alike: on a GPU, a job's numbers): its
    allocator (``malloc``: freed memory kept, for the process, as a job sets it), its GPU
    numerics (``tf32``, ``deterministic``, for the call only: the process's own flags and
    random generators again after it)."""
    set_malloc(malloc)
    with numerics.held(tf32, deterministic):
        yield


def _check_source(prepared: PreparedEvaluation, model: nn.Module, source: nn.Module | None) -> None:
    """Refuses a ``source`` without the black box (it would be recorded but craft nothing),
    and one that is ``model`` itself (the same object, or a copy of its weights: its
    black-box rows would be white-box rows, as a job refuses), before the data are read."""
    if source is not None and "black" not in prepared.boxes:
        raise UserError(
            f"source={type(source).__name__} is given but boxes={prepared.boxes} attacks in "
            "the white box only, so no example would be crafted on it; accepted: "
            "boxes=['white', 'black'] (or ['black']) to transfer from it, or source=None"
        )
    if source is not None and (source is model or _same_weights(model, source)):
        same = "the same object" if source is model else "a copy of its weights"
        raise UserError(
            f"source is the model itself ({same}): its black-box rows would be white-box rows; "
            "accepted: another network as source (e.g. trained from another seed), or "
            "boxes=['white']"
        )


def _same_weights(model: nn.Module, source: nn.Module) -> bool:
    """Whether ``source`` is a copy of ``model``: the same layers (an ANN counterpart of
    the same weights is another network) holding the same tensors."""
    mine, theirs = model.state_dict(), source.state_dict()
    layers = [type(m) for m in model.modules()] != [type(m) for m in source.modules()]
    if layers or not mine or mine.keys() != theirs.keys():
        return False
    return all(
        a.shape == theirs[k].shape and torch.equal(a, theirs[k].to(a.device))
        for k, a in mine.items()
    )


def _recorded(
    prepared: PreparedEvaluation,
    model: nn.Module,
    source: nn.Module | None,
    data: Any,
    val_data: Any,
    recordings: Recordings | None,
    progress: bool,
) -> JobRecord:
    """The record of ``prepared`` on the checked, framed ``data`` (and ``val_data``, and the
    ``recordings`` an attack on raw events reads), run by the one evaluation core: the black
    box's source required first."""
    settings = prepared.settings
    if settings.store.black_box and source is None:
        raise UserError(
            f"boxes={prepared.boxes} attacks in the black box but source=None; accepted: "
            "source=<the model to craft on>, or boxes=['white']"
        )
    target, crafter = prepared.networks(model, source)
    loader = data  # a loader as it is, else one of ``(images, labels)`` batches in order
    if not isinstance(data, DataLoader):
        loader = DataLoader(dataset_of(data, "data"), batch_size=prepared.config["eval_batch_size"])
    val = None if val_data is None else dataset_of(val_data, "val_data")
    run_settings = RunSettings.on(device_of(target), progress)
    return core.record_attacks(
        settings,
        target,
        crafter,
        loader,
        val,
        run_settings,
        models=copy.deepcopy(prepared.described),  # the record's own: the kept one as is
        config=copy.deepcopy(prepared.config),
        recordings=recordings,
    )


def _recordings(
    settings: JobSettings, data: Any, val_data: Any
) -> tuple[Any, Any, Recordings | None]:
    """``data`` and ``val_data`` as frames where they are event streams (``(streams,
    labels)``, :mod:`snnattack.interop.streams`, of the dataset of ``settings``), and the
    recordings an attack on raw events (a row of ``settings``) reads; such an attack on frames
    alone, or drawing its insertion candidates from held-out streams that are not given, is
    refused."""
    raw = [s for s in settings.specs if reads_recordings(s.algorithm)]
    if not is_streams(data):
        if raw:
            raise UserError(
                f"methods={raw[0].method} changes the raw events, but data holds no event "
                f"streams; accepted: data=({STREAMS}), or an attack on frames (e.g. "
                f"{raw[0].algorithm}_frames)"
            )
        return data, val_data, None
    events = datamodule(settings.data)
    if not hasattr(events, "sensor_size"):
        raise UserError(
            f"data holds event streams but dataset={settings.data.name} is not an event "
            "dataset; accepted: overrides=['dataset=<the streams' dataset>'] (digits_events, "
            "nmnist, dvs_gesture, cifar10_dvs)"
        )
    data, val_data, recordings = framed_recordings(
        data, val_data, events.sensor_size, events.framing
    )
    for spec in raw:
        if spec.params.get("candidates") == "target" and not recordings.train_labels:
            raise UserError(
                f"method.{spec.method}.candidates=target inserts events of held-out "
                "recordings of the target class, but val_data holds no event streams; "
                f"accepted: val_data=({STREAMS}, never the test data), or "
                f"overrides=['method.{spec.method}.candidates=events'] (or random)"
            )
    return data, val_data, recordings
