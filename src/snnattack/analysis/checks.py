"""Config rules of the analyses (``analysis=[...]``), checked before any work: each analysis
block is a chosen analysis's whole block, and the analyses that read spiking layers find them
in the configured model, and the spike shuffle has time steps to permute."""

from __future__ import annotations

from typing import Any

import torch
from omegaconf import OmegaConf

from snnattack.analysis.rate_current import spiking_layers
from snnattack.config.keys import file_keys
from snnattack.errors import ConfigError
from snnattack.interop.external import is_external
from snnattack.package import CONF_DIR
from snnattack.training.parse import model_settings
from snnattack.training.trained import Built, build_model
from snnattack.values import CHECKS

# the analyses of a model's spiking layers, and what each would do on a model without any
READ_SPIKES = {
    "shuffle": "permutes spike trains over time",
    "cost": "compares the gradient modes' attack steps, one backward on a model without them",
    "rate_current": "reads a spiking layer",
}


@CHECKS.register("analysis_blocks", order=16)
def _analysis_blocks(resolved: dict[str, Any]) -> None:
    """An analysis runs on its whole block: ``+analysis.<name>.<key>=v`` without
    ``analysis=[<name>]`` makes a block of that key alone, ``~analysis.<name>.<key>`` (or an
    experiment's block) one without that key."""
    for name, opts in (resolved.get("analysis") or {}).items():
        if missing := set(file_keys(CONF_DIR / "analysis" / f"{name}.yaml")) - set(opts or {}):
            raise ConfigError(
                f"analysis.{name} lacks {', '.join(sorted(missing))} of its options "
                f"(conf/analysis/{name}.yaml), as when its options are set without "
                f"analysis=[{name}]; accepted: {name} in analysis=[...] with every option, or "
                f"no settings of it ('~analysis.{name}')"
            )


@CHECKS.register("analysis_time_steps", order=17)
def _analysis_time_steps(resolved: dict[str, Any]) -> None:
    """The spike shuffle permutes each spike train over the ``T`` steps: one step has no
    other order, and its shuffled accuracy would equal the clean one, read as rate coding."""
    if "shuffle" in (resolved.get("analysis") or {}) and resolved["T"] < 2:
        raise ConfigError(
            f"analysis=[shuffle] permutes spike trains over time, but T={resolved['T']} has "
            "one time step, which no permutation changes (the shuffled accuracy would be the "
            "clean one); accepted: T >= 2, or no shuffle in analysis=[...]"
        )


@CHECKS.register("analysis_spiking_layers", order=17)
def _analysis_spiking_layers(resolved: dict[str, Any]) -> None:
    """The analyses of spiking layers find them (``analysis.rate_current.layer`` among them)
    in the configured model, built on PyTorch's meta device, without memory. A
    ``model=external`` network is checked once its factory built it (:func:`check_built`):
    a factory may read its weights' values, which the meta device has none of."""
    if not reads_spikes(resolved) or is_external(resolved):
        return
    with torch.device("meta"):
        model = build_model(model_settings(OmegaConf.create(resolved)))
    check_spiking_layers(resolved, model)


def check_built(resolved: dict[str, Any], built: Built) -> Built:
    """The analyses of spiking layers on a ``model=external`` network, as its factory (or
    the ``checkpoint=`` file) built it for the job's checks before any work
    (:func:`~snnattack.training.trained.built_models`); ``built`` is returned, for the job."""
    if reads_spikes(resolved) and is_external(resolved):
        net = built.external if built.checkpoint is None else built.checkpoint[0]
        check_spiking_layers(resolved, net)
    return built


def reads_spikes(resolved: dict[str, Any]) -> bool:
    """Whether an analysis of ``resolved`` reads spiking layers (:data:`READ_SPIKES`)."""
    return bool((resolved.get("analysis") or {}).keys() & set(READ_SPIKES))


def check_spiking_layers(resolved: dict[str, Any], model: torch.nn.Module) -> None:
    """Refuses an analysis of spiking layers that ``model`` (the job's target) lacks: any of
    them on a network without any (an ANN: each offers a spiking kind), and
    ``analysis.rate_current.layer`` beyond its last."""
    analyses = resolved["analysis"]
    count = len(spiking_layers(model))
    where = (
        f"model={resolved['model']['name']} (train.kind={resolved['train']['kind']}) has "
        f"{count} spiking layers"
    )
    for name in READ_SPIKES:
        if name in analyses and not count:
            raise ConfigError(
                f"analysis=[{name}] {READ_SPIKES[name]}, but {where}; accepted: a spiking "
                f"train.kind (stbp, conversion, hybrid), or no {name} in analysis=[...]"
            )
    opts = analyses.get("rate_current")
    if opts and not opts["layer"] < count:
        raise ConfigError(
            f"analysis.rate_current.layer={opts['layer']} is out of range: {where}; "
            f"accepted: an integer in [0, {count - 1}]"
        )
