"""A model built by the user's own code (``model=external``, docs/interop.md).

``model.factory._target_`` names an importable function (or class) that returns the network;
Hydra's ``instantiate`` calls it with the keyword arguments of ``model.kwargs``. A
:class:`~snnattack.models.base.SpikingNet` is attacked as it is (its T must be the job's
``T``); another library's network is adapted (:func:`as_spiking_net`) with the
job's ``T``. The model has the weights the factory gives it, or those of ``checkpoint=``: a
``torch.save(net.state_dict())`` of the factory's own network is loaded into it by its names
before it is adapted (:func:`snnattack.training.trained.load_from_file`).

It is never trained here: the store cannot tell when the factory's code changes, so its key
would not name the model. Hence ``train.kind`` must be ``stbp`` (the model as built, not an
ANN or a converted one), and a black-box source comes from ``source_checkpoint=`` (the same
factory, other weights) or from a native architecture, ``source_model=<name>``.

A model passed to the Python API or the benchmark is met here too: adapted
(:func:`as_spiking_net`), made to read the job's samples (:func:`with_encoding`), its own
encoding told to the config (:func:`encoding_held`) and described for the record
(:func:`model_description`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from typing import Any

import torch
from hydra.utils import instantiate
from torch import nn

from snnattack.config.combinations import fit_network
from snnattack.errors import ConfigError, UserError
from snnattack.inputs import check_model
from snnattack.interop.common import AdaptedNet, unwrapped
from snnattack.interop.foreign import adapt, library_of, refuse_held_spiking_net, steps_problem
from snnattack.interop.loops import OwnLoopNet
from snnattack.models import MODELS
from snnattack.models.base import SpikingNet
from snnattack.package import torch_stack_problem
from snnattack.settings import PASSED, thaw
from snnattack.snn.encoding import FrameEncoder, Quantize, encoding_of
from snnattack.values import Rule, as_python, as_typed, declare, one_of

EXTERNAL = "external"  # the model.name of conf/model/external.yaml
# a model of models/, the factory's, or one passed to the API
# the Python API's network passed in (PASSED) is accepted but never offered: a job refuses it
_OFFERED = one_of(*MODELS, EXTERNAL)
declare(
    {"model.name": Rule(lambda v: _OFFERED.test(v) or v == PASSED, _OFFERED.accepted, "is unknown")}
)
KIND = "stbp"  # the only train.kind an external model is attacked under: the model as built
FACTORY = "model.factory._target_"  # the key that names the factory, in messages

log = logging.getLogger(__name__)


@cache
def say_torch_stack() -> str | None:
    """The installed torch stack's mismatch (:func:`snnattack.package.torch_stack_problem`),
    logged once per process where another library's network is attacked: its imports
    (spikingjelly's data sets load torchaudio) are where a mismatch breaks."""
    problem = torch_stack_problem()
    if problem is not None:
        log.warning(problem)
    return problem


def is_external(tree: Mapping[str, Any]) -> bool:
    """Whether the model of a config tree (a config, or a resolved one) is built by the
    user's factory."""
    return tree["model"]["name"] == EXTERNAL


def as_spiking_net(
    model: Any,
    T: int | None,
    argument: str = "model",
    example: torch.Tensor | None = None,
    beside: Any = None,
) -> SpikingNet:
    """``model`` as this project's :class:`SpikingNet`: one passes through, another library's
    network is adapted (:func:`snnattack.interop.adapt`, sharing its parameters; its form
    probed on ``example``, samples as the model is given them). ``T`` of a SpikingNet, which
    has its own, must be None or equal to it. A network in ``nn.DataParallel`` is the one it
    wraps. ``beside``: its pair in :func:`snnattack.evaluate`'s black box, whose ``T`` is for
    a network of another library, so a SpikingNet beside one runs at its own (a transfer
    between models of different T)."""
    model = unwrapped(model)
    if isinstance(model, SpikingNet):
        if T is not None and T != model.T and isinstance(beside, SpikingNet | None):
            name = f"{argument}={type(model).__name__}"
            if (problem := steps_problem(T)) is not None:
                raise UserError(
                    f"T={as_python(T)} {problem} for {name}, a SpikingNet of T={model.T}; "
                    f"accepted: T=None or T={model.T}, its own"
                )
            raise UserError(
                f"T={T} but {name} is a SpikingNet of T={model.T}; "
                f"accepted: T=None or T={model.T} ({argument}.T = {T} to simulate it longer)"
            )
        return model
    check_foreign(model, T, argument)
    say_torch_stack()
    return adapt(model, T=int(T), example=example)  # a NumPy integer read from an array too


def check_foreign(model: Any, T: int | None, argument: str = "model") -> None:
    """``model`` a network and ``T`` its time steps, an integer >= 1, as
    :func:`as_spiking_net` needs them for a network that is not a SpikingNet."""
    if not isinstance(model, nn.Module):
        raise UserError(
            f"{argument}={type(model).__name__} is not a network; accepted: a torch "
            "nn.Module (a snnattack SpikingNet, or a spikingjelly / snnTorch network)"
        )
    compiled = getattr(model, "_orig_mod", None)  # what torch.compile wraps
    if isinstance(compiled, SpikingNet):
        raise UserError(
            f"{argument}=torch.compile({type(compiled).__name__}): a compiled SpikingNet is "
            f"not adapted as another library's network; accepted: {argument}._orig_mod, the "
            "SpikingNet itself (overrides=['compile=true'] compiles the copy it attacks)"
        )
    refuse_held_spiking_net(model, argument)
    if T is None:
        library_of(model)  # an ANN says so, not that its T is missing
        raise UserError(
            f"T=None: {argument}={type(model).__name__} is not a snnattack SpikingNet, so its "
            "time steps are not known; accepted: T=<time steps>, an integer >= 1"
        )
    if (problem := steps_problem(T)) is not None:
        raise UserError(
            f"T={as_python(T)} {problem} for {argument}={type(model).__name__}; accepted: T=<time "
            "steps>, an integer >= 1"
        )


def with_encoding(
    net: SpikingNet,
    encoding: str,
    argument: str = "model",
    model: Any = None,
    flag: str | None = None,
) -> SpikingNet:
    """``net`` reading the job's samples, which ``encoding`` (the config's) names: under
    ``frames`` (an event dataset; each sample is frames ``[T, C, H, W]`` that already carry
    T) another library's multi-step body gets them time first, not repeated
    (:class:`~snnattack.snn.encoding.FrameEncoder`, as the native event models do); a
    network with its own time loop is called on them as they are (a spikingjelly zoo class
    reads them time first: its adapter's copy transposes them). A native SpikingNet that
    reads images while the samples are frames, or frames while they are images, is refused
    in one line naming ``argument`` (and ``model``'s class: what the user passed) and the
    ``flag`` that says frames where a call's argument does (``frames=True``), not a job's
    dataset."""
    frames = encoding == "frames"
    if isinstance(net, AdaptedNet):
        if frames:
            net.encoder = FrameEncoder(net.T)
        return net
    if isinstance(net, OwnLoopNet) or frames == isinstance(net.encoder, FrameEncoder):
        return net
    name = f"{argument}={type(net if model is None else model).__name__}"
    if frames:
        said, other = (
            (
                "the job's samples are event frames (encoding=frames, an event dataset)",
                "images with an image dataset",
            )
            if flag is None
            else (f"{flag}=True says the samples are event frames", f"{flag}=False for images")
        )
        raise UserError(
            f"{name} reads images (its encoder is {type(net.encoder).__name__}) but {said}; "
            f"accepted: a model built with encoding='frames', or {other}"
        )
    raise UserError(
        f"{name} reads event frames (FrameEncoder) but the job's samples are images "
        f"(encoding={encoding}); accepted: overrides=['dataset=<the event dataset it was "
        "trained on>'] (digits_events, nmnist, dvs_gesture, cifar10_dvs)"
    )


def input_encoding(net: SpikingNet) -> dict[str, Any]:
    """How ``net`` turns an image into its T steps: its encoder's name (``encoding``, one of
    the package's; None for a network with its own time loop, whose steps are its own) and
    its quantiser's ``levels`` (None: analog)."""
    levels = net.quantize.levels if isinstance(net.quantize, Quantize) else None
    return {"encoding": encoding_of(net.encoder), "levels": levels}


def encoding_held(target: SpikingNet, frames: bool) -> dict[str, Any]:
    """The input encoding that ``target`` runs (``encoding`` and ``encoding_levels``: its
    encoder's name and its quantiser's levels), where it reads images: a native network
    built with ``encoding='poisson'`` or ``levels=`` encodes so whatever the config's
    defaults say, and the record's config must say what ran. Nothing where the config's
    samples are event ``frames`` or the encoder reads them (:func:`with_encoding` judges the
    two against each other), or where the encoder is none of the package's."""
    held = input_encoding(target)
    if held["encoding"] in (None, "frames") or frames:
        return {}
    return {"encoding": held["encoding"], "encoding_levels": held["levels"]}


def model_description(
    model: nn.Module | None, kind: str, net: SpikingNet | None = None
) -> dict[str, Any] | None:
    """What the record says of a model passed in (it has no training record): its kind of
    training as the config names it (``train.kind``, as a ``model=external`` job's record
    does), its class and its architecture (a zoo model's name, an adapted network's user's
    class, else its class's: the config's ``model.name`` is ``passed``), and the time steps
    ``T`` and input encoding of ``net``, the network the attacks run, which a benchmark entry
    states (the config's may be the protocol's; a black-box source may run at another T). The
    preparation adds that network's neurons
    (:func:`snnattack.preparation.evaluation.prepared_evaluation`)."""
    if model is None:
        return None
    return {
        "kind": kind,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "architecture": getattr(model, "architecture", None) or type(model).__qualname__,
        **({} if net is None else {"T": net.T, **input_encoding(net)}),
    }


def factory_network(tree: Mapping[str, Any]) -> nn.Module:
    """The network ``model.factory`` of a resolved config ``tree`` builds, as it builds it (its
    weights can then be loaded by their own names: ``checkpoint=`` a
    ``torch.save(net.state_dict())`` of it), its torch draws seeded with the job's ``seed``,
    so that the weights it initialises are those of every process of the same config."""
    factory = thaw(tree["model"]["factory"])
    target = factory.get("_target_")
    if not target:
        raise ConfigError(
            "model=external needs model.factory._target_; accepted: the dotted path of a "
            "function that returns your network, e.g. model.factory._target_=mypkg.nets.make"
        )
    given = tree["model"].get("kwargs")
    kwargs = thaw(given) if given is not None else {}
    try:
        # the process's own state left as it was (the CPU's only: forking a GPU's initialises
        # CUDA), so only the factory draws from the job's seed
        with torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(int(tree.get("seed") or 0))
            net = instantiate(factory, **kwargs)
    except Exception as err:  # an import or a call of the user's code, whatever broke
        cause = err.__cause__ or err
        first = " ".join(str(cause).split()) or type(cause).__name__
        stack = say_torch_stack()
        raise ConfigError(
            f"model.factory._target_={target} cannot be imported or called with "
            f"model.kwargs={kwargs} ({type(cause).__name__}: {first}); accepted: an "
            "importable function returning an nn.Module, and its keyword arguments"
            + ("" if stack is None else f"; likely cause: {stack}")
        ) from None
    if not isinstance(net, nn.Module):
        raise ConfigError(
            f"model.factory._target_={target} returned a {type(net).__name__}; accepted: a "
            "function returning a torch nn.Module"
        )
    if isinstance(net, SpikingNet) and net.T != tree["T"]:
        raise ConfigError(
            f"T={tree['T']} but model.factory._target_={target} built a SpikingNet of T={net.T}; "
            f"accepted: T={net.T}"
        )
    return net


def external_model(tree: Mapping[str, Any], net: nn.Module | None = None) -> SpikingNet:
    """``net`` (default: the network ``model.factory`` builds now) as this project's spiking
    network at ``T``; another library's network is adapted after its weights are loaded, as
    the adapter reads some of them (a parametric LIF's decay)."""
    net = factory_network(tree) if net is None else net
    adapted = as_spiking_net(net, tree["T"], FACTORY, _random_sample(tree))
    return with_encoding(adapted, tree["encoding"], FACTORY)


def _random_sample(tree: Mapping[str, Any]) -> torch.Tensor | None:
    """One random sample of the job's dataset's shape (an image, or ``T`` event frames), to
    probe a foreign network's form on; None for a dataset without a fixed shape."""
    dataset = tree["dataset"]
    if "image_size" not in dataset:
        return None
    size = dataset["image_size"]
    shape = (dataset["in_channels"], size, size)
    shape = (tree["T"], *shape) if tree["encoding"] == "frames" else shape
    return torch.rand(1, *shape, generator=torch.Generator().manual_seed(0))


def check_external(
    resolved: dict[str, Any], net: SpikingNet | None = None, source: SpikingNet | None = None
) -> SpikingNet | None:
    """Refuses, before any work, an external model that cannot be built or a setting that
    would train one (``train.kind``, a black-box source without weights), and a gradient mode
    that does not fit its neurons or those of ``source`` (the factory's network with the
    ``source_checkpoint=`` weights, whose learned neurons may differ): the validation's
    check of a ``resolved`` config. Returns the network it checked (None: not
    ``model=external``), which the job then attacks: ``net``, the factory's network with the
    ``checkpoint=`` weights (built once, by their load), or else the one the factory builds
    now."""
    if not is_external(resolved):
        return None
    net = external_model(resolved) if net is None else net
    dataset, target = resolved["dataset"], resolved["model"]["factory"]["_target_"]
    if "image_size" in dataset and resolved["encoding"] != "frames":  # event frames: no probe
        # one image of the dataset's shape (snnattack.inputs.check_model); finite weights
        # unless checkpoint= replaces them (the file's are checked when it is loaded)
        size = dataset["image_size"]
        sample = torch.rand(1, dataset["in_channels"], size, size, generator=torch.Generator())
        where = f"dataset={dataset['name']}"
        finite = not resolved.get("checkpoint")
        classes = check_model(net, "model.factory._target_", sample, where, net, target, finite)
        if classes != dataset["num_classes"]:
            raise ConfigError(
                f"model.factory._target_={target} returns {classes} classes but {where} has "
                f"{dataset['num_classes']}; accepted: a network with {dataset['num_classes']} "
                "outputs"
            )
    if resolved["encoding"] != "frames":  # event frames: with_encoding fitted the network
        _check_encoding(resolved, input_encoding(net), target)
    if resolved["train"]["kind"] != KIND:
        raise ConfigError(
            f"train.kind={resolved['train']['kind']} with model=external: an external model is "
            f"attacked as its factory builds it, never trained here; accepted: train.kind={KIND}"
        )
    weights = resolved.get("source_checkpoint") or resolved.get("source_model")
    if "black" in resolved["boxes"] and not weights:
        raise ConfigError(
            "boxes=[...,black] with model=external needs the black-box source's weights; "
            "accepted: source_checkpoint=PATH (the same factory), source_model=<a native "
            "model, trained here>, or boxes=[white]"
        )
    fit_network(resolved, net, source)  # their own neurons, which lambda does not describe
    return net


def _check_encoding(resolved: dict[str, Any], held: dict[str, Any], target: str) -> None:
    """Refuses an ``encoding`` or ``encoding_levels`` that the factory's network does not run
    (``held``, :func:`input_encoding`; a network of its own time loop reads the images as they
    are: ``direct``): the job ran it on the images as it is built, and its record, results and
    report named the value set (the API refuses it too: :data:`snnattack.inputs.MODEL_KEYS`)."""
    runs = {"encoding": held["encoding"] or "direct", "encoding_levels": held["levels"]}
    for key, value in runs.items():
        if resolved.get(key) != value:
            runs_as = f"{key}={'null' if value is None else value}"
            raise ConfigError(
                f"{key}={as_typed(resolved.get(key))} with model=external: the network runs as "
                f"{target} builds it, whose input encoding is {runs_as} (the value would change "
                f"only the record's config); accepted: {runs_as}, or a factory that builds the "
                "network with it"
            )
