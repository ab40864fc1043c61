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

from typing import Any

import torch
from omegaconf import OmegaConf

from snnattack.analysis.rate_current import spiking_layers
from snnattack.attacks.ensemble import ENSEMBLE, Component
from snnattack.attacks.grids import check_grid, tunable
from snnattack.attacks.methods import METHODS
from snnattack.config.parse import model_settings
from snnattack.config.rules import MAX_SEED
from snnattack.config.specs import components
from snnattack.data import DATAMODULES
from snnattack.errors import ConfigError
from snnattack.gradients import GRADIENT_MODES, check_params
from snnattack.models import MODELS
from snnattack.models.shapes import input_shape, layer_outputs, meta_model
from snnattack.snn.encoding import ENCODINGS
from snnattack.training.trained import build_model
from snnattack.values import CHECKS, check_as, params_known


@CHECKS.register("ensembles", order=0.5)  # after every method's own parameters
def _ensembles(resolved: dict[str, Any]) -> None:
    """Each worst-case ensemble of ``method=`` (its components are parsed from the config:
    :func:`~snnattack.config.specs.components`)."""
    for key, method in resolved["method"].items():
        if method["name"] == ENSEMBLE:
            _ensemble_params(resolved, key)


def _ensemble_params(resolved: dict[str, Any], key: str) -> None:
    """Every component of an ensemble names an attack= and a method= that exist, with
    parameters their functions accept, each by the rule of the same top-level key
    (``method.<method>.<name>``), tunes only a gradient mode with parameters, and shares one
    threat model with the others."""
    entries = resolved["method"][key]["components"]
    parts = components(OmegaConf.create(resolved), key)
    for entry, part in zip(entries, parts, strict=True):
        where = f"method.{key}.components.{part.name}"
        params_known(where, part.params, METHODS[part.algorithm].make, skip=2)
        for name, value in (entry.get("params") or {}).items():
            check_as(f"method.{part.method}.{name}", value, f"{where}.params.{name}")
        if part.tune and (part.attack is None or not tunable(part.grad_mode)):
            what = "is gradient-free" if part.attack is None else "has no parameter to tune"
            raise ConfigError(
                f"{where}.tune=true has nothing to tune: {part.name} {what}; accepted: "
                f"tune: false, or tune: true on an attack with parameters "
                f"({', '.join(m for m in GRADIENT_MODES if tunable(m))})"
            )
        if part.tune:
            check_grid(resolved, part.grad_mode)
        if part.attack is not None:
            check_params(
                f"method.{key}.components.{part.name}.attack_params",
                part.grad_params,
                part.grad_mode,
                f"attack={part.attack}",
            )
    _one_threat_model(key, parts)


def _one_threat_model(key: str, parts: list[Component]) -> None:
    """The components of an ensemble share one threat model: its per-sample worst case is one
    number only within one budget (an L∞ radius and a count of flipped events are not)."""
    threats: dict[str, list[str]] = {}
    for part in parts:
        threats.setdefault(METHODS[part.algorithm].threat(part.params), []).append(part.name)
    if len(threats) > 1:
        mixed = "; ".join(f"{t}: {', '.join(names)}" for t, names in threats.items())
        raise ConfigError(
            f"method.{key}.components mixes threat models ({mixed}); accepted: components of "
            "one threat model (each other threat model as its own method= row)"
        )


@CHECKS.register("gradient_params", order=4)
def _gradient_params(resolved: dict[str, Any]) -> None:
    mode = resolved["attack"]["grad_mode"]
    check_params("attack.params", resolved["attack"].get("params") or {}, mode, f"attack={mode}")


@CHECKS.register("adversary_params", order=5)
def _adversary_params(resolved: dict[str, Any]) -> None:
    adversary = resolved["train"].get("adversary") or {}
    mode = adversary["grad_mode"]
    params = adversary.get("params") or {}
    check_params("train.adversary.params", params, mode, f"train.adversary.grad_mode={mode}")
    needs_eval = GRADIENT_MODES[mode].time_invariant and adversary.get("method") is not None
    if adversary.get("bn_mode") == "train" and needs_eval:
        raise ConfigError(
            f"train.adversary.bn_mode=train does not apply to train.adversary.grad_mode={mode} "
            "(it needs BatchNorm on running statistics); accepted: eval, or null"
        )


@CHECKS.register("source_settings_fit", order=16)
def _source_settings_fit(resolved: dict[str, Any]) -> None:
    if resolved.get("source_T") is not None and resolved["encoding"] == "frames":
        raise ConfigError(
            f"source_T={resolved['source_T']} has no meaning for encoding=frames (the "
            "event frames are binned into the target's T steps); accepted: null"
        )
    name = resolved.get("source_model")
    if (
        name is not None
        and "image_size" in resolved["dataset"]
        and layer_outputs(meta_model(resolved, name), input_shape(resolved)) is None
    ):
        raise ConfigError(
            f"source_model={name} does not fit dataset={resolved['dataset']['name']}; "
            "accepted: a model that fits the dataset's input (see model=)"
        )


@CHECKS.register("time_extension_fits_encoding", order=3)
def _time_extension_fits_encoding(resolved: dict[str, Any]) -> None:
    if resolved["attack"].get("time_extension", 1) > 1 and resolved["encoding"] == "frames":
        raise ConfigError(
            f"attack.time_extension={resolved['attack']['time_extension']} has no "
            "meaning for encoding=frames (the event frames are binned into T "
            "steps by the data); accepted: 1"
        )


@CHECKS.register("encoding_fits_dataset", order=6)
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
            f"eps={resolved['eps']} makes every attack a no-op (clean accuracy is "
            "reported with any attack); accepted: at least one eps > 0"
        )


@CHECKS.register("source_seed_in_range", order=12)
def _source_seed_in_range(resolved: dict[str, Any]) -> None:
    if (
        "black" in resolved["boxes"]
        and resolved["seed"] + resolved["source_seed_offset"] > MAX_SEED
    ):
        raise ConfigError(
            f"seed + source_seed_offset = {resolved['seed'] + resolved['source_seed_offset']}"
            f" is out of range; accepted: a sum <= {MAX_SEED}"
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
    shape = input_shape(resolved)
    if layer_outputs(meta_model(resolved, resolved["model"]["name"]), shape) is None:
        fitting = [n for n in MODELS if layer_outputs(meta_model(resolved, n), shape) is not None]
        raise ConfigError(
            f"model={resolved['model']['name']} does not fit dataset={resolved['dataset']['name']} "
            f"(input {'x'.join(map(str, shape[-3:]))}); accepted: {', '.join(fitting)}"
        )


@CHECKS.register("analysis_layer_exists", order=17)
def _analysis_layer_exists(resolved: dict[str, Any]) -> None:
    opts = (resolved.get("analysis") or {}).get("rate_current")
    if not opts:
        return
    with torch.device("meta"):
        model = build_model(model_settings(OmegaConf.create(resolved)))
    count = len(spiking_layers(model))
    if not opts["layer"] < count:
        accepted = f"an integer in [0, {count - 1}]" if count else "no analysis=[rate_current]"
        raise ConfigError(
            f"analysis.rate_current.layer={opts['layer']} is out of range: "
            f"model={resolved['model']['name']} (train.kind={resolved['train']['kind']}) has "
            f"{count} spiking layers; accepted: {accepted}"
        )
