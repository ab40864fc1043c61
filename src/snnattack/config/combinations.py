"""Checks of several keys at once, before any work: one clear line per wrong combination.

An encoding the dataset cannot give, a model that does not fit the dataset's input (checked
by a forward pass on PyTorch's meta device, without memory), parameters that a gradient mode,
an attack method or a datamodule does not take (checked against the names its function
accepts), a gradient mode's parameter out of the range the mode declares, ... Each check is a
function of the resolved config in :data:`~snnattack.values.CHECKS`, at its order: here the
checks of the config's own keys; a kind's beside its code (:mod:`snnattack.attacks.checks`,
:mod:`snnattack.training.checks`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import torch
from torch import nn

from snnattack.config.plain_rules import MAX_SEED
from snnattack.data import DATAMODULES
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES, check_params
from snnattack.models import MODELS
from snnattack.models.shapes import misfit, outputs_per_step
from snnattack.settings import radius_name
from snnattack.snn.encoding import ENCODINGS
from snnattack.values import CHECKS, NEURON_THETA, NOTES, as_typed, is_int, params_known


@CHECKS.register("gradient_params", order=4)
def _gradient_params(resolved: dict[str, Any]) -> None:
    mode = resolved["attack"]["grad_mode"]
    params = resolved["attack"].get("params") or {}
    try:
        check_params("attack.params", params, mode, f"attack={mode}")
    except ConfigError as err:
        own = GRADIENT_MODES[mode].ranges
        others = [name for name in params if name not in own]
        if not others or any(name in params for name in own):
            raise  # the mode's own file was read: a parameter added to it
        raise ConfigError(  # attack.grad_mode=rga kept the attack= file's (stbp's) parameters
            f"{err}; or choose the mode with attack={mode}, whose file sets its parameters "
            f"(attack.grad_mode={mode} alone keeps another mode's: {', '.join(others)})"
        ) from None
    fit_neurons(resolved, "attack.params.", mode, params, f"attack={mode}")


def fit_neurons(
    resolved: dict[str, Any],
    prefix: str,
    mode: str,
    params: dict[str, Any],
    chosen: str,
    kinds: Collection[str] | None = None,
) -> None:
    """The gradient mode's ``params`` fit the neurons it differentiates: the target's
    (``lambda``, and ``theta`` as its kind of training builds it: a hybrid model's scaled,
    :data:`~snnattack.values.NEURON_THETA`; an ANN has none) and, where a row is black-box,
    the source's (of ``source_train``'s kind) where its leak is known here: ``source_lambda``
    set, or the target's ``lambda`` beside an ANN target (an experiment's ``lambda`` may
    follow the kind, ``${kinds.lambda.${train.kind}}``, which the source resolves anew). A
    refusal names the keys with ``prefix`` and the choice of the mode ``chosen``
    (``attack=rga``, ``train.adversary.grad_mode=rga``). ``kinds``: the kinds of training
    whose models the mode differentiates (None: every one); a model of another kind is
    passed over as an ANN is (an ANN's adversary crafts with its own gradient)."""
    spec, train = GRADIENT_MODES[mode], resolved["train"]

    def fires_at(kind: str) -> float | None:
        """The threshold the mode differentiates in a model trained as ``kind`` (None: none)."""
        if kinds is not None and kind not in kinds:
            return None
        return NEURON_THETA.get(kind, lambda theta, _: theta)(resolved["theta"], train)

    target = (resolved["lambda"], fires_at(train["kind"]))
    neurons = {target: ""}
    source = resolved.get("source_lambda")
    if "black" in resolved.get("boxes", ()) and (source is not None or target[1] is None):
        kind = resolved.get("source_train") or train["kind"]
        lam = resolved["lambda"] if source is None else source
        neurons.setdefault((lam, fires_at(kind)), " (the source's)")
    for (lam, theta), whose in neurons.items():
        problem = None if theta is None else spec.neuron_complaint(lam, theta, params, prefix)
        if problem is not None:
            raise ConfigError(problem.replace("; accepted:", f"{whose} for {chosen}; accepted:", 1))


def fit_network(
    resolved: dict[str, Any], net: nn.Module | None, source: nn.Module | None = None
) -> None:
    """The job's gradient mode's parameters (``attack.params``) fit the spiking layers of the
    networks it differentiates, passed or built by a factory, at their own leak and threshold:
    their layers, not the config's ``lambda`` (:func:`fit_neurons`), say what runs. ``net``
    (the target) where a row is white-box, ``source`` (the crafting network) where one is
    black-box. Refused before any work, naming the layer, the key and the mode's choice."""
    mode = resolved["attack"]["grad_mode"]
    params = dict(resolved["attack"].get("params") or {})
    chosen = f"attack={mode}"
    fit_layers(mode, params, "attack.params.", chosen, resolved["boxes"], net, source)


def fit_layers(
    mode: str,
    params: dict[str, Any],
    prefix: str,
    chosen: str,
    boxes: Collection[str],
    net: nn.Module | None,
    source: nn.Module | None = None,
) -> None:
    """The gradient mode ``mode``'s ``params`` (keys named with ``prefix``, the mode chosen by
    the key ``chosen``) fit the spiking layers of ``net`` where a row of ``boxes`` is
    white-box and of ``source`` where one is black-box (:func:`fit_network`; an ensemble
    component's: :func:`~snnattack.attacks.checks.fit_components`)."""
    for crafter, box, whose in ((net, "white", ""), (source, "black", " (the source's)")):
        if crafter is None or box not in boxes:
            continue
        problem = GRADIENT_MODES[mode].layer_complaint(crafter, params, prefix)
        if problem is not None:
            raise ConfigError(problem.replace("; accepted:", f"{whose} for {chosen}; accepted:", 1))


SOURCE_SETTINGS = ("source_train", "source_lambda", "source_T", "source_model")


@CHECKS.register("source_settings_fit", order=16)
def _source_settings_fit(resolved: dict[str, Any]) -> None:
    given = [k for k in SOURCE_SETTINGS if resolved.get(k) is not None]
    if resolved.get("source_checkpoint") is not None and given:
        raise ConfigError(
            f"{given[0]}={resolved[given[0]]} with source_checkpoint=: the file is loaded into "
            f"the target's model (its model, T, lambda and train.kind), which {given[0]} would "
            f"not describe, though the rows would be labelled with it; accepted: "
            f"{given[0]}=null with source_checkpoint= (a file trained as the target), or no "
            "source_checkpoint (the source trained with the source_* settings)"
        )
    if resolved.get("source_T") is not None and resolved["encoding"] == "frames":
        raise ConfigError(
            f"source_T={resolved['source_T']} has no meaning for encoding=frames (the "
            "event frames are binned into the target's T steps); accepted: null"
        )
    name = resolved.get("source_model")
    if (
        name is not None
        and "image_size" in resolved["dataset"]
        and outputs_per_step(resolved, name) is None
    ):
        raise ConfigError(
            f"source_model={name} does not fit dataset={resolved['dataset']['name']} "
            f"({misfit(resolved, name)}); accepted: a model that fits the dataset's input "
            "(see model=)"
        )


@NOTES.register("source_settings")
def _source_settings_unread(resolved: dict[str, Any]) -> list[str]:
    """The black-box source's settings in a job without a black box, one line: no source is
    trained or attacked, so a ``source_lambda=0.5`` meant for a transfer row did nothing (a
    sweep over ``boxes`` that sets them for every job is accepted, not refused)."""
    given = [f"{k}={resolved[k]}" for k in SOURCE_SETTINGS if resolved.get(k) is not None]
    if not given or "black" in resolved["boxes"]:
        return []
    return [
        f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} read by black-box rows only, "
        f"and boxes={resolved['boxes']} has none: no source model is trained with "
        f"{'it' if len(given) == 1 else 'them'}"
    ]


@CHECKS.register("time_extension_fits_encoding", order=3)
def _time_extension_fits_encoding(resolved: dict[str, Any]) -> None:
    if resolved["attack"].get("time_extension", 1) > 1 and resolved["encoding"] == "frames":
        raise ConfigError(
            f"attack.time_extension={resolved['attack']['time_extension']} has no "
            "meaning for encoding=frames (the event frames are binned into T "
            "steps by the data); accepted: 1"
        )


@CHECKS.register("image_settings_fit_frames", order=3)
def _image_settings_fit_frames(resolved: dict[str, Any]) -> None:
    """The settings of analog images are refused on event frames: the input quantisation
    (ECCV 2020) clamped counts to 1, so 1 event and 5 looked alike; a normalisation was not
    applied (frames are not normalised), yet keyed another model and labelled the record."""
    if resolved["encoding"] != "frames":
        return
    name = resolved["dataset"]["name"]
    levels = resolved.get("encoding_levels")
    if levels is not None:
        raise ConfigError(
            f"encoding_levels={levels} quantises an image's intensities in [0, 1], but "
            f"dataset={name} gives event frames (encoding=frames), whose counts it would "
            "clamp to 1; accepted: null"
        )
    for key in ("mean", "std"):
        if (value := resolved["dataset"].get(key)) is not None:
            raise ConfigError(
                f"dataset.{key}={value} normalises analog images inside the model, but "
                f"dataset={name} gives event frames (encoding=frames), which are not "
                "normalised; accepted: null"
            )


# before the checks of an encoding's settings (encoding=frames on digits was told its
# dataset.mean does not fit "event frames" that digits never gives)
@CHECKS.register("encoding_fits_dataset", order=2.5)
def _encoding_fits_dataset(resolved: dict[str, Any]) -> None:
    accepted = list(resolved["dataset"].get("encodings") or ENCODINGS)
    if resolved["encoding"] not in accepted:
        raise ConfigError(
            f"encoding={resolved['encoding']!r} does not fit "
            f"dataset={resolved['dataset']['name']}; accepted: {', '.join(accepted)}"
        )


@CHECKS.register("frames_match_T", order=7)
def _frames_match_T(resolved: dict[str, Any]) -> None:
    frames = resolved["dataset"].get("params", {}).get("frames")
    if frames is not None and frames != resolved["T"]:
        raise ConfigError(
            f"dataset.params.frames={frames} does not match T={resolved['T']}; "
            "accepted: frames equal to T (the default, frames: ${T})"
        )


@CHECKS.register("attack_takes_a_step", order=11)
def _attack_takes_a_step(resolved: dict[str, Any]) -> None:
    if all(e == 0 for e in resolved["eps"]):
        raise ConfigError(
            f"eps={resolved['eps']} makes every eps-bounded attack a no-op (clean accuracy is "
            "reported with any attack); accepted: at least one eps > 0 (the event attacks, "
            "which count events, not eps, run once per box with any)"
        )


@CHECKS.register("radii_named_apart", order=11.1)
def _radii_named_apart(resolved: dict[str, Any]) -> None:
    """No two radii of ``eps`` share a row name: the name spells a radius to 6 significant
    digits (:attr:`snnattack.settings.AttackSpec.name`, ``eps16``), so ``16`` and
    ``16.0000001`` would share one ``row_seconds`` entry and one W&B key, one row's numbers
    overwriting the other's."""
    seen: dict[str, Any] = {}
    for e in resolved["eps"]:  # numbers: eps's rule is checked before any check
        name = radius_name(float(e) / 255.0 * 255)  # as AttackSpec.name spells eps (in [0, 1])
        if name in seen:
            raise ConfigError(
                f"eps={resolved['eps']} holds {seen[name]} and {e}, which name one row "
                f"({name}: a row's name spells a radius to 6 digits); accepted: radii that "
                "differ within their first 6 significant digits, e.g. eps=[16,16.5]"
            )
        seen[name] = e


@CHECKS.register("batch_splits", order=18.1)  # after the devices exist
def _batch_splits(resolved: dict[str, Any]) -> None:
    """``train.batch_size`` is the global batch, which DDP's processes share equally: one that
    does not split trained a smaller batch (63 over 2 processes: 31 each) under the store key
    of the batch asked for."""
    trainer = resolved["trainer"]
    devices, nodes = trainer.get("devices"), trainer.get("num_nodes") or 1
    batch = resolved["train"].get("batch_size")
    named = f"trainer.devices={devices}"
    if devices == "auto":  # trainer=ddp's: this machine's GPUs (a machine check, order 18.1)
        devices = auto_devices(trainer.get("accelerator"))
        named += f": {devices} here"
    if not (is_int(devices) and is_int(nodes) and is_int(batch)):
        return
    world = devices * nodes
    if world > 1 and batch % world:
        raise ConfigError(
            f"train.batch_size={batch} does not split over the {world} processes "
            f"({named} x trainer.num_nodes={nodes}): each would train on "
            f"{max(batch // world, 1)} images a step, another recipe stored as this one; "
            f"accepted: a multiple of {world}"
        )


def auto_devices(accelerator: str | None) -> int:
    """The devices Lightning takes for ``trainer.devices=auto`` on this machine: every GPU
    where the job takes GPUs (:func:`takes_gpus`); one process elsewhere (Lightning's CPU,
    MPS)."""
    return torch.cuda.device_count() if takes_gpus(accelerator) else 1


def takes_gpus(accelerator: str | None) -> bool:
    """Whether a job of ``trainer.accelerator`` runs on this machine's CUDA GPUs: ``gpu`` or
    ``cuda``, or ``auto`` where a GPU is present (Lightning's choice)."""
    return accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())


@CHECKS.register("source_seed_in_range", order=12)
def _source_seed_in_range(resolved: dict[str, Any]) -> None:
    """The seed the black-box source trains with is a seed; a ``source_checkpoint=`` source
    is trained by no seed here (``source_seed_offset`` is not used), so none is refused."""
    if (
        "black" in resolved["boxes"]
        and resolved.get("source_checkpoint") is None
        and resolved["seed"] + resolved["source_seed_offset"] > MAX_SEED
    ):
        raise ConfigError(
            f"seed + source_seed_offset = {resolved['seed'] + resolved['source_seed_offset']}"
            f" is out of range; accepted: a sum <= {MAX_SEED}"
        )


@CHECKS.register("dataset_facts", order=12.5)
def _dataset_facts(resolved: dict[str, Any]) -> None:
    """The dataset's facts of its data (``FACTS`` of its datamodule: its classes, channels,
    image size) as they are, and a normalisation value per channel: another number of
    classes trained a 20-way network on 10 digits, or failed once the training began."""
    dataset = resolved["dataset"]
    name = dataset["name"]
    for key, fact in DATAMODULES[name].FACTS.items():
        if dataset.get(key) != fact:
            raise ConfigError(
                f"dataset.{key}={as_typed(dataset.get(key))} is not what the {name} data hold "
                f"({fact}); accepted: {fact} (a fact of dataset={name}, not a setting)"
            )
    channels = dataset.get("in_channels")
    for key in ("mean", "std"):
        values = dataset.get(key)
        if values is not None and len(values) != channels:
            raise ConfigError(
                f"dataset.{key}={values} holds {len(values)} values for dataset.in_channels="
                f"{channels}; accepted: one value per input channel"
            )


@CHECKS.register("datamodule_options", order=13)
def _datamodule_options(resolved: dict[str, Any]) -> None:
    dataset = resolved["dataset"]
    cls = DATAMODULES[dataset["name"]]
    params = dict(dataset.get("params") or {})
    params_known("dataset.params", params, cls.__init__, skip=4)
    cls(
        batch_size=resolved["train"]["batch_size"],
        eval_batch_size=resolved["eval_batch_size"],
        seed=resolved["seed"],
        **params,
    )  # its own range checks; no file is read here


@CHECKS.register("model_fits_dataset", order=14)
def _model_fits_dataset(resolved: dict[str, Any]) -> None:
    if "image_size" not in resolved["dataset"] or resolved["model"]["name"] not in MODELS:
        return  # the user's factory's network: checked once it is built
    name = resolved["model"]["name"]
    if outputs_per_step(resolved, name) is None:
        fitting = [n for n in MODELS if outputs_per_step(resolved, n) is not None]
        # where none fits (DVS-Gesture at the sensor's 128x128): a network of the user's own
        accepted = ", ".join(fitting) or (
            "model=external with a network of your own that takes it (docs/interop.md), or "
            f"{_other_size(resolved, name)}: none of models/ takes this input"
        )
        raise ConfigError(
            f"model={name} does not fit dataset={resolved['dataset']['name']} "
            f"({misfit(resolved, name)}); accepted: {accepted}"
        )


SIZES = range(8, 129, 8)  # the frame sizes a refusal tries a model on (the sensors' 128 at most)


def _other_size(resolved: dict[str, Any], name: str) -> str:
    """The frame sizes (``dataset.params.size``) of :data:`SIZES` that the dataset accepts
    and the model ``name`` takes, as a refusal names them ("another input size" where the
    input's size is not that key's, or none is)."""
    dataset = resolved["dataset"]
    params = dataset.get("params") or {}
    if "size" not in params or dataset["image_size"] != params["size"]:
        return "another input size"
    taken = []
    for size in SIZES:
        resized = {
            **resolved,
            "dataset": {**dataset, "image_size": size, "params": {**params, "size": size}},
        }
        try:
            _datamodule_options(resized)
        except ConfigError:
            continue
        if outputs_per_step(resized, name) is not None:
            taken.append(size)
    tried = f"{SIZES[0]}, {SIZES[1]}, ..., {SIZES[-1]}"
    if not taken:
        return f"another input size (model={name} takes none of {tried})"
    sizes = " or ".join(map(str, taken))
    return f"dataset.params.size={sizes} (of {tried}, those that model={name} takes)"
